/**
 * The orchestrator's side of the client worker processes: forks them (TypeScript through tsx), sends them
 * commands and awaits the answers, relays raw WebRTC signaling between them, and remembers which worker
 * hosts which participant.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import type { SignalEnvelope, WorkerCommand, WorkerReply } from '../agents/messages.js';
import { stopChild, track } from '../lib/processes.js';

const WORKER_ENTRY = fileURLToPath(new URL('../agents/worker.ts', import.meta.url));
/** How long any one command may take before the run is declared stuck. */
const COMMAND_TIMEOUT_MS = 180_000;

export interface WorkerOptions {
  /** Environment of the workers (NODE_EXTRA_CA_CERTS so that they trust the run's certificate). */
  env: NodeJS.ProcessEnv;
  /** Extra Node flags, e.g. --cpu-prof for profiling the SDK side. */
  execArgv?: readonly string[];
}

export class Worker {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  #nextId = 1;

  constructor(
    readonly index: number,
    child: ChildProcess,
    onSignal: (envelope: SignalEnvelope) => void,
  ) {
    this.#child = child;
    // A send to a worker that just died emits 'error' on the child: the pending requests reject instead.
    child.on('error', () => undefined);
    child.on('message', (message: WorkerReply | SignalEnvelope | { type: 'ready' }) => {
      if ('type' in message) {
        if (message.type === 'signal') onSignal(message);
        return;
      }
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      clearTimeout(pending.timer);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(new Error(`worker ${index}: ${message.error}`));
    });
    child.once('exit', (code, signal) => {
      if (this.#pending.size > 0 || (code !== 0 && signal !== 'SIGTERM')) console.error(`[bench] worker ${index} (pid ${child.pid}) exited: ${signal ?? `code ${code}`}`);
      for (const pending of this.#pending.values()) {
        clearTimeout(pending.timer);
        pending.reject(new Error(`worker ${index} exited (${code ?? signal})`));
      }
      this.#pending.clear();
    });
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** Whether the process is still running and reachable. */
  get alive(): boolean {
    return this.#child.connected && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  request<T>(command: WorkerCommand): Promise<T> {
    const id = this.#nextId++;
    if (!this.#child.connected) return Promise.reject(new Error(`worker ${this.index} is gone; cannot '${command.type}'`));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`worker ${this.index}: '${command.type}' took over ${COMMAND_TIMEOUT_MS} ms`));
      }, COMMAND_TIMEOUT_MS);
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.#child.send({ id, command });
    });
  }

  deliverSignal(envelope: SignalEnvelope): void {
    if (this.#child.connected) this.#child.send(envelope);
  }

  /** Closes the IPC channel (the worker leaves everything and exits), then makes sure it is gone. */
  async stop(): Promise<void> {
    if (this.#child.connected) this.#child.disconnect();
    const exited = this.#child.exitCode !== null || this.#child.signalCode !== null;
    if (!exited) {
      await Promise.race([new Promise((resolve) => this.#child.once('exit', resolve)), new Promise((resolve) => setTimeout(resolve, 3000))]);
    }
    await stopChild(this.#child, 2000);
  }
}

/** A set of workers and the map from participant key to the worker hosting it. */
export class Workers {
  readonly all: Worker[] = [];
  readonly #hosts = new Map<string, Worker>();
  readonly #options: WorkerOptions;

  private constructor(options: WorkerOptions) {
    this.#options = options;
  }

  static async start(count: number, options: WorkerOptions): Promise<Workers> {
    const pool = new Workers(options);
    const started = await Promise.all(Array.from({ length: count }, (_, index) => pool.#fork(index)));
    pool.all.push(...started);
    return pool;
  }

  /**
   * A worker outside `all` (so outside broadcasts), sharing this pool's signaling relay: a process of its
   * own for one role, such as the relay standing in for a server in the memory workload. Stop it yourself.
   */
  startExtra(): Promise<Worker> {
    return this.#fork(100 + this.#extra++);
  }

  #extra = 0;

  async #fork(index: number): Promise<Worker> {
    const child = fork(WORKER_ENTRY, [], {
      execArgv: ['--import', import.meta.resolve('tsx'), ...(this.#options.execArgv ?? [])],
      env: this.#options.env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    track(child);
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`worker ${index} exited (${code}) while starting`)));
    });
    return new Worker(index, child, (envelope) => this.#hosts.get(envelope.to)?.deliverSignal(envelope));
  }

  /** Whether every worker is still running. */
  get alive(): boolean {
    return this.all.every((w) => w.alive);
  }

  get pids(): number[] {
    return this.all.map((w) => w.pid);
  }

  /** The worker hosting participant `key`. */
  host(key: string): Worker {
    const worker = this.#hosts.get(key);
    if (!worker) throw new Error(`no worker hosts '${key}'`);
    return worker;
  }

  /** Records that `worker` hosts `key` (before the join, so raw signaling can already reach it). */
  assign(key: string, worker: Worker): void {
    this.#hosts.set(key, worker);
  }

  forget(key: string): void {
    this.#hosts.delete(key);
  }

  /** Sends the same command to every worker and returns the answers in worker order. */
  broadcast<T>(command: WorkerCommand): Promise<T[]> {
    return Promise.all(this.all.map((w) => w.request<T>(command)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((w) => w.stop()));
  }
}
