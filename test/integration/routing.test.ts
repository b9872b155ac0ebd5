/** SPEC §4 "Recipients" and "Sequence numbers", over real WebRTC through the real server. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { readMessages, receiversOf, rosterSettled, startHarness, utf8, type Harness } from '../helpers/backchannel.js';
import { until } from '../helpers/events.js';

describe('routing', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  it('delivers a broadcast to every other endpoint and never back to the sender', async () => {
    const [a, b, c] = await Promise.all([h.join('broadcast'), h.join('broadcast'), h.join('broadcast')]);
    await rosterSettled([a!, b!, c!]);
    const sender = a!.dataChannel.createDataChannelSender({ channelId: 7 });
    await sender.sendMessage(utf8.encode('to all'));
    for (const p of [b!, c!]) {
      const [receiver] = await receiversOf(p, 1);
      assert.equal(receiver!.channelId, 7);
      assert.deepEqual(receiver!.senderParticipantIdentifier, { kind: 'communicationUser', communicationUserId: a!.identity, rawId: a!.identity });
      const [message] = await readMessages(receiver!, 1);
      assert.equal(utf8.decode(message!.data), 'to all');
      assert.equal(message!.sequenceNumber, 1);
    }
    // A targeted message to b afterwards proves a's own endpoint got nothing: b's second message is
    // seq 2, and a never announced a receiver.
    sender.setParticipants([{ communicationUserId: b!.identity }]);
    await sender.sendMessage(utf8.encode('to b'));
    const [toB] = await readMessages((await receiversOf(b!, 1))[0]!, 1);
    assert.equal(toB!.sequenceNumber, 2);
    assert.equal(a!.receivers.length, 0);
    assert.equal(h.server.stats.deliveries >= 3, true);
  });

  it('delivers a targeted message only to its recipients, on every endpoint of a recipient identity', async () => {
    const a = await h.join('targeted');
    const b = await h.join('targeted');
    const bSecondDevice = await h.join('targeted', { as: { identity: b.identity, token: (await tokenFor(h, b.identity)) } });
    const c = await h.join('targeted');
    await rosterSettled([a, b, bSecondDevice, c]);
    const sender = a.dataChannel.createDataChannelSender({ channelId: 8, participants: [{ communicationUserId: b.identity }] });
    await sender.sendMessage(utf8.encode('only b'));
    // c gets a later broadcast on another channel: by then anything addressed to it on channel 8 would have
    // arrived first, since both travel the same ordered Durable path.
    const marker = a.dataChannel.createDataChannelSender({ channelId: 9 });
    await marker.sendMessage(utf8.encode('marker'));
    for (const p of [b, bSecondDevice]) {
      const receiver = (await receiversOf(p, 1))[0]!;
      assert.equal(receiver.channelId, 8);
      assert.equal(utf8.decode((await readMessages(receiver, 1))[0]!.data), 'only b');
    }
    const [first] = await receiversOf(c, 1);
    assert.equal(first!.channelId, 9, 'c must not hear channel 8');
  });

  it('reaches recipients who join after the recipient list was set', async () => {
    const a = await h.join('late');
    const lateUser = await h.createUser();
    const sender = a.dataChannel.createDataChannelSender({ channelId: 11, participants: [{ communicationUserId: lateUser.identity }] });
    await sender.sendMessage(utf8.encode('before you came'));
    const late = await h.join('late', { as: lateUser });
    await until(a.call, 'remoteParticipantsUpdated', () => a.call.remoteParticipants.length === 1);
    await sender.sendMessage(utf8.encode('welcome'));
    const [receiver] = await receiversOf(late, 1);
    const [message] = await readMessages(receiver!, 1);
    assert.equal(utf8.decode(message!.data), 'welcome');
    assert.equal(message!.sequenceNumber, 2, 'the first message was sent, to nobody, and counted');
  });

  it('shows sequence gaps exactly as SPEC §4: recipients A+B, then B, then A', async () => {
    const s = await h.join('gaps');
    const a = await h.join('gaps');
    const b = await h.join('gaps');
    await rosterSettled([s, a, b]);
    const sender = s.dataChannel.createDataChannelSender({ channelId: 12 });
    sender.setParticipants([{ communicationUserId: a.identity }, { communicationUserId: b.identity }]);
    await sender.sendMessage(utf8.encode('1'));
    sender.setParticipants([{ communicationUserId: b.identity }]);
    await sender.sendMessage(utf8.encode('2'));
    sender.setParticipants([{ communicationUserId: a.identity }]);
    await sender.sendMessage(utf8.encode('3'));
    const atA = await readMessages((await receiversOf(a, 1))[0]!, 2);
    const atB = await readMessages((await receiversOf(b, 1))[0]!, 2);
    assert.deepEqual(atA.map((m) => [m.sequenceNumber, utf8.decode(m.data)]), [[1, '1'], [3, '3']]);
    assert.deepEqual(atB.map((m) => [m.sequenceNumber, utf8.decode(m.data)]), [[1, '1'], [2, '2']]);
  });

  it('delivers Lossy messages sent right after setParticipants, though the list travels on the Durable channel', async () => {
    const a = await h.join('lossy-list');
    const b = await h.join('lossy-list');
    const c = await h.join('lossy-list');
    await rosterSettled([a, b, c]);
    const sender = a.dataChannel.createDataChannelSender({ channelId: 14, reliability: 'Lossy', participants: [{ communicationUserId: b.identity }] });
    await Promise.all(Array.from({ length: 10 }, () => sender.sendMessage(utf8.encode('to b'))));
    sender.setParticipants([{ communicationUserId: c.identity }]);
    await Promise.all(Array.from({ length: 10 }, () => sender.sendMessage(utf8.encode('to c'))));
    const atB = await readMessages((await receiversOf(b, 1))[0]!, 10);
    const atC = await readMessages((await receiversOf(c, 1))[0]!, 10);
    assert.deepEqual(atB.map((m) => m.sequenceNumber).sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(atC.map((m) => m.sequenceNumber).sort((x, y) => x - y), [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    assert.equal(h.server.stats.drops.UnknownRecipients, 0);
  });

  it('carries Lossy messages on their own channel', async () => {
    const a = await h.join('lossy');
    const b = await h.join('lossy');
    await rosterSettled([a, b]);
    const lossyBefore = h.server.stats.messagesRouted.lossy;
    const sender = a.dataChannel.createDataChannelSender({ channelId: 13, reliability: 'Lossy' });
    await sender.sendMessage(utf8.encode('fast'));
    const [receiver] = await receiversOf(b, 1);
    const [message] = await readMessages(receiver!, 1);
    assert.equal(utf8.decode(message!.data), 'fast');
    assert.equal(h.server.stats.messagesRouted.lossy, lossyBefore + 1);
  });
});

async function tokenFor(h: Harness, identity: string): Promise<string> {
  const response = await fetch(`${h.server.url}/identities/${encodeURIComponent(identity)}/:issueAccessToken`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.server.accessKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ scopes: ['voip'] }),
  });
  assert.equal(response.status, 200);
  return ((await response.json()) as { token: string }).token;
}
