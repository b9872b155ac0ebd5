/** Group calls: joining, the roster, leaving, and how calls end. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import { CallClient, CallError, CommunicationTokenCredential, DiagnosticQuality, Features, type RemoteParticipantsUpdatedEvent } from '@backchannel/client';

import { readMessages, receiversOf, rosterSettled, startHarness, userIdOf, utf8, type Harness } from '../helpers/backchannel.js';
import { until, waitForEvent } from '../helpers/events.js';
import { RawClients } from '../helpers/rawClient.js';

describe('group calls', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('connects participants of one groupId into one call and shows each the others with display names', async () => {
    h = await startHarness();
    const alice = await h.join('standup', { displayName: 'Alice' });
    const bob = await h.join('standup', { displayName: 'Bob' });
    const carol = await h.join('standup', { displayName: 'Carol' });
    await rosterSettled([alice, bob, carol]);
    assert.equal(alice.call.id, bob.call.id);
    assert.equal(alice.call.id, carol.call.id);
    const seenBy = (p: typeof alice) => p.call.remoteParticipants.map((r) => r.displayName).sort();
    assert.deepEqual(seenBy(alice), ['Bob', 'Carol']);
    assert.deepEqual(seenBy(bob), ['Alice', 'Carol']);
    const carolAsSeenByAlice = alice.call.remoteParticipants.find((r) => r.displayName === 'Carol')!;
    assert.deepEqual(carolAsSeenByAlice.identifier, { kind: 'communicationUser', communicationUserId: carol.identity, rawId: carol.identity });
    assert.equal(carolAsSeenByAlice.state, 'Connected');
    const other = await h.join('another-group');
    assert.notEqual(other.call.id, alice.call.id);
    assert.equal(other.call.remoteParticipants.length, 0);
  });

  it('goes None → Connecting → Connected, and Disconnecting → Disconnected on hangUp with reason HungUp', async () => {
    h = await startHarness();
    const user = await h.createUser();
    const agent = await new CallClient({ serverUrl: h.server.url }).createCallAgent(new CommunicationTokenCredential(user.token));
    const call = agent.join({ groupId: 'states' });
    const states: string[] = [call.state];
    call.on('stateChanged', () => states.push(call.state));
    assert.deepEqual(agent.calls, [call]);
    await until(call, 'stateChanged', () => call.state === 'Connected');
    await call.hangUp();
    assert.deepEqual(states, ['Connecting', 'Connected', 'Disconnecting', 'Disconnected']);
    assert.deepEqual(call.callEndReason, { code: 0, subCode: 0, name: 'HungUp', message: 'the call was hung up' });
    assert.equal(call.callEndReason, call.callEndReason, 'one object, handed to every reader');
    assert.ok(Object.isFrozen(call.callEndReason));
    assert.deepEqual(agent.calls, []);
    await agent.dispose();
  });

  it('tells the others when a participant leaves, and forgets an empty call', async () => {
    h = await startHarness();
    const [a, b] = [await h.join('leaving'), await h.join('leaving')];
    await rosterSettled([a, b]);
    const left = waitForEvent(a.call, 'remoteParticipantsUpdated');
    await b.agent.dispose();
    const [event] = (await left) as [RemoteParticipantsUpdatedEvent];
    assert.deepEqual(event.removed.map((p) => userIdOf(p.identifier)), [b.identity]);
    assert.equal(a.call.remoteParticipants.length, 0);
    assert.equal(h.server.snapshot().calls, 1);
    // h.close() checks that the server forgot the call once its last participant left.
  });

  it('hangUp({ forEveryone: true }) ends the call for every participant, with EndedForEveryone (0/4097), after what the leaver sent', async () => {
    h = await startHarness();
    const [alice, bob, carol] = [await h.join('everyone', { displayName: 'Alice' }), await h.join('everyone'), await h.join('everyone')];
    await rosterSettled([alice, bob, carol]);
    const sender = alice.dataChannel.createDataChannelSender({ channelId: 5 });
    const lastWords = Array.from({ length: 20 }, (_, i) => utf8.encode(`last words ${i}`));
    const heard = [bob, carol].map(async (p) => readMessages((await receiversOf(p, 1))[0]!, lastWords.length));
    // Hang-up keeps what sendMessage had resolved for (handed to the transport): those are the last words.
    await Promise.all(lastWords.map((words) => sender.sendMessage(words)));
    const othersEnded = [bob, carol].map((p) => until(p.call, 'stateChanged', () => p.call.state === 'Disconnected'));
    await alice.call.hangUp({ forEveryone: true });
    await Promise.all(othersEnded);

    assert.deepEqual(alice.call.callEndReason, { code: 0, subCode: 0, name: 'HungUp', message: 'the call was hung up' });
    for (const p of [bob, carol]) {
      assert.deepEqual(p.call.callEndReason, { code: 0, subCode: 4097, name: 'EndedForEveryone', message: 'Alice ended the call for everyone' });
    }
    for (const messages of await Promise.all(heard)) {
      assert.deepEqual(
        messages.map((m) => utf8.decode(m.data)),
        lastWords.map((words) => utf8.decode(words)),
      );
    }
    assert.deepEqual(h.server.snapshot().calls, 0, 'the call is over on the server');
    // The groupId is free again: joining it starts a new call.
    const again = await h.join('everyone');
    assert.notEqual(again.call.id, alice.call.id);
  });

  it('ends calls with ServerShutdown when the server stops with shutdownEndsCalls', async () => {
    h = await startHarness({ shutdownEndsCalls: true });
    const a = await h.join('shutdown');
    const ended = until(a.call, 'stateChanged', () => a.call.state === 'Disconnected');
    await h.server.close();
    await ended;
    assert.deepEqual(a.call.callEndReason, { code: 503, name: 'ServerShutdown', message: 'the server is shutting down' });
  });

  it('keeps calls through a shutdown (a restart, by default) and ends them with ServerShutdown once the resume window passes without the server', async () => {
    h = await startHarness({ resumeWindowMs: 1500 });
    const [a, b] = [await h.join('restart'), await h.join('restart')];
    await until(a.call, 'remoteParticipantsUpdated', () => a.call.remoteParticipants.length === 1);
    const rosterChanges: number[] = [];
    a.call.on('remoteParticipantsUpdated', ({ removed }) => rosterChanges.push(removed.length));
    const network: DiagnosticQuality[] = [];
    a.call.feature(Features.UserFacingDiagnostics).network.on('diagnosticChanged', ({ diagnostic, value }) => diagnostic === 'networkReconnect' && network.push(value as DiagnosticQuality));
    const states: string[] = [];
    a.call.on('stateChanged', () => states.push(a.call.state));
    const ended = until(a.call, 'stateChanged', () => a.call.state === 'Disconnected', 20_000);
    await h.server.close();
    assert.equal(a.call.state, 'Connected', 'the server closed without ending the call');
    await ended;
    assert.deepEqual(states, ['Disconnecting', 'Disconnected'], 'Connected until the window passed');
    assert.deepEqual(network, [DiagnosticQuality.Bad]);
    assert.deepEqual(rosterChanges, [1], 'the others left only when the call ended, not as the server closed their endpoints');
    assert.deepEqual(a.call.callEndReason, {
      code: 503,
      name: 'ServerShutdown',
      message: 'the server is shutting down, and was not back within 1500 ms',
    });
    await until(b.call, 'stateChanged', () => b.call.state === 'Disconnected', 20_000);
    assert.equal(b.call.callEndReason?.name, 'ServerShutdown');
  });

  it('refuses a malformed token with InvalidToken and an unreachable server with ConnectionLost', async () => {
    h = await startHarness();
    const client = new CallClient({ serverUrl: h.server.url });
    assert.throws(() => new CommunicationTokenCredential('not-a-jwt'), (e: unknown) => e instanceof CallError && e.code === 'InvalidToken');
    const forged = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"x","exp":9999999999}').toString('base64url')}.`;
    await assert.rejects(client.createCallAgent(new CommunicationTokenCredential(forged)), (e: unknown) => e instanceof CallError && e.code === 'InvalidToken');
    const nowhere = new CallClient({ serverUrl: 'http://127.0.0.1:1' });
    const { token } = await h.createUser();
    await assert.rejects(nowhere.createCallAgent(new CommunicationTokenCredential(token)), (e: unknown) => e instanceof CallError && e.code === 'ConnectionLost');
  });

  it('counts each of 30 clean hang-ups as Left, none as TransportFailed, and a peer connection lost without a leave (and not resumed) as TransportFailed', async () => {
    // A short resume window: the endpoint whose transport dies below is kept that long for a resume first.
    h = await startHarness({ resumeWindowMs: 1000 });
    const stayer = await h.join('departures');
    const gone = (endpointId: number) => (): boolean => !stayer.call.remoteParticipants.some((p) => p.endpointId === endpointId);
    for (let i = 0; i < 30; i++) {
      const visitor = await h.join('departures');
      await rosterSettled([stayer, visitor]);
      const endpointId = stayer.call.remoteParticipants[0]!.endpointId;
      await visitor.call.hangUp();
      await until(stayer.call, 'remoteParticipantsUpdated', gone(endpointId));
    }
    assert.deepEqual(h.server.stats.departures, { Left: 30 });

    // The same race the other way round: a transport that dies without a leave, and is not resumed within
    // the window, is a transport failure.
    const raw = new RawClients();
    try {
      const lost = await raw.join(h, 'departures');
      await until(stayer.call, 'remoteParticipantsUpdated', () => stayer.call.remoteParticipants.some((p) => p.endpointId === lost.endpointId));
      lost.pc.close(); // the signaling connection stays up and sends no leave
      await until(stayer.call, 'remoteParticipantsUpdated', gone(lost.endpointId));
      assert.deepEqual(h.server.stats.departures, { Left: 30, TransportFailed: 1 });
    } finally {
      raw.closeAll();
    }
  });
});
