/**
 * Delivery receipts (issue #15, item 1; docs/api.md "Delivery receipts") over real WebRTC: in group calls
 * through the real server (cumulative receipts from the recipients' LinkAcks, under 10% packet loss, and a
 * recipient that leaves mid-stream), and in 1:1 calls, where the peer's own LinkAcks are the receipts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  CallClient,
  CommunicationTokenCredential,
  DataChannelError,
  DataChannelErrorCode,
  Features,
  type Call,
  type CallAgent,
  type DataChannelDeliveredEvent,
  type DataChannelReceiver,
} from '@backchannel/client';

import { connected, readMessages, receiversOf, rosterSettled, startHarness, userIdOf, utf8, type Harness } from '../helpers/backchannel.js';
import { waitForEvent, within } from '../helpers/events.js';
import { ImpairedNetwork, joinThrough } from '../helpers/impairment/ImpairedNetwork.js';

describe('delivery receipts', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ limits: { durableMaxKbps: 10_000 } });
  });
  after(() => h.close());

  it('tell the sender, per recipient endpoint, up to which message it arrived; whenDelivered resolves with every recipient', async (t) => {
    const a = await h.join('receipts');
    const b = await h.join('receipts');
    const c = await h.join('receipts');
    await rosterSettled([a, b, c]);
    const sender = a.dataChannel.createDataChannelSender({ channelId: 40, receipts: true });
    assert.equal(sender.receipts, true);
    const events: DataChannelDeliveredEvent[] = [];
    sender.on('messagesDelivered', (event) => events.push(event));
    for (let i = 1; i <= 50; i++) void sender.sendMessage(utf8.encode(`m${i}`));
    assert.equal(sender.sequenceNumber, 50);
    const result = await sender.whenDelivered();
    assert.deepEqual(result.reached.map((r) => userIdOf(r.participant)).sort(), [b.identity, c.identity].sort());
    assert.deepEqual(result.missed, []);
    for (const p of [b, c]) assert.equal((await readMessages((await receiversOf(p, 1))[0]!, 50)).length, 50);
    const highest = new Map<number, number>();
    for (const e of events) highest.set(e.endpointId, Math.max(highest.get(e.endpointId) ?? 0, e.sequenceNumber));
    assert.deepEqual([...highest.values()], [50, 50]);
    assert.ok(events.length < 100, `batched: ${events.length} receipts for 100 copies`);
    t.diagnostic(`${events.length} receipt events for 50 messages to 2 endpoints`);
    // An earlier message is already delivered: resolved from what is known.
    assert.equal((await sender.whenDelivered(10, { participants: [{ communicationUserId: b.identity }] })).reached.length, 1);
  });

  it('a sender without receipts gets none, and whenDelivered refuses', async () => {
    const a = await h.join('no-receipts');
    const b = await h.join('no-receipts');
    await rosterSettled([a, b]);
    const sender = a.dataChannel.createDataChannelSender({ channelId: 41 });
    let receipts = 0;
    sender.on('messagesDelivered', () => receipts++);
    await sender.sendMessage(utf8.encode('plain'));
    await readMessages((await receiversOf(b, 1))[0]!, 1);
    // A later receipts sender's message to the same endpoint is acknowledged after the first: by then any
    // receipt for the first would have come.
    const marker = a.dataChannel.createDataChannelSender({ channelId: 42, receipts: true });
    await marker.sendMessage(utf8.encode('marker'));
    await marker.whenDelivered();
    assert.equal(receipts, 0);
    assert.throws(() => sender.whenDelivered(), (e: unknown) => e instanceof DataChannelError && e.code === DataChannelErrorCode.InvalidArgument);
    assert.throws(
      () => a.dataChannel.createDataChannelSender({ reliability: 'Lossy', receipts: true }),
      (e: unknown) => e instanceof DataChannelError && e.code === DataChannelErrorCode.InvalidArgument,
    );
  });

  it('a recipient that leaves mid-stream is reported missed; the others reached', async () => {
    const a = await h.join('leaver');
    const stays = await h.join('leaver');
    const leaves = await h.join('leaver');
    await rosterSettled([a, stays, leaves]);
    const sender = a.dataChannel.createDataChannelSender({ channelId: 43, receipts: true });
    for (let i = 1; i <= 10; i++) void sender.sendMessage(utf8.encode(`m${i}`));
    const first = await sender.whenDelivered(10);
    assert.equal(first.reached.length, 2);
    // Waits for a message not sent yet, while both are still there; one leaves before it is sent.
    const pending = sender.whenDelivered(11);
    await leaves.call.hangUp();
    await sender.sendMessage(utf8.encode('m11'));
    const outcome = await pending;
    assert.deepEqual(outcome.reached.map((r) => userIdOf(r.participant)), [stays.identity]);
    assert.deepEqual(outcome.missed.map((r) => userIdOf(r.participant)), [leaves.identity]);
  });
});

describe('delivery receipts under 10% packet loss', () => {
  it('every message is acknowledged by both recipients, in the order sent', async (t) => {
    // The relays stand in front of the server's loopback candidates.
    const h = await startHarness({ rtcBindAddress: '127.0.0.1', limits: { durableMaxKbps: 10_000 } });
    const net = await ImpairedNetwork.start(h.server.url, { loss: 0.1, delayMs: 20, seed: 5 });
    try {
      const a = await joinThrough(h, net, 'lossy-receipts');
      const b = await joinThrough(h, net, 'lossy-receipts');
      const c = await joinThrough(h, net, 'lossy-receipts');
      await rosterSettled([a, b, c]);
      // By name, not broadcast: 200 at once would pass the broadcast packet rate.
      const sender = a.dataChannel.createDataChannelSender({ channelId: 44, receipts: true, participants: [{ communicationUserId: b.identity }, { communicationUserId: c.identity }] });
      const seen = new Map<number, number[]>();
      sender.on('messagesDelivered', (e) => seen.set(e.endpointId, [...(seen.get(e.endpointId) ?? []), e.sequenceNumber]));
      const count = 200;
      for (let i = 1; i <= count; i++) void sender.sendMessage(utf8.encode(`m${i}`));
      const result = await sender.whenDelivered(count);
      assert.equal(result.reached.length, 2);
      assert.deepEqual(result.missed, []);
      for (const [endpointId, sequence] of seen) {
        assert.deepEqual(sequence, [...sequence].sort((x, y) => x - y), `receipts for ${endpointId} only grow`);
        assert.equal(sequence.at(-1), count);
      }
      t.diagnostic(`receipt events under 10% loss: ${[...seen.values()].map((s) => s.length).join(', ')} for ${count} messages each; relay dropped ${JSON.stringify(net.counters)}`);
    } finally {
      await net.close();
      await h.close();
    }
  });
});

describe('delivery receipts in a 1:1 call', () => {
  let h: Harness;
  const agents: CallAgent[] = [];
  before(async () => {
    h = await startHarness({ limits: { durableMaxKbps: 10_000 } });
  });
  after(async () => {
    await Promise.all(agents.map((agent) => agent.dispose()));
    await h.close();
  });

  /** A 1:1 call from a new caller to a new callee, Connected on both sides. */
  async function peerCall(): Promise<{ callerCall: Call; calleeCall: Call; callee: string }> {
    const [caller, callee] = await Promise.all([h.createUser(), h.createUser()]);
    const agentOf = (token: string): Promise<CallAgent> => new CallClient({ serverUrl: h.server.url }).createCallAgent(new CommunicationTokenCredential(token));
    const [callerAgent, calleeAgent] = await Promise.all([agentOf(caller.token), agentOf(callee.token)]);
    agents.push(callerAgent, calleeAgent);
    const ringing = waitForEvent(calleeAgent, 'incomingCall');
    const callerCall = callerAgent.startCall([{ communicationUserId: callee.identity }]);
    const calleeCall = await (await ringing)[0].incomingCall.accept();
    await Promise.all([connected(callerCall), connected(calleeCall)]);
    return { callerCall, calleeCall, callee: callee.identity };
  }

  it("the peer's acknowledgements are the receipts: cumulative, batched, and whenDelivered resolves with the peer", async (t) => {
    const { callerCall, calleeCall, callee } = await peerCall();
    const sender = callerCall.feature(Features.DataChannel).createDataChannelSender({ channelId: 45, receipts: true });
    const plain = callerCall.feature(Features.DataChannel).createDataChannelSender({ channelId: 46 });
    let plainReceipts = 0;
    plain.on('messagesDelivered', () => plainReceipts++);
    const events: DataChannelDeliveredEvent[] = [];
    sender.on('messagesDelivered', (event) => events.push(event));
    const receivers: DataChannelReceiver[] = [];
    calleeCall.feature(Features.DataChannel).on('dataChannelReceiverCreated', (receiver) => receivers.push(receiver));
    await plain.sendMessage(utf8.encode('no receipt for me'));
    for (let i = 1; i <= 50; i++) void sender.sendMessage(utf8.encode(`m${i}`));
    // Without receipts from the peer this would wait for as long as the call lasts.
    const result = await within(sender.whenDelivered(), 'the receipt for message 50');
    assert.deepEqual(result.reached.map((r) => userIdOf(r.participant)), [callee]);
    assert.deepEqual(result.missed, []);
    const sequence = events.map((e) => e.sequenceNumber);
    assert.deepEqual(sequence, [...sequence].sort((x, y) => x - y), 'receipts only grow');
    assert.equal(sequence.at(-1), 50);
    assert.ok(events.length < 50, `batched: ${events.length} receipts for 50 messages`);
    assert.ok(events.every((e) => userIdOf(e.participant) === callee));
    assert.equal(plainReceipts, 0, 'a sender without receipts hears of none');
    // What the receipt promised is in the peer's buffers already: its receivers were made before it acknowledged.
    assert.deepEqual(receivers.map((r) => r.channelId), [46, 45]);
    assert.equal((await readMessages(receivers[1]!, 50)).length, 50);
    t.diagnostic(`${events.length} receipt events for 50 messages, peer to peer`);
  });

  it('a peer that hangs up before a message reaches it is reported missed', async () => {
    const { callerCall, calleeCall, callee } = await peerCall();
    const sender = callerCall.feature(Features.DataChannel).createDataChannelSender({ channelId: 47, receipts: true });
    for (let i = 1; i <= 10; i++) void sender.sendMessage(utf8.encode(`m${i}`));
    assert.deepEqual((await within(sender.whenDelivered(10), 'the receipt for message 10')).reached.map((r) => userIdOf(r.participant)), [callee]);
    const pending = sender.whenDelivered(11); // not sent yet: the peer leaves first
    await calleeCall.hangUp();
    const outcome = await pending;
    assert.deepEqual(outcome.reached, []);
    assert.deepEqual(outcome.missed.map((r) => userIdOf(r.participant)), [callee]);
  });
});
