/** SPEC §4 "Reliability" and "Priority": order, completeness and precedence, end to end. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { readMessages, receiversOf, rosterSettled, startHarness, type Harness } from '../helpers/backchannel.js';

/**
 * Paces that never hold a message back, and a send backlog bound far beyond what these tests queue: they send
 * everything at once and are about order and completeness, not the backlog bound (tested on its own in
 * impairment.test.ts), which on a machine too loaded to drain 2 s of it would refuse the newest.
 */
const FAST = { durableMaxKbps: 1_000_000, lossyMaxKbps: 1_000_000, highPriorityLossyMaxKbps: 1_000_000, maxSendBacklogMs: 600_000 };

function indexed(i: number, size = 64): Uint8Array {
  const bytes = new Uint8Array(size);
  new DataView(bytes.buffer).setUint32(0, i);
  return bytes;
}

function indexOf(data: Uint8Array): number {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
}

describe('delivery', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ limits: FAST });
  });
  after(() => h.close());

  it('delivers 10,000 Durable messages complete, in order, with consecutive sequence numbers', async () => {
    const [a, b] = [await h.join('durable'), await h.join('durable')];
    await rosterSettled([a, b]);
    const sender = a.dataChannel.createDataChannelSender({
      channelId: 50,
      reliability: 'Durable',
      // Targeted: a broadcast would meet the 80 packets/s broadcast rule.
      participants: [{ communicationUserId: b.identity }],
    });
    const count = 10_000;
    const sent = Promise.all(Array.from({ length: count }, (_, i) => sender.sendMessage(indexed(i))));
    const [receiver] = await receiversOf(b, 1);
    const messages = await readMessages(receiver!, count);
    await sent;
    assert.equal(messages.length, count);
    messages.forEach((m, i) => {
      assert.equal(m.sequenceNumber, i + 1);
      assert.equal(indexOf(m.data), i);
    });
    assert.equal(receiver!.droppedMessageCount, 0);
  });

  it('delivers every message whose sendMessage resolved even when the sender hangs up right after', async () => {
    const [a, b] = [await h.join('hang-up-flush'), await h.join('hang-up-flush')];
    await rosterSettled([a, b]);
    const sender = a.dataChannel.createDataChannelSender({ channelId: 53, participants: [{ communicationUserId: b.identity }] });
    const count = 200;
    await Promise.all(Array.from({ length: count }, (_, i) => sender.sendMessage(indexed(i, 16 * 1024))));
    await a.call.hangUp(); // 3 MiB may still be in flight: hanging up must not drop it
    const messages = await readMessages((await receiversOf(b, 1))[0]!, count);
    assert.deepEqual(
      messages.map((m) => indexOf(m.data)),
      Array.from({ length: count }, (_, i) => i),
    );
  });

  it('sends High-priority messages before Normal ones queued at the same sender', async () => {
    const [a, b] = [await h.join('priority'), await h.join('priority')];
    await rosterSettled([a, b]);
    const arrivals: string[] = [];
    const allArrived = new Promise<void>((resolve) => {
      b.dataChannel.on('dataChannelReceiverCreated', (receiver) => {
        receiver.on('messageReady', () => {
          const message = receiver.readMessage()!;
          arrivals.push(`${receiver.channelId === 51 ? 'N' : 'H'}${message.sequenceNumber}`);
          if (arrivals.length === 72) resolve();
        });
      });
    });
    const normal = a.dataChannel.createDataChannelSender({ channelId: 51, priority: 'Normal', participants: [a.call.remoteParticipants[0]!.identifier] });
    const high = a.dataChannel.createDataChannelSender({ channelId: 52, priority: 'High', participants: [{ communicationUserId: b.identity }] });
    // 64 Normal messages of 16 KiB (1 MiB) overfill the Durable channel's buffer, so most wait in the SDK's
    // queue; the High messages queued after them must overtake every Normal message still waiting.
    const normalSends = Array.from({ length: 64 }, (_, i) => normal.sendMessage(indexed(i, 32 * 1024)));
    const highSends = Array.from({ length: 8 }, (_, i) => high.sendMessage(indexed(i, 16)));
    await Promise.all([...normalSends, ...highSends, allArrived]);

    // Without priority the High messages would come after all 64 Normal ones, or interleaved with them.
    const highAt = arrivals.map((a, i) => (a.startsWith('H') ? i : -1)).filter((i) => i >= 0);
    const firstHigh = highAt[0]!;
    assert.deepEqual(arrivals.slice(firstHigh, firstHigh + 8), ['H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'H7', 'H8'], arrivals.join(' '));
    const normalAfter = arrivals.length - (firstHigh + 8);
    assert.ok(normalAfter > 0, `Normal messages still queued must go after the High ones: ${arrivals.join(' ')}`);
    assert.deepEqual(
      arrivals.filter((a) => a.startsWith('N')),
      Array.from({ length: 64 }, (_, i) => `N${i + 1}`),
      'each sender keeps its own order',
    );
  });
});
