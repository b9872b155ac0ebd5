/**
 * Coalescing of the frames queued toward one recipient within one event-loop turn (docs/protocol.md,
 * "Batch"; docs/benchmarks.md has the figures).
 *
 * Policy: the first frame of a turn for a channel goes at once, so an idle server adds no latency; the ones
 * after it in the same turn wait for the end of the turn (one setImmediate per server, not per recipient)
 * and leave as one ServerBatch, or a few when they pass the batch bound. A turn that routes a burst (many
 * incoming messages read in one poll of the event loop) thus costs each recipient two SCTP messages instead
 * of one per frame, and order is kept: nothing overtakes what is pending.
 *
 * A broadcast gives every recipient the same frames in the same order (the same buffers, rewritten once):
 * the flusher keeps the batch it encoded last and hands it to the next recipient whose pending frames are
 * the very same buffers, so a fan-out encodes each batch once, not once per recipient.
 */
import { MAX_BATCH_FRAMES, MIN_BATCH_FRAMES, batchBytes, encodeBatch } from '@backchannel/protocol';

/** Runs the coalescers that have frames pending at the end of the current turn; shares encodings among them. */
export class TurnFlusher {
  readonly #defer: (run: () => void) => void;
  #due: FrameCoalescer[] = [];
  #armed = false;
  #lastFrames: readonly Uint8Array[] | undefined;
  #lastBatch: Uint8Array | undefined;
  /** Batches encoded, and batches handed out again without encoding (a broadcast's later recipients). */
  readonly counters = { encoded: 0, shared: 0 };

  /** `defer` runs its callback at the end of the turn (default: setImmediate, after the poll phase's I/O). */
  constructor(defer: (run: () => void) => void = (run) => void setImmediate(run)) {
    this.#defer = defer;
  }

  /** `coalescer` opened a turn: its endTurn() runs once this turn's I/O callbacks are done. */
  enlist(coalescer: FrameCoalescer): void {
    this.#due.push(coalescer);
    if (this.#armed) return;
    this.#armed = true;
    this.#defer(this.#flush);
  }

  /** One batch of `frames`: the last one encoded when it holds the very same buffers, else a new one. */
  batchOf(frames: readonly Uint8Array[]): Uint8Array {
    const last = this.#lastFrames;
    if (last !== undefined && last.length === frames.length && last.every((frame, i) => frame === frames[i])) {
      this.counters.shared++;
      return this.#lastBatch!;
    }
    const batch = encodeBatch(frames, 'server');
    this.counters.encoded++;
    this.#lastFrames = frames;
    this.#lastBatch = batch;
    return batch;
  }

  readonly #flush = (): void => {
    const due = this.#due;
    this.#due = [];
    this.#armed = false;
    for (const coalescer of due) coalescer.endTurn();
    // Buffers of this turn must not be matched by reference in a later one (they may be reused by then).
    this.#lastFrames = undefined;
    this.#lastBatch = undefined;
  };
}

/** One channel toward one recipient (see the module comment). */
export class FrameCoalescer {
  readonly #out: (frame: Uint8Array) => void;
  readonly #flusher: TurnFlusher;
  readonly #maxBatchBytes: number;
  #turnOpen = false;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #discarded = false;

  /**
   * `out` hands one SCTP message to the channel; `maxBatchBytes` bounds a batch (the Durable channel takes
   * MAX_BATCH_BYTES, the Lossy one a datagram's worth: see docs/protocol.md).
   */
  constructor(out: (frame: Uint8Array) => void, flusher: TurnFlusher, maxBatchBytes: number) {
    this.#out = out;
    this.#flusher = flusher;
    this.#maxBatchBytes = maxBatchBytes;
  }

  /** Bytes waiting for the end of the turn (what the channel's buffered amount does not show yet). */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Sends `frame` now (the first of the turn, or too large to batch) or at the end of the turn. */
  send(frame: Uint8Array): void {
    if (this.#discarded) return;
    if (!this.#turnOpen) {
      this.#turnOpen = true;
      this.#flusher.enlist(this);
      return this.#out(frame);
    }
    if (batchBytes(MIN_BATCH_FRAMES, frame.byteLength + 1) > this.#maxBatchBytes) {
      // Too large to share a batch with anything: what is pending goes first, to keep the order.
      this.#flushPending();
      return this.#out(frame);
    }
    const count = this.#pending.length;
    if (count === MAX_BATCH_FRAMES || batchBytes(count + 1, this.#pendingBytes + frame.byteLength) > this.#maxBatchBytes) this.#flushPending();
    this.#pending.push(frame);
    this.#pendingBytes += frame.byteLength;
  }

  /** The turn is over: what is pending leaves (one frame alone, more as a batch), and the next frame goes at once. */
  endTurn(): void {
    this.#flushPending();
    this.#turnOpen = false;
  }

  /** The channel is gone: what is pending is dropped (the Durable link kept its copies for a resume). */
  discard(): void {
    this.#discarded = true;
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  #flushPending(): void {
    const pending = this.#pending;
    if (pending.length === 0 || this.#discarded) return;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#out(pending.length === 1 ? pending[0]! : this.#flusher.batchOf(pending));
  }
}
