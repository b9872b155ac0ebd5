/** One SVG chart per workload, written next to results.json; returns the file names written. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { SystemName } from '../agents/messages.js';
import type { Spread } from '../lib/stats.js';
import { SYSTEM_LABELS } from '../systems/deployments.js';
import type { BenchResults } from '../workloads/results.js';
import { SYSTEM_COLORS, figure, type Panel, type Series } from './svg.js';

const KIB = 1024;

export function writeCharts(results: BenchResults, dir: string): string[] {
  const legend: Series[] = results.systems.map((s) => ({ name: SYSTEM_LABELS[s], color: SYSTEM_COLORS[s]! }));
  const written: string[] = [];
  const write = (name: string, svg: string): void => {
    writeFileSync(join(dir, name), svg);
    written.push(name);
  };
  const series = <T>(rowsOf: (system: SystemName) => T[], pick: (row: T) => Spread | undefined) =>
    results.systems.map((system) => ({ name: SYSTEM_LABELS[system], color: SYSTEM_COLORS[system]!, values: rowsOf(system).map(pick) }));

  if (results.latency?.length) {
    const sizes = [...new Set(results.latency.map((r) => r.size))];
    const rowsOf = (system: SystemName) => sizes.map((size) => results.latency!.find((r) => r.system === system && r.size === size));
    const panels: Panel[] = (['p50', 'p99', 'max'] as const).map((q) => ({
      kind: 'bars',
      title: `${q} one-way latency`,
      yLabel: 'ms (log scale)',
      groups: sizes.map(sizeText),
      series: series(rowsOf, (r) => r?.[q]),
      log: true,
    }));
    write('latency.svg', figure('Routed latency: 1 sender → server → 1 receiver (median of runs, whiskers min–max)', panels, legend));
  }

  if (results.fanout?.length) {
    const counts = [...new Set(results.fanout.map((r) => r.receivers))];
    const rowsOf = (system: SystemName) => counts.map((n) => results.fanout!.find((r) => r.system === system && r.receivers === n));
    const best = (row: (typeof results.fanout)[number] | undefined) => (row && row.best >= 0 ? row.steps[row.best] : undefined);
    const panels: Panel[] = [
      { kind: 'bars', title: 'sustained deliveries/s (p99 ≤ limit, no loss)', yLabel: 'messages/s', groups: counts.map((n) => `${n} receivers`), series: series(rowsOf, (r) => best(r)?.deliveredPerSecond) },
      { kind: 'bars', title: 'deliveries per server core-second', yLabel: 'messages per CPU-s', groups: counts.map((n) => `${n} receivers`), series: series(rowsOf, (r) => best(r)?.deliveredPerServerCoreSecond) },
      { kind: 'bars', title: 'CPU per delivery, all processes', yLabel: 'µs', groups: counts.map((n) => `${n} receivers`), series: series(rowsOf, (r) => best(r)?.totalCpuMicrosPerDelivery) },
    ];
    write('fanout.svg', figure('Fan-out: 1 sender broadcasting 1 KiB (at the highest passing rate)', panels, legend));
  }

  if (results.targeted?.length) {
    const ks = [...new Set(results.targeted.map((r) => r.recipients))];
    const limit = (results.plan as { targeted?: { p99LimitMs?: number } }).targeted?.p99LimitMs ?? 50;
    const panels: Panel[] = ks.map((k) => ({
      kind: 'lines',
      title: `each participant → ${k} recipient${k === 1 ? '' : 's'}`,
      xLabel: 'participants (20 msg/s × 256 B each)',
      yLabel: 'p99 latency, ms (log scale)',
      logX: true,
      logY: true,
      limit: { y: limit, label: `${limit} ms` },
      series: results.targeted!.filter((r) => r.recipients === k).map((r) => ({
        name: SYSTEM_LABELS[r.system],
        color: SYSTEM_COLORS[r.system]!,
        points: r.steps.map((s) => ({ x: s.participants, y: s.p99 })),
      })),
    }));
    write('targeted.svg', figure('Targeted load: p99 latency as participants are added', panels, legend));
  }

  if (results.join?.length) {
    const rowsOf = (system: SystemName) => [results.join!.find((r) => r.system === system)];
    const panels: Panel[] = [
      { kind: 'bars', title: 'join → first message delivered', yLabel: 'ms (log scale)', groups: ['p50', 'p99', 'storm p50', 'storm p99'], log: true, series: results.systems.map((system) => {
        const row = results.join!.find((r) => r.system === system);
        return { name: SYSTEM_LABELS[system], color: SYSTEM_COLORS[system]!, values: [row?.p50, row?.p99, row?.stormP50, row?.stormP99] };
      }) },
      { kind: 'bars', title: 'joins per second in a storm', yLabel: 'joins/s', groups: ['storm'], series: series(rowsOf, (r) => r?.joinsPerSecond) },
    ];
    write('join.svg', figure('Join: from the first move to a first message delivered', panels, legend));
  }

  if (results.memory?.length) {
    const rowsOf = (system: SystemName) => [results.memory!.find((r) => r.system === system)];
    const scaled = (s: Spread | undefined): Spread | undefined => s && { ...s, median: s.median / KIB, min: s.min / KIB, max: s.max / KIB };
    const panels: Panel[] = [
      { kind: 'bars', title: 'server RSS per idle endpoint', yLabel: 'KiB', groups: ['idle'], series: series(rowsOf, (r) => scaled(r?.idleBytesPerEndpoint)) },
      { kind: 'bars', title: 'server RSS per active endpoint (1 msg/s)', yLabel: 'KiB', groups: ['active'], series: series(rowsOf, (r) => scaled(r?.activeBytesPerEndpoint)) },
    ];
    write('memory.svg', figure('Memory: server resident set per connected endpoint', panels, legend));
  }
  return written;
}

function sizeText(bytes: number): string {
  return bytes >= KIB ? `${bytes / KIB} KiB` : `${bytes} B`;
}
