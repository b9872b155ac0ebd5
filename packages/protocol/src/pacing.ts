/** Pacing arithmetic shared by the SDK (which paces senders) and the server (which enforces the limits). */
/**
 * A token bucket in bytes that may go into debt: a message may leave whenever the balance is not negative,
 * and its whole cost is then taken. Large messages are therefore never starved by a small burst size, and
 * the long-run rate is exactly `bytesPerMs`.
 */
export class TokenBucket {
  #tokens: number;
  #updatedAt: number;

  constructor(
    private bytesPerMs: number,
    private readonly capacity: number,
    now: number,
  ) {
    this.#tokens = capacity;
    this.#updatedAt = now;
  }

  get rateBytesPerMs(): number {
    return this.bytesPerMs;
  }

  setRate(bytesPerMs: number, now: number): void {
    this.#refill(now);
    this.bytesPerMs = bytesPerMs;
  }

  /** Current balance; negative while in debt. */
  balance(now: number): number {
    this.#refill(now);
    return this.#tokens;
  }

  consume(bytes: number, now: number): void {
    this.#refill(now);
    this.#tokens -= bytes;
  }

  /** Milliseconds until the balance is no longer negative (0 if it is not). */
  msUntilReady(now: number): number {
    const balance = this.balance(now);
    if (balance >= 0) return 0;
    return this.bytesPerMs > 0 ? -balance / this.bytesPerMs : Infinity;
  }

  #refill(now: number): void {
    const elapsed = now - this.#updatedAt;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.capacity, this.#tokens + elapsed * this.bytesPerMs);
      this.#updatedAt = now;
    }
  }
}

/** Bytes per millisecond for a bitrate in kbit/s (1 kbit = 1000 bits, as bitrates are counted). */
export function kbpsToBytesPerMs(kbps: number): number {
  return kbps / 8;
}
