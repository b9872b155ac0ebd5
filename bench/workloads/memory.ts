/**
 * Memory: the server's resident set per connected endpoint, idle and then active, and the file descriptors
 * and threads it gains per idle endpoint (each endpoint sending
 * 256 B a second to its room of ten). A fresh server per run: RSS before anyone joins (after a warm-up
 * join, so that lazily loaded code is not counted per endpoint), after E endpoints joined and settled, and
 * at the end of the active period. Raw node-datachannel has no server: its figure is a relay process that
 * holds one peer connection per endpoint and forwards each message to the sender's room, the least a
 * server on node-datachannel must hold.
 */
import type { SystemName } from '../agents/messages.js';
import { measureWindow } from '../fleet/measure.js';
import { Session, type Member } from '../fleet/Session.js';
import type { Worker } from '../fleet/Workers.js';
import { openFds, rssBytes, threadCount } from '../lib/procfs.js';
import { spread } from '../lib/stats.js';
import { deploy } from '../systems/deployments.js';
import type { MemoryRow } from './results.js';
import { rotated, type WorkloadContext } from './context.js';

interface Samples {
  baseline: number[];
  idle: number[];
  active: number[];
  fds: number[];
  threads: number[];
}

/** What the measured process holds at one moment. */
interface Usage {
  rss: number;
  fds: number;
  threads: number;
}

export async function runMemory(context: WorkloadContext): Promise<MemoryRow[]> {
  const plan = context.plan.memory;
  const samples = new Map<SystemName, Samples>(context.systems.map((s) => [s, { baseline: [], idle: [], active: [], fds: [], threads: [] }]));
  for (let run = 0; run < plan.runs; run++) {
    for (const system of rotated(context.systems, run)) {
      const s = samples.get(system)!;
      const result = await measureOnce(context, system);
      s.baseline.push(result.baseline.rss);
      s.idle.push((result.idle.rss - result.baseline.rss) / plan.endpoints);
      s.active.push((result.active - result.baseline.rss) / plan.endpoints);
      s.fds.push((result.idle.fds - result.baseline.fds) / plan.endpoints);
      s.threads.push((result.idle.threads - result.baseline.threads) / plan.endpoints);
    }
    context.log(`memory: run ${run + 1}/${plan.runs} done`);
  }
  return context.systems.map((system): MemoryRow => {
    const s = samples.get(system)!;
    return {
      system,
      baselineRss: spread(s.baseline),
      idleBytesPerEndpoint: spread(s.idle),
      activeBytesPerEndpoint: spread(s.active),
      fdsPerEndpoint: spread(s.fds),
      threadsPerEndpoint: spread(s.threads),
      measuredProcess: system === 'raw' ? 'relay process holding one peer connection per endpoint' : 'server process',
    };
  });
}

async function measureOnce(context: WorkloadContext, system: SystemName): Promise<{ baseline: Usage; idle: Usage; active: number }> {
  const plan = context.plan.memory;
  const deployment = await deploy(system, context.deployment);
  const session = new Session(context.workers, deployment);
  const relayWorker: Worker | undefined = system === 'raw' ? await context.workers.startExtra() : undefined;
  const pid = deployment.server?.pid ?? relayWorker!.pid;
  const relayGroups: string[][] = [];
  let relay: Member | undefined;
  /** E endpoints in rooms of `roomSize`; for raw, each connected to the relay, which learns the rooms. */
  const populate = async (count: number, roomSize: number, tag: string): Promise<Member[]> => {
    const members: Member[] = [];
    for (let room = 0; room * roomSize < count; room++) {
      const joined = await session.join(`memory-${tag}-${room}`, Math.min(roomSize, count - room * roomSize));
      members.push(...joined);
      relayGroups.push(joined.map((m) => m.key));
    }
    if (relay) {
      await session.link(members.map((m) => [m, relay!] as const));
      await relayWorker!.request({ type: 'relay', key: relay.key, groups: relayGroups });
    }
    return members;
  };
  const talk = async (members: Member[], roomSize: number, durationMs: number): Promise<void> => {
    await measureWindow(context.workers, {
      streams: members.map((from) => ({ from, recipients: roomSize - 1 })),
      size: plan.size,
      ratePerStream: 1,
      durationMs,
      drainMs: 1000,
      serverPid: pid,
    });
  };
  try {
    if (relayWorker) relay = await session.joinOne(relayWorker, 'memory', session.newKey());
    // Warm-up: one small room joins, talks and leaves, so that first-use costs are in the baseline.
    const warm = await populate(2, 2, 'warm-up');
    await talk(warm, 2, 1000);
    await session.leave(warm);
    await pause(plan.settleMs);
    const baseline = usage(pid);
    const members = await populate(plan.endpoints, plan.roomSize, 'load');
    await pause(plan.settleMs);
    const idle = usage(pid);
    await talk(members, plan.roomSize, plan.activeMs);
    const active = rssBytes(pid);
    return { baseline, idle, active };
  } finally {
    await session.leaveAll();
    if (relay) await session.leave([relay]).catch(() => undefined);
    await deployment.close();
    await relayWorker?.stop();
  }
}

function usage(pid: number): Usage {
  return { rss: rssBytes(pid), fds: openFds(pid), threads: threadCount(pid) };
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
