/** The benchmark's command line: `npm run bench -- [--smoke] [--only W,...] [--systems S,...] [--out DIR] [--profile]`. */
import { parseArgs } from 'node:util';

import type { SystemName } from '../agents/messages.js';
import { WORKLOADS, type WorkloadName } from '../config.js';
import { SYSTEMS } from '../systems/deployments.js';

export interface BenchArgs {
  smoke: boolean;
  only: WorkloadName[];
  systems: SystemName[];
  out: string | undefined;
  profile: boolean;
  /** Only rewrite report.md and the charts of an earlier run from its results.json. */
  render: string | undefined;
  help: boolean;
}

export const USAGE = `usage: npm run bench -- [options]   (or: npx backchannel bench [options])

Runs every workload against Backchannel and its peers (raw node-datachannel, Socket.IO, ws) on loopback
and writes results.json, report.md and one SVG chart per workload.

  --smoke            seconds instead of minutes: tiny sizes, one run each (also BACKCHANNEL_BENCH_SMOKE=1)
  --only LIST        workloads, comma-separated: ${WORKLOADS.join(', ')}
  --systems LIST     systems, comma-separated: ${SYSTEMS.join(', ')} (default: all)
  --out DIR          where to write (default: bench/results/<date>-<mode>/, smoke runs under bench/results/tmp/)
  --profile          run servers and client workers with --cpu-prof and summarise the profiles
  --render DIR       only rewrite DIR/report.md and DIR/*.svg from DIR/results.json (no measurement)
  -h, --help         this text`;

function list<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T[] {
  if (value === undefined) return [...allowed];
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) if (!allowed.includes(item as T)) throw new Error(`unknown ${what} '${item}' (expected one of ${allowed.join(', ')})`);
  return items as T[];
}

export function parseBenchArgs(argv: readonly string[], env: NodeJS.ProcessEnv): BenchArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      smoke: { type: 'boolean', default: false },
      only: { type: 'string' },
      systems: { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'boolean', default: false },
      render: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const smokeEnv = env.BACKCHANNEL_BENCH_SMOKE;
  return {
    smoke: values.smoke || (smokeEnv !== undefined && !['', '0', 'false', 'no'].includes(smokeEnv.toLowerCase())),
    only: list(values.only, WORKLOADS, 'workload'),
    systems: list(values.systems, SYSTEMS, 'system'),
    out: values.out,
    profile: values.profile,
    render: values.render,
    help: values.help,
  };
}
