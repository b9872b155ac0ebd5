/**
 * Nodes of one cluster as separate processes (the built CLI's `serve --redis`), with real SDK agents in
 * this process over loopback WebRTC. A node can be stopped (SIGTERM: a clean shutdown) or killed (SIGKILL:
 * a crash). What each node logs is kept, and shown if a test fails.
 *
 *   const redis = await RedisServer.start();
 *   const cluster = new NodeProcesses(redis.url);
 *   const [a, b, c] = await Promise.all([cluster.start(), cluster.start(), cluster.start()]);
 *   await cluster.waitForMesh();                 // every node linked to every other
 *   const user = await newUser(a);
 *   const { call } = await cluster.join(await cluster.agent(c, user), 'room');
 *   await cluster.close();                        // agents, then nodes (SIGTERM, awaited)
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

import { CallClient, CommunicationTokenCredential, Features, type CallAgent, type CallClientOptions, type DataChannelReceiver } from '@backchannel/client';
import { rtcRuntimeReferences } from '@backchannel/node-rtc';

import { connected, type Participant } from './backchannel.js';
import { SHARED } from './cluster.js';
import { within } from './events.js';
import { RedisServer } from './redis.js';

const CLI = fileURLToPath(new URL('../../packages/cli/bin/backchannel.js', import.meta.url));

/** Every node process still running, killed if the test process exits without stopping it. */
const running = new Set<ChildProcessWithoutNullStreams>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface NodeProcess {
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcessWithoutNullStreams;
  /** Every log line so far (JSON). */
  readonly log: string[];
}

export class NodeProcesses {
  readonly #redisUrl: string;
  readonly #nodes: NodeProcess[] = [];
  readonly #agents: CallAgent[] = [];

  constructor(redisUrl: string) {
    this.#redisUrl = redisUrl;
  }

  get nodes(): readonly NodeProcess[] {
    return this.#nodes;
  }

  /** A node on free ports; resolves once it listens. `args` are more `serve` flags. */
  async start(args: string[] = []): Promise<NodeProcess> {
    const child = spawn(
      process.execPath,
      [CLI, 'serve', '--port', '0', '--redis', this.#redisUrl, '--token-secret', SHARED.tokenSecret, '--access-key', SHARED.accessKey, '--log-format', 'json', ...args],
      { env: { ...process.env, BACKCHANNEL_LOG_LEVEL: 'info' } },
    );
    running.add(child);
    child.once('exit', () => running.delete(child));
    const log: string[] = [];
    let buffered = '';
    const url = await within(
      new Promise<string>((resolve, reject) => {
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (text: string) => {
          buffered += text;
          let at;
          while ((at = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, at);
            buffered = buffered.slice(at + 1);
            log.push(line);
            const match = /^Backchannel listening on (\S+)/.exec(line);
            if (match) resolve(match[1]!);
          }
        });
        child.stderr.setEncoding('utf8');
        child.stderr.on('data', (text: string) => log.push(text));
        child.once('exit', (code) => reject(new Error(`node exited (${code}) before listening:\n${log.join('\n')}`)));
      }),
      'a node to listen',
      15_000,
    );
    const node = { url, pid: child.pid!, child, log };
    this.#nodes.push(node);
    return node;
  }

  /** `/stats` of `node` (with the access key). */
  async stats(node: { url: string }): Promise<Record<string, unknown> & { cluster: { node: string; nodes: { id: string; alive: boolean; linked: boolean }[]; remoteAgents: number } }> {
    const response = await fetch(`${node.url}/stats`, { headers: { authorization: `Bearer ${SHARED.accessKey}` } });
    assert.equal(response.status, 200);
    return (await response.json()) as never;
  }

  /** Until every running node sees `count` nodes alive and is linked to all of them. */
  async waitForMesh(count = this.#running().length): Promise<void> {
    await within(
      (async () => {
        for (;;) {
          const all = await Promise.all(this.#running().map((n) => this.stats(n)));
          if (all.every((s) => s.cluster.nodes.filter((n) => n.alive && n.linked).length === count)) return;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })(),
      `${count} nodes to link up`,
      15_000,
    );
  }

  /** Agents connected to other nodes that `node` knows of. */
  async remoteAgents(node: { url: string }): Promise<number> {
    return (await this.stats(node)).cluster.remoteAgents;
  }

  /** Until `node` knows `count` agents connected to other nodes (presence for 1:1 calls travels on the links). */
  async waitForAgents(node: { url: string }, count: number): Promise<void> {
    await within(
      (async () => {
        for (;;) {
          if ((await this.remoteAgents(node)) >= count) return;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })(),
      `${count} remote agents`,
      15_000,
    );
  }

  /** An agent on `node` with `user`'s token (`serverUrl` may be overridden, e.g. with a list). */
  async agent(node: { url: string }, user: { token: string }, displayName?: string, options: Partial<CallClientOptions> = {}): Promise<CallAgent> {
    const agent = await new CallClient({ serverUrl: node.url, ...options }).createCallAgent(new CommunicationTokenCredential(user.token), { displayName });
    this.#agents.push(agent);
    return agent;
  }

  /**
   * `user` (a new agent on `node`) joined to `groupId` and Connected, with every receiver it is given
   * recorded; `options` as for {@link agent} (a list of node URLs, say).
   */
  async join(node: { url: string }, user: { identity: string; token: string }, groupId: string, displayName = '', options: Partial<CallClientOptions> = {}): Promise<Participant> {
    const agent = await this.agent(node, user, displayName, options);
    const call = agent.join({ groupId });
    const dataChannel = call.feature(Features.DataChannel);
    const receivers: DataChannelReceiver[] = [];
    dataChannel.on('dataChannelReceiverCreated', (receiver) => receivers.push(receiver));
    await connected(call);
    return { identity: user.identity, displayName, agent, call, dataChannel, receivers };
  }

  /** SIGKILL: the node crashes, nothing is cleaned up. */
  async kill(node: NodeProcess): Promise<void> {
    if (node.child.exitCode !== null || node.child.signalCode !== null) return;
    const exited = once(node.child, 'exit');
    node.child.kill('SIGKILL');
    await exited;
  }

  /** Disposes every agent, then stops every node still running (SIGTERM) and waits for it to exit. */
  async close(): Promise<void> {
    await Promise.all(this.#agents.map((agent) => agent.dispose()));
    await Promise.all(
      this.#running().map(async (node) => {
        const exited = once(node.child, 'exit');
        node.child.kill('SIGTERM');
        const timer = setTimeout(() => node.child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    assert.equal(rtcRuntimeReferences(), 0, 'peer connections left open');
  }

  #running(): NodeProcess[] {
    return this.#nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
  }
}

/**
 * The three-node deployment the cluster suites share: a redis-server and nodes A, B and C as processes,
 * linked to each other. `start()` in a suite's `before`, `stop()` in its `after`.
 */
export class ThreeNodes {
  redis!: RedisServer;
  cluster!: NodeProcesses;
  a!: NodeProcess;
  b!: NodeProcess;
  c!: NodeProcess;

  async start(): Promise<void> {
    this.redis = await RedisServer.start();
    this.cluster = new NodeProcesses(this.redis.url);
    [this.a, this.b, this.c] = await Promise.all([this.cluster.start(), this.cluster.start(), this.cluster.start()]);
    await this.cluster.waitForMesh(3);
  }

  async stop(): Promise<void> {
    await this.cluster.close();
    await this.redis.stop();
  }
}

/** Runs `body` against a three-node deployment of its own, stopped afterwards whatever happens. */
export async function withThreeNodes<T>(body: (nodes: ThreeNodes) => Promise<T>): Promise<T> {
  const nodes = new ThreeNodes();
  await nodes.start();
  try {
    return await body(nodes);
  } finally {
    await nodes.stop();
  }
}
