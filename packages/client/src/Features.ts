import { DataChannelCallFeature } from './dataChannel/DataChannelCallFeature.js';

/** A call feature, as passed to `call.feature()`. */
export interface CallFeatureFactory<T> {
  readonly name: string;
  /** @internal */
  readonly featureClass: abstract new (...args: never[]) => T;
}

/** The features a call offers (reference SDK: `Features`). */
export const Features = Object.freeze({
  DataChannel: Object.freeze({ name: 'DataChannel', featureClass: DataChannelCallFeature }) as CallFeatureFactory<DataChannelCallFeature>,
});
