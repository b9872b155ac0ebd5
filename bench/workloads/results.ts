/** The shape of a run's results (results.json): every number a report or chart shows comes from here. */
import type { SystemName } from '../agents/messages.js';
import type { LoadSample, MachineInfo } from '../lib/machine.js';
import type { Spread } from '../lib/stats.js';

export interface LatencyRow {
  system: SystemName;
  size: number;
  p50: Spread;
  p99: Spread;
  max: Spread;
  /** Messages lost over all runs. */
  lost: number;
  samples: number;
}

export interface FanoutStep {
  ratePerSecond: number;
  p99: Spread;
  p50: Spread;
  lost: number;
  deliveredPerSecond: Spread;
  /** Server cores busy (CPU seconds per wall second). */
  serverCores: Spread;
  /** Deliveries per server CPU second. */
  deliveredPerServerCoreSecond: Spread;
  /** Microseconds of CPU, all processes together, per delivery. */
  totalCpuMicrosPerDelivery: Spread;
  /**
   * Of those, the client processes' (all but the server's; for raw node-datachannel the sender's process
   * is the "server"). Absent in results written before it was measured.
   */
  clientCpuMicrosPerDelivery?: Spread;
  passed: boolean;
}

export interface FanoutRow {
  system: SystemName;
  receivers: number;
  steps: FanoutStep[];
  /** Index of the last step that passed, -1 if none did. */
  best: number;
  /** Why the ramp ended. */
  stoppedBy: string;
}

export interface TargetedStep {
  participants: number;
  p50: Spread;
  p99: Spread;
  lost: number;
  deliveredPerSecond: Spread;
  serverCores: Spread;
  passed: boolean;
}

export interface TargetedRow {
  system: SystemName;
  recipients: number;
  steps: TargetedStep[];
  best: number;
  stoppedBy: string;
}

export interface JoinRow {
  system: SystemName;
  /** Join to first message delivered, sequential joins into a quiet call. */
  p50: Spread;
  p99: Spread;
  /** Storm: joins completed per second with `stormSize` starting at once. */
  joinsPerSecond: Spread;
  stormP50: Spread;
  stormP99: Spread;
  failures: number;
}

export interface MemoryRow {
  system: SystemName;
  /** Server process RSS before any endpoint joined, bytes. */
  baselineRss: Spread;
  idleBytesPerEndpoint: Spread;
  activeBytesPerEndpoint: Spread;
  /**
   * Open file descriptors and threads the measured process gained per idle endpoint (absent in results
   * written before they were measured).
   */
  fdsPerEndpoint?: Spread;
  threadsPerEndpoint?: Spread;
  /** What the "server" was for this system (raw: a relay process holding the peer connections). */
  measuredProcess: string;
}

export interface BenchResults {
  mode: 'full' | 'smoke';
  startedAt: string;
  durationSeconds: number;
  machine: MachineInfo;
  load: LoadSample[];
  systems: SystemName[];
  serverConfig: Record<string, unknown>;
  plan: unknown;
  latency?: LatencyRow[];
  fanout?: FanoutRow[];
  targeted?: TargetedRow[];
  join?: JoinRow[];
  memory?: MemoryRow[];
  cluster?: ClusterResults;
  errors: string[];
  /** What went wrong but was recovered from (a workload run again after a client worker died). */
  warnings: string[];
  /** PIDs of every process the run started (servers and client workers), all ended when it finished. */
  processes: number[];
}

/** One fan-out step of the cluster workload: figures over its runs, server CPU summed over the nodes. */
export interface ClusterFanoutStep {
  ratePerSecond: number;
  p50: Spread;
  p99: Spread;
  lost: number;
  deliveredPerSecond: Spread;
  /** Cores busy, all nodes together. */
  serverCores: Spread;
  /** Deliveries per CPU second of all nodes together. */
  deliveredPerServerCoreSecond: Spread;
  /** The busiest single node's cores over the step's windows (one Node process tops out near 1). */
  busiestNodeCores: number;
  passed: boolean;
}

export interface ClusterFanoutRow {
  nodes: number;
  receivers: number;
  steps: ClusterFanoutStep[];
  best: number;
}

/** Latency of one message from a sender to a recipient on its own node, or on another node. */
export interface ClusterHopRow {
  recipient: 'same node' | 'other node';
  p50: Spread;
  p99: Spread;
  lost: number;
}

export interface ClusterResults {
  fanout: ClusterFanoutRow[];
  hop: ClusterHopRow[];
}
