/**
 * This endpoint's Durable link to the server, across transports (docs/reliability.md): every link frame it
 * sends is numbered and kept until the server acknowledges it; every link frame it receives is counted and
 * acknowledged in batches; after a new transport comes up the two sides exchange LinkResume and each
 * resends what the other lacks. The send scheduler, sender sessions and barriers write through it as if it
 * were the Durable channel.
 */
import {
  DrainRateMeter,
  DurableLinkState,
  FrameError,
  FrameType,
  LINK_ACK_EVERY_FRAMES,
  LINK_ACK_WITHIN_MS,
  MAX_BATCH_FRAMES,
  MIN_BATCH_FRAMES,
  batchBytes,
  decodeLinkFrame,
  encodeBatch,
  encodeLinkAck,
  encodeLinkResume,
  isLinkFrame,
  type Clock,
  type TimerHandle,
} from '@backchannel/protocol';

import { TypedEmitter, type ListenerErrorReporter } from '../../events.js';
import { CLOSED_CHANNEL, type TransportChannel } from '../transport/PeerTransport.js';
import type { DurableFlow } from './DataLink.js';

/**
 * What the link may keep (sent, unacknowledged) at the measured drain rate: this many ms of it. Above a
 * path's bandwidth-delay product (so the path stays full) and well below the backlog bound (so that what
 * waits, waits in the senders' queues, where priority applies and what cannot go in time is refused).
 */
const LINK_HOLD_MS = 500;
/** What the link may keep before the first sample: a conservative start (a slow path is not known yet). */
const INITIAL_LINK_ALLOWANCE = 16 * 1024;
/** The least it may keep, however slow the path (one frame more always goes when it keeps nothing). */
const MIN_LINK_ALLOWANCE = 4 * 1024;
/** The most: beyond it only memory grows. */
const MAX_LINK_ALLOWANCE = 8 * 1024 * 1024;
/**
 * Bytes acknowledged and not yet committed the link keeps before they count against its room (a cluster
 * node whose commits lag, say while a link to another node is down, slows its senders past this, rather
 * than let what the SDK keeps grow without bound).
 */
const MAX_UNCOMMITTED_BYTES = 8 * 1024 * 1024;

export interface DurableLinkEvents {
  /** The link carries frames again after a LinkResume exchange: what the other side lacked was resent. */
  resumed: [resent: number];
  /** The other side broke the protocol (a count for frames never sent): the link cannot be trusted. */
  violated: [what: string];
  /** The other side acknowledged frames: the link has more room. */
  acknowledged: [];
  /** The drain rate was measured again from the path under load (the backlog may now be too long). */
  measured: [];
}

type LinkState = 'down' | 'resuming' | 'live';

export interface DurableLinkOptions {
  readonly clock: Clock;
  readonly reportListenerError: ListenerErrorReporter;
  /**
   * The largest batch the other side takes now, bytes, or undefined when it reads no batches (a server of
   * protocol 2, a 1:1 peer): read at each write while corked.
   */
  readonly maxBatchBytes: () => number | undefined;
  /**
   * Shown every frame the other side acknowledged (oldest first), then told the acknowledgement is over: a
   * 1:1 call's delivery receipts (PeerReceipts). Without it, acknowledgements only free what was kept.
   */
  readonly acknowledgedFrames?: AcknowledgedFrames;
  /**
   * Whether the server commits (a cluster node, its welcome's `linkCommits`): then what it acknowledged is
   * kept until a LinkCommit covers it, and given up with the rest by {@link DurableLink.restart} (the
   * endpoint was lost with its node: see docs/cluster.md). Read at each acknowledgement. Default: never.
   */
  readonly keepsUntilCommitted?: () => boolean;
}

/** See {@link DurableLinkOptions.acknowledgedFrames}. */
export interface AcknowledgedFrames {
  frame(frame: Uint8Array): void;
  done(): void;
}

export class DurableLink extends TypedEmitter<DurableLinkEvents> implements TransportChannel, DurableFlow {
  readonly kind = 'durable' as const;
  #state = new DurableLinkState();
  readonly #drain = new DrainRateMeter();
  readonly #clock: Clock;
  readonly #maxBatchBytes: () => number | undefined;
  readonly #acknowledgedFrames: AcknowledgedFrames | undefined;
  readonly #keepsUntilCommitted: () => boolean;
  /** Frames the server acknowledged and has not committed yet, oldest first, from #uncommittedHead on. */
  #uncommitted: Uint8Array[] = [];
  #uncommittedHead = 0;
  #uncommittedBytes = 0;
  /** What an acknowledgement releases goes to the 1:1 receipts (if any) and, where the server commits, to #uncommitted. */
  readonly #releasedUncommitted: (frame: Uint8Array) => void;
  /** cork() depth; while above 0, writes wait in #corked (see DurableFlow.cork). */
  #corks = 0;
  #corked: Uint8Array[] = [];
  #corkedBytes = 0;
  /** SCTP messages written and, of them, batches (for tests and diagnostics). */
  readonly counters = { messages: 0, batches: 0 };
  #channel: TransportChannel = CLOSED_CHANNEL;
  #linkState: LinkState = 'down';
  #ackTimer: TimerHandle | undefined;
  /** The server's LinkResume when it came before this side's channel was fully up. */
  #earlyResume: number | undefined;

  constructor(options: DurableLinkOptions) {
    super(options.reportListenerError);
    this.#clock = options.clock;
    this.#maxBatchBytes = options.maxBatchBytes;
    this.#acknowledgedFrames = options.acknowledgedFrames;
    this.#keepsUntilCommitted = options.keepsUntilCommitted ?? ((): boolean => false);
    const receipts = this.#acknowledgedFrames;
    this.#releasedUncommitted = (frame) => {
      receipts?.frame(frame);
      this.#uncommitted.push(frame);
      this.#uncommittedBytes += frame.byteLength;
    };
  }

  /** Frames sent and not acknowledged by the server. */
  get unacknowledgedFrames(): number {
    return this.#state.keptFrames;
  }

  /** Their bytes. */
  get unacknowledgedBytes(): number {
    return this.#state.keptBytes;
  }

  /** Frames the server acknowledged and has not committed (only where it commits). */
  get uncommittedFrames(): number {
    return this.#uncommitted.length - this.#uncommittedHead;
  }

  room(): number {
    const rate = this.#drain.bytesPerMs;
    const allowance =
      rate === undefined ? INITIAL_LINK_ALLOWANCE : Math.min(MAX_LINK_ALLOWANCE, Math.max(MIN_LINK_ALLOWANCE, rate * LINK_HOLD_MS));
    return allowance - this.#state.keptBytes - Math.max(0, this.#uncommittedBytes - MAX_UNCOMMITTED_BYTES);
  }

  drainMs(bytes: number): number | undefined {
    return this.#drain.drainMs(bytes);
  }

  /** The measured drain rate, kbit/s (undefined before the first sample): for messages and diagnostics. */
  get drainKbps(): number | undefined {
    const rate = this.#drain.bytesPerMs;
    return rate === undefined ? undefined : rate * 8; // bytes/ms → kbit/s
  }

  /** The first transport's Durable channel: the link is live at once (nothing to resume yet). */
  start(channel: TransportChannel): void {
    this.#channel = channel;
    this.#linkState = 'live';
  }

  /**
   * A later transport's Durable channel is open: this side says what it has received (LinkResume); frames
   * go out again once the server's LinkResume says what it has.
   */
  resumeOn(channel: TransportChannel): void {
    this.#channel = channel;
    this.#linkState = 'resuming';
    this.#write(encodeLinkResume(this.#state.acknowledging(), 'client'));
    const early = this.#earlyResume;
    this.#earlyResume = undefined;
    if (early !== undefined) this.#resumeFrom(early);
  }

  /** The transport is gone: frames are kept, nothing is written until the link resumes. */
  down(): void {
    this.#linkState = 'down';
    this.#channel = CLOSED_CHANNEL;
    // Held writes were recorded: the next transport's resume resends them.
    this.#corked = [];
    this.#corkedBytes = 0;
    this.#earlyResume = undefined;
    this.#drain.pause();
    this.#clock.clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
  }

  /**
   * The other side is a new one (the server lost the endpoint, which joined again): everything kept is
   * given up (returned, to report) and the counts start again from zero for the next transport (start()).
   */
  restart(): readonly Uint8Array[] {
    const abandoned = this.abandon();
    this.#state = new DurableLinkState();
    return abandoned;
  }

  /** Everything kept (uncommitted, then unacknowledged: oldest first), given up (the endpoint is gone for good). */
  abandon(): readonly Uint8Array[] {
    this.down();
    const unacknowledged = this.#state.abandon();
    if (this.uncommittedFrames === 0) return unacknowledged;
    const abandoned = [...this.#uncommitted.slice(this.#uncommittedHead), ...unacknowledged];
    this.#uncommitted = [];
    this.#uncommittedHead = 0;
    this.#uncommittedBytes = 0;
    return abandoned;
  }

  isOpen(): boolean {
    return this.#linkState === 'live' && this.#channel.isOpen();
  }

  /** A link frame to send: numbered and kept; written at once while the link is live. Never throws. */
  send(frame: Uint8Array): boolean {
    this.#state.recordSent(frame);
    if (this.#linkState === 'live') this.#write(frame);
    return true;
  }

  cork(): void {
    this.#corks++;
  }

  uncork(): void {
    if (this.#corks === 0) return;
    if (--this.#corks === 0) this.#flushCorked();
  }

  /** Hands a frame to the channel, or holds it while corked (in order: nothing overtakes what is held). */
  #write(frame: Uint8Array): void {
    const max = this.#corks > 0 ? this.#maxBatchBytes() : undefined;
    if (max === undefined || batchBytes(MIN_BATCH_FRAMES, frame.byteLength + 1) > max) {
      this.#flushCorked();
      this.#out(frame, false);
      return;
    }
    const count = this.#corked.length;
    if (count === MAX_BATCH_FRAMES || batchBytes(count + 1, this.#corkedBytes + frame.byteLength) > max) this.#flushCorked();
    this.#corked.push(frame);
    this.#corkedBytes += frame.byteLength;
  }

  #flushCorked(): void {
    const held = this.#corked;
    if (held.length === 0) return;
    this.#corked = [];
    this.#corkedBytes = 0;
    if (held.length === 1) this.#out(held[0]!, false);
    else this.#out(encodeBatch(held, 'client'), true);
  }

  #out(message: Uint8Array, batch: boolean): void {
    this.counters.messages++;
    if (batch) this.counters.batches++;
    this.#channel.send(message);
  }

  /**
   * While the link is down or resuming it reports itself full, so that the send scheduler holds Durable
   * messages in their queues (where priority and the senders' backlog bounds apply) as it does under
   * backpressure; the pump after the resume sends them.
   */
  bufferedAmount(): number {
    return this.#linkState === 'live' ? this.#channel.bufferedAmount() + this.#corkedBytes : Number.POSITIVE_INFINITY;
  }

  /**
   * A frame arrived on the Durable channel. LinkAck and LinkResume are handled here (true: nothing for the
   * engine); any other frame is counted for acknowledgement and is the engine's (false).
   */
  receive(frame: Uint8Array): boolean {
    if (isLinkFrame(frame)) {
      this.#state.recordReceived();
      this.#scheduleAck();
      return false;
    }
    let decoded;
    try {
      decoded = decodeLinkFrame(frame);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      this.emit('violated', 'a link frame of the wrong length');
      return true;
    }
    const { type, count } = decoded;
    if (type === FrameType.LinkAck || type === FrameType.ServerLinkAck) {
      if (!this.#acknowledge(count)) this.emit('violated', `an acknowledgement of ${count} frames, more than were sent`);
      return true;
    }
    if (type === FrameType.ServerLinkCommit) {
      const problem = this.#commit(count);
      if (problem) this.emit('violated', problem);
      return true;
    }
    // LinkResume: the other side has `count` of ours. It can come before this side has seen both channels
    // open (the server sends it once its side is up): then it waits for resumeOn.
    if (this.#linkState === 'resuming') this.#resumeFrom(count);
    else this.#earlyResume = count;
    return true;
  }

  /** The other side has the first `count` frames: they are released (false, nothing changed, if never sent). */
  #acknowledge(count: number): boolean {
    const keptBefore = this.#state.keptBytes;
    if (!this.#state.acknowledge(count, this.#released())) return false;
    this.#acknowledgedFrames?.done();
    const kept = this.#state.keptBytes;
    const measured = this.#drain.acknowledged(keptBefore - kept, kept, this.#clock.now());
    if (measured) this.emit('measured');
    this.emit('acknowledged');
    return true;
  }

  /**
   * The server's LinkCommit(`count`): the first `count` frames are acknowledged (if they were not yet) and
   * committed, so no longer kept. Returns what is wrong with it, if anything (a count never sent, or one
   * behind an earlier commit), having changed nothing.
   */
  #commit(count: number): string | undefined {
    const kept = this.#state.keptFrames;
    const acknowledged = (this.#state.sent - kept) >>> 0;
    const ahead = (count - acknowledged) >>> 0;
    if (ahead !== 0 && ahead <= kept) this.#acknowledge(count);
    else if (ahead !== 0 && ((acknowledged - count) >>> 0) > this.uncommittedFrames) return `a commit of ${count} frames: never sent, or behind an earlier commit`;
    const committed = (((this.#state.sent - this.#state.keptFrames) >>> 0) - this.uncommittedFrames) >>> 0;
    const advance = (count - committed) >>> 0;
    for (let i = 0; i < advance; i++) {
      this.#uncommittedBytes -= this.#uncommitted[this.#uncommittedHead]!.byteLength;
      this.#uncommittedHead++;
    }
    if (this.#uncommittedHead === this.#uncommitted.length) {
      this.#uncommitted = [];
      this.#uncommittedHead = 0;
    } else if (this.#uncommittedHead > 1024 && this.#uncommittedHead * 2 > this.#uncommitted.length) {
      this.#uncommitted = this.#uncommitted.slice(this.#uncommittedHead);
      this.#uncommittedHead = 0;
    }
    return undefined;
  }

  /** What the link's state shows the frames an acknowledgement releases to (see #releasedUncommitted). */
  #released(): ((frame: Uint8Array) => void) | undefined {
    return this.#keepsUntilCommitted() ? this.#releasedUncommitted : this.#acknowledgedFrames?.frame;
  }

  /** Resends what the other side lacks (it has `count`), then the link is live. */
  #resumeFrom(count: number): void {
    const resend = this.#state.resumeFrom(count, this.#released());
    if (resend === undefined) return void this.emit('violated', `a resume from ${count} frames, more than were sent`);
    this.#acknowledgedFrames?.done();
    // Corked: what is resent leaves batched where the other side reads batches.
    this.cork();
    for (const kept of resend) this.#write(kept);
    this.uncork();
    this.#linkState = 'live';
    if (this.#state.unacknowledged > 0) this.#scheduleAck();
    this.emit('resumed', resend.length);
  }

  #scheduleAck(): void {
    if (this.#state.unacknowledged >= LINK_ACK_EVERY_FRAMES) return this.#ack();
    this.#ackTimer ??= this.#clock.setTimeout(() => this.#ack(), LINK_ACK_WITHIN_MS);
  }

  #ack(): void {
    this.#clock.clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    if (this.#linkState !== 'live' || this.#state.unacknowledged === 0) return;
    this.#write(encodeLinkAck(this.#state.acknowledging(), 'client'));
  }
}
