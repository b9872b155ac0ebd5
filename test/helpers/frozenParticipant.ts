/**
 * The test's side of frozenParticipantProcess.ts: starts the participant in its own process, reads its lines,
 * freezes and thaws it, asks for its counts, and stops it (by its PID, whatever state it is in).
 *
 *   const frozen = FrozenParticipant.start(server.url, user.token, 'room', 300);
 *   await frozen.line((l) => l === 'ready', 'the participant to join');
 *   frozen.freeze(); … frozen.thaw();
 *   const { received, dropped } = await frozen.report();
 *   await frozen.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { within } from './events.js';

const SCRIPT = fileURLToPath(new URL('./frozenParticipantProcess.ts', import.meta.url));

export class FrozenParticipant {
  /** Every line it printed so far, in order. */
  readonly lines: string[] = [];
  readonly #child: ChildProcess;
  readonly #reader: Interface;
  readonly #timeoutMs: number | undefined;

  private constructor(child: ChildProcess, timeoutMs: number | undefined) {
    this.#child = child;
    this.#timeoutMs = timeoutMs;
    this.#reader = createInterface({ input: child.stdout! });
    this.#reader.on('line', (line) => this.lines.push(line));
    // It may exit by itself (its call ended) just before it is told to quit: no EPIPE then.
    child.stdin!.on('error', () => undefined);
  }

  /** Joins `groupId` on `serverUrl` and reports `received` once `expected` messages arrived. */
  static start(serverUrl: string, token: string, groupId: string, expected: number, options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): FrozenParticipant {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, serverUrl, token, groupId, String(expected)], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: options.env ?? process.env,
    });
    return new FrozenParticipant(child, options.timeoutMs);
  }

  /** A line `predicate` accepts, printed already or from now on. */
  line(predicate: (line: string) => boolean, what: string): Promise<string> {
    const found = this.lines.find(predicate);
    return found !== undefined ? Promise.resolve(found) : this.nextLine(predicate, what);
  }

  /** The next line from now on that `predicate` accepts. */
  nextLine(predicate: (line: string) => boolean, what: string): Promise<string> {
    return within(
      new Promise<string>((resolve) => {
        const listener = (line: string): void => {
          if (!predicate(line)) return;
          this.#reader.off('line', listener);
          resolve(line);
        };
        this.#reader.on('line', listener);
      }),
      what,
      this.#timeoutMs,
    );
  }

  /** Its counts now: the indexes it read, in arrival order, and its receivers' droppedMessageCount. */
  async report(): Promise<{ received: number[]; dropped: number }> {
    const receivedLine = this.nextLine((line) => line.startsWith('received '), 'a report');
    const droppedLine = this.nextLine((line) => line.startsWith('dropped '), 'a report');
    this.#child.stdin!.write('report\n');
    return { received: JSON.parse((await receivedLine).slice('received '.length)) as number[], dropped: Number((await droppedLine).slice('dropped '.length)) };
  }

  freeze(): void {
    this.#child.kill('SIGSTOP');
  }

  thaw(): void {
    this.#child.kill('SIGCONT');
  }

  /** Thaws it and asks it to leave; kills it if it has not exited within 5 s. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');
    child.stdin!.write('quit\n');
    await Promise.race([once(child, 'exit'), new Promise((resolve) => setTimeout(resolve, 5000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
