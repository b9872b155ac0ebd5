import type { DataLink } from '../internal/dataChannel/DataLink.js';
import type { SenderState } from '../internal/dataChannel/SenderState.js';
import { validateParticipants } from '../internal/dataChannel/validation.js';
import { invalidArgument, type DataChannelError } from '../errors.js';
import { TypedEmitter } from '../events.js';
import { communicationUserKind, type CommunicationIdentifier, type CommunicationIdentifierKind } from '../identifiers.js';
import type { DataChannelPriority, DataChannelReliability, DataChannelRetain, DataChannelSlowRecipientReason } from './types.js';

export interface DataChannelSenderEvents {
  /**
   * Backchannel extension: the server dropped a message this sender had already handed to the transport
   * (its sendMessage had resolved), for the reason `error.code` gives (e.g. a server-side limit).
   */
  messageDropped: [event: { sequenceNumber: number; error: DataChannelError }];
  /**
   * Backchannel extension (slow-recipient feedback): the server reports that one of this sender's
   * recipient endpoints cannot keep up, at most once a second per recipient. `droppedMessages`: copies of
   * this sender's messages dropped for it since the previous report (0 unless `reason` is `'Dropping'`).
   */
  recipientSlow: [event: DataChannelSlowRecipientEvent];
  /**
   * Backchannel extension (delivery receipts; senders made with `receipts: true`): a recipient endpoint's
   * SDK has buffered every message of this sender addressed to it up to `sequenceNumber`. Cumulative and
   * batched: one event covers many messages.
   */
  messagesDelivered: [event: DataChannelDeliveredEvent];
}

/** What `messagesDelivered` carries (an extension). */
export interface DataChannelDeliveredEvent {
  participant: CommunicationIdentifierKind;
  /** The recipient endpoint (as `RemoteParticipant.endpointId`). */
  endpointId: number;
  /** Every message up to this one that was addressed to the endpoint has reached its SDK. */
  sequenceNumber: number;
}

/** A recipient endpoint, in a {@link DataChannelDeliveryResult}. */
export interface DataChannelRecipientEndpoint {
  participant: CommunicationIdentifierKind;
  endpointId: number;
}

/** What `whenDelivered` resolves with (an extension). */
export interface DataChannelDeliveryResult {
  /** Endpoints whose SDK has the message. */
  reached: DataChannelRecipientEndpoint[];
  /** Endpoints that left the call (or the sender closed) before it reached them. */
  missed: DataChannelRecipientEndpoint[];
}

/** What `recipientSlow` carries (an extension). */
export interface DataChannelSlowRecipientEvent {
  /** The recipient's identity. */
  participant: CommunicationIdentifierKind;
  /** The recipient endpoint (as `RemoteParticipant.endpointId`): an identity may have several. */
  endpointId: number;
  reason: DataChannelSlowRecipientReason;
  droppedMessages: number;
}

let wrap: (state: SenderState, link: DataLink) => DataChannelSender;

/**
 * One sending session on a channel. Created by `DataChannelCallFeature.createDataChannelSender`.
 *
 * Messages leave in the order sent, paced to the sender's bitrate, High-priority senders first.
 */
export class DataChannelSender extends TypedEmitter<DataChannelSenderEvents> {
  static {
    wrap = (state, link) => new DataChannelSender(state, link);
  }

  readonly #state: SenderState;
  readonly #link: DataLink;

  private constructor(state: SenderState, link: DataLink) {
    super(state.listenerErrorReporter);
    this.#state = state;
    this.#link = link;
    state.on('messageDropped', (sequenceNumber, error) => this.emit('messageDropped', { sequenceNumber, error }));
    state.on('messagesDelivered', (endpointId, identity, sequenceNumber) =>
      this.emit('messagesDelivered', { participant: communicationUserKind(identity), endpointId, sequenceNumber }),
    );
    state.on('recipientSlow', (endpointId, identity, reason, droppedMessages) =>
      this.emit('recipientSlow', { participant: communicationUserKind(identity), endpointId, reason, droppedMessages }),
    );
  }

  /** The channel this sender sends on, 1–65535. */
  get channelId(): number {
    return this.#state.channelId;
  }

  /** Largest message `sendMessage` accepts, in bytes (advertised by the server). */
  get maxMessageSize(): number {
    return this.#state.maxMessageSize;
  }

  /** Backchannel extension: the bitrate the sender is paced to, after clamping, kbit/s. */
  get bitrateInKbps(): number {
    return this.#state.bitrateKbps;
  }

  /** Backchannel extension. */
  get reliability(): DataChannelReliability {
    return this.#state.reliability;
  }

  /** Backchannel extension. */
  get priority(): DataChannelPriority {
    return this.#state.priority;
  }

  /** Backchannel extension: the sequence number of the last message `sendMessage` took (0 before the first). */
  get sequenceNumber(): number {
    return this.#state.lastSequenceNumber;
  }

  /** Backchannel extension (delivery receipts): whether the sender was made with `receipts: true`. */
  get receipts(): boolean {
    return this.#state.receipts !== undefined;
  }

  /**
   * Backchannel extension (delivery receipts): resolves once message `sequenceNumber` (default: the last
   * one sent) has reached the SDK of each recipient endpoint in the call now (or of those of `participants`
   * among them), with those that left the call before it reached them as `missed`. Throws `InvalidArgument`
   * if the sender was made without `receipts: true`.
   */
  whenDelivered(sequenceNumber = this.#state.lastSequenceNumber, options?: { participants?: CommunicationIdentifier[] }): Promise<DataChannelDeliveryResult> {
    const receipts = this.#state.receipts;
    if (!receipts) throw invalidArgument('whenDelivered needs a sender made with receipts: true');
    let endpoints = this.#state.currentRecipients();
    if (options?.participants) {
      const chosen = new Set(validateParticipants(options.participants, this.#link));
      endpoints = endpoints.filter((endpoint) => chosen.has(endpoint.identity));
    }
    const named = (endpoint: { endpointId: number; identity: string }): DataChannelRecipientEndpoint => ({
      participant: communicationUserKind(endpoint.identity),
      endpointId: endpoint.endpointId,
    });
    return receipts.whenDelivered(sequenceNumber >>> 0, endpoints).then((outcome) => ({ reached: outcome.reached.map(named), missed: outcome.missed.map(named) }));
  }

  /** Backchannel extension (state for late joiners): whether the server keeps its latest message for later recipients. */
  get retain(): DataChannelRetain {
    return this.#state.retain;
  }

  /**
   * Sets the recipients of the messages sent from now on; an empty list broadcasts to everyone else.
   * Throws `InvalidArgument` for more than 64 recipient endpoints and `DataChannelSenderClosed` once closed.
   */
  setParticipants(participants: CommunicationIdentifier[]): void {
    this.#state.setRecipients(validateParticipants(participants, this.#link));
  }

  /**
   * Queues `data` for the current recipients. Resolves once it is handed to the transport; rejects with a
   * DataChannelError (`DataChannelSenderClosed`, `DataChannelMessageSizeOverLimit`,
   * `DataChannelMessageFailureForBandwidth`, `DataChannelMessageFailureForTrafficLimit`,
   * `DataChannelFailedToStart`). A Lossy sender drops what it cannot send instead of rejecting.
   * Rejects with `InvalidArgument` (first, before any other check) if `data` is not a Uint8Array or is
   * empty: the method is asynchronous, as in the reference, so its argument errors reject too.
   */
  sendMessage(data: Uint8Array): Promise<void> {
    if (!(data instanceof Uint8Array)) return Promise.reject(invalidArgument('sendMessage takes a Uint8Array; encode strings with TextEncoder first'));
    if (data.byteLength === 0) return Promise.reject(invalidArgument('sendMessage takes a non-empty Uint8Array: an empty message carries nothing'));
    return this.#state.send(data);
  }

  /** Ends the session: unsent messages reject with `DataChannelSenderClosed`, and receivers see `close`. */
  close(): void {
    this.#state.close(`sender on channel ${this.#state.channelId} was closed`);
  }
}

/** @internal The public sender of an internal sender session (used by the data-channel feature only). */
export function publicSender(state: SenderState, link: DataLink): DataChannelSender {
  return wrap(state, link);
}
