/**
 * Everything about one sender session: its options, sequence numbers, recipient generations, pace, and
 * the messages waiting to leave. The public DataChannelSender forwards to it and subscribes to its events.
 */
import {
  DATA_HEADER_BYTES,
  DataChannelErrorCode,
  FrameFlag,
  broadcastBudgetKbps,
  broadcastPacketCount,
  encodeSend,
  encodeSessionClose,
  encodeSetRecipients,
  senderMaxKbps,
  type Priority,
  type Reliability,
} from '@backchannel/protocol';

import type { DataChannelSlowRecipientReason } from '../../dataChannel/types.js';
import { DataChannelError } from '../../errors.js';
import { TypedEmitter, type ListenerErrorReporter } from '../../events.js';
import type { DataLink } from './DataLink.js';
import { DeliveryReceipts, type ReceiptEndpoint } from './DeliveryReceipts.js';
import { Queue } from './Queue.js';
import { TokenBucket, kbpsToBytesPerMs } from '@backchannel/protocol';

export interface SenderStateEvents {
  /** The server dropped a message already handed to the transport (its sendMessage had resolved). */
  messageDropped: [sequenceNumber: number, error: DataChannelError];
  /** The server reports a recipient endpoint too slow (an extension; rate-limited by the server). */
  recipientSlow: [endpointId: number, identity: string, reason: DataChannelSlowRecipientReason, droppedMessages: number];
  /** A receipt (an extension): recipient `endpointId` has every message up to `sequenceNumber`. */
  messagesDelivered: [endpointId: number, identity: string, sequenceNumber: number];
}

/** A frame waiting in a sender's queue: a data message (with its promise) or a recipient-list change. */
export type QueuedItem =
  | { kind: 'data'; frame: Uint8Array; cost: number; resolve: () => void; reject: (error: DataChannelError) => void }
  | { kind: 'control'; frame: Uint8Array };

/** Pacing burst: how much a sender may send at once after being idle, in ms of its rate. */
const BURST_MS = 250;

export interface SenderOptions {
  channelId: number;
  sessionId: number;
  reliability: Reliability;
  priority: Priority;
  /** Backchannel extension: the server keeps the latest message for later recipients (Durable only). */
  retain?: 'none' | 'last';
  /** Backchannel extension: the server sends receipts for its messages (Durable only). */
  receipts?: boolean;
  /** Bitrate the application asked for (undefined: its class's maximum), clamped to that maximum. */
  requestedKbps: number | undefined;
}

/** Endpoint-wide state shared by all of a feature's senders. */
export interface SenderContext {
  readonly link: DataLink;
  readonly reportListenerError: ListenerErrorReporter;
  /** Broadcast packets this endpoint may still send now (SPEC §4 packet rate). */
  broadcastPackets: TokenBucket;
  /** What the endpoint currently receives, kbit/s. */
  receivedKbps(now: number): number;
  /** Bytes (wire cost) queued in all Durable senders of the endpoint, not yet handed to the link. */
  readonly durableQueue: { bytes: number };
  /** Hands a sender with queued items to the scheduler. */
  schedule(sender: SenderState): void;
  /** Forgets a closed sender. */
  released(sender: SenderState): void;
}

export class SenderState extends TypedEmitter<SenderStateEvents> {
  readonly channelId: number;
  #sessionId: number;
  readonly reliability: Reliability;
  readonly priority: Priority;
  readonly retain: 'none' | 'last';
  /** Delivery receipts (an extension): made only for a sender that asked for them. */
  readonly receipts: DeliveryReceipts | undefined;
  readonly queue = new Queue<QueuedItem>();
  readonly #context: SenderContext;
  readonly #bucket: TokenBucket;
  #flags: number;
  /** Bytes (wire cost) of the data items in the queue. */
  #queuedBytes = 0;
  readonly #requestedKbps: number | undefined;
  #bitrateKbps: number;
  #sequenceNumber = 0;
  #generation = 0;
  #recipients: readonly string[] = [];
  #closed = false;
  /** Whether the server has heard of this session (anything sent), so a close is worth announcing. */
  #announced = false;
  constructor(options: SenderOptions, context: SenderContext) {
    super(context.reportListenerError);
    this.channelId = options.channelId;
    this.#sessionId = options.sessionId;
    this.reliability = options.reliability;
    this.priority = options.priority;
    this.#context = context;
    this.#requestedKbps = options.requestedKbps;
    this.#bitrateKbps = this.#clampedKbps();
    const rate = kbpsToBytesPerMs(this.#bitrateKbps);
    this.#bucket = new TokenBucket(rate, Math.max(rate * BURST_MS, DATA_HEADER_BYTES + 1), context.link.clock.now());
    this.#flags =
      (options.reliability === 'Lossy' ? FrameFlag.Lossy : 0) | (options.priority === 'High' ? FrameFlag.HighPriority : 0) | (options.retain === 'last' ? FrameFlag.Retain : 0);
    this.retain = options.retain ?? 'none';
    this.receipts = options.receipts ? new DeliveryReceipts() : undefined;
    if (options.receipts) this.#flags |= FrameFlag.Receipts;
  }

  /** The pace, kbit/s: what was asked for, at most the class's maximum under the server's limits. */
  get bitrateKbps(): number {
    return this.#bitrateKbps;
  }

  /**
   * The call connected and the server's limits are known: a sender made before takes its class's maximum
   * from them (its pace was the default limits' until then).
   */
  limitsKnown(): void {
    this.#bitrateKbps = this.#clampedKbps();
    this.#bucket.setRate(kbpsToBytesPerMs(this.#bitrateKbps), this.#context.link.clock.now());
  }

  /** The current session's id (a new one after the endpoint joined again: {@link restartSession}). */
  get sessionId(): number {
    return this.#sessionId;
  }

  /**
   * The endpoint joined the call again as a new one (the server lost the old): the sender goes on in a new
   * session `sessionId`, numbered from 1 again, with its recipient list announced again. What was queued
   * for the old session rejects with `error` (its frames carry the old session's numbers).
   */
  restartSession(sessionId: number, error: DataChannelError): void {
    if (this.#closed) return;
    this.receipts?.end(); // the new session is numbered from 1: what was awaited will never be acknowledged
    for (const item of this.queue.drain()) {
      if (item.kind !== 'data') continue;
      this.#queued(-item.cost);
      item.reject(error);
    }
    this.#sessionId = sessionId;
    this.#sequenceNumber = 0;
    this.#announced = false;
    if (this.#recipients.length > 0) this.setRecipients(this.#recipients);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get isBroadcast(): boolean {
    return this.#recipients.length === 0;
  }

  get maxMessageSize(): number {
    return this.#context.link.limits.maxMessageSizeBytes;
  }

  /** Replaces the recipient list for messages sent from now on (validated by the caller). */
  setRecipients(recipients: readonly string[]): void {
    if (this.#closed) throw new DataChannelError(DataChannelErrorCode.SenderClosed, `sender on channel ${this.channelId} is closed`);
    this.#recipients = recipients;
    this.#generation++;
    this.queue.push({ kind: 'control', frame: encodeSetRecipients(this.channelId, this.#sessionId, this.#generation, recipients) });
    this.#context.schedule(this);
  }

  send(data: Uint8Array): Promise<void> {
    if (this.#closed) return reject(DataChannelErrorCode.SenderClosed, `sender on channel ${this.channelId} is closed`);
    const { link } = this.#context;
    // Before the call connects a Durable message waits in the queue, bounded as always by the sender's
    // backlog; a Lossy one is dropped (below).
    if (link.dataState() === 'closed') return reject(DataChannelErrorCode.FailedToStart, 'the call has ended: no data transport');
    const limits = link.limits;
    if (data.byteLength > limits.maxMessageSizeBytes) {
      return reject(
        DataChannelErrorCode.MessageSizeOverLimit,
        `message of ${data.byteLength} bytes exceeds maxMessageSize (${limits.maxMessageSizeBytes})`,
      );
    }
    const now = link.clock.now();
    const cost = DATA_HEADER_BYTES + data.byteLength;
    let packets = 0;
    if (this.isBroadcast) {
      // SPEC §4: broadcast budget = sender's maximum − 80% of what the endpoint receives now.
      const budgetKbps = broadcastBudgetKbps(limits, senderMaxKbps(limits, this.reliability, this.priority), this.#context.receivedKbps(now));
      if (budgetKbps <= 0) {
        return this.#refuse(DataChannelErrorCode.MessageFailureForTrafficLimit, 'no broadcast bandwidth left: this endpoint receives too much');
      }
      this.#bucket.setRate(kbpsToBytesPerMs(Math.min(this.#bitrateKbps, budgetKbps)), now);
      packets = broadcastPacketCount(limits, data.byteLength);
      if (this.#context.broadcastPackets.balance(now) < packets) {
        return this.#refuse(
          DataChannelErrorCode.MessageFailureForTrafficLimit,
          `over the broadcast packet rate (${limits.broadcastPacketsPerSecond} packets/s)`,
        );
      }
    } else {
      this.#bucket.setRate(kbpsToBytesPerMs(this.#bitrateKbps), now);
    }
    // How long until the last byte queued can leave at the pace: what is queued, less the bucket's balance
    // (a debt adds to the wait, burst credit not yet spent on the queue shortens it).
    const behindMs = Math.max(0, this.#queuedBytes - this.#bucket.balance(now)) / this.#bucket.rateBytesPerMs;
    if (behindMs > limits.maxSendBacklogMs) {
      return this.#refuse(
        DataChannelErrorCode.MessageFailureForBandwidth,
        `sender is ${Math.round(behindMs)} ms behind its ${this.#bitrateKbps} kbps pace`,
      );
    }
    if (this.reliability === 'Durable') {
      // The path's own rate bounds the backlog too (docs/reliability.md, "Bounded latency"): a message
      // that would wait longer than maxSendBacklogMs behind what the link keeps and the senders queue,
      // at the rate the path was measured to drain, is refused now rather than delivered a minute late.
      const flow = link.durableFlow;
      const waitMs = flow.drainMs(flow.unacknowledgedBytes + this.#context.durableQueue.bytes + cost);
      if (waitMs !== undefined && waitMs > limits.maxSendBacklogMs) {
        return reject(
          DataChannelErrorCode.MessageFailureForBandwidth,
          `the data path drains too slowly: this message would wait ${Math.round(waitMs)} ms (more than maxSendBacklogMs, ${limits.maxSendBacklogMs})`,
        );
      }
    }
    if (packets > 0) this.#context.broadcastPackets.consume(packets, now);
    if (this.reliability === 'Lossy' && link.dataState() === 'waiting') {
      // Not connected yet: a Lossy message is dropped now, as one meeting a full channel would be (it takes
      // its sequence number, so a receiver sees the gap). Queued, it would wait behind this sender's
      // recipient list, which waits for the call, and leave after all.
      this.#nextSequenceNumber();
      return Promise.resolve();
    }
    const frame = encodeSend(
      { flags: this.#flags, channelId: this.channelId, sessionId: this.#sessionId, sequenceNumber: this.#nextSequenceNumber() },
      this.#generation,
      data,
    );
    return new Promise((resolve, rejectPromise) => {
      this.queue.push({ kind: 'data', frame, cost, resolve, reject: rejectPromise });
      this.#queued(cost);
      this.#context.schedule(this);
    });
  }

  /** Milliseconds until the head of the queue may leave under this sender's pace. */
  msUntilReady(now: number): number {
    return this.#bucket.msUntilReady(now);
  }

  /** Takes the head item off the queue and charges its cost to the pace. */
  takeHead(now: number): QueuedItem | undefined {
    const item = this.queue.shift();
    if (item?.kind === 'data') {
      this.#queued(-item.cost);
      this.#bucket.consume(item.cost, now);
    }
    if (item) this.#announced = true;
    return item;
  }

  /**
   * Ends the session: queued messages fail with SenderClosed, and remote receivers are told (SPEC §4).
   * Idempotent.
   */
  close(reason: string): void {
    this.#close(new DataChannelError(DataChannelErrorCode.SenderClosed, reason));
  }

  #close(error: DataChannelError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.receipts?.end();
    for (const item of this.queue.drain()) {
      if (item.kind !== 'data') continue;
      this.#queued(-item.cost);
      item.reject(error);
    }
    if (this.#announced) this.#context.link.channel('durable').send(encodeSessionClose(this.channelId, this.#sessionId));
    this.#context.released(this);
  }

  /**
   * Gives up the newest queued message if it is data (not a recipient-list change), rejecting it with
   * `error`: its sequence number is taken back, so the session's numbers stay contiguous for what goes.
   * Returns the bytes given up (0: nothing to give up at the tail).
   */
  shedNewest(error: DataChannelError): number {
    const item = this.queue.peekLast();
    if (item?.kind !== 'data') return 0;
    this.queue.pop();
    this.#queued(-item.cost);
    this.#sequenceNumber = (this.#sequenceNumber - 1) >>> 0;
    item.reject(error);
    return item.cost;
  }

  /** The server reports recipient `endpointId` (of `identity`) slow for this session. */
  reportSlowRecipient(endpointId: number, identity: string, reason: DataChannelSlowRecipientReason, droppedMessages: number): void {
    this.emit('recipientSlow', endpointId, identity, reason, droppedMessages);
  }

  /** The server dropped message `sequenceNumber` of this session, for the reason `error` gives. */
  reportDropped(sequenceNumber: number, error: DataChannelError): void {
    this.emit('messageDropped', sequenceNumber, error);
  }

  /** Ends the session because the call is gone: nothing can be announced any more; queued messages reject with `error`. */
  abandon(error: DataChannelError): void {
    this.#announced = false;
    this.#close(error);
  }

  #clampedKbps(): number {
    const maxKbps = senderMaxKbps(this.#context.link.limits, this.reliability, this.priority);
    return Math.min(this.#requestedKbps ?? maxKbps, maxKbps);
  }

  /** Queued data bytes of this sender change by `delta` (and the endpoint's Durable total with them). */
  #queued(delta: number): void {
    this.#queuedBytes += delta;
    if (this.reliability === 'Durable') this.#context.durableQueue.bytes += delta;
  }

  /** The sequence number of the last message `send` took (0 before the first). */
  get lastSequenceNumber(): number {
    return this.#sequenceNumber;
  }

  /** A receipt from the server: recipient `endpointId` (of `identity`) has the session up to `sequenceNumber`. */
  reportReceipt(endpointId: number, identity: string, sequenceNumber: number): void {
    if (!this.receipts) return;
    this.receipts.received({ endpointId, identity }, sequenceNumber);
    this.emit('messagesDelivered', endpointId, identity, sequenceNumber);
  }

  /** The endpoints the sender's messages go to now: its recipients (or everyone else) in the roster. */
  currentRecipients(): ReceiptEndpoint[] {
    const all = this.#context.link.remoteEndpoints();
    if (this.#recipients.length === 0) return [...all];
    const named = new Set(this.#recipients);
    return all.filter((endpoint) => named.has(endpoint.identity));
  }

  #nextSequenceNumber(): number {
    this.#sequenceNumber = (this.#sequenceNumber + 1) >>> 0;
    return this.#sequenceNumber;
  }

  /** Durable senders fail the message; Lossy ones drop it silently (SPEC §4). */
  #refuse(code: DataChannelErrorCode, message: string): Promise<void> {
    return this.reliability === 'Durable' ? reject(code, message) : Promise.resolve();
  }
}

function reject(code: DataChannelErrorCode, message: string): Promise<void> {
  return Promise.reject(new DataChannelError(code, message));
}
