/**
 * Slow-recipient feedback (issue #15, item 4; docs/api.md "Slow-recipient feedback"), over real WebRTC: a
 * recipient frozen with SIGSTOP under a fast stream is reported to the sender (`recipientSlow`, rate-limited,
 * with the copies dropped for it), the one that keeps up never is, and the frozen one, thawed, finds the
 * server's drops in its receiver's `droppedMessageCount`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { DataChannelSlowRecipientEvent } from '@backchannel/client';

import { readMessages, receiversOf, startHarness, userIdOf } from '../helpers/backchannel.js';
import { until } from '../helpers/events.js';
import { FrozenParticipant } from '../helpers/frozenParticipant.js';

/** As in slow-receiver.test.ts: the live receiver drains 1 MB/s with ease, the frozen one passes its bound at once. */
const RATE_KBPS = 8000;
const BOUND = 256 * 1024;
const COUNT = 400;

const indexed = (index: number): Uint8Array => {
  const payload = new Uint8Array(4096);
  new DataView(payload.buffer).setUint32(0, index);
  return payload;
};

describe('slow-recipient feedback', () => {
  it('reports a frozen recipient to its sender, rate-limited, with every copy dropped for it; the thawed receiver counts them', async (t) => {
    const h = await startHarness({ limits: { durableMaxKbps: RATE_KBPS }, receiverBufferBytes: { durable: BOUND, lossy: BOUND / 4 } });
    const slowUser = await h.createUser();
    const frozen = FrozenParticipant.start(h.server.url, slowUser.token, 'feedback', COUNT * 10);
    try {
      await frozen.line((line) => line === 'ready', 'the participant to join');
      const sender = await h.join('feedback');
      const fast = await h.join('feedback');
      for (const p of [sender, fast]) await until(p.call, 'remoteParticipantsUpdated', () => p.call.remoteParticipants.length === 2);
      const slowEndpoint = sender.call.remoteParticipants.find((p) => userIdOf(p.identifier) === slowUser.identity)!.endpointId;

      const out = sender.dataChannel.createDataChannelSender({
        channelId: 61,
        bitrateInKbps: RATE_KBPS,
        participants: [{ communicationUserId: slowUser.identity }, { communicationUserId: fast.identity }],
      });
      const events: DataChannelSlowRecipientEvent[] = [];
      out.on('recipientSlow', (event) => events.push(event));
      let messageDrops = 0;
      out.on('messageDropped', () => messageDrops++);

      frozen.freeze();
      await Promise.all(Array.from({ length: COUNT }, (_, i) => out.sendMessage(indexed(i))));
      const atFast = await readMessages((await receiversOf(fast, 1))[0]!, COUNT);
      assert.equal(atFast.length, COUNT, 'the recipient that keeps up gets everything');
      const drops = h.server.stats.drops.SlowReceiverDurable;
      assert.ok(drops > 0, 'copies for the frozen recipient were dropped');

      // The reports add up to every dropped copy (the last one within a second of the last drop).
      const reported = (): number => events.reduce((sum, e) => sum + e.droppedMessages, 0);
      await until(out, 'recipientSlow', () => reported() === drops);
      assert.ok(events.length >= 1 && events.length < drops, `rate-limited: ${events.length} reports for ${drops} dropped copies`);
      for (const event of events) {
        assert.equal(userIdOf(event.participant), slowUser.identity, 'only the frozen recipient is reported');
        assert.equal(event.endpointId, slowEndpoint);
        assert.ok(event.reason === 'Dropping' || event.reason === 'Backlogged', event.reason);
      }
      assert.ok(events.some((e) => e.reason === 'Dropping'));
      t.diagnostic(`${drops} copies dropped for the frozen recipient, told in ${events.length} reports: ${events.map((e) => `${e.reason} ${e.droppedMessages}`).join(', ')}`);
      // A Durable sender also hears of each such message on messageDropped (RecipientSlow), as before.
      await until(out, 'messageDropped', () => messageDrops === drops);

      frozen.thaw();
      // Once it has read everything that was queued for it, one more message reaches it, and with it the
      // server's count of what it missed.
      for (;;) {
        const { received } = await frozen.report();
        if (received.length === COUNT - drops) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await out.sendMessage(indexed(COUNT));
      let last = await frozen.report();
      while (!last.received.includes(COUNT)) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        last = await frozen.report();
      }
      assert.equal(last.dropped, drops, "the thawed receiver's droppedMessageCount holds the server's drops for it");
      assert.deepEqual(
        last.received,
        last.received.slice().sort((a, b) => a - b),
        'what it did receive came in order',
      );
    } finally {
      await frozen.stop();
      await h.close();
    }
  });
});
