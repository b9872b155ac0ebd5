import type { DataChannelEngine } from '../internal/dataChannel/DataChannelEngine.js';
import type { DataLink } from '../internal/dataChannel/DataLink.js';
import { TypedEmitter, type ListenerErrorReporter } from '../events.js';
import type { CallFeature } from '../Features.js';
import { publicReceiver, type DataChannelReceiver } from './DataChannelReceiver.js';
import { publicSender, type DataChannelSender } from './DataChannelSender.js';
import type { DataChannelSenderOpenOptions } from './types.js';

export interface DataChannelCallFeatureEvents {
  /** A remote sender started a session this endpoint receives; emitted once per receiver. */
  dataChannelReceiverCreated: [receiver: DataChannelReceiver];
}

/** A listener of `dataChannelReceiverCreated` (reference SDK: `DataChannelReceiverCreatedEvent`). */
export type DataChannelReceiverCreatedEvent = (args: DataChannelReceiver) => void;

let wrap: (engine: DataChannelEngine, link: DataLink, reporter: ListenerErrorReporter) => DataChannelCallFeature;

/**
 * The data-channel feature of a call: `call.feature(Features.DataChannel)`.
 */
export class DataChannelCallFeature extends TypedEmitter<DataChannelCallFeatureEvents> implements CallFeature {
  static {
    wrap = (engine, link, reporter) => new DataChannelCallFeature(engine, link, reporter);
  }

  /** The feature's name, as in `Features.DataChannel`. */
  readonly name = 'DataChannel';
  readonly #engine: DataChannelEngine;
  readonly #link: DataLink;

  private constructor(engine: DataChannelEngine, link: DataLink, reporter: ListenerErrorReporter) {
    super(reporter);
    this.#engine = engine;
    this.#link = link;
    engine.on('receiverCreated', (state) => this.emit('dataChannelReceiverCreated', publicReceiver(state)));
  }

  /**
   * Opens a sending session. Throws `InvalidArgument` for bad options, `DataChannelFailedToStart` when the
   * call has ended, `DataChannelRandomIdNotAvailable` when no channelId is free. A sender already open on
   * the same channelId is closed. It may be made as soon as the call exists: before the call connects,
   * Durable messages wait (bounded by the sender's backlog) and go when it connects, Lossy ones are dropped;
   * if the call ends first, what waits rejects with `DataChannelFailedToStart`.
   */
  createDataChannelSender(options?: DataChannelSenderOpenOptions): DataChannelSender {
    return publicSender(this.#engine.createSender(options), this.#link);
  }
}

/** @internal The feature object of a call's data-channel engine (used by the call only). */
export function publicDataChannelFeature(engine: DataChannelEngine, link: DataLink, reporter: ListenerErrorReporter): DataChannelCallFeature {
  return wrap(engine, link, reporter);
}
