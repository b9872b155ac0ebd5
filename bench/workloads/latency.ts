/**
 * Routed latency: one sender → (server) → one receiver, in different client processes, at a steady rate
 * well below any system's capacity, for each message size. One-way latency from the send call to the
 * receiver's callback: p50, p99 and max per window, median and spread over the windows.
 */
import { measureWindow, type WindowResult } from '../fleet/measure.js';
import type { Member, Session } from '../fleet/Session.js';
import { spread } from '../lib/stats.js';
import type { LatencyRow } from './results.js';
import { rotated, serverPidOf, withSessions, type WorkloadContext } from './context.js';

/** Messages per size sent before measuring (first-message costs: receivers, JIT, buffers). */
const WARMUP_MS = 250;

export async function runLatency(context: WorkloadContext): Promise<LatencyRow[]> {
  const plan = context.plan.latency;
  const [senderWorker, receiverWorker] = [context.workers.all[0]!, context.workers.all[1]!];
  return withSessions(context, async (sessions) => {
    const pairs = new Map<Session, [Member, Member]>();
    for (const session of sessions) {
      const [sender] = await session.join('latency', 1, { on: [senderWorker] });
      const [receiver] = await session.join('latency', 1, { on: [receiverWorker] });
      await session.link([[sender!, receiver!]]);
      pairs.set(session, [sender!, receiver!]);
    }
    const windows = new Map<string, WindowResult[]>();
    const window = (session: Session, size: number, durationMs: number): Promise<WindowResult> => {
      const [from, to] = pairs.get(session)!;
      return measureWindow(context.workers, {
        streams: [{ from, to: [to], recipients: 1 }],
        size,
        ratePerStream: plan.ratePerSecond,
        durationMs,
        drainMs: 2000,
        serverPid: serverPidOf(session, from.worker.pid),
      });
    };
    for (const size of plan.sizes) for (const session of sessions) await window(session, size, WARMUP_MS);
    for (let run = 0; run < plan.runs; run++) {
      for (const size of plan.sizes) {
        for (const session of rotated(sessions, run)) {
          const result = await window(session, size, plan.durationMs);
          const key = `${session.system}/${size}`;
          windows.set(key, [...(windows.get(key) ?? []), result]);
        }
      }
      context.log(`latency: run ${run + 1}/${plan.runs} done`);
    }
    return sessions.flatMap((session) =>
      plan.sizes.map((size): LatencyRow => {
        const results = windows.get(`${session.system}/${size}`) ?? [];
        return {
          system: session.system,
          size,
          p50: spread(results.map((r) => r.latency.quantile(0.5))),
          p99: spread(results.map((r) => r.latency.quantile(0.99))),
          max: spread(results.map((r) => r.latency.max)),
          lost: results.reduce((sum, r) => sum + r.lost, 0),
          samples: results.reduce((sum, r) => sum + r.latency.count, 0),
        };
      }),
    );
  });
}
