/**
 * The cluster workload (issue 14): Backchannel as one, two and three nodes on one Redis, on this machine.
 * - Fan-out: one sender (on the first node) broadcasts 1 KiB messages to R receivers spread evenly over the
 *   nodes, at a fixed delivery rate per step (doubling, as the fan-out workload); deliveries per second, and
 *   per server core-second with the CPU of every node added up. Each message crosses to each other node
 *   once, and that node fans it out.
 * - The cross-node hop: on two nodes, one sender and two receivers, one on the sender's node and one on the
 *   other; the same messages, at a low rate, to each in turn: latency p50/p99 with and without the hop.
 * Only Backchannel: the peers have no cluster to compare with.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Session, type Member } from '../fleet/Session.js';
import { measureWindow } from '../fleet/measure.js';
import { spawnServer, type ServerProcess } from '../lib/processes.js';
import { CpuMeter } from '../lib/procfs.js';
import { spread } from '../lib/stats.js';
import { BACKCHANNEL_BENCH_CONFIG, REPO_ROOT, type Deployment } from '../systems/deployments.js';
import type { WorkloadContext } from './context.js';
import type { ClusterFanoutRow, ClusterHopRow, ClusterResults } from './results.js';

const BACKCHANNEL_BIN = fileURLToPath(import.meta.resolve('@backchannel/cli/bin/backchannel.js'));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A redis-server and `count` Backchannel nodes on it, each in its own process; one Deployment per node. */
async function deployCluster(context: WorkloadContext, count: number): Promise<{ nodes: Deployment[]; close(): Promise<void> }> {
  const started: ServerProcess[] = [];
  const close = async (): Promise<void> => {
    for (const server of started.reverse()) await server.stop();
  };
  try {
    const port = await freePort();
    const redis = await spawnServer({
      command: process.env.REDIS_SERVER ?? 'redis-server',
      args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', context.deployment.scratchDir, '--logfile', ''],
      ready: /Ready to accept connections()/,
      cwd: REPO_ROOT,
    });
    started.push(redis);
    const config = join(context.deployment.scratchDir, 'backchannel-cluster.json');
    const { cert, key } = context.deployment.certificate;
    writeFileSync(config, JSON.stringify({ ...BACKCHANNEL_BENCH_CONFIG, tlsCertFile: cert, tlsKeyFile: key }));
    const accessKey = randomBytes(24).toString('base64url');
    const tokenSecret = randomBytes(32).toString('base64url');
    const nodes: Deployment[] = [];
    for (let i = 0; i < count; i++) {
      const server = await spawnServer({
        command: process.execPath,
        args: [BACKCHANNEL_BIN, 'serve', '--port', '0', '--config', config, '--redis', `redis://127.0.0.1:${port}`, '--access-key', accessKey, '--token-secret', tokenSecret, '--log-level', 'warn', '--log-format', 'json'],
        ready: /^Backchannel listening on (\S+)/,
        cwd: REPO_ROOT,
      });
      started.push(server);
      nodes.push({ system: 'backchannel', endpoint: { system: 'backchannel', url: server.url, accessKey }, server, close: () => Promise.resolve() });
    }
    // Every node links to every other within a registry read (1 s): wait for the mesh.
    await new Promise((resolve) => setTimeout(resolve, count > 1 ? 2500 : 0));
    return { nodes, close };
  } catch (error) {
    await close();
    throw error;
  }
}

export async function runCluster(context: WorkloadContext): Promise<ClusterResults> {
  const plan = context.plan.cluster;
  const fanout: ClusterFanoutRow[] = [];
  for (const nodeCount of plan.nodes) {
    const deployment = await deployCluster(context, nodeCount);
    const sessions = deployment.nodes.map((node) => new Session(context.workers, node));
    try {
      fanout.push(await fanoutOn(context, sessions, nodeCount));
    } finally {
      for (const session of sessions) await session.leaveAll().catch(() => undefined);
      await deployment.close();
    }
  }
  const deployment = await deployCluster(context, 2);
  const sessions = deployment.nodes.map((node) => new Session(context.workers, node));
  let hop: ClusterHopRow[];
  try {
    hop = await hopOn(context, sessions);
  } finally {
    for (const session of sessions) await session.leaveAll().catch(() => undefined);
    await deployment.close();
  }
  return { fanout, hop };
}

async function fanoutOn(context: WorkloadContext, sessions: Session[], nodeCount: number): Promise<ClusterFanoutRow> {
  const plan = context.plan.cluster;
  const [senderWorker, ...receiverWorkers] = context.workers.all;
  const room = `cluster-${nodeCount}`;
  const [sender] = await sessions[0]!.join(room, 1, { on: [senderWorker!] });
  for (let i = 0; i < sessions.length; i++) {
    const share = Math.floor(plan.receivers / sessions.length) + (i < plan.receivers % sessions.length ? 1 : 0);
    await sessions[i]!.join(room, share, { on: receiverWorkers });
  }
  context.log(`cluster fan-out: ${plan.receivers} receivers over ${nodeCount} node(s)`);
  const pids = sessions.map((s) => s.deployment.server!.pid);
  const window = (rate: number, durationMs: number) => ({
    streams: [{ from: sender!, recipients: plan.receivers }],
    size: plan.size,
    ratePerStream: rate,
    durationMs,
    drainMs: 1000,
    serverPid: pids[0]!,
  });
  await measureWindow(context.workers, window(plan.startDeliveriesPerSecond / plan.receivers, 200)); // warm-up
  const steps: ClusterFanoutRow['steps'] = [];
  for (let step = 0; step < plan.maxSteps; step++) {
    const rate = (plan.startDeliveriesPerSecond * 2 ** step) / plan.receivers;
    const results = [];
    const nodeCores: number[] = [];
    for (let run = 0; run < plan.runs; run++) {
      const meter = new CpuMeter(pids);
      const result = await measureWindow(context.workers, window(rate, plan.durationMs));
      const cpu = meter.stop();
      const serverCpu = cpu.cpuSeconds.reduce((a, b) => a + b, 0);
      results.push({ result, serverCpu, wall: cpu.wallSeconds });
      nodeCores.push(...cpu.cpuSeconds.map((s) => s / cpu.wallSeconds));
    }
    const lost = results.reduce((sum, r) => sum + r.result.lost, 0);
    const p99 = spread(results.map((r) => r.result.latency.quantile(0.99)));
    const passed = lost === 0 && p99.median <= plan.p99LimitMs;
    steps.push({
      ratePerSecond: rate,
      p50: spread(results.map((r) => r.result.latency.quantile(0.5))),
      p99,
      lost,
      deliveredPerSecond: spread(results.map((r) => r.result.received / (plan.durationMs / 1000))),
      serverCores: spread(results.map((r) => r.serverCpu / r.wall)),
      deliveredPerServerCoreSecond: spread(results.map((r) => r.result.received / r.serverCpu)),
      busiestNodeCores: Math.max(...nodeCores),
      passed,
    });
    context.log(`cluster fan-out, ${nodeCount} node(s): ${rate.toFixed(0)} msg/s → p99 ${p99.median.toFixed(1)} ms, lost ${lost}${passed ? '' : ' ✗'}`);
    if (!passed) break;
  }
  return { nodes: nodeCount, receivers: plan.receivers, steps, best: steps.findLastIndex((s) => s.passed) };
}

async function hopOn(context: WorkloadContext, sessions: Session[]): Promise<ClusterHopRow[]> {
  const plan = context.plan.cluster;
  const [senderWorker, receiverWorker = senderWorker] = context.workers.all;
  const [sender] = await sessions[0]!.join('hop', 1, { on: [senderWorker!] });
  const [sameNode] = await sessions[0]!.join('hop', 1, { on: [receiverWorker!] });
  const [otherNode] = await sessions[1]!.join('hop', 1, { on: [receiverWorker!] });
  const rows: ClusterHopRow[] = [];
  const measure = async (to: Member) =>
    measureWindow(context.workers, {
      streams: [{ from: sender!, to: [to], recipients: 1 }],
      size: plan.hopSize,
      ratePerStream: plan.hopRatePerSecond,
      durationMs: plan.hopDurationMs,
      drainMs: 1000,
      serverPid: sessions[0]!.deployment.server!.pid,
    });
  await measure(sameNode!); // warm-up
  await measure(otherNode!);
  const windows = { same: [] as Awaited<ReturnType<typeof measure>>[], other: [] as Awaited<ReturnType<typeof measure>>[] };
  for (let run = 0; run < plan.runs; run++) {
    // Interleaved, so that load on the shared machine falls on both alike.
    windows.same.push(await measure(sameNode!));
    windows.other.push(await measure(otherNode!));
  }
  for (const [where, list] of [['same node', windows.same], ['other node', windows.other]] as const) {
    rows.push({
      recipient: where,
      p50: spread(list.map((w) => w.latency.quantile(0.5))),
      p99: spread(list.map((w) => w.latency.quantile(0.99))),
      lost: list.reduce((sum, w) => sum + w.lost, 0),
    });
  }
  context.log(`cluster hop: p50 ${rows.map((r) => `${r.recipient} ${r.p50.median.toFixed(2)} ms`).join(', ')}`);
  return rows;
}
