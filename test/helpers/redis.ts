/**
 * A real redis-server for one test run: on a free loopback port, in a temporary directory, with no
 * persistence of its own (`--save '' --appendonly no`), stopped by its PID. Nothing is left behind: the
 * directory goes on stop, and a server a crashed test forgot is killed when the test process exits.
 *
 *   const redis = await RedisServer.start();
 *   await startServer({ redisUrl: redis.url, ... });
 *   await redis.kill();      // as a crash: SIGKILL
 *   await redis.restart();   // the same port and directory (and what `save()` wrote there)
 *   redis.pause();           // SIGSTOP: hung, connections open; resume() with SIGCONT
 *   await redis.stop();
 *
 * scripts/ensure-redis.sh installs Debian's redis-server when it is missing (npm run test:integration
 * runs it first); REDIS_SERVER points at another binary.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { Redis } from 'ioredis';

import { within } from './events.js';

const BINARY = process.env.REDIS_SERVER ?? 'redis-server';

/** Every server still running, killed if the test process exits without stopping it. */
const running = new Set<ChildProcessWithoutNullStreams>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A port free on 127.0.0.1 now (the OS's pick). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export class RedisServer {
  readonly port: number;
  readonly dir: string;
  #child: ChildProcessWithoutNullStreams | undefined;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  /** Starts a redis-server on a free port; resolves once it accepts connections. */
  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), mkdtempSync(join(tmpdir(), 'backchannel-redis-')));
    try {
      await server.#spawn();
    } catch (error) {
      rmSync(server.dir, { recursive: true, force: true });
      throw error;
    }
    return server;
  }

  /** `redis://127.0.0.1:<port>`, what `redisUrl` takes. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The running server's PID (undefined while it is down). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /**
   * Writes what it holds to its directory (SAVE), so that a {@link restart} after a {@link kill} finds it
   * again: a Redis deployed with persistence, whose crash loses nothing.
   */
  async save(): Promise<void> {
    await this.command('SAVE');
  }

  /** Runs one command on a connection of its own. */
  async command(name: string, ...args: (string | number)[]): Promise<unknown> {
    const client = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return await client.call(name, ...args);
    } finally {
      client.disconnect();
    }
  }

  /** SIGKILL, as a crash: no shutdown, no save. Resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await within(exited, 'redis-server to die');
    running.delete(child);
  }

  /** SIGSTOP: it keeps its connections open and answers nothing, as a hung server does. */
  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  /** SIGCONT after {@link pause}. */
  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  /** Starts it again on the same port and directory. */
  async restart(): Promise<void> {
    if (this.#child) throw new Error('redis-server is running');
    await this.#spawn();
  }

  /** Stops it (SIGTERM, then SIGKILL if it lingers) and removes its directory. Idempotent. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child) {
      const exited = once(child, 'exit');
      child.kill('SIGCONT'); // a paused server would not act on SIGTERM
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      running.delete(child);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  async #spawn(): Promise<void> {
    const child = spawn(BINARY, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--logfile', ''], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    running.add(child);
    let output = '';
    const lines = createInterface({ input: child.stdout });
    const ready = new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => {
        output += `${line}\n`;
        if (/Ready to accept connections/.test(line)) resolve();
      });
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)));
    });
    try {
      await within(ready, `redis-server on port ${this.port}`);
    } catch (error) {
      child.kill('SIGKILL');
      running.delete(child);
      throw error;
    }
    lines.close();
    // Its output must keep flowing, or a full pipe would stall it.
    child.stdout.resume();
    child.stderr.resume();
    this.#child = child;
  }
}
