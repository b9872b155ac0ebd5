/**
 * One workload, reduced, against one system: the quick measurement of one lever (a server setting given
 * through the environment, BACKCHANNEL_*, which `serve` reads) before and after, without a full run.
 *
 *   BACKCHANNEL_RTC_UDP_MUX=false node --import tsx bench/profile/lever.ts memory [runs] [systems]
 *   node --import tsx bench/profile/lever.ts join 1 backchannel,ws
 *
 * Prints the workload's rows as JSON.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { SystemName } from '../agents/messages.js';
import { FULL_PLAN, type BenchPlan, type WorkloadName } from '../config.js';
import { Workers } from '../fleet/Workers.js';
import { killAllChildren } from '../lib/processes.js';
import { selfSignedCertificate } from '../lib/tls.js';
import type { WorkloadContext } from '../workloads/context.js';
import { runJoin } from '../workloads/join.js';
import { runMemory } from '../workloads/memory.js';

const workload = (process.argv[2] ?? 'memory') as WorkloadName;
const runs = Number(process.argv[3] ?? 1);
const systems = (process.argv[4] ?? 'backchannel').split(',') as SystemName[];
const plan: BenchPlan = {
  ...FULL_PLAN,
  memory: { ...FULL_PLAN.memory, runs },
  join: { ...FULL_PLAN.join, runs, stormRuns: runs },
};
const runners: Partial<Record<WorkloadName, (context: WorkloadContext) => Promise<unknown>>> = { memory: runMemory, join: runJoin };
const runner = runners[workload];
if (!runner) throw new Error(`lever.ts runs ${Object.keys(runners).join(', ')}, not ${workload}`);

const scratchDir = mkdtempSync(join(tmpdir(), 'backchannel-lever-'));
const certificate = selfSignedCertificate(scratchDir);
const workers = await Workers.start(plan.workers, { env: { ...process.env, NODE_EXTRA_CA_CERTS: certificate.cert } });
try {
  const rows = await runner({ plan, workers, systems, deployment: { certificate, scratchDir }, log: (m) => console.error(m) });
  console.log(JSON.stringify(rows, null, 1));
} finally {
  await workers.stop();
  killAllChildren();
  rmSync(scratchDir, { recursive: true, force: true });
}
