/**
 * How fast a Durable link actually drains, measured from the other side's acknowledgements (issue #11,
 * docs/reliability.md "Bounded latency"): the same meter on both ends of a link (the SDK toward the server
 * or its 1:1 peer, the server toward each recipient). No I/O and no timers: the owner feeds it each
 * LinkAck and reads it when deciding what to accept.
 *
 * A configured pace says how fast a sender may go; a lossy or congested path may carry far less, and
 * without this meter the difference piles up in deep buffers (SCTP's send buffer, the server's window),
 * a minute of queue behind a path that carries 34 messages a second. With it, a backlog is bounded by
 * *time at the rate the path carries*.
 *
 * Samples are taken over windows of at least {@link DRAIN_SAMPLE_MS}. A window counts as a measure of
 * the path only if what was outstanding (sent, unacknowledged) when it opened was more than the window
 * then drained: data waited throughout, so the path, not the application, set the pace. Such a sample
 * moves the estimate (an exponentially weighted average, so that it follows a path that degrades within a
 * few windows). Any other window only shows what the path carried at least: it may raise the estimate,
 * never lower it. So an application that sends little is never judged by its own slowness. (The
 * transports' buffered amounts cannot tell: libdatachannel reports 0 while usrsctp's own 1 MiB send
 * buffer is full.)
 */

/** Shortest sampling window, ms. */
export const DRAIN_SAMPLE_MS = 200;

/** Weight of a new path-limited sample in the estimate. */
const SAMPLE_WEIGHT = 0.25;

export class DrainRateMeter {
  #bytesPerMs: number | undefined;
  /** Whether a path-limited sample has been seen: the estimate is then the path's, not a lower bound. */
  #pathMeasured = false;
  #windowStart = Number.NaN;
  #windowBytes = 0;
  /** Outstanding bytes when the window opened. */
  #windowBacklog = 0;

  /** Estimated drain rate, bytes per ms; undefined before the first sample. */
  get bytesPerMs(): number | undefined {
    return this.#bytesPerMs;
  }

  /**
   * Whether the estimate comes from the path under load (at least one path-limited window): only then is
   * it a sound basis for refusing data, rather than a lower bound of what the path can carry.
   */
  get pathMeasured(): boolean {
    return this.#pathMeasured;
  }

  /**
   * The other side acknowledged `bytes` at `now`; `outstanding` bytes remain sent and unacknowledged.
   * Returns true when this closed a path-limited window (the estimate was updated from the path).
   */
  acknowledged(bytes: number, outstanding: number, now: number): boolean {
    if (Number.isNaN(this.#windowStart)) {
      this.#open(now, outstanding);
      return false;
    }
    this.#windowBytes += bytes;
    const elapsed = now - this.#windowStart;
    if (elapsed < DRAIN_SAMPLE_MS) return false;
    const sample = this.#windowBytes / elapsed;
    const pathLimited = this.#windowBacklog > this.#windowBytes;
    const current = this.#bytesPerMs;
    if (pathLimited) {
      this.#bytesPerMs = current === undefined || !this.#pathMeasured ? Math.max(sample, Number.MIN_VALUE) : current + (sample - current) * SAMPLE_WEIGHT;
      this.#pathMeasured = true;
    } else if (current === undefined || sample > current) {
      this.#bytesPerMs = Math.max(sample, Number.MIN_VALUE);
    }
    this.#open(now, outstanding);
    return pathLimited;
  }

  /**
   * The transport is gone (or replaced): the window in progress is abandoned, since time without a
   * transport says nothing about the path. The estimate is kept; measuring starts again at the next
   * acknowledgement.
   */
  pause(): void {
    this.#windowStart = Number.NaN;
    this.#windowBytes = 0;
  }

  /**
   * How long `bytes` take to drain at the path's measured rate, ms; undefined while the path has not been
   * measured under load. (A stall shows at the next acknowledgement, which closes a long, slow window:
   * judging by the window in progress instead would read every SCTP retransmission timeout, a second or
   * more under loss, as a dead path.)
   */
  drainMs(bytes: number): number | undefined {
    const rate = this.#bytesPerMs;
    if (!this.#pathMeasured || rate === undefined) return undefined;
    return bytes / rate;
  }

  #open(now: number, outstanding: number): void {
    this.#windowStart = now;
    this.#windowBytes = 0;
    this.#windowBacklog = outstanding;
  }
}
