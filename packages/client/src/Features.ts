import type { DataChannelCallFeature } from './dataChannel/DataChannelCallFeature.js';
import type { UserFacingDiagnosticsFeature } from './diagnostics/UserFacingDiagnostics.js';

/** What every call feature is (reference SDK: `CallFeature`): it has the name of its factory. */
export interface CallFeature {
  /** The feature's name, as in its factory (`'DataChannel'`, `'UserFacingDiagnostics'`). */
  readonly name: string;
}

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
