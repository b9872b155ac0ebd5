/**
 * Fan-out throughput: one sender broadcasts 1 KiB messages to R receivers. The rate doubles step by step
 * until p99 latency passes the limit or a message is lost; the figures of the last passing step are the
 * system's sustainable fan-out. Deliveries per server core-second normalise for the CPU the server got on a
 * shared 2-core machine. Raw node-datachannel has no server: its sender holds a connection to each receiver
 * and sends every copy itself, so its "server" is the sender's process.
 */
import type { Member, Session } from '../fleet/Session.js';
import type { FanoutRow, FanoutStep } from './results.js';
import { serverPidOf, withSessions, type WorkloadContext } from './context.js';
import { runStep, throughput } from './ramp.js';

export async function runFanout(context: WorkloadContext): Promise<FanoutRow[]> {
  const plan = context.plan.fanout;
  const senderWorker = context.workers.all[0]!;
  const receiverWorkers = context.workers.all.slice(1);
  const started = performance.now();
  return withSessions(context, async (sessions) => {
    const senders = new Map<Session, Member>();
    const receivers = new Map<Session, Member[]>();
    for (const session of sessions) {
      const [sender] = await session.join('fanout', 1, { on: [senderWorker] });
      senders.set(session, sender!);
      receivers.set(session, []);
    }
    const rows: FanoutRow[] = [];
    for (const count of plan.receivers) {
      for (const session of sessions) {
        const have = receivers.get(session)!;
        const added = await session.join('fanout', count - have.length, { on: receiverWorkers });
        await session.link(added.map((r) => [senders.get(session)!, r] as const));
        have.push(...added);
      }
      context.log(`fan-out: ${count} receivers joined on every system`);
      const planFor = (rate: number, durationMs: number) => (session: Session) => ({
        streams: [{ from: senders.get(session)!, recipients: count }],
        size: plan.size,
        ratePerStream: rate,
        durationMs,
        drainMs: 1000,
        serverPid: serverPidOf(session, senderWorker.pid),
      });
      // Warm-up at the first step's rate: receivers are created, code paths compiled.
      await runStep(context.workers, sessions, 1, Infinity, planFor(plan.startDeliveriesPerSecond / count, 200));

      const steps = new Map<Session, FanoutStep[]>(sessions.map((s) => [s, []]));
      const stoppedBy = new Map<Session, string>();
      let active = [...sessions];
      for (let step = 0; step < plan.maxSteps && active.length > 0; step++) {
        if (performance.now() - started > plan.budgetMs) {
          for (const s of active) stoppedBy.set(s, 'time budget of the workload reached');
          break;
        }
        const rate = (plan.startDeliveriesPerSecond * 2 ** step) / count;
        const outcomes = await runStep(context.workers, active, plan.runs, plan.p99LimitMs, planFor(rate, plan.durationMs));
        for (const [session, outcome] of outcomes) {
          steps.get(session)!.push({
            ratePerSecond: rate,
            p50: outcome.p50,
            p99: outcome.p99,
            lost: outcome.lost,
            ...throughput(outcome.windows, plan.durationMs),
            passed: outcome.passed,
          });
          if (!outcome.passed) stoppedBy.set(session, outcome.reason!);
        }
        active = active.filter((s) => outcomes.get(s)!.passed);
        context.log(`fan-out ${count}: ${rate.toFixed(0)} msg/s → ${[...outcomes].map(([s, o]) => `${s.system} p99 ${o.p99.median.toFixed(1)} ms${o.passed ? '' : ' ✗'}`).join(', ')}`);
      }
      for (const s of active) if (!stoppedBy.has(s)) stoppedBy.set(s, 'highest rate of the plan passed');
      for (const session of sessions) {
        const list = steps.get(session)!;
        rows.push({ system: session.system, receivers: count, steps: list, best: list.findLastIndex((s) => s.passed), stoppedBy: stoppedBy.get(session) ?? '' });
      }
    }
    return rows;
  });
}
