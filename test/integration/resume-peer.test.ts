/**
 * 1:1 calls that survive the network (docs/reliability.md): two real SDK clients peer to peer over real
 * WebRTC, their data path through the user-space impairment relays (test/helpers/impairment), the server
 * relaying signaling only. Outages shorter and longer than what SCTP survives on its own, with and without
 * the signaling connections cut, a signaling-only cut, and an outage past the resume window.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';

import {
  DataChannelError,
  DiagnosticQuality,
  Features,
  type ConnectionState,
  type DataChannelMessage,
  type DataChannelReceiver,
  type DataChannelSender,
} from '@backchannel/client';

import { LINK_ACK_EVERY_FRAMES } from '@backchannel/protocol';

import { receiversOf, startHarness, userIdOf, type Harness, type Participant } from '../helpers/backchannel.js';
import { until, within } from '../helpers/events.js';
import { ImpairedNetwork, callThrough } from '../helpers/impairment/ImpairedNetwork.js';
import { drain, indexed, indexOf, range, readIndexed } from '../helpers/indexedMessages.js';
import { ServerLog } from '../helpers/serverLog.js';

const LIMITS = { durableMaxKbps: 100_000, lossyMaxKbps: 100_000, highPriorityLossyMaxKbps: 100_000 };
/** Generous: a resume waits out SCTP giving up, reconnect backoff and a new ICE/DTLS handshake, on a shared machine. */
const RESUME_TIMEOUT_MS = 60_000;

const readMessages = (receiver: DataChannelReceiver, count: number, into: DataChannelMessage[] = []): Promise<DataChannelMessage[]> =>
  readIndexed(receiver, count, RESUME_TIMEOUT_MS, into);

interface Observed {
  /** networkReconnect values, and when (performance.now()). */
  reconnects: { value: DiagnosticQuality; at: number }[];
  /** The agent's connection states. */
  states: ConnectionState[];
}

function observe(p: Participant): Observed {
  const observed: Observed = { reconnects: [], states: [] };
  p.call.feature(Features.UserFacingDiagnostics).network.on('diagnosticChanged', ({ diagnostic, value }) => {
    if (diagnostic === 'networkReconnect') observed.reconnects.push({ value: value as DiagnosticQuality, at: performance.now() });
  });
  p.agent.on('connectionStateChanged', ({ newValue }) => observed.states.push(newValue));
  return observed;
}

/** Durable messages `from`…`to` − 1 from `sender`, started now; resolves with the indexes whose send resolved. */
function sendAll(sender: DataChannelSender, from: number, to: number): Promise<number[]> {
  return Promise.allSettled(range(from, to).map((i) => sender.sendMessage(indexed(i)).then(() => i))).then((settled) =>
    settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
  );
}

/** A 1:1 call through `net` with a Durable sender each way. */
async function twoWays(h: Harness, net: ImpairedNetwork): Promise<{ caller: Participant; callee: Participant; out: DataChannelSender; back: DataChannelSender }> {
  const { caller, callee } = await callThrough(h, net);
  const out = caller.dataChannel.createDataChannelSender({ channelId: 1, participants: [{ communicationUserId: callee.identity }] });
  const back = callee.dataChannel.createDataChannelSender({ channelId: 2, participants: [{ communicationUserId: caller.identity }] });
  return { caller, callee, out, back };
}

const BAD_THEN_GOOD = [DiagnosticQuality.Bad, DiagnosticQuality.Good];

describe('1:1 calls that survive the network', () => {
  let h: Harness;
  const log = new ServerLog();
  before(async () => {
    h = await startHarness({ limits: LIMITS, logger: log.logger });
  });
  after(() => h.close());

  /**
   * 400 Durable messages each way across `disturb`, half of them sent while it lasts: every message arrives
   * once and in order with its sequence number, the call stays Connected on both sides, and the server kept
   * it. `signaling`: `cut`, both parties were away on the server and came back; `held`, a party may or may
   * not have been away, as its SDK found the held connection silent before the disturbance ended or not
   * (LivenessCheck: 10 to 15 s after its next ping), and when the server noticed is up to the network.
   */
  async function acrossDisturbance(t: TestContext, disturb: (net: ImpairedNetwork) => Promise<void>, signaling: 'cut' | 'held') {
    const net = await ImpairedNetwork.start(h.server.url, { delayMs: 5 });
    t.after(() => net.close());
    const { caller, callee, out, back } = await twoWays(h, net);
    const callId = caller.call.id;
    const [byCaller, byCallee] = [observe(caller), observe(callee)];
    const before = [sendAll(out, 0, 200), sendAll(back, 0, 200)];
    const [atCallee] = await receiversOf(callee, 1);
    const [atCaller] = await receiversOf(caller, 1);
    const fromCaller = await readMessages(atCallee!, 50);
    const fromCallee = await readMessages(atCaller!, 50);

    const startedAt = performance.now();
    const disturbed = disturb(net);
    const during = [sendAll(out, 200, 400), sendAll(back, 200, 400)];
    await disturbed;
    const upAt = performance.now();
    const back2 = signaling === 'cut' ? await log.logged('peer call party back', 2, { callId }, RESUME_TIMEOUT_MS) : [];
    const resolvedByCaller = [...(await before[0]!), ...(await during[0]!)];
    const resolvedByCallee = [...(await before[1]!), ...(await during[1]!)];
    await readMessages(atCallee!, resolvedByCaller.length, fromCaller);
    await readMessages(atCaller!, resolvedByCallee.length, fromCallee);
    const deliveredAt = performance.now();

    assert.deepEqual(resolvedByCaller, range(0, 400), 'every send of the caller resolved');
    assert.deepEqual(resolvedByCallee, range(0, 400), 'every send of the callee resolved');
    assert.deepEqual(fromCaller.map(indexOf), range(0, 400), 'the callee got each of the caller’s messages once, in order');
    assert.deepEqual(fromCallee.map(indexOf), range(0, 400), 'the caller got each of the callee’s messages once, in order');
    assert.deepEqual(fromCaller.map((m) => m.sequenceNumber), range(1, 401));
    assert.deepEqual(fromCallee.map((m) => m.sequenceNumber), range(1, 401));
    assert.equal(atCaller!.droppedMessageCount + atCallee!.droppedMessageCount, 0);
    assert.deepEqual([caller.call.state, callee.call.state], ['Connected', 'Connected']);
    assert.deepEqual(caller.call.remoteParticipants.map((p) => userIdOf(p.identifier)), [callee.identity]);
    assert.equal(log.matching('peer call ended', { callId }).length, 0, 'the server ended the call');
    if (signaling === 'cut') assert.equal(log.matching('peer call party away', { callId }).length, 2);
    const times = (seen: Observed): string =>
      JSON.stringify(seen.reconnects.map(({ value, at }) => [value === DiagnosticQuality.Good ? 'Good' : 'Bad', Math.round(at - startedAt)]));
    t.diagnostic(
      `networkReconnect (ms from the start): caller ${times(byCaller)}, callee ${times(byCallee)}; everything delivered ${Math.round(deliveredAt - upAt)} ms ` +
        `after the disturbance ended; relays ${JSON.stringify(net.relays)}; away on the server (ms): ${JSON.stringify(back2.map((l) => l.msAway))}`,
    );
    return { byCaller, byCallee, net };
  }

  it('runs its data path through the relays: 1,000 Durable messages each way pass them, none through the server', async (t) => {
    const net = await ImpairedNetwork.start(h.server.url);
    t.after(() => net.close());
    const { caller, callee, out, back } = await twoWays(h, net);
    const before = structuredClone(net.counters.udp);
    await Promise.all([...range(0, 1000).map((i) => out.sendMessage(indexed(i))), ...range(0, 1000).map((i) => back.sendMessage(indexed(i)))]);
    const [atCallee] = await receiversOf(callee, 1);
    const [atCaller] = await receiversOf(caller, 1);
    assert.deepEqual((await readMessages(atCallee!, 1000)).map(indexOf), range(0, 1000));
    assert.deepEqual((await readMessages(atCaller!, 1000)).map(indexOf), range(0, 1000));
    // One relay in front of each party's one IPv4 host candidate, one flow through each: neither party
    // learnt another address of the other, so the 2 × 100 kB had no other path to take.
    assert.deepEqual(net.relays, { count: 2, flows: 2 });
    const { toServer, toClient } = net.counters.udp;
    const relayed = toServer.bytes + toClient.bytes - before.toServer.bytes - before.toClient.bytes;
    assert.ok(relayed >= 2 * 1000 * 100, `only ${relayed} B passed the relays`);
    assert.deepEqual(h.server.stats.messagesRouted, { durable: 0, lossy: 0 }, 'the server routed no data');
  });

  it('a 3 s outage that also cuts both signaling connections: SCTP rides it out, both agents reconnect and are taken back, and Durable both ways arrives once and in order', async (t) => {
    const { byCaller, byCallee, net } = await acrossDisturbance(t, (net) => net.outage(3000, { cutSignaling: true }), 'cut');
    for (const seen of [byCaller, byCallee]) {
      assert.deepEqual(seen.states, ['Disconnected', 'Connected']);
      assert.deepEqual(seen.reconnects, [], 'the transport never failed: there was nothing to resume');
    }
    assert.deepEqual(net.relays, { count: 2, flows: 2 }, 'the first transport carried it all');
  });

  it('a 20 s outage, longer than SCTP survives (both transports fail at about 13 s) and than the SDK waits on a silent signaling connection (10 s after a ping): one new transport is set up, networkReconnect goes Bad then Good on both sides, and nothing is lost', async (t) => {
    // The signaling connections are held, not cut; each SDK finds its own silent 10 to 15 s after its next
    // ping, so (timers permitting) before the outage ends, and reconnects: away on the server, then back.
    const { byCaller, byCallee, net } = await acrossDisturbance(t, (net) => net.outage(20_000), 'held');
    for (const seen of [byCaller, byCallee]) assert.deepEqual(seen.reconnects.map((r) => r.value), BAD_THEN_GOOD);
    assert.deepEqual(net.relays, { count: 4, flows: 4 }, 'one transport of generation 1, whichever side asked first');
  });

  it('a 20 s outage that also cuts both signaling connections: both parties are away and suspended, come back, get a new transport, and nothing is lost', async (t) => {
    const { byCaller, byCallee } = await acrossDisturbance(t, (net) => net.outage(20_000, { cutSignaling: true }), 'cut');
    for (const seen of [byCaller, byCallee]) {
      assert.deepEqual(seen.reconnects.map((r) => r.value), BAD_THEN_GOOD);
      assert.deepEqual(seen.states, ['Disconnected', 'Connected']);
    }
  });

  it('cutting only the signaling connections: both agents reconnect and are taken back, the call stays Connected and data flows throughout', async (t) => {
    const { byCaller, byCallee } = await acrossDisturbance(t, async (net) => net.cutSignaling(), 'cut');
    for (const seen of [byCaller, byCallee]) {
      assert.deepEqual(seen.states, ['Disconnected', 'Connected']);
      assert.deepEqual(seen.reconnects, [], 'the transport never failed');
    }
  });
});

describe('hanging up a suspended 1:1 call', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ limits: LIMITS });
  });
  after(() => h.close());

  it('ends it at once with HungUp, reports what the other party lacks, and the other party hears HungUp once signaling passes', async (t) => {
    const net = await ImpairedNetwork.start(h.server.url, { delayMs: 5 });
    t.after(() => net.close());
    const { caller, callee, out } = await twoWays(h, net);
    const dropped: number[] = [];
    out.on('messageDropped', ({ sequenceNumber }) => dropped.push(sequenceNumber - 1));
    assert.deepEqual(await sendAll(out, 0, 50), range(0, 50));
    const [atCallee] = await receiversOf(callee, 1);
    const received = await readMessages(atCallee!, 50);
    net.down(); // the data path is dropped, signaling held
    const during = sendAll(out, 50, 100);
    await Promise.all([caller, callee].map((p) => {
      const network = p.call.feature(Features.UserFacingDiagnostics).network;
      return until(network, 'diagnosticChanged', () => network.getLatest().networkReconnect?.value === DiagnosticQuality.Bad, RESUME_TIMEOUT_MS);
    }));
    const startedAt = performance.now();
    // Nothing can be acknowledged while suspended: hangUp does not wait out its 2 s flush for it.
    await within(caller.call.hangUp(), 'hangUp of a suspended call', 1500);
    const tookMs = performance.now() - startedAt;
    const resolved = await during;
    net.up();
    await until(callee.call, 'stateChanged', () => callee.call.state === 'Disconnected', RESUME_TIMEOUT_MS);
    drain(atCallee!, received);

    t.diagnostic(`hangUp took ${Math.round(tookMs)} ms; ${resolved.length} sends resolved during the outage, ${dropped.length} reported dropped`);
    assert.deepEqual(caller.call.callEndReason, { code: 0, subCode: 0, name: 'HungUp', message: 'the call was hung up' });
    assert.deepEqual(callee.call.callEndReason, { code: 0, subCode: 0, name: 'HungUp', message: 'the other party hung up' });
    assert.deepEqual(received.map(indexOf), range(0, 50));
    assert.deepEqual(resolved, range(50, 100));
    assert.deepEqual(dropped.filter((i) => i >= 50), range(50, 100), 'each message sent during the outage reported once');
  });
});

describe('1:1 calls past the resume window', () => {
  let h: Harness;
  const log = new ServerLog();
  before(async () => {
    h = await startHarness({ limits: LIMITS, resumeWindowMs: 2000, logger: log.logger });
  });
  after(() => h.close());

  it('an outage longer than the window ends the call on both sides with ConnectionLost and the reason; what did not arrive is reported dropped, nothing is lost silently', async (t) => {
    const net = await ImpairedNetwork.start(h.server.url, { delayMs: 5 });
    t.after(() => net.close());
    const { caller, callee, out, back } = await twoWays(h, net);
    const dropped: number[] = [];
    out.on('messageDropped', ({ sequenceNumber }) => dropped.push(sequenceNumber - 1));
    assert.deepEqual(await sendAll(out, 0, 100), range(0, 100));
    const [atCallee] = await receiversOf(callee, 1);
    const received = await readMessages(atCallee!, 100);
    // The callee's reply rides behind its acknowledgements: once it is in, the caller knows what arrived.
    await back.sendMessage(indexed(0));
    await readMessages((await receiversOf(caller, 1))[0]!, 1);
    net.down({ cutSignaling: true });
    // Sent during the outage: what the link takes resolves; what waits in the sender's queue (the link keeps
    // only what the path was measured to drain soon, docs/reliability.md "Bounded latency") rejects when the
    // call ends. Either way the application is told.
    const during = Promise.allSettled(range(100, 300).map((i) => out.sendMessage(indexed(i)).then(() => i)));
    await Promise.all([caller, callee].map((p) => until(p.call, 'stateChanged', () => p.call.state === 'Disconnected', RESUME_TIMEOUT_MS)));
    drain(atCallee!, received);
    const settled = await during;
    const resolved = [...range(0, 100), ...settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))];
    const rejected = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as DataChannelError] : []));
    await log.logged('peer call ended', 1, { callId: caller.call.id }, RESUME_TIMEOUT_MS);
    net.up();

    t.diagnostic(`ends: caller ${JSON.stringify(caller.call.callEndReason)}, callee ${JSON.stringify(callee.call.callEndReason)}; ${resolved.length} resolved, ${rejected.length} rejected, ${dropped.length} reported dropped`);
    for (const p of [caller, callee]) {
      assert.equal(p.call.callEndReason?.name, 'ConnectionLost');
      assert.match(p.call.callEndReason?.message ?? '', /^the signaling connection was not back within 2000 ms/);
    }
    assert.deepEqual(received.map(indexOf), range(0, 100), 'what was sent before the outage arrived');
    assert.deepEqual(resolved, range(0, resolved.length), 'what resolved is what the link took, in order');
    assert.equal(resolved.length + rejected.length, 300);
    assert.ok(rejected.every((e) => e instanceof DataChannelError && e.code === 'DataChannelSenderClosed'), 'the rest rejected as the call ended');
    // Acknowledged before the outage: not reported. Everything resolved after, sent during it included: reported,
    // once each. The callee acknowledged at least every LINK_ACK_EVERY_FRAMES link frames (the SetRecipients, then
    // message i as frame i + 2) before its reply, so the reports start at message 95 or later.
    const acknowledged = Math.floor(101 / LINK_ACK_EVERY_FRAMES) * LINK_ACK_EVERY_FRAMES - 1;
    assert.deepEqual(dropped, range(dropped[0] ?? 100, resolved.length));
    assert.ok(dropped[0]! >= acknowledged && dropped[0]! <= 100, `reported from message ${dropped[0]}, which the callee had acknowledged`);
    assert.deepEqual(log.matching('peer call ended', { callId: caller.call.id }).map((l) => l.code), ['ConnectionLost']);
  });
});
