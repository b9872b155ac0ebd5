/** 1:1 calls: ringing, accept/reject/timeout/offline/hang-up, and data flowing directly between the parties. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import { CallClient, CallError, CommunicationTokenCredential, Features, type Call, type CallAgent, type CallEndReason, type IncomingCall } from '@backchannel/client';

import { connected, readMessages, startHarness, userIdOf, utf8, type Harness } from '../helpers/backchannel.js';
import { until, waitForEvent, within } from '../helpers/events.js';

/**
 * Paces that never hold a message back, and a send backlog bound far beyond what these tests queue: they send
 * everything at once and are about order and completeness, not the backlog bound (tested on its own in
 * impairment.test.ts), which on a machine too loaded to drain 2 s of it would refuse the newest.
 */
const FAST = { durableMaxKbps: 1_000_000, lossyMaxKbps: 1_000_000, highPriorityLossyMaxKbps: 1_000_000, maxSendBacklogMs: 600_000 };

interface Agent {
  identity: string;
  token: string;
  agent: CallAgent;
}

async function agentFor(h: Harness, user?: { identity: string; token: string }, displayName = 'someone'): Promise<Agent> {
  const u = user ?? (await h.createUser());
  const agent = await new CallClient({ serverUrl: h.server.url }).createCallAgent(new CommunicationTokenCredential(u.token), { displayName });
  return { ...u, agent };
}

function nextIncomingCall(agent: CallAgent): Promise<IncomingCall> {
  return waitForEvent(agent, 'incomingCall').then(([event]) => event.incomingCall);
}


function ended(call: Call): Promise<string | undefined> {
  return until(call, 'stateChanged', () => call.state === 'Disconnected').then(() => call.callEndReason?.name);
}

/** A call end reason as [Backchannel's name, the reference's code, its subCode]. */
const codesOf = (reason: CallEndReason | undefined): [string, number, number | undefined] | undefined => reason && [reason.name, reason.code, reason.subCode];

describe('1:1 calls', () => {
  let h: Harness | undefined;
  const agents: CallAgent[] = [];
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.dispose()));
    await h?.close();
    h = undefined;
  });

  async function pair(): Promise<{ caller: Agent; callee: Agent }> {
    const caller = await agentFor(h!, undefined, 'Caller');
    const callee = await agentFor(h!, undefined, 'Callee');
    agents.push(caller.agent, callee.agent);
    return { caller, callee };
  }

  it('rings the callee, connects on accept, and goes Connecting → Ringing → Connected for the caller', async () => {
    h = await startHarness({ limits: FAST });
    const { caller, callee } = await pair();
    const ringing = nextIncomingCall(callee.agent);
    const call = caller.agent.startCall([{ communicationUserId: callee.identity }]);
    const states: string[] = [call.state];
    call.on('stateChanged', () => states.push(call.state));
    const incoming = await ringing;
    assert.deepEqual(incoming.callerInfo, { identifier: { kind: 'communicationUser', communicationUserId: caller.identity, rawId: caller.identity }, displayName: 'Caller' });
    const calleeCall = await incoming.accept();
    await Promise.all([connected(call), connected(calleeCall)]);
    assert.deepEqual(states, ['Connecting', 'Ringing', 'Connecting', 'Connected']);
    assert.equal(call.id, calleeCall.id);
    assert.deepEqual(call.remoteParticipants.map((p) => [userIdOf(p.identifier), p.displayName]), [[callee.identity, 'Callee']]);
    assert.deepEqual(calleeCall.remoteParticipants.map((p) => userIdOf(p.identifier)), [caller.identity]);
  });

  it('carries 10,000 Durable messages in order end to end, peer to peer, with no data through the server', async () => {
    h = await startHarness({ limits: FAST });
    const { caller, callee } = await pair();
    const ringing = nextIncomingCall(callee.agent);
    const call = caller.agent.startCall([{ communicationUserId: callee.identity }]);
    const calleeCall = await (await ringing).accept();
    await Promise.all([connected(call), connected(calleeCall)]);
    const receiverCreated = waitForEvent(calleeCall.feature(Features.DataChannel), 'dataChannelReceiverCreated');
    const sender = call.feature(Features.DataChannel).createDataChannelSender({ channelId: 7, participants: [{ communicationUserId: callee.identity }] });
    const count = 10_000;
    const sent = Promise.all(Array.from({ length: count }, (_, i) => sender.sendMessage(utf8.encode(String(i)))));
    const [receiver] = (await receiverCreated) as [Parameters<typeof readMessages>[0]];
    assert.deepEqual(receiver.senderParticipantIdentifier, { kind: 'communicationUser', communicationUserId: caller.identity, rawId: caller.identity });
    const messages = await readMessages(receiver, count);
    await sent;
    messages.forEach((m, i) => {
      assert.equal(m.sequenceNumber, i + 1);
      assert.equal(utf8.decode(m.data), String(i));
    });
    // The other way round, and a close seen by the far side.
    const back = calleeCall.feature(Features.DataChannel).createDataChannelSender({ channelId: 8 });
    const backReceiver = waitForEvent(call.feature(Features.DataChannel), 'dataChannelReceiverCreated');
    await back.sendMessage(utf8.encode('hello caller'));
    const [reverse] = (await backReceiver) as [Parameters<typeof readMessages>[0]];
    assert.equal(utf8.decode((await readMessages(reverse, 1))[0]!.data), 'hello caller');
    const closed = waitForEvent(reverse, 'close');
    back.close();
    await closed;
    assert.deepEqual(h.server.stats.messagesRouted, { durable: 0, lossy: 0 }, 'the server routed no data');
    assert.equal(h.server.stats.deliveries, 0);
  });

  it('delivers every message whose sendMessage resolved when the sender hangs up right after', async () => {
    h = await startHarness({ limits: FAST });
    const { caller, callee } = await pair();
    const ringing = nextIncomingCall(callee.agent);
    const call = caller.agent.startCall([{ communicationUserId: callee.identity }]);
    const calleeCall = await (await ringing).accept();
    await Promise.all([connected(call), connected(calleeCall)]);
    const receiverCreated = waitForEvent(calleeCall.feature(Features.DataChannel), 'dataChannelReceiverCreated');
    const sender = call.feature(Features.DataChannel).createDataChannelSender({ channelId: 9, participants: [{ communicationUserId: callee.identity }] });
    await Promise.all(Array.from({ length: 200 }, () => sender.sendMessage(new Uint8Array(16 * 1024))));
    await call.hangUp();
    const [receiver] = (await receiverCreated) as [Parameters<typeof readMessages>[0]];
    const messages = await readMessages(receiver, 200);
    assert.deepEqual(messages.map((m) => m.sequenceNumber), Array.from({ length: 200 }, (_, i) => i + 1));
    assert.equal(await ended(calleeCall), 'HungUp');
  });

  it('ends with Rejected on both sides when the callee rejects', async () => {
    h = await startHarness();
    const { caller, callee } = await pair();
    const ringing = nextIncomingCall(callee.agent);
    const call = caller.agent.startCall([{ communicationUserId: callee.identity }]);
    const incoming = await ringing;
    await incoming.reject();
    assert.equal(await ended(call), 'Rejected');
    assert.deepEqual(codesOf(call.callEndReason), ['Rejected', 603, 0]);
    assert.deepEqual(codesOf(incoming.callEndReason), ['Rejected', 603, 0]);
  });

  it('ends with NoAnswer on both sides when nobody answers in time', async () => {
    h = await startHarness({ ringTimeoutMs: 300 });
    const { caller, callee } = await pair();
    const ringing = nextIncomingCall(callee.agent);
    const call = caller.agent.startCall([{ communicationUserId: callee.identity }]);
    const incoming = await ringing;
    const stopped = waitForEvent(incoming, 'callEnded');
    assert.equal(await ended(call), 'NoAnswer');
    await stopped;
    assert.deepEqual(codesOf(incoming.callEndReason), ['NoAnswer', 487, 10004]);
    assert.deepEqual(codesOf(call.callEndReason), ['NoAnswer', 487, 10004]);
    await assert.rejects(incoming.accept(), (e: unknown) => e instanceof CallError && e.code === 'NoAnswer');
  });

  it('ends with CalleeOffline when the callee has no connected agent', async () => {
    h = await startHarness();
    const caller = await agentFor(h);
    agents.push(caller.agent);
    const offline = await h.createUser();
    const call = caller.agent.startCall([{ communicationUserId: offline.identity }]);
    assert.equal(await ended(call), 'CalleeOffline');
    assert.deepEqual(codesOf(call.callEndReason), ['CalleeOffline', 480, 10037]);
  });

  it('refuses to call an identifier of a kind Backchannel has no users of, with BadRequest naming the kind', async () => {
    h = await startHarness();
    const caller = await agentFor(h);
    agents.push(caller.agent);
    for (const [identifier, kind] of [
      [{ phoneNumber: '+14255550123' }, 'phoneNumber'],
      [{ kind: 'microsoftTeamsUser', microsoftTeamsUserId: '45ab2481', rawId: '8:orgid:45ab2481' }, 'microsoftTeamsUser'],
      [{ id: '28:45ab2481' }, 'unknown'],
    ] as const) {
      assert.throws(() => caller.agent.startCall([identifier as never]), {
        name: 'CallError',
        code: 'BadRequest',
        message: `startCall cannot call a ${kind} identifier: Backchannel serves communicationUser identifiers ({ communicationUserId }) only`,
      });
    }
    assert.deepEqual(caller.agent.calls, []);
  });

  it('ends with HungUp on both sides when one party hangs up, before or after answering', async () => {
    h = await startHarness();
    const { caller, callee } = await pair();
    // Before the answer: the callee stops ringing.
    let ringing = nextIncomingCall(callee.agent);
    let call = caller.agent.startCall([{ communicationUserId: callee.identity }]);
    let incoming = await ringing;
    const stopped = waitForEvent(incoming, 'callEnded');
    await call.hangUp();
    const [{ callEndReason }] = await stopped;
    // As in the reference: the caller canceled (487); the caller itself ended its call normally (0).
    assert.deepEqual(codesOf(incoming.callEndReason), ['HungUp', 487, 0]);
    assert.equal(callEndReason, incoming.callEndReason, 'the event carries the same object');
    assert.deepEqual(codesOf(call.callEndReason), ['HungUp', 0, 0]);
    // After: the other party's call ends.
    ringing = nextIncomingCall(callee.agent);
    call = caller.agent.startCall([{ communicationUserId: callee.identity }]);
    incoming = await ringing;
    const calleeCall = await incoming.accept();
    await Promise.all([connected(call), connected(calleeCall)]);
    const callerEnded = ended(call);
    await calleeCall.hangUp();
    assert.equal(await callerEnded, 'HungUp');
    assert.deepEqual(codesOf(call.callEndReason), ['HungUp', 0, 0]);
    assert.deepEqual(codesOf(calleeCall.callEndReason), ['HungUp', 0, 0]);
  });

  it('rings every endpoint of the callee; the first to accept wins and the others stop ringing', async () => {
    h = await startHarness();
    const caller = await agentFor(h, undefined, 'Caller');
    const calleeUser = await h.createUser();
    const phone = await agentFor(h, calleeUser, 'phone');
    const laptop = await agentFor(h, calleeUser, 'laptop');
    agents.push(caller.agent, phone.agent, laptop.agent);
    const [onPhone, onLaptop] = [nextIncomingCall(phone.agent), nextIncomingCall(laptop.agent)];
    const call = caller.agent.startCall([{ communicationUserId: calleeUser.identity }]);
    const [phoneCall, laptopCall] = await Promise.all([onPhone, onLaptop]);
    const laptopStopped = waitForEvent(laptopCall, 'callEnded');
    const accepted = await phoneCall.accept();
    await Promise.all([connected(call), connected(accepted)]);
    await laptopStopped;
    assert.deepEqual(codesOf(laptopCall.callEndReason), ['AnsweredElsewhere', 487, 10003]);
    await assert.rejects(within(laptopCall.accept(), 'a late accept'), (e: unknown) => e instanceof CallError && e.code === 'AnsweredElsewhere');
  });
});
