/**
 * Targeted load: N participants in one call, each sending 20 messages/s of 256 B to 1 or to 5 chosen
 * recipients. Participants form groups of six; with one recipient each sends to the next member of its
 * group, with five to all the others. N steps up until p99 passes the limit (or a message is lost).
 * Raw node-datachannel peers connect within each group (a full mesh of six), straight to each other.
 */
import type { Member, Session } from '../fleet/Session.js';
import type { StreamPlan } from '../fleet/measure.js';
import type { TargetedRow, TargetedStep } from './results.js';
import { serverPidOf, withSessions, type WorkloadContext } from './context.js';
import { runStep, throughput } from './ramp.js';

export async function runTargeted(context: WorkloadContext): Promise<TargetedRow[]> {
  const plan = context.plan.targeted;
  const started = performance.now();
  return withSessions(context, async (sessions) => {
    const members = new Map<Session, Member[]>(sessions.map((s) => [s, []]));
    const steps = new Map<string, TargetedStep[]>();
    const stoppedBy = new Map<string, string>();
    const keyOf = (session: Session, k: number): string => `${session.system}/${k}`;
    const active = new Set(sessions.flatMap((s) => plan.recipients.map((k) => keyOf(s, k))));

    for (const count of plan.participants) {
      if (active.size === 0) break;
      if (performance.now() - started > plan.budgetMs) {
        for (const key of active) stoppedBy.set(key, 'time budget of the workload reached');
        break;
      }
      const stepSessions = sessions.filter((s) => plan.recipients.some((k) => active.has(keyOf(s, k))));
      for (const session of stepSessions) {
        const list = members.get(session)!;
        const added = await session.join('targeted', count - list.length, { concurrency: 8 });
        list.push(...added);
        await session.link(groupPairs(added, plan.groupSize));
      }
      context.log(`targeted: ${count} participants joined`);
      for (const k of plan.recipients) {
        const running = stepSessions.filter((s) => active.has(keyOf(s, k)));
        if (running.length === 0) continue;
        const outcomes = await runStep(context.workers, running, plan.runs, plan.p99LimitMs, (session) => ({
          streams: streamsFor(members.get(session)!, plan.groupSize, k),
          size: plan.size,
          ratePerStream: plan.ratePerSecond,
          durationMs: plan.durationMs,
          drainMs: 1000,
          serverPid: serverPidOf(session, context.workers.all[0]!.pid),
        }));
        for (const [session, outcome] of outcomes) {
          const key = keyOf(session, k);
          const { deliveredPerSecond, serverCores } = throughput(outcome.windows, plan.durationMs);
          steps.set(key, [...(steps.get(key) ?? []), { participants: count, p50: outcome.p50, p99: outcome.p99, lost: outcome.lost, deliveredPerSecond, serverCores, passed: outcome.passed }]);
          if (!outcome.passed) {
            active.delete(key);
            stoppedBy.set(key, outcome.reason!);
          }
        }
        context.log(`targeted ${count}×${k}: ${[...outcomes].map(([s, o]) => `${s.system} p99 ${o.p99.median.toFixed(1)} ms${o.passed ? '' : ' ✗'}`).join(', ')}`);
      }
    }
    for (const key of active) if (!stoppedBy.has(key)) stoppedBy.set(key, 'largest N of the plan passed');
    return sessions.flatMap((session) =>
      plan.recipients.map((k): TargetedRow => {
        const list = steps.get(keyOf(session, k)) ?? [];
        return { system: session.system, recipients: k, steps: list, best: list.findLastIndex((s) => s.passed), stoppedBy: stoppedBy.get(keyOf(session, k)) ?? '' };
      }),
    );
  });
}

/** Every pair within each group of `groupSize` consecutive members (raw peers' mesh). */
function groupPairs(members: readonly Member[], groupSize: number): [Member, Member][] {
  const pairs: [Member, Member][] = [];
  for (let g = 0; g < members.length; g += groupSize) {
    const group = members.slice(g, g + groupSize);
    for (let i = 0; i < group.length; i++) for (let j = i + 1; j < group.length; j++) pairs.push([group[i]!, group[j]!]);
  }
  return pairs;
}

/** One stream per member: to the next member of its group (k = 1) or to the k after it. */
function streamsFor(members: readonly Member[], groupSize: number, k: number): StreamPlan[] {
  return members.map((member, index) => {
    const base = index - (index % groupSize);
    const group = members.slice(base, base + groupSize);
    const self = index - base;
    const to = Array.from({ length: Math.min(k, group.length - 1) }, (_, j) => group[(self + 1 + j) % group.length]!);
    return { from: member, to, recipients: to.length };
  });
}
