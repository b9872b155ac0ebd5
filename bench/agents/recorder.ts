/** What one worker's participants received in the current measurement window: counts and latencies. */
import { LatencyHistogram } from '../lib/stats.js';
import { clockMs, readProbe } from './probe.js';
import type { WindowReport } from './messages.js';

export class WindowRecorder {
  #windowId = 0;
  #received = 0;
  #stale = 0;
  #lastArrivalAt = 0;
  #latency = new LatencyHistogram();

  /** Starts a new window: counts and latencies from now on belong to `windowId`. */
  begin(windowId: number): void {
    this.#windowId = windowId;
    this.#received = 0;
    this.#stale = 0;
    this.#lastArrivalAt = 0;
    this.#latency = new LatencyHistogram();
  }

  /** Called for every payload any participant of this worker receives. */
  onPayload(bytes: Uint8Array): void {
    const now = clockMs();
    const stamp = readProbe(bytes);
    if (Number.isNaN(stamp.sentAt)) return;
    if (stamp.windowId !== this.#windowId) {
      this.#stale++;
      return;
    }
    this.#received++;
    this.#lastArrivalAt = now;
    this.#latency.record(now - stamp.sentAt);
  }

  get received(): number {
    return this.#received;
  }

  report(): WindowReport {
    return { received: this.#received, stale: this.#stale, lastArrivalAt: this.#lastArrivalAt, latency: this.#latency.toJSON() };
  }
}
