/** Binary data frames (packages/protocol/src/frames.ts): bytes in, exact fields or exact FrameErrors out. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  DATA_HEADER_BYTES,
  DropReason,
  FrameError,
  FrameFlag,
  FrameType,
  SlowRecipientReason,
  MAX_IDENTITY_BYTES,
  MAX_RECIPIENT_LIST_ENTRIES,
  decodeClientFrame,
  decodeServerFrame,
  encodeBarrier,
  encodeBarrierAck,
  encodeDeliver,
  encodeEndpointLeft,
  encodeCopiesDropped,
  encodeNotice,
  encodeSlowRecipient,
  encodeSend,
  encodeSessionClose,
  encodeSessionClosed,
  encodeSetRecipients,
  rewriteSendAsDeliver,
  type FrameErrorCode,
} from '@backchannel/protocol';

/** Asserts that `decode` throws a FrameError with exactly this code and message. */
function assertFrameError(decode: () => unknown, code: FrameErrorCode, message: string): void {
  assert.throws(decode, (error: unknown) => {
    assert.ok(error instanceof FrameError, `expected a FrameError, got ${String(error)}`);
    assert.equal(error.name, 'FrameError');
    assert.equal(error.code, code);
    assert.equal(error.message, message);
    return true;
  });
}

const header = { flags: FrameFlag.Lossy | FrameFlag.HighPriority, channelId: 0x1234, sessionId: 0x89abcdef, sequenceNumber: 0x01020304 };
const payload = Uint8Array.of(0xaa, 0xbb, 0xcc);

/** A SetRecipients frame built by hand: header for channel 7, session 1, generation 1, then `body`. */
function setRecipientsBytes(count: number, ...body: number[]): Uint8Array {
  return Uint8Array.of(FrameType.SetRecipients, count, 0x00, 0x07, 0, 0, 0, 1, 0, 0, 0, 1, ...body);
}

describe('Send frame', () => {
  it('lays out its header big-endian: type, flags, channel at 2, session at 4, sequence at 8, generation at 12, payload at 16', () => {
    const frame = encodeSend(header, 0xfedcba98, payload);
    assert.deepEqual(
      frame,
      Uint8Array.of(
        0x01, // type: Send
        0x03, // flags: Lossy | HighPriority
        0x12, 0x34, // channel id
        0x89, 0xab, 0xcd, 0xef, // session id
        0x01, 0x02, 0x03, 0x04, // sequence number
        0xfe, 0xdc, 0xba, 0x98, // recipients generation
        0xaa, 0xbb, 0xcc, // payload
      ),
    );
  });

  it('has a 16-byte header', () => {
    assert.equal(DATA_HEADER_BYTES, 16);
    assert.equal(encodeSend(header, 0, new Uint8Array(0)).byteLength, 16);
    assert.equal(encodeSend(header, 0, new Uint8Array(100)).byteLength, 116);
  });

  it('round-trips through decodeClientFrame with every field intact', () => {
    const decoded = decodeClientFrame(encodeSend(header, 0xfedcba98, payload));
    assert.deepEqual(decoded, {
      type: FrameType.Send,
      flags: 0x03,
      channelId: 0x1234,
      sessionId: 0x89abcdef,
      sequenceNumber: 0x01020304,
      recipientsGeneration: 0xfedcba98,
      payload: Uint8Array.of(0xaa, 0xbb, 0xcc),
    });
  });

  it('round-trips the largest field values as unsigned numbers', () => {
    const max = { flags: 0, channelId: 65535, sessionId: 0xffffffff, sequenceNumber: 0xffffffff };
    const decoded = decodeClientFrame(encodeSend(max, 0xffffffff, new Uint8Array(0)));
    assert.equal(decoded.type, FrameType.Send);
    if (decoded.type !== FrameType.Send) return;
    assert.equal(decoded.flags, 0);
    assert.equal(decoded.channelId, 65535);
    assert.equal(decoded.sessionId, 4294967295);
    assert.equal(decoded.sequenceNumber, 4294967295);
    assert.equal(decoded.recipientsGeneration, 4294967295);
    assert.equal(decoded.payload.byteLength, 0);
  });

  it('decodes the payload as a view on the received bytes, without a copy', () => {
    const frame = encodeSend(header, 1, payload);
    const decoded = decodeClientFrame(frame);
    assert.equal(decoded.type, FrameType.Send);
    if (decoded.type !== FrameType.Send) return;
    assert.equal(decoded.payload.buffer, frame.buffer);
    assert.equal(decoded.payload.byteOffset, frame.byteOffset + 16);
  });
});

describe('Deliver frame', () => {
  it('round-trips through decodeServerFrame with every field intact', () => {
    const decoded = decodeServerFrame(encodeDeliver(header, 0x0badf00d, payload));
    assert.deepEqual(decoded, {
      type: FrameType.Deliver,
      flags: 0x03,
      channelId: 0x1234,
      sessionId: 0x89abcdef,
      sequenceNumber: 0x01020304,
      senderEndpointId: 0x0badf00d,
      payload: Uint8Array.of(0xaa, 0xbb, 0xcc),
    });
  });

  it('has the layout of a Send frame with type 0x81 and the sender endpoint at offset 12', () => {
    const frame = encodeDeliver(header, 0x0badf00d, payload);
    assert.equal(frame[0], 0x81);
    assert.deepEqual(frame.subarray(1, 12), encodeSend(header, 0, payload).subarray(1, 12));
    assert.deepEqual(frame.subarray(12, 16), Uint8Array.of(0x0b, 0xad, 0xf0, 0x0d));
    assert.deepEqual(frame.subarray(16), payload);
  });
});

describe('rewriteSendAsDeliver', () => {
  it('changes only byte 0 and bytes 12-15, in place', () => {
    const frame = encodeSend(header, 0xfedcba98, payload);
    const before = frame.slice();
    const result = rewriteSendAsDeliver(frame, 0x01020304);
    assert.equal(result, frame);
    const changed: number[] = [];
    for (let i = 0; i < frame.byteLength; i++) if (frame[i] !== before[i]) changed.push(i);
    assert.deepEqual(changed, [0, 12, 13, 14, 15]);
    assert.equal(frame[0], FrameType.Deliver);
    assert.deepEqual(frame.subarray(12, 16), Uint8Array.of(0x01, 0x02, 0x03, 0x04));
  });

  it('yields the frame encodeDeliver builds for the same message', () => {
    const rewritten = rewriteSendAsDeliver(encodeSend(header, 5, payload), 77);
    assert.deepEqual(rewritten, encodeDeliver(header, 77, payload));
  });

  it('yields a Deliver frame that decodeServerFrame reads back with the sender endpoint id', () => {
    const decoded = decodeServerFrame(rewriteSendAsDeliver(encodeSend(header, 5, payload), 77));
    assert.equal(decoded.type, FrameType.Deliver);
    if (decoded.type !== FrameType.Deliver) return;
    assert.equal(decoded.senderEndpointId, 77);
    assert.equal(decoded.channelId, 0x1234);
    assert.equal(decoded.sessionId, 0x89abcdef);
    assert.equal(decoded.sequenceNumber, 0x01020304);
    assert.deepEqual(decoded.payload, payload);
  });
});

describe('SessionClose frame', () => {
  it('is 8 bytes: type 0x02, a reserved byte, channel at 2, session at 4', () => {
    assert.deepEqual(encodeSessionClose(0x1234, 0x89abcdef), Uint8Array.of(0x02, 0x00, 0x12, 0x34, 0x89, 0xab, 0xcd, 0xef));
  });

  it('round-trips through decodeClientFrame', () => {
    assert.deepEqual(decodeClientFrame(encodeSessionClose(65535, 0xffffffff)), {
      type: FrameType.SessionClose,
      channelId: 65535,
      sessionId: 0xffffffff,
    });
  });
});

describe('SessionClosed frame', () => {
  it('is 12 bytes: type 0x82, a reserved byte, channel at 2, session at 4, sender endpoint at 8', () => {
    assert.deepEqual(
      encodeSessionClosed(0x1234, 0x89abcdef, 0x01020304),
      Uint8Array.of(0x82, 0x00, 0x12, 0x34, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x02, 0x03, 0x04),
    );
  });

  it('round-trips through decodeServerFrame', () => {
    assert.deepEqual(decodeServerFrame(encodeSessionClosed(9, 3, 0xffffffff)), {
      type: FrameType.SessionClosed,
      channelId: 9,
      sessionId: 3,
      senderEndpointId: 0xffffffff,
    });
  });
});

describe('Notice frame', () => {
  it('is 12 bytes: type 0x83, reason, channel at 2, session at 4, sequence at 8', () => {
    assert.deepEqual(
      encodeNotice(DropReason.Bandwidth, 0x1234, 0x89abcdef, 0x01020304),
      Uint8Array.of(0x83, 0x03, 0x12, 0x34, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x02, 0x03, 0x04),
    );
  });

  it('round-trips every drop reason through decodeServerFrame', () => {
    for (const reason of Object.values(DropReason)) {
      assert.deepEqual(decodeServerFrame(encodeNotice(reason, 7, 2, 0xfffffffe)), {
        type: FrameType.Notice,
        reason,
        channelId: 7,
        sessionId: 2,
        sequenceNumber: 0xfffffffe,
      });
    }
  });

  it('refuses a notice with an unknown reason', () => {
    const unknownBelow = encodeNotice(DropReason.Bandwidth, 7, 2, 1);
    unknownBelow[1] = 0;
    assertFrameError(() => decodeServerFrame(unknownBelow), 'BadFlags', 'unknown notice reason 0');
    const unknownAbove = encodeNotice(DropReason.Bandwidth, 7, 2, 1);
    const above = Math.max(...Object.values(DropReason)) + 1;
    unknownAbove[1] = above;
    assertFrameError(() => decodeServerFrame(unknownAbove), 'BadFlags', `unknown notice reason ${above}`);
  });
});

describe('SetRecipients frame', () => {
  it('lays out count at 1, channel at 2, session at 4, generation at 8, then length-prefixed UTF-8 ids', () => {
    assert.deepEqual(
      encodeSetRecipients(0x1234, 0x89abcdef, 0x01020304, ['ab', 'é']),
      Uint8Array.of(0x03, 2, 0x12, 0x34, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x02, 0x03, 0x04, 2, 0x61, 0x62, 2, 0xc3, 0xa9),
    );
  });

  it('round-trips through decodeClientFrame, multi-byte ids included', () => {
    assert.deepEqual(decodeClientFrame(encodeSetRecipients(1000, 4, 2, ['alice', 'bøb', '用户'])), {
      type: FrameType.SetRecipients,
      channelId: 1000,
      sessionId: 4,
      generation: 2,
      recipients: ['alice', 'bøb', '用户'],
    });
  });

  it('round-trips ids that begin with U+FEFF: inside an id it is data, not a byte order mark to strip', () => {
    const frame = encodeSetRecipients(1, 1, 1, ['\uFEFFalice', '\uFEFF']);
    assert.deepEqual(frame.subarray(12, 16), Uint8Array.of(8, 0xef, 0xbb, 0xbf));
    const decoded = decodeClientFrame(frame);
    assert.equal(decoded.type, FrameType.SetRecipients);
    if (decoded.type !== FrameType.SetRecipients) return;
    assert.deepEqual(decoded.recipients, ['\uFEFFalice', '\uFEFF']);
  });

  it('round-trips an empty list (everyone else in the call) as a bare 12-byte header', () => {
    const frame = encodeSetRecipients(1, 1, 3, []);
    assert.equal(frame.byteLength, 12);
    assert.deepEqual(decodeClientFrame(frame), { type: FrameType.SetRecipients, channelId: 1, sessionId: 1, generation: 3, recipients: [] });
  });

  it(`round-trips ${MAX_RECIPIENT_LIST_ENTRIES} entries and ids of ${MAX_IDENTITY_BYTES} bytes`, () => {
    const longest = 'x'.repeat(MAX_IDENTITY_BYTES);
    const many = Array.from({ length: MAX_RECIPIENT_LIST_ENTRIES }, (_, i) => `user-${i}`);
    const decodedLongest = decodeClientFrame(encodeSetRecipients(1, 1, 1, [longest]));
    assert.equal(decodedLongest.type, FrameType.SetRecipients);
    if (decodedLongest.type !== FrameType.SetRecipients) return;
    assert.deepEqual(decodedLongest.recipients, [longest]);
    const decodedMany = decodeClientFrame(encodeSetRecipients(1, 1, 1, many));
    assert.equal(decodedMany.type, FrameType.SetRecipients);
    if (decodedMany.type !== FrameType.SetRecipients) return;
    assert.deepEqual(decodedMany.recipients, many);
  });

  it(`refuses to encode more than ${MAX_RECIPIENT_LIST_ENTRIES} entries`, () => {
    const tooMany = Array.from({ length: 256 }, (_, i) => `user-${i}`);
    assert.throws(() => encodeSetRecipients(1, 1, 1, tooMany), {
      name: 'FrameError',
      code: 'BadRecipients',
      message: 'a recipient list frame carries at most 255 entries',
    });
  });

  it(`refuses to encode an id longer than ${MAX_IDENTITY_BYTES} bytes of UTF-8, counting bytes not characters`, () => {
    const expected = { name: 'FrameError',
      code: 'BadRecipients', message: 'identity ids must be 1–255 bytes of UTF-8' };
    assert.throws(() => encodeSetRecipients(1, 1, 1, ['x'.repeat(256)]), expected);
    // 128 characters, 256 bytes.
    assert.throws(() => encodeSetRecipients(1, 1, 1, ['é'.repeat(128)]), expected);
  });

  it('refuses to encode an empty id', () => {
    assert.throws(() => encodeSetRecipients(1, 1, 1, ['alice', '']), {
      name: 'FrameError',
      code: 'BadRecipients',
      message: 'identity ids must be 1–255 bytes of UTF-8',
    });
  });

  it('refuses a zero-length entry', () => {
    assertFrameError(() => decodeClientFrame(setRecipientsBytes(2, 1, 0x61, 0)), 'BadRecipients', 'recipient 1 is empty');
  });

  it('refuses an entry that is not valid UTF-8', () => {
    assertFrameError(() => decodeClientFrame(setRecipientsBytes(1, 1, 0xff)), 'BadRecipients', 'recipient 0 is not valid UTF-8');
    // An overlong encoding of '/' and a lone surrogate half are invalid UTF-8 too.
    assertFrameError(() => decodeClientFrame(setRecipientsBytes(1, 2, 0xc0, 0xaf)), 'BadRecipients', 'recipient 0 is not valid UTF-8');
    assertFrameError(() => decodeClientFrame(setRecipientsBytes(1, 3, 0xed, 0xa0, 0x80)), 'BadRecipients', 'recipient 0 is not valid UTF-8');
  });

  it('refuses bytes after the last entry', () => {
    assertFrameError(() => decodeClientFrame(setRecipientsBytes(1, 1, 0x61, 0x62)), 'BadRecipients', '1 trailing bytes after recipient list');
    assertFrameError(() => decodeClientFrame(setRecipientsBytes(0, 0, 0)), 'BadRecipients', '2 trailing bytes after recipient list');
  });

  it('refuses a list with fewer entries than its count', () => {
    assertFrameError(() => decodeClientFrame(setRecipientsBytes(2, 1, 0x61)), 'Truncated', 'recipient list truncated at entry 1');
  });

  it('refuses an entry longer than the bytes left', () => {
    assertFrameError(() => decodeClientFrame(setRecipientsBytes(1, 3, 0x61, 0x62)), 'Truncated', 'recipient 0 truncated');
  });

  it('refuses a frame shorter than its 12-byte header', () => {
    assertFrameError(() => decodeClientFrame(setRecipientsBytes(0).subarray(0, 11)), 'Truncated', 'SetRecipients header truncated');
  });
});

describe('decoders refuse malformed frames', () => {
  it('refuses an empty frame in both directions', () => {
    assertFrameError(() => decodeClientFrame(new Uint8Array(0)), 'Truncated', 'empty frame');
    assertFrameError(() => decodeServerFrame(new Uint8Array(0)), 'Truncated', 'empty frame');
  });

  it('refuses a Send frame shorter than its header', () => {
    const frame = encodeSend(header, 1, new Uint8Array(0)).subarray(0, 15);
    assertFrameError(() => decodeClientFrame(frame), 'Truncated', 'data frame of 15 bytes is shorter than its 16-byte header');
  });

  it('refuses a Deliver frame shorter than its header', () => {
    const frame = encodeDeliver(header, 1, new Uint8Array(0)).subarray(0, 1);
    assertFrameError(() => decodeServerFrame(frame), 'Truncated', 'data frame of 1 bytes is shorter than its 16-byte header');
  });

  it('refuses fixed-size control frames of any other size', () => {
    const close = encodeSessionClose(1, 1);
    assertFrameError(() => decodeClientFrame(close.subarray(0, 7)), 'Truncated', 'SessionClose frame must be 8 bytes, got 7');
    assertFrameError(() => decodeClientFrame(Uint8Array.of(...close, 0)), 'Truncated', 'SessionClose frame must be 8 bytes, got 9');
    const closed = encodeSessionClosed(1, 1, 1);
    assertFrameError(() => decodeServerFrame(closed.subarray(0, 11)), 'Truncated', 'SessionClosed frame must be 12 bytes, got 11');
    assertFrameError(() => decodeServerFrame(Uint8Array.of(...closed, 0)), 'Truncated', 'SessionClosed frame must be 12 bytes, got 13');
    const notice = encodeNotice(DropReason.TooManySenders, 1, 1, 1);
    assertFrameError(() => decodeServerFrame(notice.subarray(0, 2)), 'Truncated', 'Notice frame must be 12 bytes, got 2');
    assertFrameError(() => decodeServerFrame(Uint8Array.of(...notice, 0)), 'Truncated', 'Notice frame must be 12 bytes, got 13');
  });

  it('refuses every strict prefix of every frame with a FrameError, never another error', () => {
    const clientFrames = [encodeSend(header, 1, payload), encodeSessionClose(3, 4), encodeSetRecipients(3, 4, 1, ['alice', 'bob'])];
    const serverFrames = [encodeDeliver(header, 1, payload), encodeSessionClosed(3, 4, 5), encodeNotice(DropReason.StaleSession, 3, 4, 5)];
    const prefixes = (frame: Uint8Array): Uint8Array[] => {
      // Data frames are valid with a shorter payload: only prefixes shorter than the header are malformed.
      const end = frame[0] === FrameType.Send || frame[0] === FrameType.Deliver ? DATA_HEADER_BYTES : frame.byteLength;
      return Array.from({ length: end }, (_, length) => frame.subarray(0, length));
    };
    for (const frame of clientFrames) {
      for (const prefix of prefixes(frame)) {
        assert.throws(() => decodeClientFrame(prefix), FrameError, `prefix of ${prefix.byteLength} bytes of type ${frame[0]}`);
      }
    }
    for (const frame of serverFrames) {
      for (const prefix of prefixes(frame)) {
        assert.throws(() => decodeServerFrame(prefix), FrameError, `prefix of ${prefix.byteLength} bytes of type ${frame[0]}`);
      }
    }
  });

  it('SlowRecipient and CopiesDropped (extension): 16 bytes, a known reason, a zero reserved byte', () => {
    const slow = encodeSlowRecipient(SlowRecipientReason.Dropping, 9, 2, 77, 5);
    assert.deepEqual(decodeServerFrame(slow), { type: FrameType.SlowRecipient, reason: SlowRecipientReason.Dropping, channelId: 9, sessionId: 2, recipientEndpointId: 77, droppedCount: 5 });
    assertFrameError(() => decodeServerFrame(slow.subarray(0, 15)), 'Truncated', 'SlowRecipient frame must be 16 bytes, got 15');
    const badReason = slow.slice();
    badReason[1] = 0;
    assertFrameError(() => decodeServerFrame(badReason), 'BadFlags', 'unknown slow-recipient reason 0');
    const copies = encodeCopiesDropped(9, 2, 77, 5);
    assert.deepEqual(decodeServerFrame(copies), { type: FrameType.CopiesDropped, channelId: 9, sessionId: 2, senderEndpointId: 77, count: 5 });
    const reserved = copies.slice();
    reserved[1] = 1;
    assertFrameError(() => decodeServerFrame(reserved), 'BadFlags', 'CopiesDropped byte 1 must be 0, got 1');
    assertFrameError(() => decodeClientFrame(copies), 'UnknownType', 'unknown client frame type 0x8a');
  });

  it('refuses unknown frame types', () => {
    assertFrameError(() => decodeClientFrame(Uint8Array.of(0x00, 0, 0, 1)), 'UnknownType', 'unknown client frame type 0x0');
    assertFrameError(() => decodeClientFrame(Uint8Array.of(0x08, 0, 0, 1)), 'UnknownType', 'unknown client frame type 0x8');
    assertFrameError(() => decodeServerFrame(Uint8Array.of(0xfe, 0, 0, 1)), 'UnknownType', 'unknown server frame type 0xfe');
  });

  it('refuses a batch (0x07, 0x88): it is split with readBatch before its frames are decoded', () => {
    assertFrameError(() => decodeClientFrame(Uint8Array.of(0x07, 0, 0, 2)), 'BadBatch', 'a Batch is split (readBatch) before its frames are decoded');
    assertFrameError(() => decodeServerFrame(Uint8Array.of(0x88, 0, 0, 2)), 'BadBatch', 'a ServerBatch is split (readBatch) before its frames are decoded');
    assertFrameError(() => decodeServerFrame(Uint8Array.of(0x07, 0, 0, 2)), 'UnknownType', 'unknown server frame type 0x7');
    assertFrameError(() => decodeServerFrame(Uint8Array.of(0xff)), 'UnknownType', 'unknown server frame type 0xff');
  });

  it('decodeClientFrame refuses every server frame type', () => {
    assertFrameError(() => decodeClientFrame(encodeDeliver(header, 1, payload)), 'UnknownType', 'unknown client frame type 0x81');
    assertFrameError(() => decodeClientFrame(encodeSessionClosed(1, 1, 1)), 'UnknownType', 'unknown client frame type 0x82');
    assertFrameError(() => decodeClientFrame(encodeNotice(DropReason.Bandwidth, 1, 1, 1)), 'UnknownType', 'unknown client frame type 0x83');
    assertFrameError(() => decodeClientFrame(encodeEndpointLeft(1)), 'UnknownType', 'unknown client frame type 0x84');
    assertFrameError(() => decodeClientFrame(encodeBarrierAck(1)), 'UnknownType', 'unknown client frame type 0x85');
  });

  it('lays out Barrier, BarrierAck and EndpointLeft as a type byte, three reserved bytes and a big-endian uint32', () => {
    assert.deepEqual([...encodeBarrier(0x01020304)], [0x04, 0, 0, 0, 1, 2, 3, 4]);
    assert.deepEqual([...encodeBarrierAck(0x01020304)], [0x85, 0, 0, 0, 1, 2, 3, 4]);
    assert.deepEqual([...encodeEndpointLeft(0xfffffffe)], [0x84, 0, 0, 0, 0xff, 0xff, 0xff, 0xfe]);
    assert.deepEqual(decodeClientFrame(encodeBarrier(7)), { type: FrameType.Barrier, token: 7 });
    assert.deepEqual(decodeServerFrame(encodeBarrierAck(7)), { type: FrameType.BarrierAck, token: 7 });
    assert.deepEqual(decodeServerFrame(encodeEndpointLeft(9)), { type: FrameType.EndpointLeft, endpointId: 9 });
    assertFrameError(() => decodeClientFrame(encodeBarrier(7).subarray(0, 7)), 'Truncated', 'Barrier frame must be 8 bytes, got 7');
    assertFrameError(() => decodeServerFrame(Uint8Array.of(...encodeEndpointLeft(9), 0)), 'Truncated', 'EndpointLeft frame must be 8 bytes, got 9');
  });

  it('decodeServerFrame refuses every client frame type', () => {
    assertFrameError(() => decodeServerFrame(encodeSend(header, 1, payload)), 'UnknownType', 'unknown server frame type 0x1');
    assertFrameError(() => decodeServerFrame(encodeSessionClose(1, 1)), 'UnknownType', 'unknown server frame type 0x2');
    assertFrameError(() => decodeServerFrame(encodeSetRecipients(1, 1, 1, ['a'])), 'UnknownType', 'unknown server frame type 0x3');
  });

  it('refuses data frames with unknown flag bits', () => {
    const send = encodeSend(header, 1, payload);
    send[1] = 0x10;
    assertFrameError(() => decodeClientFrame(send), 'BadFlags', 'unknown flag bits 0x10');
    send[1] = FrameFlag.Retain; // an extension's flag (state for late joiners): known
    assert.equal((decodeClientFrame(send) as { flags: number }).flags, FrameFlag.Retain);
    const deliver = encodeDeliver(header, 1, payload);
    deliver[1] = 0x83;
    assertFrameError(() => decodeServerFrame(deliver), 'BadFlags', 'unknown flag bits 0x83');
  });

  it('refuses channel id 0 in every frame that carries a channel', () => {
    const message = 'channel id 0 out of range';
    assertFrameError(() => decodeClientFrame(encodeSend({ ...header, channelId: 0 }, 1, payload)), 'BadChannel', message);
    assertFrameError(() => decodeServerFrame(encodeDeliver({ ...header, channelId: 0 }, 1, payload)), 'BadChannel', message);
    assertFrameError(() => decodeClientFrame(encodeSessionClose(0, 1)), 'BadChannel', message);
    assertFrameError(() => decodeServerFrame(encodeSessionClosed(0, 1, 1)), 'BadChannel', message);
    assertFrameError(() => decodeServerFrame(encodeNotice(DropReason.Bandwidth, 0, 1, 1)), 'BadChannel', message);
    assertFrameError(() => decodeClientFrame(encodeSetRecipients(0, 1, 1, ['a'])), 'BadChannel', message);
  });

  it('refuses session id 0, which is reserved, in every frame that carries a session', () => {
    const message = 'session id 0 is reserved';
    assertFrameError(() => decodeClientFrame(encodeSend({ ...header, sessionId: 0 }, 1, payload)), 'BadSession', message);
    assertFrameError(() => decodeServerFrame(encodeDeliver({ ...header, sessionId: 0 }, 1, payload)), 'BadSession', message);
    assertFrameError(() => decodeClientFrame(encodeSessionClose(1, 0)), 'BadSession', message);
    assertFrameError(() => decodeServerFrame(encodeSessionClosed(1, 0, 1)), 'BadSession', message);
    assertFrameError(() => decodeServerFrame(encodeNotice(DropReason.Bandwidth, 1, 0, 1)), 'BadSession', message);
    assertFrameError(() => decodeClientFrame(encodeSetRecipients(1, 0, 1, ['a'])), 'BadSession', message);
  });
});
