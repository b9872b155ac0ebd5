/**
 * The benchmark's smoke mode, so that it never rots: `backchannel bench` with BACKCHANNEL_BENCH_SMOKE=1 runs
 * every workload against every system at tiny sizes in seconds. Only that every workload produced numbers
 * for every system is asserted: a benchmark never fails a build on timing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import type { BenchResults } from '../../bench/workloads/results.js';
import { within } from '../helpers/events.js';

const CLI = fileURLToPath(new URL('../../packages/cli/bin/backchannel.js', import.meta.url));
const SYSTEMS = ['backchannel', 'raw', 'relay', 'socketio', 'ws'];
const RUN_TIMEOUT_MS = 240_000;

const finite = (value: number | undefined): boolean => typeof value === 'number' && Number.isFinite(value);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('benchmark smoke run (backchannel bench, BACKCHANNEL_BENCH_SMOKE=1)', { timeout: RUN_TIMEOUT_MS + 10_000 }, () => {
  let out: string;
  let exitCode: number | null;
  let stderr = '';
  let results: BenchResults;

  before(async () => {
    out = mkdtempSync(join(tmpdir(), 'backchannel-bench-smoke-'));
    const child = spawn(process.execPath, [CLI, 'bench', '--out', out], { env: { ...process.env, BACKCHANNEL_BENCH_SMOKE: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    exitCode = await within(new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))), 'the smoke run', RUN_TIMEOUT_MS);
    results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchResults;
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  it('exits 0 in smoke mode with no workload errors', () => {
    assert.equal(exitCode, 0, stderr.slice(-4000));
    assert.equal(results.mode, 'smoke');
    assert.deepEqual(results.errors, []);
    assert.deepEqual(results.systems, SYSTEMS);
  });

  it('measures routed latency for every size on every system', () => {
    for (const system of SYSTEMS) {
      const rows = results.latency!.filter((r) => r.system === system);
      assert.deepEqual(rows.map((r) => r.size), [64, 1024, 16384], system);
      for (const r of rows) assert.ok(finite(r.p50.median) && finite(r.p99.median) && finite(r.max.median), `${system} ${r.size} B: ${JSON.stringify(r)}`);
    }
  });

  it('measures fan-out throughput and server CPU on every system', () => {
    for (const system of SYSTEMS) {
      const row = results.fanout!.find((r) => r.system === system);
      const step = row?.steps[0];
      assert.ok(step && finite(step.p99.median) && finite(step.deliveredPerSecond.median) && finite(step.deliveredPerServerCoreSecond.median), `${system}: ${JSON.stringify(row)}`);
    }
  });

  it('measures targeted load with 1 and 5 recipients on every system', () => {
    for (const system of SYSTEMS) {
      for (const k of [1, 5]) {
        const step = results.targeted!.find((r) => r.system === system && r.recipients === k)?.steps[0];
        assert.ok(step && finite(step.p99.median) && finite(step.deliveredPerSecond.median), `${system} → ${k}`);
      }
    }
  });

  it('measures the cluster workload: fan-out over one and two nodes, and the cross-node hop against the same node', () => {
    const cluster = results.cluster!;
    assert.deepEqual(cluster.fanout.map((r) => r.nodes), [1, 2]);
    for (const row of cluster.fanout) {
      const step = row.steps[0];
      assert.ok(step && finite(step.p99.median) && finite(step.deliveredPerSecond.median) && finite(step.deliveredPerServerCoreSecond.median), JSON.stringify(row));
    }
    assert.deepEqual(cluster.hop.map((r) => r.recipient), ['same node', 'other node']);
    for (const row of cluster.hop) assert.ok(finite(row.p50.median) && finite(row.p99.median), JSON.stringify(row));
  });

  it('measures join latency and a join storm on every system', () => {
    for (const system of SYSTEMS) {
      const row = results.join!.find((r) => r.system === system);
      assert.ok(row && finite(row.p50.median) && finite(row.p99.median) && finite(row.joinsPerSecond.median), `${system}: ${JSON.stringify(row)}`);
      assert.equal(row.failures, 0, system);
    }
  });

  it('measures server memory per idle and per active endpoint on every system', () => {
    for (const system of SYSTEMS) {
      const row = results.memory!.find((r) => r.system === system);
      assert.ok(row && finite(row.baselineRss.median) && finite(row.idleBytesPerEndpoint.median) && finite(row.activeBytesPerEndpoint.median), `${system}: ${JSON.stringify(row)}`);
    }
  });

  it('writes a report with the machine and every workload, and one SVG chart per workload', () => {
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    for (const heading of ['## Machine', '## Routed latency', '## Fan-out throughput', '## Targeted load', '## Join', '## Memory']) assert.ok(report.includes(heading), heading);
    // The goal table opens the report and sets every goal against the floor (the node-datachannel relay).
    assert.ok(report.indexOf('## Goals (issue #13)') < report.indexOf('## Machine'), 'the goal table comes first');
    assert.match(report, /\| measure \| Backchannel \| goal \| met \| floor \(node-datachannel relay\) \| floor meets it \|/);
    for (const chart of ['latency.svg', 'fanout.svg', 'targeted.svg', 'join.svg', 'memory.svg']) {
      assert.ok(existsSync(join(out, chart)), chart);
      assert.match(readFileSync(join(out, chart), 'utf8'), /^<svg /);
    }
  });

  it('leaves no process running', () => {
    assert.ok(results.processes.length >= 4, 'servers and workers were recorded');
    assert.deepEqual(results.processes.filter(isAlive), []);
  });
});
