/**
 * The server's end of one endpoint's Durable link (docs/reliability.md): what it sent the endpoint on its
 * Durable channel and has not had acknowledged, what it received and has not acknowledged yet, and the
 * switch from one transport to the next. The counts and the kept frames are the protocol's
 * {@link DurableLinkState}; this object adds the server's side of it: the bound on what is kept, the
 * batched acknowledgements on the server's clock, and the order of a resume.
 *
 * States: 'idle' (no transport yet: nothing is recorded), 'live' (frames are recorded and sent),
 * 'suspended' (the transport is gone: frames are recorded, not sent), 'resuming' (a new transport is up and
 * the server's LinkResume is out: frames are recorded, not sent, until the client's LinkResume says what it
 * has), 'closed'. The first transport goes live at once (nothing to resume); every later one resumes.
 */
import {
  DrainRateMeter,
  DurableLinkState,
  FrameError,
  LINK_ACK_EVERY_FRAMES,
  LINK_ACK_WITHIN_MS,
  FrameType,
  decodeClientFrame,
  encodeLinkAck,
  encodeLinkCommit,
  encodeLinkResume,
  isLinkFrame,
  type Clock,
  type TimerHandle,
} from '@backchannel/protocol';

/** The current transport's Durable channel, as the link sees it. */
export interface LinkChannel {
  /** Hands a frame to the channel; false if the channel is not (or no longer) open. */
  send(frame: Uint8Array): boolean;
}

export type EndpointLinkState = 'idle' | 'live' | 'suspended' | 'resuming' | 'closed';

/**
 * What became of a frame for the endpoint: sent (and kept until acknowledged); kept for the resume (the
 * link is not live); refused because the kept bytes would pass the bound while live ('slow': the copy is
 * dropped) or while not live ('overflow': the endpoint cannot be resumed whole and must end); or refused
 * because there is no link ('closed': idle or closed).
 */
/**
 * What the bound on kept bytes charges per kept frame beyond its bytes: the cost of holding it (an object,
 * an entry in the kept list, the transport's own queue entry). Without it, a client that never
 * acknowledges could have millions of tiny frames kept for it (its own barrier answers, a Notice per frame
 * it floods past its pace) within a bound meant for megabytes of messages.
 */
export const KEPT_FRAME_OVERHEAD_BYTES = 64;

export type LinkDeliverResult = 'sent' | 'kept' | 'slow' | 'overflow' | 'closed';

/**
 * What a frame from the client's Durable channel was: a link frame, counted, for the router ('frame'); a
 * LinkAck applied ('ack'); the client's LinkResume applied, the frames it lacked resent, the link live again
 * ('resumed'); a frame that breaks the protocol and changed nothing ('violation': a LinkAck for frames never
 * sent, a LinkResume not awaited, a malformed LinkAck or LinkResume, a link frame before the client's
 * LinkResume); or a LinkResume for frames never sent ('broken': the link cannot be resumed).
 */
export type LinkInput = 'frame' | 'ack' | 'resumed' | 'violation' | 'broken';

export interface EndpointLinkOptions {
  /** Bytes kept (sent or not, unacknowledged) past which a frame is refused: `receiverBufferBytes.durable`. */
  readonly maxKeptBytes: number;
  readonly clock: Clock;
  /**
   * How many of the client's frames are committed (LinkCommits), for an endpoint whose SDK reads LinkCommit
   * on a cluster node. With it, an acknowledgement that finds every received frame committed goes as a
   * LinkCommit (which acknowledges too), and {@link EndpointLink.commit} sends the later ones.
   */
  readonly committed?: () => number;
}

/** One endpoint's Durable link, server side (see the module comment). */
export class EndpointLink {
  readonly #state = new DurableLinkState();
  /** How fast the endpoint's path drains, from its acknowledgements (the recipient backlog bound). */
  readonly #drain = new DrainRateMeter();
  readonly #maxKeptBytes: number;
  readonly #clock: Clock;
  #linkState: EndpointLinkState = 'idle';
  #channel: LinkChannel | undefined;
  #ackTimer: TimerHandle | undefined;
  #lastResent = 0;
  readonly #committed: (() => number) | undefined;
  /** The count of the last LinkCommit sent (or to send once live again). */
  #commitSent = 0;

  constructor(options: EndpointLinkOptions) {
    this.#maxKeptBytes = options.maxKeptBytes;
    this.#clock = options.clock;
    this.#committed = options.committed;
  }

  get state(): EndpointLinkState {
    return this.#linkState;
  }

  /** Frames are sent as they come (not only kept). */
  get live(): boolean {
    return this.#linkState === 'live';
  }

  /** Frames kept for a resend (sent or not, unacknowledged), and their bytes. */
  get keptFrames(): number {
    return this.#state.keptFrames;
  }

  get keptBytes(): number {
    return this.#state.keptBytes;
  }

  /**
   * How long `bytes` take to drain toward the endpoint at the rate its path was measured to carry, ms;
   * undefined until measured under load.
   */
  drainMs(bytes: number): number | undefined {
    return this.#drain.drainMs(bytes);
  }

  /** Link frames sent and received so far (mod 2^32). */
  get sent(): number {
    return this.#state.sent;
  }

  get received(): number {
    return this.#state.received;
  }

  /** The first transport is up: the link goes live on `channel` (there is nothing to resume). */
  start(channel: LinkChannel): void {
    if (this.#linkState !== 'idle') return;
    this.#channel = channel;
    this.#linkState = 'live';
  }

  /** The transport is gone: frames are kept from now on, not sent. */
  suspend(): void {
    if (this.#linkState === 'idle' || this.#linkState === 'closed') return;
    this.#channel = undefined;
    this.#linkState = 'suspended';
    this.#stopAckTimer();
    this.#drain.pause();
  }

  /**
   * A new transport is up after a suspension: the server's LinkResume (its received count) goes first on
   * `channel`, then nothing until the client's LinkResume (see {@link receive}).
   */
  resumeOn(channel: LinkChannel): void {
    if (this.#linkState !== 'suspended') return;
    this.#channel = channel;
    this.#linkState = 'resuming';
    channel.send(encodeLinkResume(this.#state.acknowledging(), 'server'));
  }

  /**
   * A link frame for the endpoint (see {@link LinkDeliverResult}). Recorded before it is sent: a frame the
   * channel no longer takes is resent on the next transport. The bytes are kept by reference (the same
   * buffer goes to every recipient): they must not change afterwards.
   */
  deliver(frame: Uint8Array): LinkDeliverResult {
    const state = this.#linkState;
    if (state === 'idle' || state === 'closed') return 'closed';
    const charged = this.#state.keptBytes + KEPT_FRAME_OVERHEAD_BYTES * (this.#state.keptFrames + 1) + frame.byteLength;
    if (charged > this.#maxKeptBytes) return state === 'live' ? 'slow' : 'overflow';
    this.#state.recordSent(frame);
    if (state !== 'live') return 'kept';
    this.#channel!.send(frame);
    return 'sent';
  }

  /** A frame from the client's Durable channel (see {@link LinkInput}). */
  receive(frame: Uint8Array): LinkInput {
    const state = this.#linkState;
    if (state === 'idle' || state === 'closed' || state === 'suspended') return 'violation';
    if (isLinkFrame(frame)) {
      if (state === 'resuming') return 'violation'; // the client's LinkResume must come first
      this.#state.recordReceived();
      this.#scheduleAck();
      return 'frame';
    }
    let decoded;
    try {
      decoded = decodeClientFrame(frame);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      return 'violation'; // a server-side LinkAck/LinkResume type, or a wrong length
    }
    if (decoded.type === FrameType.LinkAck) {
      const keptBefore = this.#state.keptBytes;
      if (!this.#state.acknowledge(decoded.count)) return 'violation';
      this.#drain.acknowledged(keptBefore - this.#state.keptBytes, this.#state.keptBytes, this.#clock.now());
      return 'ack';
    }
    if (decoded.type !== FrameType.LinkResume || state !== 'resuming') return 'violation';
    const resend = this.#state.resumeFrom(decoded.count);
    if (resend === undefined) return 'broken';
    this.#linkState = 'live';
    this.#lastResent = resend.length;
    for (const kept of resend) this.#channel!.send(kept);
    // Commits made while the link was down were not sent: the client hears the current one now.
    if (this.#committed) this.commit(this.#committed());
    return 'resumed';
  }

  /**
   * The client's first `count` frames are committed (LinkCommits): a LinkCommit tells it, now if the link is
   * live, else after the resume. Only with {@link EndpointLinkOptions.committed}.
   */
  commit(count: number): void {
    if (!this.#committed || count === this.#commitSent || this.#linkState !== 'live' || !this.#channel) return;
    if (count === this.#state.received) {
      // It acknowledges everything received too: no LinkAck is due any more.
      this.#state.acknowledging();
      this.#stopAckTimer();
    }
    this.#commitSent = count;
    this.#channel.send(encodeLinkCommit(count));
  }

  /** Frames resent by the last resume. */
  get lastResent(): number {
    return this.#lastResent;
  }

  /** The endpoint is gone: nothing more is kept, sent or acknowledged. Idempotent. */
  close(): void {
    if (this.#linkState === 'closed') return;
    this.#linkState = 'closed';
    this.#channel = undefined;
    this.#stopAckTimer();
    this.#state.abandon();
  }

  /** One acknowledgement per ACK_EVERY_FRAMES link frames, or ACK_WITHIN_MS after the first unacknowledged one. */
  #scheduleAck(): void {
    if (this.#state.unacknowledged >= LINK_ACK_EVERY_FRAMES) return this.#acknowledge();
    this.#ackTimer ??= this.#clock.setTimeout(() => {
      this.#ackTimer = undefined;
      this.#acknowledge();
    }, LINK_ACK_WITHIN_MS);
  }

  #acknowledge(): void {
    this.#stopAckTimer();
    if (!this.#channel || this.#state.unacknowledged === 0) return;
    const received = this.#state.acknowledging();
    if (this.#committed?.() === received) {
      this.#commitSent = received;
      this.#channel.send(encodeLinkCommit(received));
    } else this.#channel.send(encodeLinkAck(received, 'server'));
  }

  #stopAckTimer(): void {
    if (this.#ackTimer === undefined) return;
    this.#clock.clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
  }
}
