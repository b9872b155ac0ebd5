/**
 * Where a process's CPU goes, by thread: Node's main (JavaScript) thread, V8 and libuv helpers, and
 * libdatachannel's native threads ("RTC worker" for DTLS/SCTP, "juice poll" for ICE, "SCTP timer"...). A JS
 * CPU profile sees only the main thread; this shows how much of the work it does not see. Enabled by
 * `--profile`: every measurement window then adds its per-thread CPU to the totals.
 */
import { readFileSync, readdirSync } from 'node:fs';

type Snapshot = Map<number, Map<number, number>>;

const totals = new Map<string, Map<string, number>>();
let enabled = false;

export function enableThreadAccounting(): void {
  enabled = true;
}

/** Per-thread CPU nanoseconds of each process, or undefined when accounting is off. */
export function threadSnapshot(pids: readonly number[]): Snapshot | undefined {
  if (!enabled) return undefined;
  return new Map(pids.map((pid) => [pid, readThreads(pid)]));
}

/** Adds the CPU used since `before`, by process kind and thread group, to the totals. */
export function accountThreads(before: Snapshot | undefined): void {
  if (!before) return;
  for (const [pid, threads] of before) {
    const kind = processKind(pid);
    const byGroup = totals.get(kind) ?? new Map<string, number>();
    totals.set(kind, byGroup);
    for (const [tid, ns] of readThreads(pid)) {
      const group = threadGroup(pid, tid);
      byGroup.set(group, (byGroup.get(group) ?? 0) + (ns - (threads.get(tid) ?? 0)) / 1e9);
    }
  }
}

/** Markdown tables of the totals: CPU seconds and share per thread group, per kind of process. */
export function renderThreadAccounting(): string {
  if (totals.size === 0) return '';
  const out = ['## CPU by thread (all measurement windows)', ''];
  for (const [kind, groups] of totals) {
    const sum = [...groups.values()].reduce((a, b) => a + b, 0);
    out.push(`### ${kind}: ${sum.toFixed(2)} CPU-s`, '', '| thread | CPU-s | share |', '| --- | --- | --- |');
    for (const [group, seconds] of [...groups].sort((a, b) => b[1] - a[1])) out.push(`| ${group} | ${seconds.toFixed(2)} | ${((100 * seconds) / sum).toFixed(1)}% |`);
    out.push('');
  }
  return out.join('\n');
}

function readThreads(pid: number): Map<number, number> {
  const threads = new Map<number, number>();
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        threads.set(Number(task), Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]));
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    // the process ended
  }
  return threads;
}

function threadGroup(pid: number, tid: number): string {
  if (tid === pid) return 'main thread (JavaScript, libuv I/O)';
  try {
    const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    return name === 'node' ? 'V8 and libuv helper threads' : name;
  } catch {
    return '(ended threads)';
  }
}

function processKind(pid: number): string {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return `pid ${pid}`;
  }
  if (cmdline.includes('backchannel.js serve')) return 'Backchannel server';
  if (cmdline.includes('socketioServer')) return 'Socket.IO server';
  if (cmdline.includes('wsServer')) return 'ws server';
  if (cmdline.includes('worker.ts')) return 'client workers (all systems)';
  return `pid ${pid}`;
}
