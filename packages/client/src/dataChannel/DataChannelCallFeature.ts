import { TypedEmitter } from '../events.js';
import type { DataChannelEngine } from '../internal/dataChannel/DataChannelEngine.js';
import type { DataChannelReceiver } from './DataChannelReceiver.js';
import type { DataChannelSender } from './DataChannelSender.js';
import type { DataChannelSenderOpenOptions } from './types.js';

export interface DataChannelCallFeatureEvents {
  [event: string]: unknown[];
  /** A remote sender started a session this endpoint receives; emitted once per receiver. */
  dataChannelReceiverCreated: [receiver: DataChannelReceiver];
}

/**
 * The data-channel feature of a call: `call.feature(Features.DataChannel)`.
 */
export class DataChannelCallFeature extends TypedEmitter<DataChannelCallFeatureEvents> {
  readonly #engine: () => DataChannelEngine;

  /** @internal Created by the call. */
  constructor(engine: () => DataChannelEngine) {
    super();
    this.#engine = engine;
  }

  /**
   * Opens a sending session. Throws `InvalidArgument` for bad options, `DataChannelFailedToStart` when the
   * call is not connected, `DataChannelRandomIdNotAvailable` when no channelId is free. A sender already
   * open on the same channelId is closed.
   */
  createDataChannelSender(options?: DataChannelSenderOpenOptions): DataChannelSender {
    return this.#engine().createSender(options);
  }

  /** @internal */
  receiverCreated(receiver: DataChannelReceiver): void {
    this.emit('dataChannelReceiverCreated', receiver);
  }
}
