/**
 * createCallAgent takes any credential with the reference's interface: the real
 * AzureCommunicationTokenCredential of @azure/communication-common (MIT, a dev dependency; the SDK never
 * imports it), static or refreshing, renewed on the server through getToken() ahead of expiry. A failed
 * createCallAgent leaves nothing open: a process that fails it in every way exits by itself.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { AzureCommunicationTokenCredential } from '@azure/communication-common';
import { CallClient, Features, type CallAgent } from '@backchannel/client';
import { SignJWT } from 'jose';

import { connected, readMessages, startHarness, utf8, type Harness } from '../helpers/backchannel.js';
import { within } from '../helpers/events.js';

const SECRET = 'a-test-secret-of-reasonable-length';

/** A `voip` token for `identity`, signed with the server's secret, valid `seconds` from now (whole seconds: exp is). */
function tokenValidFor(identity: string, seconds: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: identity, iss: 'backchannel', aud: 'backchannel', iat: now, exp: now + seconds, scope: 'voip', gen: 0 })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(SECRET));
}

describe('credentials of the reference’s interface', () => {
  let h: Harness | undefined;
  const agents: CallAgent[] = [];
  /** The application's to dispose, as with the reference: an agent never disposes its credential. */
  const credentials: AzureCommunicationTokenCredential[] = [];
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((agent) => agent.dispose()));
    for (const credential of credentials.splice(0)) credential.dispose();
    await h?.close();
    h = undefined;
  });

  it('connects with an AzureCommunicationTokenCredential of a token string or of an AccessToken, and carries data', async () => {
    h = await startHarness();
    const [alice, bob] = [await h.createUser(), await h.createUser()];
    const client = new CallClient({ serverUrl: h.server.url });
    const aliceAgent = await client.createCallAgent(new AzureCommunicationTokenCredential(alice.token), { displayName: 'Alice' });
    const expiresOnTimestamp = (await new AzureCommunicationTokenCredential(bob.token).getToken()).expiresOnTimestamp;
    const bobAgent = await client.createCallAgent(new AzureCommunicationTokenCredential({ token: bob.token, expiresOnTimestamp }), { displayName: 'Bob' });
    agents.push(aliceAgent, bobAgent);
    assert.equal(aliceAgent.identifier.communicationUserId, alice.identity);

    const [aliceCall, bobCall] = [aliceAgent.join({ groupId: 'reference-credential' }), bobAgent.join({ groupId: 'reference-credential' })];
    await Promise.all([connected(aliceCall), connected(bobCall)]);
    const received = new Promise<string>((resolve) =>
      bobCall.feature(Features.DataChannel).on('dataChannelReceiverCreated', (receiver) => {
        void readMessages(receiver, 1).then(([message]) => resolve(utf8.decode(message!.data)));
      }),
    );
    await aliceCall.feature(Features.DataChannel).createDataChannelSender({ channelId: 7 }).sendMessage(utf8.encode('hello over a reference credential'));
    assert.equal(await within(received, 'the message'), 'hello over a reference credential');
  });

  it('renews through getToken() ahead of expiry, with or without refreshProactively: the connections outlive three short tokens', async () => {
    // 4 s tokens and a 2 s leeway: an agent whose renewals did not reach the server would be cut off after
    // about 6 s, long before its credential's third renewal.
    h = await startHarness({ tokenSecret: SECRET, tokenLeewaySeconds: 2 });
    const client = new CallClient({ serverUrl: h.server.url });
    const renewalsOf = async (refreshProactively: boolean): Promise<{ agent: CallAgent; third: Promise<void> }> => {
      const { identity } = await h!.createUser();
      let renewals = 0;
      let thirdRenewal!: () => void;
      const third = new Promise<void>((resolve) => (thirdRenewal = resolve));
      const credential = new AzureCommunicationTokenCredential({
        token: await tokenValidFor(identity, 4),
        refreshProactively,
        tokenRefresher: async () => {
          if (++renewals === 3) thirdRenewal();
          return tokenValidFor(identity, 4);
        },
      });
      credentials.push(credential); // its proactive renewals run on timers of their own until it is disposed
      const agent = await client.createCallAgent(credential);
      agents.push(agent);
      // Any change of the connection's state before the third renewal is a failure: it was cut off.
      const cutOff = new Promise<never>((_, reject) =>
        agent.on('connectionStateChanged', (event) => reject(new Error(`the connection went ${event.newValue} (${String(event.reason)})`))),
      );
      cutOff.catch(() => undefined);
      return { agent, third: Promise.race([third, cutOff]) };
    };
    const proactive = await renewalsOf(true);
    const onDemand = await renewalsOf(false);
    const calls = [proactive.agent.join({ groupId: 'renewals' }), onDemand.agent.join({ groupId: 'renewals' })];
    await Promise.all(calls.map((call) => connected(call)));

    await within(Promise.all([proactive.third, onDemand.third]), 'three renewals of each credential', 30_000);
    for (const agent of [proactive.agent, onDemand.agent]) {
      assert.equal(agent.connectionState, 'Connected');
      // The server took the renewals: the connection still serves a new join.
      const again = agent.join({ groupId: 'renewals-again' });
      await connected(again);
    }
    assert.deepEqual(
      calls.map((call) => call.state),
      ['Connected', 'Connected'],
      'the first calls are still up',
    );
  });

  it('leaves no socket or timer behind when createCallAgent fails, before or after it opened the connection: the process exits by itself', async () => {
    h = await startHarness();
    const user = await h.createUser();
    const script = fileURLToPath(new URL('../helpers/failedAgentProcess.ts', import.meta.url));
    const run = (...extra: string[]) =>
      spawn(process.execPath, ['--import', 'tsx', script, h!.server.url, user.token, 'http://127.0.0.1:9', ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });

    const child = run();
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += String(chunk)));
    const [code] = (await within(once(child, 'exit'), 'the process to exit by itself', 20_000)) as [number | null];
    assert.equal(code, 0);
    assert.deepEqual(
      output
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as unknown[])
        .map(([name, errorName, errorCode]) => [name, errorName, errorCode]),
      [
        ['refused by the server', 'CallError', 'InvalidToken'],
        ['hello refused', 'CallError', 'BadRequest'],
        ['getToken rejects', 'Error', null],
        ['getToken resolves no AccessToken', 'CallError', 'InvalidToken'],
        ['not a credential', 'CallError', 'BadRequest'],
        ['server unreachable', 'CallError', 'ConnectionLost'],
      ],
    );
    assert.deepEqual(h.server.snapshot(), { calls: 0, endpoints: 0, connections: 0 });

    // The control: the same process with one agent left open does not exit; its connection is counted.
    const leaking = run('--then-leak');
    try {
      let leaked = '';
      await within(
        new Promise<void>((resolve) => leaking.stdout.on('data', (chunk: Buffer) => (leaked += String(chunk)).includes('leaking') && resolve())),
        'the leaking agent',
      );
      assert.equal(leaking.exitCode, null, 'a process with an open agent is still running');
      assert.equal(h.server.snapshot().connections, 1);
    } finally {
      leaking.kill();
      await once(leaking, 'exit');
    }
  });
});
