/** The server's per-recipient coalescing (packages/server/src/rtc/Coalescer.ts), with the end of a turn driven by hand. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { FrameType, MAX_BATCH_BYTES, MAX_BATCH_FRAMES, batchBytes, encodeDeliver, readBatch } from '@backchannel/protocol';
import { FrameCoalescer, TurnFlusher } from '../../packages/server/src/rtc/Coalescer.js';

/** A flusher whose turn ends when the test says so. */
function manualTurns(): { flusher: TurnFlusher; endTurn: () => void } {
  let pending: (() => void) | undefined;
  const flusher = new TurnFlusher((run) => {
    assert.equal(pending, undefined, 'one deferred flush per turn');
    pending = run;
  });
  return {
    flusher,
    endTurn: () => {
      const run = pending;
      pending = undefined;
      run?.();
    },
  };
}

const frame = (n: number, size = 8): Uint8Array => encodeDeliver({ flags: 0, channelId: 1, sessionId: 1, sequenceNumber: n }, 2, new Uint8Array(size));

/** What a channel received, each SCTP message split into sequence numbers: [[1], [2, 3]] is a frame, then a batch of two. */
function recorder(): { out: (message: Uint8Array) => void; messages: number[][] } {
  const messages: number[][] = [];
  const seq = (f: Uint8Array): number => new DataView(f.buffer, f.byteOffset).getUint32(8);
  return {
    messages,
    out: (message) => {
      if (message[0] !== FrameType.ServerBatch) return void messages.push([seq(message)]);
      const inner: number[] = [];
      readBatch(message, 'server', (f) => inner.push(seq(f)));
      messages.push(inner);
    },
  };
}

describe('FrameCoalescer', () => {
  it('sends the first frame of a turn at once and the rest of the turn as one batch at its end', () => {
    const { flusher, endTurn } = manualTurns();
    const channel = recorder();
    const coalescer = new FrameCoalescer(channel.out, flusher, MAX_BATCH_BYTES);
    coalescer.send(frame(1));
    assert.deepEqual(channel.messages, [[1]], 'an idle channel adds no wait');
    coalescer.send(frame(2));
    coalescer.send(frame(3));
    coalescer.send(frame(4));
    assert.equal(coalescer.pendingBytes, 3 * frame(0).byteLength);
    endTurn();
    assert.deepEqual(channel.messages, [[1], [2, 3, 4]]);
    assert.equal(coalescer.pendingBytes, 0);
    // The next turn starts idle again.
    coalescer.send(frame(5));
    coalescer.send(frame(6));
    endTurn();
    assert.deepEqual(channel.messages, [[1], [2, 3, 4], [5], [6]], 'one pending frame goes alone, not as a batch of one');
  });

  it('splits at the byte bound and the frame bound, and sends a frame too large to share a batch alone, in order', () => {
    const { flusher, endTurn } = manualTurns();
    const channel = recorder();
    const size = frame(0, 100).byteLength;
    const coalescer = new FrameCoalescer(channel.out, flusher, batchBytes(3, 3 * size));
    for (let n = 1; n <= 8; n++) coalescer.send(frame(n, 100));
    coalescer.send(frame(9, 400)); // cannot share a batch of this bound with anything
    coalescer.send(frame(10, 100));
    endTurn();
    assert.deepEqual(channel.messages, [[1], [2, 3, 4], [5, 6, 7], [8], [9], [10]]);

    const many = recorder();
    const wide = new FrameCoalescer(many.out, flusher, MAX_BATCH_BYTES);
    for (let n = 0; n <= MAX_BATCH_FRAMES + 1; n++) wide.send(frame(n, 1));
    endTurn();
    assert.deepEqual(many.messages.map((m) => m.length), [1, MAX_BATCH_FRAMES, 1]);
  });

  it('encodes one batch for every recipient of the same frames in a turn (a broadcast)', () => {
    const { flusher, endTurn } = manualTurns();
    const recipients = Array.from({ length: 5 }, () => recorder());
    const coalescers = recipients.map((r) => new FrameCoalescer(r.out, flusher, MAX_BATCH_BYTES));
    const shared = [frame(1), frame(2), frame(3)];
    for (const f of shared) for (const c of coalescers) c.send(f);
    const sent: Uint8Array[] = [];
    const spy = new FrameCoalescer((m) => sent.push(m), flusher, MAX_BATCH_BYTES);
    spy.send(frame(0));
    spy.send(shared[1]!);
    spy.send(shared[2]!);
    endTurn();
    for (const r of recipients) assert.deepEqual(r.messages, [[1], [2, 3]]);
    assert.deepEqual(flusher.counters, { encoded: 1, shared: 5 });
    assert.equal(sent.length, 2);
  });

  it('drops what waits once discarded, and sends nothing more', () => {
    const { flusher, endTurn } = manualTurns();
    const channel = recorder();
    const coalescer = new FrameCoalescer(channel.out, flusher, MAX_BATCH_BYTES);
    coalescer.send(frame(1));
    coalescer.send(frame(2));
    coalescer.discard();
    coalescer.send(frame(3));
    endTurn();
    assert.deepEqual(channel.messages, [[1]]);
    assert.equal(coalescer.pendingBytes, 0);
  });
});
