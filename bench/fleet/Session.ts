/**
 * One system's participants in a workload, seen from the orchestrator: joins them (spread over chosen
 * workers), links raw peers, and makes them leave.
 */
import type { JoinResult } from '../agents/messages.js';
import type { Deployment } from '../systems/deployments.js';
import type { Worker, Workers } from './Workers.js';

export interface Member {
  readonly key: string;
  /** How the system addresses it (what a sender puts in `to`). */
  readonly address: string;
  readonly worker: Worker;
  /** Milliseconds from starting to join to ready to send, as the worker measured. */
  readonly readyMs: number;
}

export interface JoinOptions {
  /** Workers to spread the new participants over, round robin (default: all). */
  on?: readonly Worker[];
  /** Joins in flight at once (default 8): how fast a fleet of clients comes up, not a measurement. */
  concurrency?: number;
}

let nextKey = 1;

export class Session {
  readonly members: Member[] = [];

  constructor(
    readonly workers: Workers,
    readonly deployment: Deployment,
  ) {}

  get system(): Deployment['system'] {
    return this.deployment.system;
  }

  /** Joins `count` new participants to `room`. */
  async join(room: string, count: number, options: JoinOptions = {}): Promise<Member[]> {
    const on = options.on ?? this.workers.all;
    const keys = Array.from({ length: count }, () => `${this.system}-${nextKey++}`);
    const joined: Member[] = new Array<Member>(count);
    let next = 0;
    const lane = async (): Promise<void> => {
      for (let i = next++; i < count; i = next++) {
        const worker = on[(this.members.length + i) % on.length]!;
        joined[i] = await this.joinOne(worker, room, keys[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(count, options.concurrency ?? 8) }, lane));
    this.members.push(...joined);
    return joined;
  }

  /** A fresh participant key for this system. */
  newKey(): string {
    return `${this.system}-${nextKey++}`;
  }

  /** Makes what a timed join needs beforehand (a Backchannel identity and token) on the worker that will join. */
  async prepare(worker: Worker, key: string): Promise<void> {
    await worker.request({ type: 'prepare', endpoint: this.deployment.endpoint, key });
  }

  /**
   * One participant on `worker`, optionally linked (raw) to peers and announcing itself with a probe to
   * `announce.to` as soon as it is ready (the join workload). Not added to `members`.
   */
  async joinOne(worker: Worker, room: string, key = `${this.system}-${nextKey++}`, extra: { links?: string[]; announce?: { to: string; windowId: number } } = {}): Promise<Member> {
    this.workers.assign(key, worker);
    const result = await worker.request<JoinResult>({ type: 'join', endpoint: this.deployment.endpoint, room, key, ...extra });
    return { key, address: result.address, worker, readyMs: result.readyMs };
  }

  /** Raw peers only: connects each pair (first → second offers). Other systems are connected already. */
  async link(pairs: readonly (readonly [Member, Member])[]): Promise<void> {
    if (this.system !== 'raw') return;
    const byOfferer = new Map<Member, string[]>();
    for (const [from, to] of pairs) byOfferer.set(from, [...(byOfferer.get(from) ?? []), to.key]);
    const batches = [...byOfferer];
    // Bounded: a few hundred simultaneous DTLS handshakes on two cores time out.
    for (let i = 0; i < batches.length; i += 8) {
      await Promise.all(batches.slice(i, i + 8).map(([from, remoteKeys]) => from.worker.request({ type: 'link', key: from.key, remoteKeys })));
    }
  }

  /** Every member leaves. */
  async leaveAll(): Promise<void> {
    await this.leave(this.members.splice(0));
  }

  async leave(members: readonly Member[]): Promise<void> {
    const byWorker = new Map<Worker, string[]>();
    for (const m of members) byWorker.set(m.worker, [...(byWorker.get(m.worker) ?? []), m.key]);
    await Promise.all([...byWorker].map(([worker, keys]) => worker.request({ type: 'leave', keys })));
    for (const m of members) this.workers.forget(m.key);
    const gone = new Set(members);
    for (let i = this.members.length - 1; i >= 0; i--) if (gone.has(this.members[i]!)) this.members.splice(i, 1);
  }
}
