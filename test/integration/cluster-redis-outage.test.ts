/**
 * Redis trouble is survivable (issue #14 item 5): real redis-server, killed and restarted under running
 * servers with real SDK agents over real WebRTC. Unreachable at start is an error; lost while running, the
 * node keeps its calls, reports not ready, turns new connections away with a code that says "retry", and
 * when Redis is back it is ready again and ends whatever was revoked (or lost) meanwhile.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { CallClient, CallError, CommunicationTokenCredential, Features, type Call, type DataChannelReceiver } from '@backchannel/client';
import { rtcRuntimeReferences } from '@backchannel/node-rtc';
import { RedisUnreachableError, startServer, type RunningServer } from '@backchannel/server';

import { readMessages, utf8 } from '../helpers/backchannel.js';
import { Nodes, SHARED, identityApi, identityPath, newUser } from '../helpers/cluster.js';
import { until, within } from '../helpers/events.js';
import { RedisServer } from '../helpers/redis.js';
import { ServerLog } from '../helpers/serverLog.js';
import { TcpProxy } from '../helpers/tcpProxy.js';

const CLI = fileURLToPath(new URL('../../packages/cli/bin/backchannel.js', import.meta.url));

/** Every unhandled rejection of this file's run: there must be none. */
const unhandled: unknown[] = [];
const record = (reason: unknown): void => void unhandled.push(reason);
before(() => process.on('unhandledRejection', record));
after(() => {
  process.off('unhandledRejection', record);
  assert.deepEqual(unhandled, [], 'unhandled rejections');
});

function ended(call: Call): Promise<void> {
  return until(call, 'stateChanged', () => call.state === 'Disconnected');
}

async function readyz(server: RunningServer): Promise<{ status: number; body: { status: string; reasons?: string[] } }> {
  const response = await fetch(`${server.url}/readyz`);
  return { status: response.status, body: (await response.json()) as { status: string; reasons?: string[] } };
}

async function metric(server: RunningServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} is not in /metrics`);
  return Number(line.split(' ')[1]);
}

/** The error createCallAgent rejects with on `url` for `token`. */
async function refusal(url: string, token: string): Promise<CallError> {
  const error = await new CallClient({ serverUrl: url }).createCallAgent(new CommunicationTokenCredential(token)).then(
    () => assert.fail('the agent was accepted'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof CallError, String(error));
  return error;
}

async function firstReceiver(call: Call, receivers: DataChannelReceiver[]): Promise<DataChannelReceiver> {
  await until(call.feature(Features.DataChannel), 'dataChannelReceiverCreated', () => receivers.length > 0);
  return receivers[0]!;
}

describe('Redis unreachable at start', () => {
  it('startServer rejects with RedisUnreachable, naming the address with its password hidden, and leaves nothing open', async () => {
    const redis = await RedisServer.start();
    await redis.kill(); // its port is closed now
    try {
      const error = await startServer({ port: 0, redisUrl: `redis://:hunter2@127.0.0.1:${redis.port}`, ...SHARED }).then(
        () => assert.fail('started without Redis'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof RedisUnreachableError, String(error));
      assert.equal(error.code, 'RedisUnreachable');
      assert.match(error.message, new RegExp(`^cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${redis.port}: connect ECONNREFUSED`));
      assert.equal(rtcRuntimeReferences(), 0);
    } finally {
      await redis.stop();
    }
  });

  it('backchannel serve --redis exits 1 with that message', async () => {
    const redis = await RedisServer.start();
    await redis.kill();
    try {
      const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--redis', redis.url, '--access-key', SHARED.accessKey, '--token-secret', SHARED.tokenSecret]);
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const [code] = (await within(once(child, 'exit'), 'the CLI to exit')) as [number | null];
      assert.equal(code, 1);
      assert.match(stderr, new RegExp(`^backchannel: cannot reach Redis at redis://127\\.0\\.0\\.1:${redis.port}: connect ECONNREFUSED`, 'm'));
    } finally {
      await redis.stop();
    }
  });
});

describe('Redis lost while running', () => {
  let redis: RedisServer;
  let nodes: Nodes;
  beforeEach(async () => {
    redis = await RedisServer.start();
    nodes = new Nodes(redis.url);
  });
  afterEach(async () => {
    await nodes.close();
    await redis.stop();
  });

  /**
   * Two agents of `node` in one call, Alice broadcasting to Bob (Durable, one sender: one session, so one
   * receiver on Bob's side), with a message across it; and a third identity not connected.
   */
  async function callOn(node: RunningServer): Promise<{ alice: Call; bob: Call; send(text: string): Promise<void>; bobReceiver: DataChannelReceiver; carol: { token: string } }> {
    const alice = await nodes.join(await nodes.agent(node, await newUser(node), 'Alice'), 'outage');
    const bob = await nodes.join(await nodes.agent(node, await newUser(node), 'Bob'), 'outage');
    await until(alice.call, 'remoteParticipantsUpdated', () => alice.call.remoteParticipants.length === 1);
    const sender = alice.call.feature(Features.DataChannel).createDataChannelSender({ channelId: 1 });
    const send = (text: string): Promise<void> => sender.sendMessage(utf8.encode(text));
    await send('before');
    const bobReceiver = await firstReceiver(bob.call, bob.receivers);
    assert.deepEqual((await readMessages(bobReceiver, 1)).map((m) => utf8.decode(m.data)), ['before']);
    return { alice: alice.call, bob: bob.call, send, bobReceiver, carol: await newUser(node) };
  }

  it('the node reports not ready with the reason, keeps carrying its call, turns new agents and identity requests away with IdentityStoreUnavailable, and is ready again once Redis is back', async () => {
    const log = new ServerLog();
    const node = await nodes.start({ logger: log.logger });
    const { alice, bob, send, bobReceiver, carol } = await callOn(node);
    assert.deepEqual(await readyz(node), { status: 200, body: { status: 'ready' } });
    assert.equal(await metric(node, 'backchannel_redis_up'), 1);

    await redis.save(); // a Redis with persistence: what it held survives its crash
    await redis.kill();
    await log.logged('Redis unreachable', 1);
    const notReady = await readyz(node);
    assert.equal(notReady.status, 503);
    assert.equal(notReady.body.status, 'not ready');
    assert.match(notReady.body.reasons?.join('\n') ?? '', /^identity store \(redis\) unreachable: no connection to Redis \((reconnecting|connecting)/m);
    assert.equal(await metric(node, 'backchannel_redis_up'), 0);

    await send('during');
    const [during] = await readMessages(bobReceiver, 1);
    assert.equal(utf8.decode(during!.data), 'during');
    const turnedAway = await refusal(node.url, carol.token);
    assert.equal(turnedAway.code, 'IdentityStoreUnavailable');
    const created = await identityApi(node, 'POST', '/identities', { createTokenWithScopes: ['voip'] });
    assert.equal(created.status, 503);
    assert.equal((created.body as { error: { code: string } }).error.code, 'IdentityStoreUnavailable');

    await redis.restart();
    await log.logged('Redis reachable again', 1);
    await log.logged('live connections revalidated against the identity store', 1);
    assert.deepEqual(await readyz(node), { status: 200, body: { status: 'ready' } });
    assert.equal(await metric(node, 'backchannel_redis_up'), 1);
    assert.ok((await metric(node, 'backchannel_redis_reconnects_total')) >= 1);
    assert.deepEqual([alice.state, bob.state], ['Connected', 'Connected'], 'the call outlived the outage');
    await send('after');
    assert.deepEqual((await readMessages(bobReceiver, 1)).map((m) => utf8.decode(m.data)), ['after']);
    await nodes.join(await nodes.agent(node, carol), 'after-outage');
  });

  it('a Redis that stops answering without closing (SIGSTOP) is noticed by the PINGs: not ready, new agents turned away after the command timeout, the call goes on; answering again, ready again', async () => {
    const log = new ServerLog();
    const node = await nodes.start({ logger: log.logger });
    const { alice, send, bobReceiver, carol } = await callOn(node);
    redis.pause();
    await log.logged('Redis unreachable', 1);
    const notReady = await readyz(node);
    assert.equal(notReady.status, 503);
    assert.match(notReady.body.reasons?.join('\n') ?? '', /no answer to PING: Command timed out/);
    assert.equal((await refusal(node.url, carol.token)).code, 'IdentityStoreUnavailable');
    await send('while hung');
    assert.deepEqual((await readMessages(bobReceiver, 1)).map((m) => utf8.decode(m.data)), ['while hung']);

    redis.resume();
    await log.logged('Redis reachable again', 1);
    assert.deepEqual(await readyz(node), { status: 200, body: { status: 'ready' } });
    assert.equal(alice.state, 'Connected');
    await nodes.join(await nodes.agent(node, carol), 'after-hang');
  });

  it('a node cut off from Redis misses a revocation made on another node, and ends that identity’s connection when it is back; the others stay', async () => {
    const proxy = await TcpProxy.start(redis.port);
    try {
      const log = new ServerLog();
      const a = await nodes.start();
      const b = await nodes.start({ redisUrl: `redis://127.0.0.1:${proxy.port}`, logger: log.logger });
      const revoked = await newUser(a);
      const kept = await newUser(a);
      const revokedCall = await nodes.join(await nodes.agent(b, revoked), 'cut-off');
      const keptCall = await nodes.join(await nodes.agent(b, kept), 'cut-off');

      proxy.cut();
      await log.logged('Redis unreachable', 1);
      assert.equal((await identityApi(a, 'POST', identityPath.revoke(revoked.identity))).status, 204);
      assert.equal((await readyz(a)).status, 200);

      const done = ended(revokedCall.call);
      proxy.restore();
      await done;
      assert.equal(revokedCall.call.callEndReason?.name, 'InvalidToken');
      assert.match(revokedCall.call.callEndReason?.message ?? '', /revoked/);
      const [revalidated] = await log.logged('live connections revalidated against the identity store', 1);
      assert.equal(revalidated?.ended, 1);
      assert.equal(keptCall.call.state, 'Connected');
    } finally {
      await proxy.close();
    }
  });

  it('Redis back without its data (no persistence): the node starts the deployment record again and ends the connections whose identities were lost', async () => {
    const log = new ServerLog();
    const node = await nodes.start({ logger: log.logger });
    const user = await newUser(node);
    const { call } = await nodes.join(await nodes.agent(node, user), 'wiped');
    const done = ended(call);
    await redis.kill();
    await log.logged('Redis unreachable', 1);
    await redis.restart();
    await done;
    assert.equal(call.callEndReason?.name, 'InvalidToken');
    assert.equal(log.matching('Redis came back without the deployment record: its data was lost, and every identity with it').length, 1);
    assert.deepEqual(await readyz(node), { status: 200, body: { status: 'ready' } });
    assert.match((await refusal(node.url, user.token)).message, /no longer exists/);
  });
});
