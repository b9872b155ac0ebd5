/**
 * Just enough SVG for the benchmark's charts, without a plotting library: grouped bar charts with min–max
 * whiskers, and line charts, each drawn as a panel; several panels side by side make one figure.
 */
import type { Spread } from '../lib/stats.js';

export const SYSTEM_COLORS: Readonly<Record<string, string>> = {
  backchannel: '#1f6feb',
  raw: '#8b949e',
  relay: '#8250df',
  socketio: '#d29922',
  ws: '#2da44e',
};

const PANEL = { width: 460, height: 300, left: 64, right: 16, top: 36, bottom: 64 };

export interface Series {
  name: string;
  color: string;
}

export interface BarPanel {
  kind: 'bars';
  title: string;
  yLabel: string;
  /** Category labels along the x axis. */
  groups: string[];
  series: (Series & { values: (Spread | undefined)[] })[];
  log?: boolean;
}

export interface LinePanel {
  kind: 'lines';
  title: string;
  xLabel: string;
  yLabel: string;
  series: (Series & { points: { x: number; y: Spread }[]; dashed?: boolean })[];
  logX?: boolean;
  logY?: boolean;
  /** A horizontal reference line (a limit). */
  limit?: { y: number; label: string };
}

export type Panel = BarPanel | LinePanel;

/** One SVG with the panels in a row and a legend of `legend` under them. */
export function figure(title: string, panels: readonly Panel[], legend: readonly Series[]): string {
  const width = PANEL.width * panels.length;
  const height = PANEL.height + 60;
  const body = panels.map((panel, i) => `<g transform="translate(${i * PANEL.width},28)">${panel.kind === 'bars' ? bars(panel) : lines(panel)}</g>`);
  const legendItems = legend.map((s, i) => {
    const x = 16 + i * 200;
    return `<rect x="${x}" y="${height - 22}" width="12" height="12" fill="${s.color}"/><text x="${x + 18}" y="${height - 12}" font-size="12">${escape(s.name)}</text>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" font-size="15" font-weight="bold" text-anchor="middle">${escape(title)}</text>`,
    ...body,
    ...legendItems,
    '</svg>',
    '',
  ].join('\n');
}

interface Scale {
  at(value: number): number;
  ticks: number[];
}

function linearScale(max: number, pixels: number): Scale {
  const top = niceCeil(max > 0 ? max : 1);
  const step = top / 5;
  return { at: (v) => pixels - (Math.max(0, v) / top) * pixels, ticks: Array.from({ length: 6 }, (_, i) => i * step) };
}

function logScale(min: number, max: number, pixels: number): Scale {
  const lo = 10 ** Math.floor(Math.log10(min > 0 ? min : 0.01));
  const hi = 10 ** Math.ceil(Math.log10(max > lo ? max : lo * 10));
  const span = Math.log10(hi) - Math.log10(lo);
  const ticks: number[] = [];
  for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(t);
  return { at: (v) => pixels - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / span) * pixels, ticks };
}

function niceCeil(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= value) return m * power;
  return 10 * power;
}

function axes(title: string, yLabel: string, scale: Scale, plotWidth: number, plotHeight: number): string[] {
  const out = [
    `<text x="${PANEL.width / 2}" y="14" font-size="13" text-anchor="middle">${escape(title)}</text>`,
    `<text transform="translate(14,${PANEL.top + plotHeight / 2}) rotate(-90)" font-size="11" text-anchor="middle">${escape(yLabel)}</text>`,
  ];
  for (const tick of scale.ticks) {
    const y = PANEL.top + scale.at(tick);
    out.push(`<line x1="${PANEL.left}" x2="${PANEL.left + plotWidth}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${PANEL.left - 6}" y="${y + 4}" font-size="10" text-anchor="end">${tickText(tick)}</text>`);
  }
  out.push(`<line x1="${PANEL.left}" x2="${PANEL.left}" y1="${PANEL.top}" y2="${PANEL.top + plotHeight}" stroke="#333"/>`);
  out.push(`<line x1="${PANEL.left}" x2="${PANEL.left + plotWidth}" y1="${PANEL.top + plotHeight}" y2="${PANEL.top + plotHeight}" stroke="#333"/>`);
  return out;
}

function bars(panel: BarPanel): string {
  const plotWidth = PANEL.width - PANEL.left - PANEL.right;
  const plotHeight = PANEL.height - PANEL.top - PANEL.bottom;
  const values = panel.series.flatMap((s) => s.values.flatMap((v) => (v && Number.isFinite(v.max) ? [v.max, v.median] : [])));
  const scale = panel.log ? logScale(Math.min(...values), Math.max(...values), plotHeight) : linearScale(Math.max(0, ...values), plotHeight);
  const out = axes(panel.title, panel.yLabel, scale, plotWidth, plotHeight);
  const groupWidth = plotWidth / Math.max(1, panel.groups.length);
  const barWidth = (groupWidth * 0.8) / Math.max(1, panel.series.length);
  const bottom = PANEL.top + plotHeight;
  panel.groups.forEach((group, g) => {
    const x0 = PANEL.left + g * groupWidth + groupWidth * 0.1;
    out.push(`<text x="${x0 + groupWidth * 0.4}" y="${bottom + 16}" font-size="11" text-anchor="middle">${escape(group)}</text>`);
    panel.series.forEach((series, i) => {
      const value = series.values[g];
      const x = x0 + i * barWidth;
      if (!value || !Number.isFinite(value.median)) {
        out.push(`<text x="${x + barWidth / 2}" y="${bottom - 4}" font-size="9" text-anchor="middle" fill="#999">n/a</text>`);
        return;
      }
      const y = PANEL.top + scale.at(value.median);
      out.push(`<rect x="${x + 1}" y="${y}" width="${Math.max(1, barWidth - 2)}" height="${Math.max(0, bottom - y)}" fill="${series.color}"><title>${escape(series.name)}: ${tickText(value.median)}</title></rect>`);
      if (value.max > value.min) {
        const cx = x + barWidth / 2;
        const [yMin, yMax] = [PANEL.top + scale.at(value.min), PANEL.top + scale.at(value.max)];
        out.push(`<line x1="${cx}" x2="${cx}" y1="${yMin}" y2="${yMax}" stroke="#222"/><line x1="${cx - 3}" x2="${cx + 3}" y1="${yMax}" y2="${yMax}" stroke="#222"/><line x1="${cx - 3}" x2="${cx + 3}" y1="${yMin}" y2="${yMin}" stroke="#222"/>`);
      }
    });
  });
  return out.join('\n');
}

function lines(panel: LinePanel): string {
  const plotWidth = PANEL.width - PANEL.left - PANEL.right;
  const plotHeight = PANEL.height - PANEL.top - PANEL.bottom;
  const xs = panel.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = panel.series.flatMap((s) => s.points.flatMap((p) => (Number.isFinite(p.y.max) ? [p.y.min, p.y.max] : [])));
  if (panel.limit) ys.push(panel.limit.y);
  const yScale = panel.logY ? logScale(Math.min(...ys), Math.max(...ys), plotHeight) : linearScale(Math.max(0, ...ys), plotHeight);
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const xAt = (x: number): number => {
    if (xMax === xMin) return PANEL.left + plotWidth / 2;
    const f = panel.logX ? (Math.log(x) - Math.log(xMin)) / (Math.log(xMax) - Math.log(xMin)) : (x - xMin) / (xMax - xMin);
    return PANEL.left + 10 + f * (plotWidth - 20);
  };
  const out = axes(panel.title, panel.yLabel, yScale, plotWidth, plotHeight);
  const bottom = PANEL.top + plotHeight;
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    out.push(`<text x="${xAt(x)}" y="${bottom + 16}" font-size="10" text-anchor="middle">${tickText(x)}</text>`);
  }
  out.push(`<text x="${PANEL.left + plotWidth / 2}" y="${bottom + 34}" font-size="11" text-anchor="middle">${escape(panel.xLabel)}</text>`);
  if (panel.limit) {
    const y = PANEL.top + yScale.at(panel.limit.y);
    out.push(`<line x1="${PANEL.left}" x2="${PANEL.left + plotWidth}" y1="${y}" y2="${y}" stroke="#cf222e" stroke-dasharray="5,4"/>`);
    out.push(`<text x="${PANEL.left + plotWidth - 4}" y="${y - 4}" font-size="10" text-anchor="end" fill="#cf222e">${escape(panel.limit.label)}</text>`);
  }
  for (const series of panel.series) {
    const points = series.points.filter((p) => Number.isFinite(p.y.median));
    if (points.length === 0) continue;
    const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${xAt(p.x).toFixed(1)},${(PANEL.top + yScale.at(p.y.median)).toFixed(1)}`).join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6,3"' : ''}/>`);
    for (const p of points) {
      const cx = xAt(p.x);
      out.push(`<circle cx="${cx}" cy="${PANEL.top + yScale.at(p.y.median)}" r="3" fill="${series.color}"><title>${escape(series.name)}: ${tickText(p.y.median)}</title></circle>`);
      if (p.y.max > p.y.min) out.push(`<line x1="${cx}" x2="${cx}" y1="${PANEL.top + yScale.at(p.y.min)}" y2="${PANEL.top + yScale.at(p.y.max)}" stroke="${series.color}"/>`);
    }
  }
  return out.join('\n');
}

function tickText(value: number): string {
  if (value >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (value >= 1e3) return `${+(value / 1e3).toFixed(1)}k`;
  if (value >= 1) return `${+value.toFixed(1)}`;
  return `${+value.toPrecision(2)}`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
