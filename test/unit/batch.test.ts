import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  BATCH_HEADER_BYTES,
  FrameError,
  FrameType,
  MAX_BATCH_BYTES,
  MAX_BATCH_FRAMES,
  PROTOCOL_VERSION,
  batchBytes,
  checkBatch,
  decodeClientFrame,
  decodeServerFrame,
  encodeBarrier,
  encodeBatch,
  encodeDeliver,
  encodeLinkAck,
  encodeSend,
  isBatch,
  readBatch,
  speaksBatches,
} from '@backchannel/protocol';

const header = (sequenceNumber: number) => ({ flags: 0, channelId: 7, sessionId: 3, sequenceNumber });

function frames(batch: Uint8Array, from: 'client' | 'server'): Uint8Array[] {
  const out: Uint8Array[] = [];
  readBatch(batch, from, (frame) => out.push(frame));
  return out;
}

function refused(batch: Uint8Array, from: 'client' | 'server', code: string, message?: RegExp): void {
  assert.throws(
    () => readBatch(batch, from, () => assert.fail('a malformed batch must be refused before any frame is visited')),
    (error: unknown) => error instanceof FrameError && error.code === code && (message === undefined || message.test(error.message)),
  );
}

describe('batch frames', () => {
  it('carry frames in order, each a view on the batch, and count as a ServerBatch (0x88) or Batch (0x07)', () => {
    const inner = [encodeDeliver(header(1), 9, Uint8Array.of(1, 2, 3)), encodeLinkAck(5, 'server'), encodeDeliver(header(2), 9, new Uint8Array(0))];
    const batch = encodeBatch(inner, 'server');
    assert.equal(batch[0], FrameType.ServerBatch);
    assert.equal(batch.byteLength, batchBytes(3, inner.reduce((n, f) => n + f.byteLength, 0)));
    assert.ok(isBatch(batch));
    const read = frames(batch, 'server');
    assert.deepEqual(read, inner);
    for (const frame of read) assert.equal(frame.buffer, batch.buffer, 'a view, not a copy');
    const first = decodeServerFrame(read[0]!);
    assert.equal(first.type, FrameType.Deliver);
    assert.equal(first.type === FrameType.Deliver && first.sequenceNumber, 1);

    const fromClient = encodeBatch([encodeSend(header(1), 0, Uint8Array.of(4)), encodeBarrier(8)], 'client');
    assert.equal(fromClient[0], FrameType.Batch);
    assert.deepEqual(frames(fromClient, 'client').map((f) => decodeClientFrame(f).type), [FrameType.Send, FrameType.Barrier]);
  });

  it('are read only from the side that sends them, and never by the single-frame decoders', () => {
    const batch = encodeBatch([encodeBarrier(1), encodeBarrier(2)], 'client');
    refused(batch, 'server', 'BadBatch', /not a ServerBatch/);
    assert.throws(() => decodeClientFrame(batch), (e: unknown) => e instanceof FrameError && e.code === 'BadBatch');
    const serverBatch = encodeBatch([encodeLinkAck(1, 'server'), encodeLinkAck(2, 'server')], 'server');
    assert.throws(() => decodeServerFrame(serverBatch), (e: unknown) => e instanceof FrameError && e.code === 'BadBatch');
  });

  it('refuse a nested batch, whole', () => {
    const nested = encodeBatch([encodeBarrier(1), encodeBarrier(2)], 'client');
    // Built by hand: the encoder refuses it too.
    assert.throws(() => encodeBatch([encodeBarrier(3), nested], 'client'), (e: unknown) => e instanceof FrameError && e.code === 'BadBatch');
    const outer = encodeBatch([encodeBarrier(3), encodeBarrier(4)], 'client');
    const bytes = new Uint8Array(outer.byteLength - 8 + nested.byteLength);
    bytes.set(outer.subarray(0, BATCH_HEADER_BYTES + 2 + 8));
    new DataView(bytes.buffer).setUint16(BATCH_HEADER_BYTES + 2 + 8, nested.byteLength);
    bytes.set(nested, BATCH_HEADER_BYTES + 2 + 8 + 2);
    refused(bytes, 'client', 'BadBatch', /entry 1 is a batch/);
    // A server batch inside a client batch is a batch too.
    const serverInside = encodeBatch([encodeLinkAck(1, 'server'), encodeLinkAck(2, 'server')], 'server');
    bytes.set(serverInside.subarray(0, 1), BATCH_HEADER_BYTES + 2 + 8 + 2);
    refused(bytes, 'client', 'BadBatch');
  });

  it('refuse counts outside 2–MAX_BATCH_FRAMES, a reserved byte, empty entries, truncation and trailing bytes', () => {
    const good = encodeBatch([encodeBarrier(1), encodeBarrier(2)], 'client');
    const edit = (at: number, value: number): Uint8Array => {
      const copy = good.slice();
      copy[at] = value;
      return copy;
    };
    refused(edit(3, 1), 'client', 'BadBatch', /count 1/); // count 1: one frame goes alone
    refused(edit(3, 0), 'client', 'BadBatch', /count 0/);
    refused(edit(3, 3), 'client', 'Truncated', /entry 2/);
    refused(edit(1, 1), 'client', 'BadBatch', /reserved/);
    refused(good.subarray(0, 3), 'client', 'Truncated');
    refused(good.subarray(0, good.byteLength - 1), 'client', 'Truncated', /entry 1 truncated/);
    const trailing = new Uint8Array(good.byteLength + 1);
    trailing.set(good);
    refused(trailing, 'client', 'BadBatch', /trailing/);
    const empty = Uint8Array.of(FrameType.Batch, 0, 0, 2, 0, 0, 0, 1, 0x04);
    refused(empty, 'client', 'BadBatch', /entry 0 is empty/);
    const tooMany = new Uint8Array(BATCH_HEADER_BYTES);
    tooMany[0] = FrameType.Batch;
    new DataView(tooMany.buffer).setUint16(2, MAX_BATCH_FRAMES + 1);
    refused(tooMany, 'client', 'BadBatch', /count 1025/);
  });

  it('bound the encoder: count, size, empty frames', () => {
    const barrier = encodeBarrier(1);
    assert.throws(() => encodeBatch([barrier], 'client'), (e: unknown) => e instanceof FrameError && e.code === 'BadBatch');
    assert.throws(() => encodeBatch(new Array<Uint8Array>(MAX_BATCH_FRAMES + 1).fill(barrier), 'client'), /1025/);
    assert.equal(checkBatch(encodeBatch(new Array<Uint8Array>(MAX_BATCH_FRAMES).fill(barrier), 'client'), 'client'), MAX_BATCH_FRAMES);
    assert.throws(() => encodeBatch([barrier, new Uint8Array(0)], 'client'), /1–65535/);
    const half = new Uint8Array(MAX_BATCH_BYTES / 2);
    half[0] = FrameType.Barrier;
    assert.throws(() => encodeBatch([half, half], 'client'), /at most 65536/);
    const oversize = new Uint8Array(MAX_BATCH_BYTES + 1);
    oversize[0] = FrameType.Batch;
    refused(oversize, 'client', 'BadBatch', /over 65536/);
  });

  it('are spoken from protocol 3 on', () => {
    assert.equal(PROTOCOL_VERSION, 4);
    assert.equal(speaksBatches(2), false);
    assert.equal(speaksBatches(3), true);
    assert.equal(speaksBatches(4), true);
  });
});
