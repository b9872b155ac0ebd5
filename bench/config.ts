/**
 * What a benchmark run measures and how long it may take: the default (full) set, sized to finish in under
 * ten minutes on a 2-core machine, and the smoke set (seconds, tiny sizes) that the test suite runs.
 */

export type WorkloadName = 'latency' | 'fanout' | 'targeted' | 'join' | 'memory' | 'cluster';
export const WORKLOADS: readonly WorkloadName[] = ['latency', 'fanout', 'targeted', 'join', 'memory', 'cluster'];

export interface BenchPlan {
  mode: 'full' | 'smoke';
  /** Client worker processes: worker 0 hosts senders (and beacons), the others receivers. */
  workers: number;
  latency: {
    sizes: number[];
    /** Measurement windows per size and system. */
    runs: number;
    ratePerSecond: number;
    durationMs: number;
  };
  fanout: {
    receivers: number[];
    /** Windows per rate step. */
    runs: number;
    /** The first step's deliveries per second (rate × receivers); each step doubles it. */
    startDeliveriesPerSecond: number;
    maxSteps: number;
    size: number;
    durationMs: number;
    p99LimitMs: number;
    /** Soft budget for the whole workload: no new step starts past it. */
    budgetMs: number;
  };
  targeted: {
    /** Participant counts to step through (multiples of groupSize). */
    participants: number[];
    /** Participants are grouped; each sends to 1 or to all 5 others of its group. */
    groupSize: number;
    recipients: number[];
    ratePerSecond: number;
    size: number;
    runs: number;
    durationMs: number;
    p99LimitMs: number;
    budgetMs: number;
  };
  join: {
    /** Sequential joins per run (join → first message delivered → leave). */
    joinsPerRun: number;
    runs: number;
    /** Concurrent joins in one storm. */
    stormSize: number;
    stormRuns: number;
  };
  memory: {
    endpoints: number;
    roomSize: number;
    runs: number;
    settleMs: number;
    activeMs: number;
    size: number;
  };
  /** Backchannel only: one Redis, 1–3 nodes on this machine (bench/workloads/cluster.ts). */
  cluster: {
    nodes: number[];
    receivers: number;
    runs: number;
    startDeliveriesPerSecond: number;
    maxSteps: number;
    size: number;
    durationMs: number;
    p99LimitMs: number;
    hopSize: number;
    hopRatePerSecond: number;
    hopDurationMs: number;
  };
}

export const FULL_PLAN: BenchPlan = {
  mode: 'full',
  workers: 3,
  latency: { sizes: [64, 1024, 16384], runs: 5, ratePerSecond: 400, durationMs: 500 },
  fanout: {
    receivers: [10, 50, 200],
    runs: 3,
    startDeliveriesPerSecond: 4000,
    maxSteps: 7,
    size: 1024,
    durationMs: 500,
    p99LimitMs: 100,
    budgetMs: 180_000,
  },
  targeted: {
    participants: [12, 24, 48, 96, 192, 384],
    groupSize: 6,
    recipients: [1, 5],
    ratePerSecond: 20,
    size: 256,
    runs: 3,
    durationMs: 1000,
    p99LimitMs: 50,
    budgetMs: 150_000,
  },
  join: { joinsPerRun: 20, runs: 3, stormSize: 50, stormRuns: 3 },
  memory: { endpoints: 100, roomSize: 10, runs: 3, settleMs: 1000, activeMs: 2000, size: 256 },
  cluster: {
    nodes: [1, 2, 3],
    receivers: 200,
    runs: 3,
    startDeliveriesPerSecond: 4000,
    maxSteps: 5,
    size: 1024,
    durationMs: 500,
    p99LimitMs: 100,
    hopSize: 64,
    hopRatePerSecond: 200,
    hopDurationMs: 1000,
  },
};

export const SMOKE_PLAN: BenchPlan = {
  mode: 'smoke',
  workers: 2,
  latency: { sizes: [64, 1024, 16384], runs: 1, ratePerSecond: 100, durationMs: 200 },
  fanout: { receivers: [2], runs: 1, startDeliveriesPerSecond: 200, maxSteps: 1, size: 1024, durationMs: 200, p99LimitMs: 100, budgetMs: 30_000 },
  targeted: {
    participants: [6],
    groupSize: 6,
    recipients: [1, 5],
    ratePerSecond: 20,
    size: 256,
    runs: 1,
    durationMs: 300,
    p99LimitMs: 50,
    budgetMs: 30_000,
  },
  join: { joinsPerRun: 2, runs: 1, stormSize: 3, stormRuns: 1 },
  memory: { endpoints: 4, roomSize: 2, runs: 1, settleMs: 100, activeMs: 1000, size: 256 },
  cluster: {
    nodes: [1, 2],
    receivers: 2,
    runs: 1,
    startDeliveriesPerSecond: 200,
    maxSteps: 1,
    size: 1024,
    durationMs: 200,
    p99LimitMs: 100,
    hopSize: 64,
    hopRatePerSecond: 100,
    hopDurationMs: 200,
  },
};
