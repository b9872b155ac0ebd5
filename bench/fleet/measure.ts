/**
 * One measurement window: start the streams on their workers at once, wait for them to finish and for what
 * they sent to arrive (or a drain timeout), and gather the latency histograms, counts and CPU use.
 */
import type { SendResult, StreamSpec, WindowReport } from '../agents/messages.js';
import { CpuMeter } from '../lib/procfs.js';
import { LatencyHistogram } from '../lib/stats.js';
import { accountThreads, threadSnapshot } from '../profile/threads.js';
import type { Member } from './Session.js';
import type { Worker, Workers } from './Workers.js';

export interface StreamPlan {
  from: Member;
  /** Recipients, or undefined for everyone else in the room. */
  to?: readonly Member[];
  /** How many participants receive each message of this stream. */
  recipients: number;
}

export interface WindowPlan {
  streams: readonly StreamPlan[];
  size: number;
  ratePerStream: number;
  durationMs: number;
  /** After sending ends, how long to wait for the last messages before counting the rest as lost. */
  drainMs: number;
  /** The process whose CPU counts as the server's (the sender's own process for raw peers). */
  serverPid: number;
}

export interface WindowResult {
  sent: number;
  refused: number;
  expected: number;
  received: number;
  /** Expected deliveries that did not arrive within the drain time. */
  lost: number;
  latency: LatencyHistogram;
  /** Server CPU seconds over the window (sending and draining). */
  serverCpuSeconds: number;
  /** CPU seconds of every process taking part (server and client workers). */
  totalCpuSeconds: number;
  /** Wall-clock seconds of sending and draining. */
  wallSeconds: number;
}

/** Poll interval while draining: this is a benchmark harness, not a test, and 20 ms is below every bound. */
const DRAIN_POLL_MS = 20;
let nextWindowId = 1;

/** A window id not used before in this run. */
export function newWindowId(): number {
  return nextWindowId++;
}

export async function measureWindow(workers: Workers, plan: WindowPlan): Promise<WindowResult> {
  const windowId = newWindowId();
  await workers.broadcast({ type: 'window', windowId });
  const byWorker = new Map<Worker, StreamSpec[]>();
  plan.streams.forEach((stream, index) => {
    const spec: StreamSpec = { key: stream.from.key, index, ...(stream.to ? { to: stream.to.map((m) => m.address) } : {}) };
    byWorker.set(stream.from.worker, [...(byWorker.get(stream.from.worker) ?? []), spec]);
  });
  const perStream = Math.max(1, Math.floor((plan.durationMs / 1000) * plan.ratePerStream));
  const expected = plan.streams.reduce((sum, s) => sum + perStream * s.recipients, 0);
  const pids = [plan.serverPid, ...workers.pids.filter((pid) => pid !== plan.serverPid)];
  const meter = new CpuMeter(pids);
  const threads = threadSnapshot(pids);
  const sends = await Promise.all(
    [...byWorker].map(([worker, streams]) =>
      worker.request<SendResult>({ type: 'send', streams, size: plan.size, ratePerStream: plan.ratePerStream, durationMs: plan.durationMs, windowId }),
    ),
  );
  const deadline = performance.now() + plan.drainMs;
  for (;;) {
    const arrived = (await workers.broadcast<number>({ type: 'count' })).reduce((a, b) => a + b, 0);
    if (arrived >= expected || performance.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  }
  const cpu = meter.stop();
  accountThreads(threads);
  const reports = await workers.broadcast<WindowReport>({ type: 'collect' });
  const latency = new LatencyHistogram();
  for (const report of reports) latency.merge(report.latency);
  const received = reports.reduce((sum, r) => sum + r.received, 0);
  return {
    sent: sends.reduce((sum, s) => sum + s.sent, 0),
    refused: sends.reduce((sum, s) => sum + s.refused, 0),
    expected,
    received,
    lost: Math.max(0, expected - received),
    latency,
    serverCpuSeconds: cpu.cpuSeconds[0]!,
    totalCpuSeconds: cpu.cpuSeconds.reduce((a, b) => a + b, 0),
    wallSeconds: cpu.wallSeconds,
  };
}
