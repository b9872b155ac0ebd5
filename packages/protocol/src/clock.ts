/**
 * Time, as both ends read it: one interface for the monotonic clock (pacing, idle close, limits), the wall
 * clock (token expiry) and timers, so that tests can drive time instead of waiting it out. Production code
 * uses {@link systemClock}; a test passes its own (a manual clock it advances).
 */

/** An opaque timer handle, as returned by {@link Clock.setTimeout}: pass it back to clearTimeout only. */
export type TimerHandle = unknown;

export interface TimerOptions {
  /** The timer alone does not keep a Node process alive (Node's `timeout.unref()`). */
  unref?: boolean;
}

export interface Clock {
  /** Monotonic milliseconds (`performance.now()` in production): for rates, pacing and durations. */
  now(): number;
  /** Milliseconds since the Unix epoch (`Date.now()` in production): for token lifetimes. */
  wallNow(): number;
  /** Calls `callback` once after `ms` (of this clock's time). */
  setTimeout(callback: () => void, ms: number, options?: TimerOptions): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `performance.now()`, `Date.now()` and the platform's timers. */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout: (callback: () => void, ms: number, options?: TimerOptions): TimerHandle => {
    const timer = setTimeout(callback, ms) as unknown as { unref?(): void };
    if (options?.unref) timer.unref?.();
    return timer;
  },
  clearTimeout: (handle: TimerHandle): void => clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
});
