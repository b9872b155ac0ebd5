/**
 * Slow-recipient feedback (issue #15, item 4; docs/api.md "Slow-recipient feedback"), over real WebRTC: a
 * recipient frozen with SIGSTOP under a fast stream is reported to the sender (`recipientSlow`, rate-limited,
 * with the copies dropped for it), the one that keeps up never is, and the frozen one, thawed, finds the
 * server's drops in its receiver's `droppedMessageCount`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import type { DataChannelSlowRecipientEvent } from '@backchannel/client';

import { readMessages, receiversOf, startHarness, userIdOf } from '../helpers/backchannel.js';
import { until, within } from '../helpers/events.js';

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
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../helpers/frozenParticipantProcess.ts', import.meta.url)), h.server.url, slowUser.token, 'feedback', String(COUNT * 10)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout! });
    /** The next line (from now on) that `predicate` accepts. */
    const nextLine = (predicate: (line: string) => boolean, what: string): Promise<string> =>
      within(
        new Promise<string>((resolve) => {
          const listener = (line: string): void => {
            if (!predicate(line)) return;
            lines.off('line', listener);
            resolve(line);
          };
          lines.on('line', listener);
        }),
        what,
      );
    /** Asks the participant for its counts: the indexes it read and its receivers' droppedMessageCount. */
    const report = async (): Promise<{ received: number[]; dropped: number }> => {
      const receivedLine = nextLine((line) => line.startsWith('received '), 'a report');
      const droppedLine = nextLine((line) => line.startsWith('dropped '), 'a report');
      child.stdin!.write('report\n');
      return { received: JSON.parse((await receivedLine).slice('received '.length)) as number[], dropped: Number((await droppedLine).slice('dropped '.length)) };
    };
    try {
      await nextLine((line) => line === 'ready', 'the participant to join');
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

      child.kill('SIGSTOP');
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

      child.kill('SIGCONT');
      // Once it has read everything that was queued for it, one more message reaches it, and with it the
      // server's count of what it missed.
      for (;;) {
        const { received } = await report();
        if (received.length === COUNT - drops) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await out.sendMessage(indexed(COUNT));
      let last = await report();
      while (!last.received.includes(COUNT)) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        last = await report();
      }
      assert.equal(last.dropped, drops, "the thawed receiver's droppedMessageCount holds the server's drops for it");
      assert.deepEqual(
        last.received,
        last.received.slice().sort((a, b) => a - b),
        'what it did receive came in order',
      );
    } finally {
      child.kill('SIGCONT');
      child.stdin!.write('quit\n');
      await Promise.race([once(child, 'exit'), new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      await h.close();
    }
  });
});
