/**
 * What the server owes a sender (a Notice that its message was dropped, and its other frames: receipts,
 * slow-recipient reports, departures) is never itself dropped as "slow" on the sender's own path: every
 * message arrives or is reported, and none both. Here copies for the recipient are dropped at once (8 KiB of
 * queue allowed toward each endpoint, a 1 ms backlog bound) while a third participant floods the sender.
 *
 * The loss this guards against was seen in the impairment test (16 messages of 10,000 lost with nobody
 * told, on a lossy path where the sender's own downlink measured slow and its Notices were held to the
 * recipient bounds); this test does not reproduce that path's measurement, and passed before the fix too.
 * It holds the promise under load; Endpoint.tell is what keeps it on a slow path.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startHarness, type Harness } from '../helpers/backchannel.js';
import { within } from '../helpers/events.js';

const COUNT = 2000;
/** 4 KiB each: two fill the queue allowed toward the recipient. */
const payload = (i: number): Uint8Array => new Uint8Array(4096).fill(i % 256);

describe('notices to a sender', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ recipientBacklogMs: 1, receiverBufferBytes: { durable: 8192, lossy: 8192 }, limits: { durableMaxKbps: 100_000 } });
  });
  after(() => h.close());

  it('reach it whatever its own backlog: every message arrives or is reported dropped, never both', async () => {
    const sender = await h.join('notices');
    const recipient = await h.join('notices');
    const third = await h.join('notices');
    const out = sender.dataChannel.createDataChannelSender({ channelId: 3, participants: [{ communicationUserId: recipient.identity }] });
    const arrived = new Set<number>();
    const dropped = new Set<number>();
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const check = (): void => {
      if (arrived.size + dropped.size >= COUNT) settle();
    };
    out.on('messageDropped', ({ sequenceNumber }) => {
      dropped.add(sequenceNumber);
      check();
    });
    recipient.dataChannel.on('dataChannelReceiverCreated', (receiver) => {
      const drain = (): void => {
        for (let m = receiver.readMessage(); m; m = receiver.readMessage()) arrived.add(m.sequenceNumber);
        check();
      };
      receiver.on('messageReady', drain);
      drain();
    });
    // Meanwhile a third participant floods the sender: its own downlink, where its Notices go, is full too.
    const flood = third.dataChannel.createDataChannelSender({ channelId: 4, participants: [{ communicationUserId: sender.identity }] });
    flood.on('messageDropped', () => undefined);
    await Promise.all([...Array.from({ length: COUNT }, (_, i) => out.sendMessage(payload(i))), ...Array.from({ length: COUNT }, (_, i) => flood.sendMessage(payload(i)))]);
    await within(settled, `every message to arrive or be reported (${arrived.size} arrived, ${dropped.size} reported so far)`, 60_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; at the end ${arrived.size} arrived and ${dropped.size} were reported of ${COUNT}`);
    });
    assert.deepEqual([...arrived].filter((n) => dropped.has(n)), [], 'none both arrived and reported');
    assert.equal(arrived.size + dropped.size, COUNT);
    assert.ok(dropped.size > 0, 'the bound dropped copies (else this shows nothing)');
  });
});
