/**
 * Shared by the load workloads that step the load up until a system fails: a step is run as several
 * windows per system, interleaved across systems; a system leaves the ramp at its first failing step.
 */
import type { Workers } from '../fleet/Workers.js';
import { measureWindow, type WindowPlan, type WindowResult } from '../fleet/measure.js';
import type { Session } from '../fleet/Session.js';
import { spread, type Spread } from '../lib/stats.js';
import { rotated } from './context.js';

export interface StepOutcome {
  windows: WindowResult[];
  p50: Spread;
  p99: Spread;
  lost: number;
  passed: boolean;
  /** Why it failed, when it did. */
  reason: string | undefined;
}

/**
 * Runs `runs` windows for every session in `active` (interleaved), stopping early for a session whose
 * window has already failed badly (loss, or p99 over three times the limit): the step has failed anyway.
 */
export async function runStep(
  workers: Workers,
  active: readonly Session[],
  runs: number,
  p99LimitMs: number,
  planFor: (session: Session) => WindowPlan,
): Promise<Map<Session, StepOutcome>> {
  const windows = new Map<Session, WindowResult[]>(active.map((s) => [s, []]));
  const failedEarly = new Set<Session>();
  for (let run = 0; run < runs; run++) {
    for (const session of rotated(active, run)) {
      if (failedEarly.has(session)) continue;
      const result = await measureWindow(workers, planFor(session));
      windows.get(session)!.push(result);
      if (result.lost > 0 || result.latency.quantile(0.99) > 3 * p99LimitMs) {
        failedEarly.add(session);
        await settle(workers);
      }
    }
  }
  const outcomes = new Map<Session, StepOutcome>();
  for (const [session, results] of windows) {
    const p99 = spread(results.map((r) => r.latency.quantile(0.99)));
    const lost = results.reduce((sum, r) => sum + r.lost, 0);
    const reason = lost > 0 ? `${lost} of ${results.reduce((s, r) => s + r.expected, 0)} messages lost or later than the drain time` : p99.median > p99LimitMs ? `p99 ${p99.median.toFixed(1)} ms > ${p99LimitMs} ms` : undefined;
    outcomes.set(session, { windows: results, p50: spread(results.map((r) => r.latency.quantile(0.5))), p99, lost, passed: reason === undefined, reason });
  }
  return outcomes;
}

/** Per-window figures as spreads: deliveries per second, server cores, deliveries per server core-second, CPU per delivery. */
export function throughput(windows: readonly WindowResult[], durationMs: number): {
  deliveredPerSecond: Spread;
  serverCores: Spread;
  deliveredPerServerCoreSecond: Spread;
  totalCpuMicrosPerDelivery: Spread;
  clientCpuMicrosPerDelivery: Spread;
} {
  return {
    deliveredPerSecond: spread(windows.map((w) => w.received / (durationMs / 1000))),
    serverCores: spread(windows.map((w) => w.serverCpuSeconds / w.wallSeconds)),
    deliveredPerServerCoreSecond: spread(windows.map((w) => w.received / w.serverCpuSeconds)),
    totalCpuMicrosPerDelivery: spread(windows.map((w) => (w.totalCpuSeconds * 1e6) / w.received)),
    // Every measured process but the server's: the client workers (the sender's and the receivers').
    clientCpuMicrosPerDelivery: spread(windows.map((w) => ((w.totalCpuSeconds - w.serverCpuSeconds) * 1e6) / w.received)),
  };
}

/**
 * After an overloaded window, waits until late messages stop arriving (at most 10 s), so that a system still
 * working off its backlog does not slow the next system's window.
 */
async function settle(workers: Workers): Promise<void> {
  await workers.broadcast({ type: 'window', windowId: 0 });
  const deadline = performance.now() + 10_000;
  let last = -1;
  while (performance.now() < deadline) {
    const stale = (await workers.broadcast<{ stale: number }>({ type: 'collect' })).reduce((sum, r) => sum + r.stale, 0);
    if (stale === last) return;
    last = stale;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}
