/**
 * Summarises V8 CPU profiles (`node --cpu-prof`) as a top-functions report: self time and total (inclusive)
 * time per function, and self time per module, so that a hot path can be read without a flame-graph viewer.
 * Also runnable by itself: `node --import tsx bench/profile/topFunctions.ts DIR_OR_FILE...`.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  selfMs: number;
  totalMs: number;
}

export interface ProfileSummary {
  file: string;
  durationMs: number;
  idleMs: number;
  functions: FunctionTime[];
  modules: { module: string; selfMs: number }[];
}

const IDLE = '(idle)';

export function summariseProfile(path: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const modules = new Map<string, number>();
  let idleMs = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(id);
    if (!node) return;
    if (node.callFrame.functionName === IDLE) {
      idleMs += ms;
      return;
    }
    const key = nameOf(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + ms);
    modules.set(moduleOf(node.callFrame), (modules.get(moduleOf(node.callFrame)) ?? 0) + ms);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (frame.functionName === '(root)') break;
      const name = nameOf(frame);
      if (seen.has(name)) continue;
      seen.add(name);
      total.set(name, (total.get(name) ?? 0) + ms);
    }
  });
  return {
    file: basename(path),
    durationMs: (profile.endTime - profile.startTime) / 1000,
    idleMs,
    functions: [...total].map(([name, totalMs]) => ({ name, totalMs, selfMs: self.get(name) ?? 0 })),
    modules: [...modules].map(([module, selfMs]) => ({ module, selfMs })).sort((a, b) => b.selfMs - a.selfMs),
  };
}

/** Markdown: for each profile, busy time, self time by module, top self and top total functions. */
export function renderSummary(summary: ProfileSummary, top = 20): string {
  const busy = summary.durationMs - summary.idleMs;
  const pct = (ms: number): string => `${((100 * ms) / busy).toFixed(1)}%`;
  const lines = [`### ${summary.file}`, '', `${(summary.durationMs / 1000).toFixed(1)} s profiled, ${(busy / 1000).toFixed(2)} s on the JavaScript thread (not idle). Percentages are of that busy time.`, ''];
  lines.push('| module | self |', '| --- | --- |', ...summary.modules.slice(0, 12).map((m) => `| ${m.module} | ${pct(m.selfMs)} |`), '');
  lines.push('| top self time | self | total |', '| --- | --- | --- |');
  for (const f of [...summary.functions].sort((a, b) => b.selfMs - a.selfMs).slice(0, top)) lines.push(`| \`${f.name}\` | ${pct(f.selfMs)} | ${pct(f.totalMs)} |`);
  lines.push('', '| top total time (project code) | total | self |', '| --- | --- | --- |');
  const ours = summary.functions.filter((f) => /packages\/|bench\//.test(f.name));
  for (const f of ours.sort((a, b) => b.totalMs - a.totalMs).slice(0, top)) lines.push(`| \`${f.name}\` | ${pct(f.totalMs)} | ${pct(f.selfMs)} |`);
  return `${lines.join('\n')}\n`;
}

/**
 * Summaries of every .cpuprofile under `dir` and its subdirectories (one per process kind), named
 * `subdirectory/file`, the busiest first; profiles with under 50 ms of work (loader threads) are skipped.
 */
export function summariseProfiles(dir: string): string {
  const files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.cpuprofile'));
  const summaries = files
    .map((file) => ({ ...summariseProfile(join(dir, file)), file }))
    .filter((s) => s.durationMs - s.idleMs >= 50)
    .sort((a, b) => b.durationMs - b.idleMs - (a.durationMs - a.idleMs));
  return `# CPU profiles\n\n${summaries.map((s) => renderSummary(s)).join('\n')}`;
}

function nameOf(frame: CallFrame): string {
  const fn = frame.functionName || '(anonymous)';
  if (!frame.url) return fn;
  return `${fn} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
}

function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const inModules = /node_modules\/(.*)$/.exec(path);
  if (inModules) return inModules[1]!;
  const inRepo = /\/((?:packages|bench|test)\/.*)$/.exec(path);
  return inRepo ? inRepo[1]! : path;
}

function moduleOf(frame: CallFrame): string {
  if (frame.functionName.startsWith('(')) return frame.functionName;
  const path = frame.url.replace(/^file:\/\//, '');
  if (!path) return '(native or builtin)';
  if (path.startsWith('node:')) return 'node: internals';
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (dep) return dep[1]!;
  const ours = /\/(packages\/[^/]+|bench)\//.exec(path);
  return ours ? ours[1]! : path;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const target of process.argv.slice(2)) {
    console.log(statSync(target).isDirectory() ? summariseProfiles(target) : renderSummary(summariseProfile(target)));
  }
}
