import { TypedEmitter } from '../events.js';
import type { ReceiverState } from '../internal/dataChannel/ReceiverState.js';
import type { CommunicationIdentifierKind, DataChannelMessage } from './types.js';

export interface DataChannelReceiverEvents {
  [event: string]: unknown[];
  /** A message was buffered; read it with `readMessage()`. */
  messageReady: [];
  /** The sender closed the session, left, or went quiet for the idle timeout. */
  close: [];
}

/**
 * Receives one remote sender session on one channel. The SDK announces each receiver once, with
 * `dataChannelReceiverCreated`; keep the reference.
 */
export class DataChannelReceiver extends TypedEmitter<DataChannelReceiverEvents> {
  readonly channelId: number;
  readonly senderParticipantIdentifier: CommunicationIdentifierKind;
  readonly #state: ReceiverState;

  /** @internal Created by the SDK when a new sender session is heard. */
  constructor(state: ReceiverState) {
    super();
    this.#state = state;
    this.channelId = state.channelId;
    this.senderParticipantIdentifier = { kind: 'communicationUser', communicationUserId: state.senderIdentity };
    state.notifyMessageReady = () => this.emit('messageReady');
    state.notifyClose = () => this.emit('close');
  }

  /** The oldest buffered message, or undefined when none is waiting. */
  readMessage(): DataChannelMessage | undefined {
    return this.#state.buffer.shift();
  }

  /** Backchannel extension: whether the session has ended. */
  get closed(): boolean {
    return this.#state.closed;
  }

  /** Backchannel extension: messages dropped because the buffer was full (oldest first). */
  get droppedMessageCount(): number {
    return this.#state.droppedMessages;
  }
}
