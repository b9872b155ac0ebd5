/**
 * The data-channel machinery of one call endpoint: its senders and their scheduler, the receiver table,
 * and the reading of frames from the server. It creates internal sender and receiver states and emits;
 * the public DataChannelCallFeature wraps them in the public objects. The call feeds it transport events.
 */
import {
  DataChannelErrorCode,
  FrameError,
  FrameType,
  MAX_CHANNEL_ID,
  MIN_CHANNEL_ID,
  RateMeter,
  SlowRecipientReason,
  TokenBucket,
  decodeClientFrame,
  decodeServerFrame,
  describePermissions,
  encodeBarrier,
  dropReasonText,
  errorCodeForDrop,
  permits,
  type SendFrame,
  type TimerHandle,
} from '@backchannel/protocol';

import type { DataChannelSenderOpenOptions } from '../../dataChannel/types.js';
import { DataChannelError } from '../../errors.js';
import { TypedEmitter, type ListenerErrorReporter } from '../../events.js';
import type { DataLink } from './DataLink.js';
import { PeerReceipts } from './PeerReceipts.js';
import type { ReceiverState } from './ReceiverState.js';
import { ReceiverTable } from './ReceiverTable.js';
import { SendScheduler } from './SendScheduler.js';
import { SenderState, type SenderContext } from './SenderState.js';
import { validateParticipants, validateSenderOptions } from './validation.js';

/** Frames from an endpoint the roster does not know yet are held (signaling and data race), this many at most. */
const MAX_HELD_FRAMES_PER_ENDPOINT = 256;
const MAX_HELD_ENDPOINTS = 64;
/** How long a departed endpoint's receivers wait for its in-band EndpointLeft before closing anyway. */
const DEPARTURE_GRACE_MS = 5000;

export interface DataChannelCounters {
  framesReceived: number;
  /** Frames the decoder refused. */
  malformedFrames: number;
  /** Frames from unknown endpoints dropped after holding too many. */
  unknownSenderDropped: number;
  /** Server notices: messages of ours the server dropped. */
  serverDrops: number;
  /**
   * Messages on a channel this endpoint's token does not let it receive from (channel permissions): the
   * server never sends them; in a 1:1 call the other party's SDK should not have.
   */
  notPermittedDropped: number;
}

export interface DataChannelEngineOptions {
  /** Messages a receiver buffers before dropping the oldest. */
  receiverBufferSize: number;
  reportListenerError: ListenerErrorReporter;
}

export interface DataChannelEngineEvents {
  /** A remote sender session was heard for the first time: emitted before its first message is buffered. */
  receiverCreated: [receiver: ReceiverState];
}

export class DataChannelEngine extends TypedEmitter<DataChannelEngineEvents> {
  readonly counters: DataChannelCounters = { framesReceived: 0, malformedFrames: 0, unknownSenderDropped: 0, serverDrops: 0, notPermittedDropped: 0 };
  readonly #link: DataLink;
  readonly #scheduler: SendScheduler;
  readonly #receivers: ReceiverTable;
  readonly #senders = new Map<number, SenderState>();
  /** A 1:1 call's delivery receipts, from the peer's acknowledgements (group calls get Receipt frames). */
  readonly peerReceipts = new PeerReceipts({
    senderOn: (channelId) => this.#senders.get(channelId),
    peer: () => this.#link.remoteEndpoints()[0],
  });
  readonly #received = new RateMeter();
  readonly #held = new Map<number, Uint8Array[]>();
  /** Barriers sent and not yet acknowledged, by token. */
  readonly #barriers = new Map<number, () => void>();
  #nextBarrier = 1;
  /** Endpoints that left the roster but whose in-band EndpointLeft has not arrived yet. */
  readonly #departing = new Map<number, { identity: string; timer: TimerHandle }>();
  readonly #context: SenderContext;
  #nextSessionId = 1;
  #idleTimer: TimerHandle | undefined;
  #ended = false;

  constructor(link: DataLink, options: DataChannelEngineOptions) {
    super(options.reportListenerError);
    this.#link = link;
    this.#scheduler = new SendScheduler(link);
    this.#receivers = new ReceiverTable(options.receiverBufferSize, (state) => this.emit('receiverCreated', state), options.reportListenerError);
    this.#context = {
      link,
      reportListenerError: options.reportListenerError,
      broadcastPackets: newBroadcastPacketBucket(link),
      receivedKbps: (now) => this.#received.kbps(now),
      durableQueue: { bytes: 0 },
      schedule: (sender) => this.#scheduler.schedule(sender),
      released: (sender) => {
        this.#scheduler.forget(sender);
        if (this.#senders.get(sender.channelId) === sender) this.#senders.delete(sender.channelId);
      },
    };
  }

  /**
   * The call is connected: limits are known (senders made before take their class's maximum from them),
   * idle receivers can be swept, and what waited goes.
   */
  start(): void {
    const limits = this.#link.limits;
    this.#context.broadcastPackets = newBroadcastPacketBucket(this.#link);
    for (const sender of this.#senders.values()) sender.limitsKnown();
    this.#scheduler.pump();
    this.#sweepIdleEvery(Math.max(20, Math.min(10_000, Math.floor(limits.receiverIdleCloseMs / 4))));
  }

  /** Closes idle receivers every `ms`, on the call's clock. */
  #sweepIdleEvery(ms: number): void {
    const clock = this.#link.clock;
    this.#idleTimer = clock.setTimeout(() => {
      if (this.#ended) return;
      this.#receivers.closeIdle(this.#link.limits, clock.now());
      this.#sweepIdleEvery(ms);
    }, ms);
  }

  /** Opens a sender session; throws DataChannelError for bad options or an unusable call. */
  createSender(options?: DataChannelSenderOpenOptions): SenderState {
    const checked = validateSenderOptions(options);
    // A sender may be made as soon as the call exists (the reference's apps make theirs right after join):
    // what it sends before the call connects waits (Durable) or is dropped (Lossy).
    if (this.#ended || this.#link.dataState() === 'closed') {
      throw new DataChannelError(DataChannelErrorCode.FailedToStart, 'the call has ended: no data transport');
    }
    const recipients = validateParticipants(checked.participants, this.#link);
    const channelId = checked.channelId === 0 ? this.#freeChannelId() : checked.channelId;
    if (!permits(this.#link.channels, 'send', channelId)) {
      throw new DataChannelError(
        DataChannelErrorCode.ChannelNotPermitted,
        `this identity's token does not permit sending on channel ${channelId} (it permits ${describePermissions(this.#link.channels, 'send')})`,
      );
    }
    // SPEC §4: a new sender on a channel this endpoint has open closes the old one.
    this.#senders.get(channelId)?.close(`sender on channel ${channelId} was replaced by a newer sender`);
    const state = new SenderState(
      {
        channelId,
        sessionId: this.#nextSessionId++,
        reliability: checked.reliability,
        priority: checked.priority,
        retain: checked.retain,
        receipts: checked.receipts,
        requestedKbps: checked.bitrateInKbps,
      },
      this.#context,
    );
    this.#senders.set(channelId, state);
    if (recipients.length > 0) state.setRecipients(recipients);
    return state;
  }

  onFrame(bytes: Uint8Array): void {
    if (this.#ended) return;
    this.counters.framesReceived++;
    this.#received.add(bytes.byteLength, this.#link.clock.now());
    this.#handle(bytes);
  }

  #handle(bytes: Uint8Array): void {
    const now = this.#link.clock.now();
    let frame;
    try {
      frame = decodeServerFrame(bytes);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      this.counters.malformedFrames++;
      return;
    }
    switch (frame.type) {
      case FrameType.Deliver: {
        if (frame.payload.byteLength > this.#link.limits.maxMessageSizeBytes) {
          this.counters.malformedFrames++; // no honest server (or peer) sends one
          return;
        }
        if (!permits(this.#link.channels, 'receive', frame.channelId)) {
          this.counters.notPermittedDropped++;
          return;
        }
        const identity = this.#link.identityOf(frame.senderEndpointId) ?? this.#departing.get(frame.senderEndpointId)?.identity;
        if (identity === undefined) {
          this.#hold(frame.senderEndpointId, bytes);
          return;
        }
        this.#receivers.deliver(frame.senderEndpointId, identity, frame.channelId, frame.sessionId, frame.sequenceNumber, frame.payload, now);
        return;
      }
      case FrameType.SessionClosed:
        if (this.#held.has(frame.senderEndpointId)) this.#hold(frame.senderEndpointId, bytes);
        else this.#receivers.closeSession(frame.senderEndpointId, frame.channelId, frame.sessionId);
        return;
      case FrameType.EndpointLeft:
        this.#departed(frame.endpointId);
        return;
      case FrameType.BarrierAck:
        this.#barriers.get(frame.token)?.();
        this.#barriers.delete(frame.token);
        return;
      case FrameType.SlowRecipient: {
        const sender = this.#senders.get(frame.channelId);
        if (sender?.sessionId !== frame.sessionId) return;
        const identity = this.#link.identityOf(frame.recipientEndpointId) ?? this.#departing.get(frame.recipientEndpointId)?.identity;
        if (identity === undefined) return; // left and forgotten: no participant to name
        sender.reportSlowRecipient(frame.recipientEndpointId, identity, SLOW_REASON_NAMES[frame.reason], frame.droppedCount);
        return;
      }
      case FrameType.Receipt: {
        const sender = this.#senders.get(frame.channelId);
        if (sender?.sessionId !== frame.sessionId) return;
        const identity = this.#link.identityOf(frame.recipientEndpointId) ?? this.#departing.get(frame.recipientEndpointId)?.identity;
        if (identity !== undefined) sender.reportReceipt(frame.recipientEndpointId, identity, frame.sequenceNumber);
        return;
      }
      case FrameType.CopiesDropped:
        this.#receivers.addServerDrops(frame.senderEndpointId, frame.channelId, frame.sessionId, frame.count);
        return;
      case FrameType.Notice: {
        // The message had already left (its sendMessage resolved on hand-off): the sender reports the drop
        // as an event, with the error code the SDK would have raised had it seen the limit first.
        this.counters.serverDrops++;
        const sender = this.#senders.get(frame.channelId);
        if (sender?.sessionId !== frame.sessionId) return;
        const code = errorCodeForDrop(frame.reason);
        sender.reportDropped(frame.sequenceNumber, new DataChannelError(code, `the server dropped message ${frame.sequenceNumber}: ${dropReasonText(frame.reason)}`));
        return;
      }
    }
  }

  /**
   * Resolves once the server (or the peer) confirms it has received everything this endpoint sent so far
   * on the Durable channel, or after `timeoutMs`. Used before leaving, so that messages whose sendMessage
   * resolved are not cut off by closing the connection.
   */
  flush(timeoutMs: number): Promise<boolean> {
    const durable = this.#link.channel('durable');
    const token = this.#nextBarrier++ >>> 0;
    const clock = this.#link.clock;
    return new Promise((resolve) => {
      const timer = clock.setTimeout(() => {
        this.#barriers.delete(token);
        resolve(false);
      }, timeoutMs);
      this.#barriers.set(token, () => (clock.clearTimeout(timer), resolve(true)));
      if (!durable.send(encodeBarrier(token))) {
        this.#barriers.delete(token);
        clock.clearTimeout(timer);
        resolve(false);
      }
    });
  }

  /**
   * Messages that had left this endpoint (their sendMessage resolved) but that the server never
   * acknowledged, now that they never will be delivered: each is reported on its sender's
   * `messageDropped` event, so that nothing is lost silently. Other frames (lists, closes) need no report.
   */
  reportUndelivered(frames: readonly Uint8Array[], error: (sequenceNumber: number) => DataChannelError): void {
    for (const frame of frames) {
      if (frame[0] !== FrameType.Send) continue;
      const { channelId, sessionId, sequenceNumber } = decodeClientFrame(frame) as SendFrame; // our own encoding
      const sender = this.#senders.get(channelId);
      if (sender?.sessionId === sessionId) sender.reportDropped(sequenceNumber, error(sequenceNumber));
    }
  }

  onBufferedAmountLow(): void {
    this.#scheduler.pump();
  }

  /**
   * The path's drain rate was measured again: Durable messages still queued (their sendMessage pending)
   * that would now wait longer than maxSendBacklogMs are refused, newest first and Normal priority before
   * High, so that what stays queued arrives in time (docs/reliability.md, "Bounded latency"). A burst sent
   * before the path was measured is what this catches.
   */
  shedBacklog(): void {
    const flow = this.#link.durableFlow;
    const queue = this.#context.durableQueue;
    const boundMs = this.#link.limits.maxSendBacklogMs;
    const over = (): boolean => (flow.drainMs(flow.unacknowledgedBytes + queue.bytes) ?? 0) > boundMs;
    if (queue.bytes === 0 || !over()) return;
    const durable = [...this.#senders.values()].filter((sender) => sender.reliability === 'Durable');
    for (const priority of ['Normal', 'High'] as const) {
      for (const sender of durable) {
        if (sender.priority !== priority) continue;
        const error = new DataChannelError(
          DataChannelErrorCode.MessageFailureForBandwidth,
          `the data path drains too slowly: the message would have waited more than maxSendBacklogMs (${boundMs} ms)`,
        );
        while (over() && sender.shedNewest(error) > 0);
        if (!over()) return;
      }
    }
  }

  /**
   * This endpoint joined the call again as a new one (the server lost the old): every receiver closes (the
   * senders it heard are of the old call's endpoints), frames held for unknown endpoints are forgotten, and
   * every sender goes on in a new session; what they had queued rejects with `error`.
   */
  restartEndpoint(error: DataChannelError): void {
    if (this.#ended) return;
    for (const { timer } of this.#departing.values()) this.#link.clock.clearTimeout(timer);
    this.#departing.clear();
    this.#held.clear();
    this.#receivers.closeAll();
    for (const sender of this.#senders.values()) sender.restartSession(this.#nextSessionId++, error);
  }

  /** A remote endpoint entered the roster: deliver what it sent before we knew it. */
  onParticipantJoined(endpointId: number): void {
    const held = this.#held.get(endpointId);
    if (!held) return;
    this.#held.delete(endpointId);
    for (const frame of held) this.#handle(frame); // counted when they arrived
  }

  /**
   * A remote endpoint left the roster. Its last messages may still be on their way (the roster travels over
   * signaling, the data over the Durable channel): its receivers stay open until the server's in-band
   * EndpointLeft frame says nothing more will come, or DEPARTURE_GRACE_MS passes.
   */
  onParticipantLeft(endpointId: number, identity: string): void {
    if (this.#ended || this.#departing.has(endpointId)) return;
    const timer = this.#link.clock.setTimeout(() => this.#departed(endpointId), DEPARTURE_GRACE_MS);
    this.#departing.set(endpointId, { identity, timer });
  }

  #departed(endpointId: number): void {
    const departing = this.#departing.get(endpointId);
    if (departing) this.#link.clock.clearTimeout(departing.timer);
    this.#departing.delete(endpointId);
    this.#held.delete(endpointId);
    this.#receivers.closeEndpoint(endpointId);
    // In band, after its last receipts: what it had not acknowledged, it never will.
    for (const sender of this.#senders.values()) sender.receipts?.left(endpointId);
  }

  /**
   * The call ended: senders close (pending messages reject with `error`, default SenderClosed), receivers
   * close. Idempotent.
   */
  end(error?: DataChannelError): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#idleTimer) this.#link.clock.clearTimeout(this.#idleTimer);
    for (const { timer } of this.#departing.values()) this.#link.clock.clearTimeout(timer);
    this.#departing.clear();
    this.#scheduler.dispose();
    for (const sender of [...this.#senders.values()]) sender.abandon(error ?? new DataChannelError(DataChannelErrorCode.SenderClosed, 'the call ended'));
    this.#senders.clear();
    this.#held.clear();
    this.#receivers.closeAll();
  }

  /**
   * A free channel id, at random: among those the token lets it send on (channel permissions), so that a
   * restricted token never makes a sender it may not use. RandomIdNotAvailable when none is free.
   */
  #freeChannelId(): number {
    const ranges = this.#link.channels.send ?? [[MIN_CHANNEL_ID, MAX_CHANNEL_ID] as const];
    const span = ranges.reduce((sum, [from, to]) => sum + (to - from + 1), 0);
    const refused = (): DataChannelError =>
      new DataChannelError(DataChannelErrorCode.RandomIdNotAvailable, `every channelId this endpoint may send on (${describePermissions(this.#link.channels, 'send')}) is in use by an open sender`);
    if (span === 0 || this.#senders.size >= MAX_CHANNEL_ID - MIN_CHANNEL_ID + 1) throw refused();
    // Random start, then the next free id: uniform enough, and bounded even when nearly full.
    const start = Math.floor(Math.random() * span);
    for (let i = 0; i < span; i++) {
      const id = nthChannel(ranges, (start + i) % span);
      if (!this.#senders.has(id)) return id;
    }
    throw refused();
  }

  #hold(endpointId: number, frame: Uint8Array): void {
    let held = this.#held.get(endpointId);
    if (!held) {
      if (this.#held.size >= MAX_HELD_ENDPOINTS) {
        this.counters.unknownSenderDropped++;
        return;
      }
      this.#held.set(endpointId, (held = []));
    }
    if (held.length >= MAX_HELD_FRAMES_PER_ENDPOINT) this.counters.unknownSenderDropped++;
    else held.push(frame);
  }
}

const SLOW_REASON_NAMES = {
  [SlowRecipientReason.Dropping]: 'Dropping',
  [SlowRecipientReason.Backlogged]: 'Backlogged',
  [SlowRecipientReason.Suspended]: 'Suspended',
} as const;

/** The `n`-th channel id (from 0) of the ranges, taken in order. */
function nthChannel(ranges: readonly (readonly [number, number])[], n: number): number {
  for (const [from, to] of ranges) {
    if (n <= to - from) return from + n;
    n -= to - from + 1;
  }
  return MIN_CHANNEL_ID; // not reached: n is below the ranges' span
}

/** SPEC §4: broadcast packets per second per endpoint, with a one-second burst. */
function newBroadcastPacketBucket(link: DataLink): TokenBucket {
  const perSecond = link.limits.broadcastPacketsPerSecond;
  return new TokenBucket(perSecond / 1000, perSecond, link.clock.now());
}
