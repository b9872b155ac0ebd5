import type { DataChannelCallFeature } from './dataChannel/DataChannelCallFeature.js';
import type { UserFacingDiagnosticsFeature } from './diagnostics/UserFacingDiagnostics.js';

/** A call feature, as passed to `call.feature()` (reference SDK: `CallFeatureFactory`). */
export interface CallFeatureFactory<T> {
  readonly name: string;
  /** Never set: it carries the feature's type, so that `call.feature()` returns it. */
  readonly __feature?: T;
}

/** The features a call offers (reference SDK: `Features`). */
export const Features = Object.freeze({
  DataChannel: Object.freeze({ name: 'DataChannel' }) as CallFeatureFactory<DataChannelCallFeature>,
  UserFacingDiagnostics: Object.freeze({ name: 'UserFacingDiagnostics' }) as CallFeatureFactory<UserFacingDiagnosticsFeature>,
});
