/**
 * Calls that survive the network (docs/reliability.md): real SDK clients and a real server over real
 * WebRTC, through the user-space impairment helper (test/helpers/impairment), with outages shorter and
 * longer than what SCTP survives on its own, and one longer than the resume window.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';

import {
  DiagnosticQuality,
  Features,
  type ConnectionState,
  type DataChannelMessage,
  type DataChannelReceiver,
  type DataChannelSender,
  type NetworkDiagnosticChangedEventArgs,
} from '@backchannel/client';

import { receiversOf, rosterSettled, startHarness, userIdOf, type Harness, type Participant } from '../helpers/backchannel.js';
import { until } from '../helpers/events.js';
import { FrozenParticipant } from '../helpers/frozenParticipant.js';
import { ImpairedNetwork, joinThrough } from '../helpers/impairment/ImpairedNetwork.js';
import { indexed, indexOf, range, readIndexed } from '../helpers/indexedMessages.js';

/** Reads until `count` messages have arrived at `receiver` (those already in `into`, or buffered, count). */
const readMessages = (receiver: DataChannelReceiver, count: number, into: DataChannelMessage[] = []): Promise<DataChannelMessage[]> =>
  readIndexed(receiver, count, RESUME_TIMEOUT_MS, into);

const LIMITS = { durableMaxKbps: 100_000, lossyMaxKbps: 100_000, highPriorityLossyMaxKbps: 100_000 };
/** Generous: a resume waits out reconnect backoff and a new ICE/DTLS handshake, on a shared machine. */
const RESUME_TIMEOUT_MS = 60_000;

/** What one participant observes: network diagnostics and the agent's connection states. */
function observe(p: Participant): { diagnostics: NetworkDiagnosticChangedEventArgs[]; states: ConnectionState[]; resumed: () => Promise<void> } {
  const network = p.call.feature(Features.UserFacingDiagnostics).network;
  const diagnostics: NetworkDiagnosticChangedEventArgs[] = [];
  const states: ConnectionState[] = [];
  network.on('diagnosticChanged', (args) => diagnostics.push(args));
  p.agent.on('connectionStateChanged', ({ newValue }) => states.push(newValue));
  const resumed = (): Promise<void> =>
    until(network, 'diagnosticChanged', () => network.getLatest().networkReconnect?.value === DiagnosticQuality.Good, RESUME_TIMEOUT_MS);
  return { diagnostics, states, resumed };
}

/** `count` Durable messages from `sender`, started now; resolves with the indexes whose send resolved. */
function sendAll(sender: DataChannelSender, from: number, to: number): Promise<number[]> {
  return Promise.allSettled(range(from, to).map((i) => sender.sendMessage(indexed(i)).then(() => i))).then((settled) =>
    settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
  );
}

/** The resume window of the suite below: short enough to test an outage just under it in a few seconds. */
const WINDOW_MS = 12_000;

describe('calls that survive the network', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ rtcBindAddress: '127.0.0.1', limits: LIMITS, resumeWindowMs: WINDOW_MS });
  });
  after(() => h.close());

  /** a ⇄ b through `net`, a Durable sender each way, and the receivers of each. */
  async function twoWays(net: ImpairedNetwork, groupId: string): Promise<{ a: Participant; b: Participant; ab: DataChannelSender; ba: DataChannelSender }> {
    const a = await joinThrough(h, net, groupId);
    const b = await joinThrough(h, net, groupId);
    await rosterSettled([a, b]);
    const ab = a.dataChannel.createDataChannelSender({ channelId: 1, participants: [{ communicationUserId: b.identity }] });
    const ba = b.dataChannel.createDataChannelSender({ channelId: 2, participants: [{ communicationUserId: a.identity }] });
    return { a, b, ab, ba };
  }

  /** Durable both ways across `outage`: every resolved message arrives once, in order, with its sequence number. */
  async function acrossOutage(t: TestContext, groupId: string, outage: (net: ImpairedNetwork) => Promise<void>): Promise<void> {
    const net = await ImpairedNetwork.start(h.server.url, { delayMs: 5 });
    t.after(() => net.close());
    const { a, b, ab, ba } = await twoWays(net, groupId);
    const seenByA = observe(a);
    const seenByB = observe(b);
    // The server's departure counts are the whole server's (an earlier test's relay may have cut its agents'
    // last leave): what matters here is that neither endpoint saw the other leave.
    const departed: string[] = [];
    for (const p of [a, b]) p.call.on('remoteParticipantsUpdated', ({ removed }) => departed.push(...removed.map((r) => userIdOf(r.identifier))));
    const before = [sendAll(ab, 0, 200), sendAll(ba, 0, 200)];
    const [atB] = await receiversOf(b, 1);
    const [atA] = await receiversOf(a, 1);
    const fromA = await readMessages(atB!, 50);
    const fromB = await readMessages(atA!, 50);

    const down = outage(net);
    const during = [sendAll(ab, 200, 400), sendAll(ba, 200, 400)];
    await down;
    await Promise.all([seenByA.resumed(), seenByB.resumed()]);
    const [sentByA, sentByB] = await Promise.all([before[0]!, before[1]!]);
    const [laterByA, laterByB] = await Promise.all([during[0]!, during[1]!]);
    const resolvedByA = [...sentByA, ...laterByA];
    const resolvedByB = [...sentByB, ...laterByB];
    await readMessages(atB!, resolvedByA.length, fromA);
    await readMessages(atA!, resolvedByB.length, fromB);

    assert.deepEqual(resolvedByA, range(0, 400), 'every send of a resolved');
    assert.deepEqual(resolvedByB, range(0, 400), 'every send of b resolved');
    assert.deepEqual(fromA.map(indexOf), range(0, 400), 'b got each of a’s messages once, in order');
    assert.deepEqual(fromB.map(indexOf), range(0, 400), 'a got each of b’s messages once, in order');
    assert.deepEqual(fromA.map((m) => m.sequenceNumber), range(1, 401));
    assert.deepEqual(fromB.map((m) => m.sequenceNumber), range(1, 401));
    assert.equal(atA!.droppedMessageCount + atB!.droppedMessageCount, 0);
    for (const seen of [seenByA, seenByB]) {
      assert.deepEqual(
        seen.diagnostics.map((d) => [d.diagnostic, d.value]),
        [
          ['networkReconnect', DiagnosticQuality.Bad],
          ['networkReconnect', DiagnosticQuality.Good],
        ],
      );
    }
    assert.equal(a.call.state, 'Connected');
    assert.equal(b.call.state, 'Connected');
    assert.deepEqual(a.call.remoteParticipants.map((p) => userIdOf(p.identifier)), [b.identity]);
    assert.deepEqual(departed, [], 'an endpoint left the other’s roster');
    t.diagnostic(`agent states: a ${JSON.stringify(seenByA.states)}, b ${JSON.stringify(seenByB.states)}`);
  }

  it('a 3 s outage that also cuts the signaling connections: both endpoints resume, Durable both ways arrives once and in order, networkReconnect goes Bad then Good', async (t) => {
    await acrossOutage(t, 'cut-3s', async (net) => {
      await net.outage(3000, { cutSignaling: true });
    });
  });

  it('a 20 s outage, longer than SCTP survives (its transport fails at about 14 s): a new transport is resumed and nothing is lost', async (t) => {
    await acrossOutage(t, 'outage-20s', async (net) => {
      await net.outage(20_000);
    });
  });

  // Cut signaling: both ends notice at once, so the windows start with the outage. The SDK's reconnect
  // backoff tops out at 1 s, so its first attempt after the network is back comes within a second.
  it('an outage just under the resume window (window − 2.5 s) that also cuts the signaling connections: both endpoints resume and nothing is lost', async (t) => {
    await acrossOutage(t, 'just-under', async (net) => {
      await net.outage(WINDOW_MS - 2500, { cutSignaling: true });
    });
  });
});

describe('past the resume window', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ rtcBindAddress: '127.0.0.1', limits: LIMITS, resumeWindowMs: 2000 });
  });
  after(() => h.close());

  it('ends the call with ConnectionLost and the reason, and the others see the endpoint leave', async (t) => {
    const net = await ImpairedNetwork.start(h.server.url);
    t.after(() => net.close());
    const gone = await joinThrough(h, net, 'window');
    const stays = await h.join('window');
    await rosterSettled([gone, stays]);
    net.down({ cutSignaling: true });
    await until(gone.call, 'stateChanged', () => gone.call.state === 'Disconnected', RESUME_TIMEOUT_MS);
    assert.equal(gone.call.callEndReason?.name, 'ConnectionLost');
    assert.match(gone.call.callEndReason?.message ?? '', /not resumed within 2000 ms/);
    await until(stays.call, 'remoteParticipantsUpdated', () => stays.call.remoteParticipants.length === 0, RESUME_TIMEOUT_MS);
    net.up();
  });
});

describe('a frozen receiver', () => {
  it('frozen with SIGSTOP for 20 s, resumes when thawed and receives, once and in order, what it missed; the others are unaffected', async (t) => {
    const h = await startHarness({ limits: LIMITS });
    const frozenUser = await h.createUser();
    const frozen = FrozenParticipant.start(h.server.url, frozenUser.token, 'frozen', 300, { timeoutMs: RESUME_TIMEOUT_MS });
    const seen = frozen.lines;
    try {
      await frozen.line((line) => line === 'ready', 'the frozen participant to join');
      const sender = await h.join('frozen');
      const other = await h.join('frozen');
      for (const p of [sender, other]) await until(p.call, 'remoteParticipantsUpdated', () => p.call.remoteParticipants.length === 2);
      // To both, by name (a broadcast would meet the broadcast packet rate).
      const out = sender.dataChannel.createDataChannelSender({ channelId: 7, participants: [{ communicationUserId: frozenUser.identity }, { communicationUserId: other.identity }] });
      assert.deepEqual(await sendAll(out, 0, 100), range(0, 100));
      frozen.freeze();
      const frozenAt = performance.now();
      const sent = await sendAll(out, 100, 300);
      const [atOther] = await receiversOf(other, 1);
      const ofOther = await readMessages(atOther!, 300);
      assert.deepEqual(ofOther.map(indexOf), range(0, 300), 'the others get everything while one receiver is frozen');
      assert.deepEqual(sent, range(100, 300));
      // The freeze itself is the test's subject: 20 s, longer than SCTP survives on its own.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 20_000 - (performance.now() - frozenAt))));
      frozen.thaw();
      await frozen.line((line) => line === 'network Good', 'the thawed participant to resume');
      // What it lacked is resent once the server hears its LinkResume: it reports when it has all 300.
      const report = await frozen.line((line) => line.startsWith('received '), 'the thawed participant to receive all 300');
      const indexes = JSON.parse(report.slice('received '.length)) as number[];
      assert.deepEqual(indexes, range(0, 300), 'the thawed receiver got each message once, in order');
      assert.ok(seen.includes('network Bad'));
      assert.equal(seen.some((line) => line.startsWith('ended')), false, 'its call did not end');
      assert.equal(other.call.remoteParticipants.length, 2, 'the others never saw it leave');
      t.diagnostic(`frozen participant's lines: ${JSON.stringify(seen.filter((l) => !l.startsWith('received')))}`);
    } finally {
      await frozen.stop();
      await h.close();
    }
  });
});
