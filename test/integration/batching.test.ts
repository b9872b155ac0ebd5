/**
 * Batch frames end to end (docs/protocol.md, "Batch"): a burst the server routes in one turn reaches each
 * recipient of protocol 3 in a few SCTP messages, and nothing else changes: order, sequence numbers, what is
 * delivered, what is dropped and how it is counted. A client's batch is routed frame by frame, with every
 * check each frame would get alone; a malformed one is refused whole; a client of protocol 2 gets no batches.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';

import {
  DropReason,
  FrameFlag,
  FrameType,
  LOSSY_BATCH_BYTES,
  encodeBatch,
  encodeSend,
  encodeSessionClose,
  encodeSetRecipients,
  type DeliverFrame,
  type NoticeFrame,
  type ServerFrame,
} from '@backchannel/protocol';

import { readMessages, receiversOf, startHarness, type Harness } from '../helpers/backchannel.js';
import { until } from '../helpers/events.js';
import { RawClients, type RawEndpoint } from '../helpers/rawClient.js';

const FAST = {
  durableMaxKbps: 1_000_000,
  lossyMaxKbps: 1_000_000,
  highPriorityLossyMaxKbps: 1_000_000,
  broadcastPacketsPerSecond: 1_000_000,
  maxSendBacklogMs: 600_000,
};

const header = (sequenceNumber: number, channelId = 5, sessionId = 1, flags = 0) => ({ flags, channelId, sessionId, sequenceNumber });

function payloadOf(n: number, size = 64): Uint8Array {
  const bytes = new Uint8Array(size);
  new DataView(bytes.buffer).setUint32(0, n);
  return bytes;
}

const indexOf = (data: Uint8Array): number => new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);

/** Sends `frames` from `raw` as client batches of up to 300 (each SCTP message well under the server's limit). */
function sendBatched(raw: RawEndpoint, kind: 'durable' | 'lossy', frames: Uint8Array[]): void {
  for (let i = 0; i < frames.length; i += 300) {
    const part = frames.slice(i, i + 300);
    raw.send(kind, part.length === 1 ? part[0]! : encodeBatch(part, 'client'));
  }
}

/** Waits until `raw` holds `count` frames matching `predicate`. */
async function framesOf<F extends ServerFrame>(raw: RawEndpoint, count: number, predicate: (f: ServerFrame) => f is F): Promise<F[]> {
  await raw.nextFrame(() => raw.frames.filter(predicate).length >= count);
  return raw.frames.filter(predicate);
}

const isDeliver = (f: ServerFrame): f is DeliverFrame => f.type === FrameType.Deliver;
const isNotice = (f: ServerFrame): f is NoticeFrame => f.type === FrameType.Notice;

describe('batching', () => {
  let h: Harness;
  const raw = new RawClients();
  before(async () => {
    h = await startHarness({ limits: FAST });
  });
  afterEach(() => raw.closeAll());
  after(() => h.close());

  it('delivers a burst routed in one turn to many recipients complete, in order, with the same sequence numbers, in batches to protocol 3 only', async () => {
    const group = 'burst';
    const sdk = [await h.join(group), await h.join(group)];
    const current = await Promise.all(Array.from({ length: 6 }, () => raw.join(h, group)));
    const legacy = await raw.join(h, group, undefined, 2);
    const sender = await raw.join(h, group);
    // Every SDK participant knows every sender before the burst (frames of unknown senders are held, boundedly).
    for (const participant of sdk) await until(participant.call, 'remoteParticipantsUpdated', () => participant.call.remoteParticipants.length === 8);
    const count = 600;
    const deliveriesBefore = h.server.stats.deliveries;
    // Two client batches of 300: the server routes each in one turn, 9 copies of each frame.
    sendBatched(
      sender,
      'durable',
      Array.from({ length: count }, (_, i) => encodeSend(header(i + 1), 0, payloadOf(i))),
    );

    for (const receiver of [...current, legacy]) {
      const delivered = await framesOf(receiver, count, isDeliver);
      assert.equal(delivered.length, count);
      delivered.forEach((f, i) => {
        assert.equal(f.sequenceNumber, i + 1);
        assert.equal(indexOf(f.payload), i);
        assert.equal(f.senderEndpointId, sender.endpointId);
      });
    }
    for (const receiver of current) {
      assert.ok(receiver.received.batches > 0, 'a protocol-3 recipient was sent batches');
      assert.ok(receiver.received.messages < count / 2, `${receiver.received.messages} SCTP messages for ${count} frames`);
    }
    assert.equal(legacy.received.batches, 0, 'a protocol-2 recipient is never sent a batch');
    assert.ok(legacy.received.messages >= count);

    for (const participant of sdk) {
      const [receiver] = await receiversOf(participant, 1);
      const messages = await readMessages(receiver!, count);
      assert.deepEqual(
        messages.map((m) => [m.sequenceNumber, indexOf(m.data)]),
        Array.from({ length: count }, (_, i) => [i + 1, i]),
      );
      assert.equal(receiver!.droppedMessageCount, 0);
      // Each message's data has its own frame-sized buffer: keeping one does not pin the batch it came in.
      assert.ok(messages.every((m) => m.data.buffer.byteLength <= 16 + 64), 'a message from a batch is not a view on the batch');
    }
    assert.equal(h.server.stats.deliveries - deliveriesBefore, count * 9);
    assert.deepEqual(Object.values(h.server.stats.drops).reduce((a, b) => a + b, 0), 0);
  });

  it('batches Lossy copies only within one datagram, so that a lost datagram loses no more than it carried', async () => {
    const group = 'lossy';
    const receiver = await raw.join(h, group);
    const sender = await raw.join(h, group);
    const count = 200;
    // 64-byte payloads (80-byte frames): up to 13 share a Lossy batch; 1 KiB ones never share one.
    const small = Array.from({ length: count }, (_, i) => encodeSend(header(i + 1, 6, 1, FrameFlag.Lossy), 0, payloadOf(i)));
    sendBatched(sender, 'lossy', small);
    // Lossy may lose: the test waits for the first of the burst's ~16 batches, not for every frame. What
    // arrives must be whole frames from the sender, and no Lossy message may pass one datagram's worth.
    await receiver.nextFrame(() => receiver.received.batches > 0);
    const lossy = receiver.frames.filter(isDeliver);
    assert.ok(lossy.length > 1);
    assert.ok(lossy.every((f) => f.channelId === 6 && f.senderEndpointId === sender.endpointId && indexOf(f.payload) === f.sequenceNumber - 1));
    assert.ok(receiver.received.largest.lossy <= LOSSY_BATCH_BYTES, `a Lossy message of ${receiver.received.largest.lossy} bytes`);
    assert.ok(receiver.received.batches > 0, 'the burst was batched');
  });

  it('routes each frame of a client batch with the checks it gets alone: drops, their notices and counts are the same', async () => {
    const group = 'checks';
    const receiver = await raw.join(h, group);
    const sender = await raw.join(h, group);
    const too = h.server.stats.drops.MessageTooLarge;
    const stale = h.server.stats.drops.StaleSession;
    const unknown = h.server.stats.drops.UnknownRecipients;
    const tooLarge = new Uint8Array(32 * 1024 + 1);
    sendBatched(sender, 'durable', [
      encodeSend(header(1, 5, 2), 0, payloadOf(1)), // session 2 on channel 5
      encodeSend(header(2, 5, 2), 0, tooLarge), // MessageTooLarge
      encodeSend(header(3, 5, 1), 0, payloadOf(3)), // StaleSession: session 1 is older than 2
      encodeSend(header(4, 5, 2), 7, payloadOf(4)), // UnknownRecipients: generation 7 was never set
      encodeSetRecipients(5, 2, 1, [receiver.identity]),
      encodeSend(header(5, 5, 2), 1, payloadOf(5)), // to the list of generation 1: delivered
      encodeSessionClose(5, 2),
      encodeSend(header(6, 5, 2), 1, payloadOf(6)), // StaleSession: its session was closed just before
    ]);
    const notices = await framesOf(sender, 4, isNotice);
    assert.deepEqual(
      notices.map((n) => [n.sequenceNumber, n.reason]),
      [
        [2, DropReason.MessageTooLarge],
        [3, DropReason.StaleSession],
        [4, DropReason.UnknownRecipients],
        [6, DropReason.StaleSession],
      ],
    );
    const closed = await receiver.nextFrame((f) => f.type === FrameType.SessionClosed);
    assert.equal(closed.type === FrameType.SessionClosed && closed.sessionId, 2);
    const delivered = receiver.frames.filter(isDeliver);
    assert.deepEqual(delivered.map((f) => f.sequenceNumber), [1, 5]);
    assert.equal(h.server.stats.drops.MessageTooLarge - too, 1);
    assert.equal(h.server.stats.drops.StaleSession - stale, 2);
    assert.equal(h.server.stats.drops.UnknownRecipients - unknown, 1);
  });

  it('refuses a malformed or nested client batch whole, counted as one malformed frame, and keeps the endpoint', async () => {
    const group = 'malformed';
    const receiver = await raw.join(h, group);
    const sender = await raw.join(h, group);
    const malformedBefore = h.server.stats.malformedFrames;
    const good = encodeBatch([encodeSend(header(1), 0, payloadOf(1)), encodeSend(header(2), 0, payloadOf(2))], 'client');
    const truncated = good.subarray(0, good.byteLength - 1);
    const nested = encodeBatch([encodeSend(header(3), 0, payloadOf(3)), encodeSend(header(4), 0, payloadOf(4))], 'client');
    const outer = new Uint8Array(4 + 2 + 16 + 64 + 2 + nested.byteLength);
    outer.set([FrameType.Batch, 0, 0, 2]);
    const first = encodeSend(header(5), 0, payloadOf(5));
    new DataView(outer.buffer).setUint16(4, first.byteLength);
    outer.set(first, 6);
    new DataView(outer.buffer).setUint16(6 + first.byteLength, nested.byteLength);
    outer.set(nested, 8 + first.byteLength);
    sender.send('durable', truncated);
    sender.send('durable', outer);
    sender.send('durable', encodeBatch([encodeSend(header(6), 0, payloadOf(6)), encodeSend(header(7), 0, payloadOf(7))], 'client'));
    const delivered = await framesOf(receiver, 2, isDeliver);
    assert.deepEqual(delivered.map((f) => f.sequenceNumber), [6, 7], 'nothing of a refused batch was routed, not even its first frame');
    assert.equal(h.server.stats.malformedFrames - malformedBefore, 2);
  });
});
