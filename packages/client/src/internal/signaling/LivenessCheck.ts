/**
 * Finds out a signaling server that stopped answering. A server that froze, or whose machine vanished
 * without resetting its connections, leaves the WebSocket open: no close, no error, for as long as TCP
 * keeps trying (many minutes). The server's own WebSocket pings cannot tell the client (a browser answers
 * them without a word to the page), so the client pings at the interval the server's `welcome` asks for,
 * and gives up on the connection when nothing at all has come from the server within the timeout of a ping.
 *
 * Judged from the ping, not from the last message: a page whose timers the browser throttles (a hidden
 * tab) pings late, and must not take the silence of a server it did not ask for a sign of life.
 */
export interface LivenessOptions {
  /** From the welcome's `pingIntervalMs`. */
  intervalMs: number;
  /** From the welcome's `pingTimeoutMs`. */
  timeoutMs: number;
  /** Sends a `ping`. */
  ping(): void;
  /** Nothing came within `timeoutMs` of a ping (`silentMs` after it): the connection is dead. Called once. */
  dead(silentMs: number): void;
  /** The time in ms (default `performance.now()`; tests give their own). */
  now?(): number;
}

export class LivenessCheck {
  readonly #options: LivenessOptions;
  readonly #timer: ReturnType<typeof setInterval>;
  /** When the ping not yet answered by anything was sent (performance.now()). */
  #pingSentAt: number | undefined;
  #stopped = false;

  constructor(options: LivenessOptions) {
    this.#options = options;
    // One tick per interval: it pings, or (a ping unanswered) judges. A dead server is so found between
    // `timeoutMs` and `timeoutMs + intervalMs` after the ping it did not answer.
    this.#timer = setInterval(() => this.#tick(), options.intervalMs);
  }

  /** Something arrived from the server: it is alive. */
  heard(): void {
    this.#pingSentAt = undefined;
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }

  #tick(): void {
    if (this.#stopped) return;
    const now = this.#options.now?.() ?? performance.now();
    if (this.#pingSentAt === undefined) {
      this.#pingSentAt = now;
      this.#options.ping();
      return;
    }
    const silentMs = now - this.#pingSentAt;
    if (silentMs < this.#options.timeoutMs) return;
    this.stop();
    this.#options.dead(Math.round(silentMs));
  }
}
