/**
 * CPU time and resident memory of a process, read from Linux's /proc. CPU is summed over every thread
 * (libdatachannel does its ICE, DTLS and SCTP work on native threads beside Node's event loop), in
 * nanoseconds from schedstat rather than in 10 ms clock ticks, so one-second windows stay precise.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** CPU seconds used so far by every thread of `pid`; NaN if the process is gone. */
export function cpuSeconds(pid: number): number {
  try {
    let nanoseconds = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        nanoseconds += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // The thread ended between the listing and the read: its time is lost, a few microseconds at most.
      }
    }
    return nanoseconds / 1e9;
  } catch {
    return NaN;
  }
}

/** Resident set size of `pid` in bytes (VmRSS); NaN if the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Open file descriptors of `pid` (sockets, pipes, event fds, files); NaN if the process is gone. */
export function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

/** Threads of `pid` (Node's and libdatachannel's); NaN if the process is gone. */
export function threadCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/task`).length;
  } catch {
    return NaN;
  }
}

/** CPU used by a set of processes over an interval: start it, then `stop()` for cores used per process. */
export class CpuMeter {
  readonly #pids: readonly number[];
  readonly #startCpu: number[];
  readonly #startWall: number;

  constructor(pids: readonly number[]) {
    this.#pids = pids;
    this.#startCpu = pids.map(cpuSeconds);
    this.#startWall = performance.now();
  }

  /** CPU seconds each process used since the meter started, and the wall-clock seconds elapsed. */
  stop(): { cpuSeconds: number[]; wallSeconds: number } {
    const wallSeconds = (performance.now() - this.#startWall) / 1000;
    return { cpuSeconds: this.#pids.map((pid, i) => cpuSeconds(pid) - this.#startCpu[i]!), wallSeconds };
  }
}
