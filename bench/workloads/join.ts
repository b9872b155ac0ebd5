/**
 * Join: the time from a client's first move (connect, join) to its first message delivered to a participant
 * already in the call (the "beacon"), and how many joins per second complete when many clients start at
 * once. Credentials (a Backchannel identity and token) are made before the clock starts. Raw
 * node-datachannel's join is a direct connection to the beacon, signaled through the benchmark.
 */
import type { WindowReport } from '../agents/messages.js';
import { clockMs } from '../agents/probe.js';
import { newWindowId } from '../fleet/measure.js';
import type { Member, Session } from '../fleet/Session.js';
import type { Worker } from '../fleet/Workers.js';
import { LatencyHistogram, spread } from '../lib/stats.js';
import type { JoinRow } from './results.js';
import { rotated, withSessions, type WorkloadContext } from './context.js';

const ARRIVAL_TIMEOUT_MS = 60_000;
const ARRIVAL_POLL_MS = 2;

export async function runJoin(context: WorkloadContext): Promise<JoinRow[]> {
  const plan = context.plan.join;
  const beaconWorker = context.workers.all[0]!;
  const joinerWorkers = context.workers.all.length > 1 ? context.workers.all.slice(1) : context.workers.all;
  return withSessions(context, async (sessions) => {
    const beacons = new Map<Session, Member>();
    for (const session of sessions) beacons.set(session, (await session.join('join', 1, { on: [beaconWorker] }))[0]!);
    const figures = new Map<Session, { p50: number[]; p99: number[]; rate: number[]; stormP50: number[]; stormP99: number[]; failures: number }>(
      sessions.map((s) => [s, { p50: [], p99: [], rate: [], stormP50: [], stormP99: [], failures: 0 }]),
    );

    /** Joins `count` clients at once (1: a sequential join) and waits for each one's first message at the beacon. */
    const joinWave = async (session: Session, count: number, offset: number): Promise<{ report: WindowReport; startedAt: number; joined: number }> => {
      const beacon = beacons.get(session)!;
      const windowId = newWindowId();
      await context.workers.broadcast({ type: 'window', windowId });
      const planned = Array.from({ length: count }, (_, i) => ({ worker: joinerWorkers[(offset + i) % joinerWorkers.length]!, key: session.newKey() }));
      await Promise.all(planned.map((p) => session.prepare(p.worker, p.key)));
      const startedAt = clockMs();
      const settled = await Promise.allSettled(
        planned.map((p) =>
          session.joinOne(p.worker, 'join', p.key, {
            ...(session.system === 'raw' ? { links: [beacon.key] } : {}),
            announce: { to: beacon.address, windowId },
          }),
        ),
      );
      const joined = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      const arrived = await arrivals(beaconWorker, joined.length);
      figures.get(session)!.failures += count - arrived;
      const report = await beaconWorker.request<WindowReport>({ type: 'collect' });
      await session.leave(joined);
      return { report, startedAt, joined: arrived };
    };

    for (let run = 0; run < plan.runs; run++) {
      for (const session of rotated(sessions, run)) {
        const latency = new LatencyHistogram();
        for (let i = 0; i < plan.joinsPerRun; i++) latency.merge((await joinWave(session, 1, i)).report.latency);
        figures.get(session)!.p50.push(latency.quantile(0.5));
        figures.get(session)!.p99.push(latency.quantile(0.99));
      }
      context.log(`join: sequential run ${run + 1}/${plan.runs} done`);
    }
    for (let run = 0; run < plan.stormRuns; run++) {
      for (const session of rotated(sessions, run)) {
        const { report, startedAt, joined } = await joinWave(session, plan.stormSize, 0);
        const histogram = LatencyHistogram.from(report.latency);
        const f = figures.get(session)!;
        f.rate.push(joined / ((report.lastArrivalAt - startedAt) / 1000));
        f.stormP50.push(histogram.quantile(0.5));
        f.stormP99.push(histogram.quantile(0.99));
      }
      context.log(`join: storm ${run + 1}/${plan.stormRuns} done`);
    }
    return sessions.map((session): JoinRow => {
      const f = figures.get(session)!;
      return {
        system: session.system,
        p50: spread(f.p50),
        p99: spread(f.p99),
        joinsPerSecond: spread(f.rate),
        stormP50: spread(f.stormP50),
        stormP99: spread(f.stormP99),
        failures: f.failures,
      };
    });
  });
}

/** Waits until the beacon's worker has received `count` probes of the current window (or a timeout); returns how many did. */
async function arrivals(worker: Worker, count: number): Promise<number> {
  const deadline = performance.now() + ARRIVAL_TIMEOUT_MS;
  for (;;) {
    const received = await worker.request<number>({ type: 'count' });
    if (received >= count || performance.now() > deadline) return received;
    await new Promise((resolve) => setTimeout(resolve, ARRIVAL_POLL_MS));
  }
}
