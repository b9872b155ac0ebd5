/**
 * Pure arithmetic, shared by the SDK and the server.
 *
 * Bytes per second over the last second, in ten 100 ms slots: what an endpoint currently receives, which
 * SPEC §4 takes off its broadcast send budget.
 */
const SLOT_MS = 100;
const SLOTS = 10;

export class RateMeter {
  readonly #slots = new Float64Array(SLOTS);
  #slotIndex = 0;
  #slotStart = 0;

  add(bytes: number, now: number): void {
    this.#advance(now);
    this.#slots[this.#slotIndex]! += bytes;
  }

  /** Received bitrate over the last second, kbit/s. */
  kbps(now: number): number {
    this.#advance(now);
    let bytes = 0;
    for (const slot of this.#slots) bytes += slot;
    return (bytes * 8) / 1000;
  }

  #advance(now: number): void {
    const slotsPassed = Math.floor((now - this.#slotStart) / SLOT_MS);
    if (slotsPassed <= 0) return;
    for (let i = 0; i < Math.min(slotsPassed, SLOTS); i++) {
      this.#slotIndex = (this.#slotIndex + 1) % SLOTS;
      this.#slots[this.#slotIndex] = 0;
    }
    this.#slotStart += slotsPassed * SLOT_MS;
  }
}
