/**
 * A clock the test drives: time moves only when the test calls `advance()`, and timers due by then fire in
 * order. Pass it to `startServer({ clock })` and to the SDK's `CallClient` so that token lifetimes, pacing
 * and idle close run in test time rather than real seconds.
 */
import type { Clock, TimerHandle, TimerOptions } from '@backchannel/protocol';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

export class ManualClock implements Clock {
  #now: number;
  #wall: number;
  #nextId = 1;
  readonly #timers = new Map<number, Timer>();

  constructor(start: { now?: number; wallNow?: number } = {}) {
    this.#now = start.now ?? 1_000;
    this.#wall = start.wallNow ?? Date.now();
  }

  now(): number {
    return this.#now;
  }

  wallNow(): number {
    return this.#wall;
  }

  setTimeout(callback: () => void, ms: number, _options?: TimerOptions): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { id, at: this.#now + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.#timers.delete(handle);
  }

  /** Timers not yet fired. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves both clocks on by `ms`, firing every timer due on the way, earliest first (ties in creation order). */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const timer of this.#timers.values()) if (timer.at <= target && (!next || timer.at < next.at)) next = timer;
      if (!next) break;
      this.#timers.delete(next.id);
      this.#wall += next.at - this.#now;
      this.#now = next.at;
      next.callback();
    }
    this.#wall += target - this.#now;
    this.#now = target;
  }
}
