/**
 * The benchmark runner (issue 6): `npm run bench` or `npx backchannel bench`. Starts every system under test
 * on loopback, runs the workloads against all of them side by side, and writes results.json, report.md
 * and one SVG chart per workload. Benchmarks measure; they never fail on timing. The exit code is 1 only
 * when a workload could not produce numbers at all (a crash, not a slow result).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { FULL_PLAN, SMOKE_PLAN, type WorkloadName } from './config.js';
import { Workers } from './fleet/Workers.js';
import { USAGE, parseBenchArgs } from './lib/args.js';
import { loadSample, machineInfo, type LoadSample } from './lib/machine.js';
import { killAllChildren, startedPids } from './lib/processes.js';
import { selfSignedCertificate } from './lib/tls.js';
import { enableThreadAccounting, renderThreadAccounting } from './profile/threads.js';
import { summariseProfiles } from './profile/topFunctions.js';
import { writeCharts } from './report/charts.js';
import { renderReport } from './report/markdown.js';
import { BACKCHANNEL_BENCH_CONFIG, REPO_ROOT } from './systems/deployments.js';
import { runCluster } from './workloads/cluster.js';
import type { WorkloadContext } from './workloads/context.js';
import { runFanout } from './workloads/fanout.js';
import { runJoin } from './workloads/join.js';
import { runLatency } from './workloads/latency.js';
import { runMemory } from './workloads/memory.js';
import type { BenchResults } from './workloads/results.js';
import { runTargeted } from './workloads/targeted.js';

const RUNNERS: { [W in WorkloadName]: (context: WorkloadContext) => Promise<NonNullable<BenchResults[W]>> } = {
  latency: runLatency,
  fanout: runFanout,
  targeted: runTargeted,
  join: runJoin,
  memory: runMemory,
  cluster: runCluster,
};

async function main(): Promise<number> {
  const args = parseBenchArgs(process.argv.slice(2), process.env);
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (args.render) {
    const dir = resolve(args.render);
    const earlier = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as BenchResults;
    writeFileSync(join(dir, 'report.md'), renderReport(earlier, writeCharts(earlier, dir)));
    console.log(`rewrote ${join(dir, 'report.md')} and its charts`);
    return 0;
  }
  const plan = args.smoke ? SMOKE_PLAN : FULL_PLAN;
  const started = new Date();
  const stamp = started.toISOString().replace(/[:]/g, '').replace(/\..*$/, '');
  const outDir = resolve(args.out ?? join(REPO_ROOT, 'bench/results', args.smoke ? `tmp/${stamp}-smoke` : `${stamp}-${plan.mode}`));
  mkdirSync(outDir, { recursive: true });
  const scratchDir = mkdtempSync(join(tmpdir(), 'backchannel-bench-'));
  const profileDir = args.profile ? join(outDir, 'profiles') : undefined;
  if (profileDir) {
    mkdirSync(profileDir, { recursive: true });
    enableThreadAccounting();
  }
  const log = (message: string): void => console.error(`[bench ${((performance.now() - t0) / 1000).toFixed(1)} s] ${message}`);
  const t0 = performance.now();

  const load: LoadSample[] = [loadSample()];
  log(`${plan.mode} run of ${args.only.join(', ')} on ${args.systems.join(', ')}; load average ${load[0]!.loadAverage.join(' ')}; writing to ${outDir}`);
  const certificate = selfSignedCertificate(scratchDir);
  const results: BenchResults = {
    mode: plan.mode,
    startedAt: started.toISOString(),
    durationSeconds: 0,
    machine: machineInfo(),
    load,
    systems: args.systems,
    serverConfig: BACKCHANNEL_BENCH_CONFIG,
    plan,
    errors: [],
    warnings: [],
    processes: [],
  };
  const workerOptions = {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: certificate.cert },
    execArgv: profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, 'client-workers')] : [],
  };
  let workers = await Workers.start(plan.workers, workerOptions);
  try {
    for (const workload of args.only) {
      const begun = performance.now();
      for (let attempt = 1; ; attempt++) {
        const context: WorkloadContext = { plan, workers, systems: args.systems, deployment: { certificate, scratchDir, profileDir }, log };
        try {
          (results as unknown as Record<WorkloadName, unknown>)[workload] = await RUNNERS[workload](context);
          break;
        } catch (error) {
          const message = `${workload}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
          // A client worker that died (a native crash) takes its participants with it: start fresh ones and
          // run the workload once more, saying so in the report.
          if (attempt === 1 && !workers.alive) {
            results.warnings.push(`${workload}: a client worker died during the first attempt (${message.split('\n')[0]}); workers restarted and the workload run again`);
            log(`RETRYING ${message}`);
            await workers.stop();
            workers = await Workers.start(plan.workers, workerOptions);
            continue;
          }
          results.errors.push(message);
          log(`FAILED ${message}`);
          break;
        }
      }
      load.push(loadSample());
      log(`${workload} took ${((performance.now() - begun) / 1000).toFixed(1)} s; load average now ${load.at(-1)!.loadAverage.join(' ')}`);
    }
  } finally {
    await workers.stop();
    killAllChildren();
    rmSync(scratchDir, { recursive: true, force: true });
  }
  results.durationSeconds = Math.round((performance.now() - t0) / 100) / 10;
  results.processes = startedPids();
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const charts = writeCharts(results, outDir);
  const report = renderReport(results, charts);
  writeFileSync(join(outDir, 'report.md'), report);
  if (profileDir) writeFileSync(join(outDir, 'profiles.md'), `${renderThreadAccounting()}\n${summariseProfiles(profileDir)}`);
  console.log(report);
  log(`done in ${results.durationSeconds} s: ${outDir}`);
  return results.errors.length === 0 ? 0 : 1;
}

// Whatever ends this process ends the servers and workers it started (they are killed by PID).
process.on('exit', killAllChildren);
process.on('uncaughtException', (error) => {
  console.error(error);
  killAllChildren();
  process.exit(1);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    killAllChildren();
    process.exit(1);
  },
);
