/** Number formatting shared by the report's tables. */
import { ratio, type Spread } from '../lib/stats.js';

/** `value` with a sensible number of digits (3 significant, no exponent below a million). */
export function num(value: number): string {
  if (!Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (abs >= 10_000) return `${Math.round(value / 100) / 10} k`;
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

/** "median (min–max)" of several runs; just the median for a single run. */
export function spreadText(s: Spread | undefined, unit = '', scale = 1): string {
  if (!s || s.runs === 0) return '—';
  const u = unit ? ` ${unit}` : '';
  if (s.runs === 1 || s.min === s.max) return `${num(s.median * scale)}${u}`;
  return `${num(s.median * scale)}${u} (${num(s.min * scale)}–${num(s.max * scale)})`;
}

/**
 * Backchannel's median over the peer's, with a mark of who wins: ✓ Backchannel, ✗ the peer (within 5%
 * is a tie, ≈).
 */
export function ratioText(backchannel: Spread | number | undefined, peer: Spread | number | undefined, better: 'lower' | 'higher'): string {
  if (backchannel === undefined || peer === undefined) return '—';
  const r = ratio(backchannel, peer);
  if (!Number.isFinite(r)) return '—';
  const mark = Math.abs(r - 1) <= 0.05 ? '≈' : (r < 1) === (better === 'lower') ? '✓' : '✗';
  return `${r < 0.1 ? r.toFixed(3) : r.toFixed(2)}× ${mark}`;
}

export function bytesText(bytes: number): string {
  if (!Number.isFinite(bytes)) return '—';
  const abs = Math.abs(bytes);
  if (abs >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  if (abs >= 1024) return `${(bytes / 1024).toFixed(abs >= 10 * 1024 ? 0 : 1)} KiB`;
  return `${bytes.toFixed(0)} B`;
}

/** A Markdown table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
