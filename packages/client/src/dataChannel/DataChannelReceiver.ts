import type { ReceiverState } from '../internal/dataChannel/ReceiverState.js';
import { TypedEmitter } from '../events.js';
import { communicationUserKind, type CommunicationIdentifierKind } from '../identifiers.js';
import type { DataChannelMessage } from './types.js';

export interface DataChannelReceiverEvents {
  /** A message was buffered; read it with `readMessage()`. */
  messageReady: [];
  /** The sender closed the session, left, or went quiet for the idle timeout. */
  close: [];
}

/** A listener of `messageReady` (reference SDK: `DataChannelReceiverMessageReadyEvent`). */
export type DataChannelReceiverMessageReadyEvent = () => void;

/** A listener of `close` (reference SDK: `DataChannelReceiverCloseEvent`). */
export type DataChannelReceiverCloseEvent = () => void;

let wrap: (state: ReceiverState) => DataChannelReceiver;

/**
 * Receives one remote sender session on one channel. The SDK announces each receiver once, with
 * `dataChannelReceiverCreated`; keep the reference.
 */
export class DataChannelReceiver extends TypedEmitter<DataChannelReceiverEvents> {
  static {
    wrap = (state) => new DataChannelReceiver(state);
  }

  readonly channelId: number;
  readonly senderParticipantIdentifier: CommunicationIdentifierKind;
  readonly #state: ReceiverState;

  private constructor(state: ReceiverState) {
    super(state.listenerErrorReporter);
    this.#state = state;
    this.channelId = state.channelId;
    this.senderParticipantIdentifier = communicationUserKind(state.senderIdentity);
    state.on('messageReady', () => this.emit('messageReady'));
    state.on('close', () => this.emit('close'));
  }

  /** The oldest buffered message, or undefined when none is waiting. */
  readMessage(): DataChannelMessage | undefined {
    return this.#state.read();
  }

  /** Backchannel extension: whether the session has ended. */
  get closed(): boolean {
    return this.#state.closed;
  }

  /**
   * Backchannel extension: messages dropped because the buffer was full (oldest first), and (slow-recipient
   * feedback) those the server dropped for this endpoint because it was too far behind; the server's count
   * arrives with the session's next message that reaches this endpoint, or its close.
   */
  get droppedMessageCount(): number {
    return this.#state.droppedMessages;
  }
}

/** @internal The public receiver of an internal receiver state (used by the data-channel feature only). */
export function publicReceiver(state: ReceiverState): DataChannelReceiver {
  return wrap(state);
}
