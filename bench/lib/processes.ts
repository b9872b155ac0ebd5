/**
 * Child processes of a benchmark run: servers started as a user would start them, each waited for until it
 * prints the line saying where it listens. Every child is registered so that the run ends them all, by PID,
 * whatever happens (normal end, an exception, Ctrl-C).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const live = new Set<ChildProcess>();
const everStarted = new Set<number>();

/** Every child PID this run started (for the smoke test's check that none outlives the run). */
export function startedPids(): number[] {
  return [...everStarted];
}

/** Ends every child still running (SIGKILL): the last resort when the run itself is ending. */
export function killAllChildren(): void {
  for (const child of live) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  live.clear();
}

/** Registers a child so that {@link killAllChildren} ends it; forgets it when it exits. */
export function track(child: ChildProcess): void {
  if (child.pid !== undefined) everStarted.add(child.pid);
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** Ends `child` with SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** What the ready pattern's first group captured (the URL). */
  readonly url: string;
  /** Output lines so far (stdout and stderr), for error reports. */
  readonly output: string[];
  stop(): Promise<void>;
}

export interface SpawnServerOptions {
  command: string;
  args: readonly string[];
  /** A line matching this means the server is ready; its first group is the URL. */
  ready: RegExp;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

/** Starts a server process and resolves once it printed its ready line. */
export function spawnServer(options: SpawnServerOptions): Promise<ServerProcess> {
  // stdin is a pipe that the server never reads: it closes when this process dies, however it dies, and the
  // benchmark's own peer servers exit then (see bench/servers/args.ts).
  const child = spawn(options.command, options.args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  track(child);
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      void stopChild(child);
      reject(new Error(`${options.command} ${options.args.join(' ')}: ${why}\n${output.slice(-20).join('\n')}`));
    };
    const timer = setTimeout(() => fail('not ready in time'), options.timeoutMs ?? 30_000);
    child.once('exit', (code, signal) => fail(`exited (${code ?? signal}) before it was ready`));
    child.once('error', (error) => fail(error.message));
    const onLine = (line: string): void => {
      if (output.length < 1000) output.push(line);
      const match = options.ready.exec(line);
      if (!match || child.pid === undefined) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      track(child);
      resolve({ child, pid: child.pid, url: match[1] ?? '', output, stop: () => stopChild(child) });
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
  });
}
