/**
 * The table at the top of every report: this run's figures against the goals of issue #13 ("faster than a
 * WebSocket relay"), as ratios of medians over the `ws` relay's (or, where the goal is an absolute figure,
 * the figure itself), for Backchannel and for the node-datachannel relay, the floor of a server-relayed
 * design on this stack. Where the floor misses a goal, the transport is what stands in the way, and the
 * column that counts is Backchannel against the floor. A goal the run has no numbers for shows '—'.
 */
import type { SystemName } from '../agents/messages.js';
import { ratio } from '../lib/stats.js';
import type { BenchResults, FanoutRow, FanoutStep } from '../workloads/results.js';
import { bytesText, num, table } from './format.js';

/** The system the floor column is taken from. */
const FLOOR: SystemName = 'relay';

/** One part of a goal (a receiver count, a size), evaluated for one system. */
interface Part {
  label: string;
  value: number;
}

/** One goal: what it measures, how to evaluate it for a system, the goal and its check. */
interface Goal {
  measure: string;
  goal: string;
  /** The goal's figures for `system` (ratios against ws, or absolute figures). */
  of(system: SystemName): Part[];
  check(value: number): boolean | undefined;
  format?: (value: number) => string;
  /** True when a larger figure is better (for the Backchannel ÷ floor column's sense). */
  higherIsBetter: boolean;
}

const ratioCell = (r: number): string => (Number.isFinite(r) ? `${r < 0.1 ? r.toFixed(3) : r.toFixed(2)}×` : '—');
const atLeast = (goal: number) => (r: number): boolean | undefined => (Number.isFinite(r) ? r >= goal : undefined);
const atMost = (goal: number) => (r: number): boolean | undefined => (Number.isFinite(r) ? r <= goal : undefined);

/** Several per-size or per-count figures in one cell, met only if every one is. */
function verdict(parts: Part[], goal: Goal): { shown: string; met: boolean | undefined } {
  const format = goal.format ?? ratioCell;
  const verdicts = parts.map((p) => goal.check(p.value));
  return {
    shown: parts.map((p) => `${p.label} ${format(p.value)}`.trim()).join(', ') || '—',
    met: parts.length === 0 || verdicts.some((v) => v === undefined) ? undefined : verdicts.every(Boolean),
  };
}

const mark = (met: boolean | undefined): string => (met === undefined ? '—' : met ? '✓' : '✗');

export function goalSection(results: BenchResults): string[] {
  if (!results.systems.includes('backchannel')) return [];
  const goals = collectGoals(results);
  if (goals.length === 0) return [];
  const hasFloor = results.systems.includes(FLOOR);
  const rows = goals.map((goal) => {
    const bc = goal.of('backchannel');
    const mine = verdict(bc, goal);
    if (!hasFloor) return [goal.measure, mine.shown, goal.goal, mark(mine.met)];
    const floor = goal.of(FLOOR);
    const theirs = verdict(floor, goal);
    // Backchannel ÷ floor per part, oriented so that above 1 is better for Backchannel.
    const overFloor = bc.map((p) => {
      const f = floor.find((q) => q.label === p.label);
      const r = f ? p.value / f.value : NaN;
      return { label: p.label, value: goal.higherIsBetter ? r : 1 / r };
    });
    const overFloorText = overFloor.map((p) => `${p.label} ${ratioCell(p.value)}`.trim()).join(', ') || '—';
    return [goal.measure, mine.shown, goal.goal, mark(mine.met), theirs.shown, mark(theirs.met), overFloorText];
  });
  const header = hasFloor
    ? ['measure', 'Backchannel', 'goal', 'met', 'floor (node-datachannel relay)', 'floor meets it', 'Backchannel against the floor (> 1: better)']
    : ['measure', 'this run', 'goal', 'met'];
  return [
    '## Goals (issue #13)',
    '',
    'Figures ÷ the `ws` relay over TLS, medians of this run (absolute figures where the goal is one).' +
      (hasFloor
        ? ' The floor is the node-datachannel relay: the ws relay with its data on WebRTC and nothing else, what the transport alone costs. Where the floor misses a goal, the transport is what stands in the way; the last column shows Backchannel against it.'
        : ''),
    '',
    table(header, rows),
  ];
}

function collectGoals(results: BenchResults): Goal[] {
  const goals: Goal[] = [];
  const has = (system: SystemName): boolean => results.systems.includes(system);
  if (!has('ws')) return goals;

  const { fanout, latency, join, memory } = results;
  if (fanout) {
    const counts = [...new Set(fanout.map((r) => r.receivers))].sort((a, b) => a - b);
    const row = (system: SystemName, n: number): FanoutRow | undefined => fanout.find((r) => r.system === system && r.receivers === n);
    goals.push({
      measure: 'fan-out 1 KiB: deliveries per server core-second at the highest rate both pass, by receivers',
      goal: '≥ 1.1× at each',
      check: atLeast(1.1),
      higherIsBetter: true,
      of: (system) =>
        counts.map((n) => {
          const [mine, ws] = [row(system, n), row('ws', n)];
          const common = highestCommonPassingRate(mine, ws);
          const at = (r: FanoutRow | undefined): FanoutStep | undefined => r?.steps.find((s) => s.ratePerSecond === common);
          const [m, w] = [at(mine), at(ws)];
          return { label: String(n), value: m && w ? ratio(m.deliveredPerServerCoreSecond, w.deliveredPerServerCoreSecond) : NaN };
        }),
    });
    goals.push({
      measure: 'fan-out: highest rate with p99 ≤ 100 ms and no loss, by receivers',
      goal: '≥ 1.0× at each',
      check: atLeast(1.0),
      higherIsBetter: true,
      of: (system) =>
        counts.map((n) => {
          const rate = (r: FanoutRow | undefined): number => (r && r.best >= 0 ? r.steps[r.best]!.ratePerSecond : r ? 0 : NaN);
          return { label: String(n), value: rate(row(system, n)) / rate(row('ws', n)) };
        }),
    });
  }

  if (latency) {
    const sizes = [64, 1024].filter((size) => latency.some((r) => r.size === size));
    const of = (system: SystemName, size: number) => latency.find((r) => r.system === system && r.size === size);
    for (const [q, goal, check] of [['p50', '≤ 1.5×', atMost(1.5)], ['p99', '≤ 1.0×', atMost(1.0)]] as const) {
      goals.push({
        measure: `routed latency ${q}, 64 B and 1 KiB`,
        goal,
        check,
        higherIsBetter: false,
        of: (system) =>
          sizes.map((size) => {
            const [mine, ws] = [of(system, size), of('ws', size)];
            return { label: size >= 1024 ? `${size / 1024} KiB` : `${size} B`, value: mine && ws ? ratio(mine[q], ws[q]) : NaN };
          }),
      });
    }
  }

  if (join) {
    const of = (system: SystemName) => join.find((r) => r.system === system);
    const ws = of('ws');
    const single = (value: number | undefined): Part[] => (value === undefined ? [] : [{ label: '', value }]);
    goals.push({
      measure: 'join: first move → first message delivered, p50',
      goal: '≤ 2×',
      check: atMost(2),
      higherIsBetter: false,
      of: (system) => single(of(system) && ws ? ratio(of(system)!.p50, ws.p50) : undefined),
    });
    goals.push({
      measure: 'join: first move → first message delivered, p99',
      goal: '≤ 200 ms',
      check: atMost(200),
      format: (v) => `${num(v)} ms`,
      higherIsBetter: false,
      of: (system) => single(of(system)?.p99.median),
    });
    goals.push({
      measure: 'join storm: joins per second',
      goal: '≥ 0.5×',
      check: atLeast(0.5),
      higherIsBetter: true,
      of: (system) => single(of(system) && ws ? ratio(of(system)!.joinsPerSecond, ws.joinsPerSecond) : undefined),
    });
  }

  if (memory) {
    goals.push({
      measure: 'server memory per idle endpoint',
      goal: '≤ 100 KiB',
      check: atMost(100 * 1024),
      format: bytesText,
      higherIsBetter: false,
      of: (system) => {
        const row = memory.find((r) => r.system === system);
        return row ? [{ label: '', value: row.idleBytesPerEndpoint.median }] : [];
      },
    });
  }
  return goals;
}

/** The highest step rate both ramps passed (they step through the same rates), NaN if none. */
function highestCommonPassingRate(a: FanoutRow | undefined, b: FanoutRow | undefined): number {
  if (!a || !b) return NaN;
  const passed = (r: FanoutRow): Set<number> => new Set(r.steps.filter((s) => s.passed).map((s) => s.ratePerSecond));
  const both = [...passed(a)].filter((rate) => passed(b).has(rate));
  return both.length > 0 ? Math.max(...both) : NaN;
}
