/**
 * Identities shared through Redis (issue #14 items 1 and 2; #11 item 4): real redis-server, real servers,
 * real SDK agents over real WebRTC. A token issued by one node works on another and after a restart; a
 * revocation or deletion on one node ends the identity's connections on the others; nodes that do not
 * share the deployment's secrets are refused at start.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  CallClient,
  CallError,
  CommunicationTokenCredential,
  DiagnosticQuality,
  Features,
  type Call,
  type CallAgent,
  type DataChannelReceiver,
} from '@backchannel/client';
import { DeploymentMismatchError, startServer } from '@backchannel/server';

import { Nodes, SHARED, identityApi, identityPath, newUser } from '../helpers/cluster.js';
import { until, waitForEvent, within } from '../helpers/events.js';
import { userIdOf, utf8 } from '../helpers/backchannel.js';
import { RedisServer } from '../helpers/redis.js';

const CLI = fileURLToPath(new URL('../../packages/cli/bin/backchannel.js', import.meta.url));

function ended(call: Call): Promise<void> {
  return until(call, 'stateChanged', () => call.state === 'Disconnected');
}

/** createCallAgent on `url` with `token`, expected to be refused: the CallError. */
async function refused(url: string, token: string): Promise<CallError> {
  const error = await new CallClient({ serverUrl: url }).createCallAgent(new CommunicationTokenCredential(token)).then(
    () => assert.fail('the token was accepted'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof CallError, `expected a CallError, got ${String(error)}`);
  return error;
}

function serve(args: string[], env: Record<string, string> = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [CLI, 'serve', '--log-format', 'json', ...args], { env: { ...process.env, ...env } });
}

/** Resolves with the first stdout line of `child` matching `pattern`. */
function lineMatching(child: ChildProcessWithoutNullStreams, pattern: RegExp): Promise<RegExpExecArray> {
  const lines = createInterface({ input: child.stdout });
  return within(
    new Promise((resolve) => {
      lines.on('line', (line) => {
        const match = pattern.exec(line);
        if (match) resolve(match);
      });
    }),
    `a line matching ${pattern}`,
  );
}

/** What a process prints on stderr until it exits, and its exit code. */
async function failure(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await within(once(child, 'exit'), 'the process to exit')) as [number | null];
  return { code, stderr };
}

describe('identities shared through Redis', () => {
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

  it('a token issued by node A joins a call on node B; revoking it on A ends its connection on B with InvalidToken, and B refuses the old token', async () => {
    const [a, b] = [await nodes.start(), await nodes.start()];
    const user = await newUser(a);
    const agent = await nodes.agent(b, user);
    assert.equal(agent.identifier.communicationUserId, user.identity);
    const { call } = await nodes.join(agent, 'across-nodes');

    const done = ended(call);
    assert.equal((await identityApi(a, 'POST', identityPath.revoke(user.identity))).status, 204);
    await done; // within the default timeout: the announcement crosses Redis pub/sub
    assert.equal(call.callEndReason?.name, 'InvalidToken');
    assert.match(call.callEndReason?.message ?? '', /revoked/);
    assert.equal(agent.connectionState, 'Disconnected');
    assert.match((await refused(b.url, user.token)).message, /the token was revoked/);

    // A token issued after the revocation holds on both nodes: the new generation is shared too.
    const issued = await identityApi(b, 'POST', identityPath.issue(user.identity), { scopes: ['voip'] });
    assert.equal(issued.status, 200);
    const fresh = (issued.body as { token: string }).token;
    for (const node of [a, b]) await nodes.join(await nodes.agent(node, { token: fresh }), 'after-revocation');
  });

  it('deleting an identity on node B ends its connections on nodes A and B, and both refuse its tokens as no longer existing', async () => {
    const [a, b] = [await nodes.start(), await nodes.start()];
    const user = await newUser(a);
    const onA = await nodes.join(await nodes.agent(a, user), 'deleted-a');
    const onB = await nodes.join(await nodes.agent(b, user), 'deleted-b');
    const done = Promise.all([ended(onA.call), ended(onB.call)]);
    assert.equal((await identityApi(b, 'DELETE', identityPath.identity(user.identity))).status, 204);
    await done;
    assert.deepEqual([onA.call.callEndReason?.name, onB.call.callEndReason?.name], ['InvalidToken', 'InvalidToken']);
    for (const node of [a, b]) {
      assert.match((await refused(node.url, user.token)).message, /no longer exists/);
      const answer = await identityApi(node, 'POST', identityPath.issue(user.identity), { scopes: ['voip'] });
      assert.deepEqual([answer.status, (answer.body as { error: { code: string } }).error.code], [404, 'IdentityNotFound']);
    }
  });

  it('a server closed and started again on the same Redis accepts the tokens it issued before, and keeps their revocations', async () => {
    const first = await nodes.start();
    const kept = await newUser(first);
    const revoked = await newUser(first);
    assert.equal((await identityApi(first, 'POST', identityPath.revoke(revoked.identity))).status, 204);
    await first.close();

    const second = await nodes.start();
    await nodes.join(await nodes.agent(second, kept), 'after-restart');
    assert.match((await refused(second.url, revoked.token)).message, /the token was revoked/);
  });

  for (const [signal, how] of [
    ['SIGKILL', 'crashed'],
    ['SIGTERM', 'shut down (by default a shutdown is a restart: calls are not ended)'],
  ] as const) {
    it(`agents connected before their server ${how} reconnect by themselves and their call goes on: it is joined again as new endpoints, old receivers close, the same senders carry on in new sessions`, async () => {
      const args = ['--port', '0', '--redis', redis.url, '--access-key', SHARED.accessKey, '--token-secret', SHARED.tokenSecret];
      const first = serve(args);
      let second: ChildProcessWithoutNullStreams | undefined;
      const agents: CallAgent[] = [];
      try {
        const [, url] = await lineMatching(first, /^Backchannel listening on (\S+)$/);
        const [alice, bob] = [await newUser({ url: url! }), await newUser({ url: url! })];
        const join = async (user: { token: string }, displayName: string): Promise<{ agent: CallAgent; call: Call; states: string[]; network: DiagnosticQuality[] }> => {
          const agent = await new CallClient({ serverUrl: url! }).createCallAgent(new CommunicationTokenCredential(user.token), { displayName });
          agents.push(agent);
          const call = agent.join({ groupId: 'crash' });
          const states: string[] = [];
          call.on('stateChanged', () => states.push(call.state));
          const network: DiagnosticQuality[] = [];
          const diagnostics = call.feature(Features.UserFacingDiagnostics).network;
          diagnostics.on('diagnosticChanged', ({ diagnostic, value }) => diagnostic === 'networkReconnect' && network.push(value as DiagnosticQuality));
          await until(call, 'stateChanged', () => call.state === 'Connected');
          states.length = 0; // from Connected on
          return { agent, call, states, network };
        };
        const a = await join(alice, 'alice');
        const b = await join(bob, 'bob');
        await until(b.call, 'remoteParticipantsUpdated', () => b.call.remoteParticipants.length === 1);
        const receivers: DataChannelReceiver[] = [];
        b.call.feature(Features.DataChannel).on('dataChannelReceiverCreated', (receiver) => receivers.push(receiver));
        const sender = a.call.feature(Features.DataChannel).createDataChannelSender({ channelId: 7, participants: [{ communicationUserId: bob.identity }] });
        await sender.sendMessage(utf8.encode('before'));
        await until(b.call.feature(Features.DataChannel), 'dataChannelReceiverCreated', () => receivers.length === 1);
        const old = receivers[0]!;
        const oldClosed = waitForEvent(old, 'close');

        // SIGKILL: no shutdown, the signaling sockets and peer connections just die. SIGTERM: the server
        // drains and closes them with ServerShutdown, without ending the calls.
        first.kill(signal);
        await within(once(first, 'exit'), 'the first server to exit');
        // The same port and Redis: the identities and their tokens are still good.
        second = serve(['--port', new URL(url!).port, ...args.slice(2)]);
        await lineMatching(second, /^Backchannel listening on /);
        for (const p of [a, b]) await until(p.call.feature(Features.UserFacingDiagnostics).network, 'diagnosticChanged', () => p.network.at(-1) === DiagnosticQuality.Good, 60_000);
        await oldClosed;
        await until(b.call, 'remoteParticipantsUpdated', () => b.call.remoteParticipants.length === 1, 30_000);
        await sender.sendMessage(utf8.encode('after'));
        await until(b.call.feature(Features.DataChannel), 'dataChannelReceiverCreated', () => receivers.length === 2, 30_000);
        const renewed = receivers[1]!;
        const message = renewed.readMessage() ?? (await waitForEvent(renewed, 'messageReady').then(() => renewed.readMessage()));

        assert.deepEqual([a.states, b.states], [[], []], `neither call left Connected: ${JSON.stringify([a.call.callEndReason, b.call.callEndReason])}`);
        assert.deepEqual([a.network, b.network], [[DiagnosticQuality.Bad, DiagnosticQuality.Good], [DiagnosticQuality.Bad, DiagnosticQuality.Good]]);
        assert.deepEqual(old.readMessage()?.sequenceNumber, 1);
        assert.equal(renewed.channelId, 7);
        assert.equal(userIdOf(renewed.senderParticipantIdentifier), alice.identity);
        assert.deepEqual([message?.sequenceNumber, utf8.decode(message!.data)], [1, 'after'], 'a new session, numbered from 1');
        assert.deepEqual(a.call.remoteParticipants.map((p) => p.displayName), ['bob']);
      } finally {
        await Promise.all(agents.map((agent) => agent.dispose()));
        if (first.exitCode === null) first.kill('SIGKILL');
        if (second && second.exitCode === null) {
          second.kill('SIGTERM');
          await within(once(second, 'exit'), 'the second server to exit');
        }
      }
    });
  }
});

describe('one deployment, one set of secrets', () => {
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

  it('startServer refuses another token secret or access key than the deployment’s with DeploymentMismatch, naming the setting and never its value', async () => {
    await nodes.start();
    const otherSecret = 'another-token-secret-0123456789abcdefgh';
    const otherKey = 'another-access-key-0123';
    for (const [options, setting, flag] of [
      [{ tokenSecret: otherSecret }, 'tokenSecret', '--token-secret'],
      [{ accessKey: otherKey }, 'accessKey', '--access-key'],
      [{ tokenIssuer: 'another-issuer' }, 'tokenIssuer', 'tokenIssuer'],
    ] as const) {
      const error = await startServer({ port: 0, redisUrl: redis.url, ...SHARED, ...options }).then(
        () => assert.fail('a node with other secrets was started'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof DeploymentMismatchError, String(error));
      assert.equal(error.code, 'DeploymentMismatch');
      assert.equal(error.setting, setting);
      assert.ok(error.message.includes(`${setting} (${flag}) differs from the one of the deployment already in Redis at ${redis.url}`), error.message);
      assert.ok(!error.message.includes(otherSecret) && !error.message.includes(otherKey) && !error.message.includes(SHARED.tokenSecret));
    }
    // The deployment record holds neither secret.
    const record = String(await redis.command('GET', 'backchannel:v1:deployment'));
    assert.ok(!record.includes(SHARED.tokenSecret) && !record.includes(SHARED.accessKey), record);
  });

  it('backchannel serve --redis exits 1 with that message when its token secret is not the deployment’s', async () => {
    await nodes.start();
    const { code, stderr } = await failure(
      serve(['--port', '0', '--access-key', SHARED.accessKey, '--token-secret', 'yet-another-token-secret-0123456789abcd'], { BACKCHANNEL_REDIS_URL: redis.url }),
    );
    assert.equal(code, 1);
    assert.match(stderr, /^backchannel: this node's tokenSecret \(--token-secret\) differs from the one of the deployment already in Redis at redis:\/\/127\.0\.0\.1:\d+/m);
    assert.ok(!stderr.includes('yet-another-token-secret'));
  });

  it('backchannel serve --redis without --token-secret exits 1: every node must sign with the same secret', async () => {
    const { code, stderr } = await failure(serve(['--port', '0', '--access-key', SHARED.accessKey, '--redis', redis.url]));
    assert.equal(code, 1);
    assert.match(stderr, /invalid configuration: tokenSecret = undefined: required with redisUrl/);
  });
});
