/**
 * State for late joiners (issue #15, item 2; docs/api.md "State for late joiners"), over real WebRTC through
 * the real server: a sender with `retain: 'last'` has its latest message kept, and delivered with its
 * original sequence number to endpoints that join, or become recipients, later, before anything newer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { DataChannelError, DataChannelErrorCode } from '@backchannel/client';

import { readMessages, receiversOf, rosterSettled, startHarness, utf8, type Harness, type Participant } from '../helpers/backchannel.js';

/** The value of an unlabelled gauge in /metrics. */
async function gauge(h: Harness, name: string): Promise<number> {
  const text = await (await fetch(`${h.server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} is not in /metrics`);
  return Number(line.slice(name.length + 1));
}

/** What `p` has received on `channelId`, once `count` messages have arrived there. */
async function messagesOn(p: Participant, channelId: number, count: number): Promise<{ sequenceNumber: number; text: string }[]> {
  const receivers = await receiversOf(p, p.receivers.length || 1);
  const receiver = receivers.find((r) => r.channelId === channelId) ?? (await receiversOf(p, p.receivers.length + 1)).find((r) => r.channelId === channelId)!;
  return (await readMessages(receiver, count)).map((m) => ({ sequenceNumber: m.sequenceNumber, text: utf8.decode(m.data) }));
}

describe("state for late joiners (retain: 'last')", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  it('a late joiner gets the latest message at once, with its sequence number, before any newer one', async () => {
    const a = await h.join('late-state');
    const early = await h.join('late-state');
    await rosterSettled([a, early]);
    const state = a.dataChannel.createDataChannelSender({ channelId: 20, retain: 'last' });
    assert.equal(state.retain, 'last');
    for (const n of [1, 2, 3]) await state.sendMessage(utf8.encode(`state ${n}`));
    assert.deepEqual((await messagesOn(early, 20, 3)).map((m) => m.sequenceNumber), [1, 2, 3]);
    assert.ok((await gauge(h, 'backchannel_retained_messages')) >= 1);

    const late = await h.join('late-state');
    // Nothing new was sent: what it gets is the retained state.
    const [retained] = await messagesOn(late, 20, 1);
    assert.deepEqual(retained, { sequenceNumber: 3, text: 'state 3' });
    await state.sendMessage(utf8.encode('state 4'));
    const receiver = late.receivers.find((r) => r.channelId === 20)!;
    assert.deepEqual((await readMessages(receiver, 1)).map((m) => m.sequenceNumber), [4], 'then the newer one, once');
    assert.deepEqual((await messagesOn(early, 20, 1)).map((m) => m.sequenceNumber), [4], 'the early one never gets the retained message again');
  });

  it('an endpoint that becomes a recipient later gets it too, before newer messages; one already reached does not', async () => {
    const a = await h.join('new-recipient');
    const b = await h.join('new-recipient');
    const c = await h.join('new-recipient');
    await rosterSettled([a, b, c]);
    const state = a.dataChannel.createDataChannelSender({ channelId: 21, retain: 'last', participants: [{ communicationUserId: b.identity }] });
    await state.sendMessage(utf8.encode('for b'));
    await state.sendMessage(utf8.encode('latest'));
    assert.deepEqual((await messagesOn(b, 21, 2)).map((m) => m.sequenceNumber), [1, 2]);
    state.setParticipants([{ communicationUserId: b.identity }, { communicationUserId: c.identity }]);
    await state.sendMessage(utf8.encode('after'));
    assert.deepEqual(await messagesOn(c, 21, 2), [
      { sequenceNumber: 2, text: 'latest' },
      { sequenceNumber: 3, text: 'after' },
    ]);
    const atB = b.receivers.find((r) => r.channelId === 21)!;
    assert.deepEqual((await readMessages(atB, 1)).map((m) => m.sequenceNumber), [3], 'b, already reached, gets only the new message');
  });

  it('closing the session drops what it retained; a sender without retain keeps nothing, as the reference', async () => {
    const a = await h.join('dropped-state');
    const early = await h.join('dropped-state');
    await rosterSettled([a, early]);
    const retained = a.dataChannel.createDataChannelSender({ channelId: 22, retain: 'last' });
    await retained.sendMessage(utf8.encode('gone with the session'));
    await messagesOn(early, 22, 1); // routed, so retained by now
    const kept = await gauge(h, 'backchannel_retained_messages');
    const plain = a.dataChannel.createDataChannelSender({ channelId: 23 });
    await plain.sendMessage(utf8.encode('never kept'));
    await messagesOn(early, 23, 1);
    assert.equal(await gauge(h, 'backchannel_retained_messages'), kept, 'a sender without retain adds nothing');
    retained.close();
    const late = await h.join('dropped-state');
    await rosterSettled([a, early, late]);
    // A marker after the close and the join: anything retained for the late one would be there first.
    const marker = a.dataChannel.createDataChannelSender({ channelId: 24 });
    await marker.sendMessage(utf8.encode('marker'));
    const [first] = await receiversOf(late, 1);
    assert.equal(first!.channelId, 24);
    assert.equal(late.receivers.length, 1);
    assert.equal(await gauge(h, 'backchannel_retained_messages'), kept - 1, 'the closed session retains nothing');
  });

  it("refuses retain: 'last' on a Lossy sender, and values other than 'none' and 'last'", async () => {
    const a = await h.join('retain-arguments');
    const invalid = (error: unknown): boolean => error instanceof DataChannelError && error.code === DataChannelErrorCode.InvalidArgument;
    assert.throws(() => a.dataChannel.createDataChannelSender({ reliability: 'Lossy', retain: 'last' }), invalid);
    assert.throws(() => a.dataChannel.createDataChannelSender({ retain: 'all' as 'last' }), invalid);
    assert.equal(a.dataChannel.createDataChannelSender({ reliability: 'Lossy' }).retain, 'none');
  });
});

describe('retained messages are bounded per call', () => {
  it('a message over what the call may retain is not kept, and the one before it is let go', async () => {
    const h = await startHarness({ maxRetainedBytesPerCall: 200 });
    try {
      const a = await h.join('bounded');
      const state = a.dataChannel.createDataChannelSender({ channelId: 30, retain: 'last' });
      await state.sendMessage(utf8.encode('small'));
      const first = await h.join('bounded');
      assert.deepEqual(await messagesOn(first, 30, 1), [{ sequenceNumber: 1, text: 'small' }]);
      assert.equal(await gauge(h, 'backchannel_retained_messages'), 1);
      await state.sendMessage(new Uint8Array(300)); // 316 bytes with its header: over the call's 200
      assert.equal((await messagesOn(first, 30, 1))[0]!.sequenceNumber, 2);
      assert.equal(await gauge(h, 'backchannel_retained_bytes'), 0);
      const second = await h.join('bounded');
      await rosterSettled([a, first, second]);
      const marker = a.dataChannel.createDataChannelSender({ channelId: 31 });
      await marker.sendMessage(utf8.encode('marker'));
      const [firstReceiver] = await receiversOf(second, 1);
      assert.equal(firstReceiver!.channelId, 31, 'neither the large message nor the stale small one reached the later joiner');
    } finally {
      await h.close();
    }
  });
});
