/**
 * The table at the top of every report: this run's figures against the goals of issue #13 ("faster than a
 * WebSocket relay"), as ratios of Backchannel's medians over the `ws` relay's (or, where the goal is an
 * absolute figure, the figure itself). A goal the run has no numbers for shows '—'.
 */
import { ratio } from '../lib/stats.js';
import type { BenchResults, FanoutRow, FanoutStep } from '../workloads/results.js';
import { bytesText, num, table } from './format.js';

/** One goal: what it measures, what this run shows, the goal, and whether it is met (undefined: unknown). */
interface GoalRow {
  measure: string;
  shown: string;
  goal: string;
  met: boolean | undefined;
}

const ratioCell = (r: number): string => (Number.isFinite(r) ? `${r < 0.1 ? r.toFixed(3) : r.toFixed(2)}×` : '—');
const atLeast = (r: number, goal: number): boolean | undefined => (Number.isFinite(r) ? r >= goal : undefined);
const atMost = (r: number, goal: number): boolean | undefined => (Number.isFinite(r) ? r <= goal : undefined);

/** Several per-size or per-count ratios in one cell, met only if every one is. */
function joined(parts: { label: string; value: number }[], check: (value: number) => boolean | undefined, format = ratioCell): Omit<GoalRow, 'measure' | 'goal'> {
  const verdicts = parts.map((p) => check(p.value));
  return {
    shown: parts.map((p) => `${p.label} ${format(p.value)}`).join(', '),
    met: verdicts.some((v) => v === undefined) ? undefined : verdicts.every(Boolean),
  };
}

export function goalSection(results: BenchResults): string[] {
  if (!results.systems.includes('backchannel')) return [];
  const rows: GoalRow[] = [];
  const hasWs = results.systems.includes('ws');

  if (results.fanout && hasWs) {
    const counts = [...new Set(results.fanout.map((r) => r.receivers))].sort((a, b) => a - b);
    const pair = (n: number): [FanoutRow | undefined, FanoutRow | undefined] => [
      results.fanout!.find((r) => r.system === 'backchannel' && r.receivers === n),
      results.fanout!.find((r) => r.system === 'ws' && r.receivers === n),
    ];
    const perCore = counts.map((n) => {
      const [bc, ws] = pair(n);
      const common = highestCommonPassingRate(bc, ws);
      const at = (r: FanoutRow | undefined): FanoutStep | undefined => r?.steps.find((s) => s.ratePerSecond === common);
      const [b, w] = [at(bc), at(ws)];
      return { label: String(n), value: b && w ? ratio(b.deliveredPerServerCoreSecond, w.deliveredPerServerCoreSecond) : NaN };
    });
    rows.push({ measure: 'fan-out 1 KiB: deliveries per server core-second at the highest rate both pass, by receivers', goal: '≥ 1.1× at each', ...joined(perCore, (v) => atLeast(v, 1.1)) });
    const highest = counts.map((n) => {
      const [bc, ws] = pair(n);
      const rate = (r: FanoutRow | undefined): number => (r && r.best >= 0 ? r.steps[r.best]!.ratePerSecond : r ? 0 : NaN);
      return { label: String(n), value: rate(bc) / rate(ws) };
    });
    rows.push({ measure: 'fan-out: highest rate with p99 ≤ 100 ms and no loss, by receivers', goal: '≥ 1.0× at each', ...joined(highest, (v) => atLeast(v, 1.0)) });
  }

  if (results.latency && hasWs) {
    const sizes = [64, 1024].filter((size) => results.latency!.some((r) => r.size === size));
    const of = (system: string, size: number) => results.latency!.find((r) => r.system === system && r.size === size);
    const quantile = (q: 'p50' | 'p99') => sizes.map((size) => {
      const [bc, ws] = [of('backchannel', size), of('ws', size)];
      return { label: size >= 1024 ? `${size / 1024} KiB` : `${size} B`, value: bc && ws ? ratio(bc[q], ws[q]) : NaN };
    });
    rows.push({ measure: 'routed latency p50, 64 B and 1 KiB', goal: '≤ 1.5×', ...joined(quantile('p50'), (v) => atMost(v, 1.5)) });
    rows.push({ measure: 'routed latency p99, 64 B and 1 KiB', goal: '≤ 1.0×', ...joined(quantile('p99'), (v) => atMost(v, 1.0)) });
  }

  if (results.join) {
    const bc = results.join.find((r) => r.system === 'backchannel');
    const ws = results.join.find((r) => r.system === 'ws');
    if (bc && ws) rows.push({ measure: 'join: first move → first message delivered, p50', goal: '≤ 2×', ...joined([{ label: '', value: ratio(bc.p50, ws.p50) }], (v) => atMost(v, 2)) });
    if (bc) rows.push({ measure: 'join: first move → first message delivered, p99', goal: '≤ 200 ms', ...joined([{ label: '', value: bc.p99.median }], (v) => atMost(v, 200), (v) => `${num(v)} ms`) });
    if (bc && ws) rows.push({ measure: 'join storm: joins per second', goal: '≥ 0.5×', ...joined([{ label: '', value: ratio(bc.joinsPerSecond, ws.joinsPerSecond) }], (v) => atLeast(v, 0.5)) });
  }

  if (results.memory) {
    const bc = results.memory.find((r) => r.system === 'backchannel');
    if (bc) rows.push({ measure: 'server memory per idle endpoint', goal: '≤ 100 KiB', ...joined([{ label: '', value: bc.idleBytesPerEndpoint.median }], (v) => atMost(v, 100 * 1024), bytesText) });
  }

  if (rows.length === 0) return [];
  return [
    '## Goals (issue #13)',
    '',
    'Backchannel ÷ the `ws` relay over TLS, medians of this run (absolute figures where the goal is one).',
    '',
    table(
      ['measure', 'this run', 'goal', 'met'],
      rows.map((r) => [r.measure, r.shown.trim(), r.goal, r.met === undefined ? '—' : r.met ? '✓' : '✗']),
    ),
  ];
}

/** The highest step rate both ramps passed (they step through the same rates), NaN if none. */
function highestCommonPassingRate(a: FanoutRow | undefined, b: FanoutRow | undefined): number {
  if (!a || !b) return NaN;
  const passed = (r: FanoutRow): Set<number> => new Set(r.steps.filter((s) => s.passed).map((s) => s.ratePerSecond));
  const both = [...passed(a)].filter((rate) => passed(b).has(rate));
  return both.length > 0 ? Math.max(...both) : NaN;
}
