/**
 * Property-based fuzz tests of the wire decoders and encoders (packages/protocol): whatever bytes or text a
 * peer sends, a decoder returns a well-formed message or throws its one typed error, and every encoder's
 * output decodes back to what was encoded. Seed and run count come from the environment so a long campaign
 * and the reproduction of a failure use the same file; docs/fuzzing.md explains both.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import {
  DATA_HEADER_BYTES,
  DropReason,
  FrameError,
  FrameFlag,
  FrameType,
  MAX_CHANNEL_ID,
  MAX_IDENTITY_BYTES,
  MAX_SIGNALING_MESSAGE_BYTES,
  MIN_CHANNEL_ID,
  PROTOCOL_VERSION,
  SignalingError,
  SlowRecipientReason,
  clientMessageSchema,
  decodeClientFrame,
  decodeServerFrame,
  encodeBatch,
  encodeDeliver,
  encodeNotice,
  encodeCopiesDropped,
  encodeReceipt,
  encodeSlowRecipient,
  encodeSend,
  encodeSessionClose,
  encodeSessionClosed,
  encodeSetRecipients,
  encodeSignaling,
  parseClientMessage,
  parseServerMessage,
  readBatch,
  rewriteSendAsDeliver,
  serverMessageSchema,
  type ClientFrame,
  type ClientMessage,
  type DataFrameHeader,
  type FrameErrorCode,
  type ServerFrame,
  type ServerMessage,
} from '@backchannel/protocol';

// ------------------------------------------------------------------------------------------ run settings

/** A fixed seed and a bounded run count keep the suite deterministic and quick; override both to fuzz longer. */
const FUZZ = {
  seed: integerFromEnv('BACKCHANNEL_FUZZ_SEED', 20261121),
  numRuns: integerFromEnv('BACKCHANNEL_FUZZ_RUNS', 300),
  // Replays one counterexample: the `path` fast-check prints next to the seed of a failure.
  ...(process.env.BACKCHANNEL_FUZZ_PATH ? { path: process.env.BACKCHANNEL_FUZZ_PATH } : {}),
};

function integerFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  return value;
}

// ------------------------------------------------------------------------------------------ frame inputs

const FRAME_ERROR_CODES: readonly FrameErrorCode[] = ['Truncated', 'UnknownType', 'BadFlags', 'BadChannel', 'BadSession', 'BadRecipients', 'BadBatch'];
const DROP_REASONS = Object.values(DropReason);
const SLOW_REASONS = Object.values(SlowRecipientReason);
const KNOWN_FLAGS = FrameFlag.Lossy | FrameFlag.HighPriority | FrameFlag.Retain | FrameFlag.Receipts;
const UINT32_MAX = 0xffffffff;
/** Largest fuzzed frame: above the 64 KiB an SCTP message usually carries, so length fields cannot wrap unseen. */
const MAX_FUZZ_FRAME_BYTES = 70 * 1024;
const MAX_PAYLOAD_BYTES = 32 * 1024;

const utf8 = (text: string): number => Buffer.byteLength(text, 'utf8');

/** `length` bytes, all `byte`, or an xorshift32 stream seeded by `byte` and `length` when `random`: large inputs, small counterexamples. */
function filledBytes(length: number, byte: number, random: boolean): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  if (!random) return bytes.fill(byte);
  let state = (Math.imul(byte + 1, 0x9e3779b1) ^ length) | 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state;
  }
  return bytes;
}

const channelId = fc.integer({ min: MIN_CHANNEL_ID, max: MAX_CHANNEL_ID });
const sessionId = fc.integer({ min: 1, max: UINT32_MAX });
const uint32 = fc.integer({ min: 0, max: UINT32_MAX });
const dataHeader: fc.Arbitrary<DataFrameHeader> = fc.record({
  flags: fc.integer({ min: 0, max: KNOWN_FLAGS }),
  channelId,
  sessionId,
  sequenceNumber: uint32,
});
/** Payloads up to 32 KiB: short ones byte by byte, long ones from a fill recipe so generation stays cheap. */
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 64, size: 'max' }),
  fc
    .record({ length: fc.integer({ min: 0, max: MAX_PAYLOAD_BYTES }), byte: fc.integer({ min: 0, max: 255 }), random: fc.boolean() })
    .map(({ length, byte, random }) => filledBytes(length, byte, random)),
);

/** Identity ids of 1–255 UTF-8 bytes: ASCII, any code point, multi-code-point graphemes, runs of multi-byte characters, some after a U+FEFF. */
const identityId = fc
  .tuple(
    fc.boolean(),
    fc.oneof(
      fc.string({ minLength: 1, maxLength: MAX_IDENTITY_BYTES, size: 'max' }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
      fc
        .constantFrom('é', '€', '用', '😀', '\u0000', '\uFEFF')
        .chain((c) => fc.integer({ min: 1, max: Math.floor(MAX_IDENTITY_BYTES / utf8(c)) + 1 }).map((n) => c.repeat(n))),
    ),
  )
  .map(([bom, id]) => (bom ? `\uFEFF${id}` : id))
  .filter((id) => utf8(id) >= 1 && utf8(id) <= MAX_IDENTITY_BYTES);
const recipientList = fc.array(identityId, { maxLength: 64, size: 'max' });

/** A field that is usually valid and sometimes at or past its bound, so most inputs fail on one check at a time. */
const mostly = <T>(valid: fc.Arbitrary<T>, edge: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof({ weight: 4, arbitrary: valid }, edge);
const anyChannel = mostly(channelId, fc.constantFrom(0, 1, MAX_CHANNEL_ID));
const anySession = mostly(sessionId, fc.constantFrom(0, 1, UINT32_MAX));
const anyHeader = fc.record({
  flags: mostly(fc.integer({ min: 0, max: KNOWN_FLAGS }), fc.integer({ min: 0, max: 255 })),
  channelId: anyChannel,
  sessionId: anySession,
  sequenceNumber: uint32,
});
const anyReason = mostly(fc.constantFrom(...DROP_REASONS), fc.integer({ min: 0, max: 255 }) as fc.Arbitrary<DropReason>);
const utf8Encoder = new TextEncoder();
/** A recipient-list entry: a valid id's bytes, or an empty or arbitrary (mostly invalid UTF-8) one. */
const anyEntry = mostly(
  identityId.map((id) => utf8Encoder.encode(id)),
  fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ minLength: 1, maxLength: 8 })),
);

/** A SetRecipients frame built byte by byte, since encodeSetRecipients refuses bad entries; `countDelta` puts the count off by one. */
function setRecipientsBytes(channel: number, session: number, generation: number, entries: readonly Uint8Array[], countDelta: number): Uint8Array {
  const header = encodeSetRecipients(channel, session, generation, []);
  header[1] = entries.length + countDelta;
  return Uint8Array.of(...header, ...entries.flatMap((entry) => [entry.byteLength, ...entry]));
}

/** Frames of each direction, fields mostly valid, payloads short so a counterexample stays readable. */
const clientFrame: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.tuple(anyHeader, uint32, fc.uint8Array({ maxLength: 8 })).map(([h, generation, p]) => encodeSend(h, generation, p)),
  fc.tuple(anyChannel, anySession).map(([c, s]) => encodeSessionClose(c, s)),
  fc
    .tuple(anyChannel, anySession, uint32, fc.array(anyEntry, { maxLength: 4 }), mostly(fc.constant(0), fc.constantFrom(-1, 1)))
    .map(([c, s, g, entries, delta]) => setRecipientsBytes(c, s, g, entries, delta)),
);
const serverFrame: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.tuple(anyHeader, uint32, fc.uint8Array({ maxLength: 8 })).map(([h, sender, p]) => encodeDeliver(h, sender, p)),
  fc.tuple(anyChannel, anySession, uint32).map(([c, s, e]) => encodeSessionClosed(c, s, e)),
  fc.tuple(anyReason, anyChannel, anySession, uint32).map(([r, c, s, q]) => encodeNotice(r, c, s, q)),
  fc
    .tuple(mostly(fc.constantFrom(...SLOW_REASONS), fc.integer({ min: 0, max: 255 }) as fc.Arbitrary<SlowRecipientReason>), anyChannel, anySession, uint32, uint32)
    .map(([r, c, s, e, n]) => encodeSlowRecipient(r, c, s, e, n)),
  fc.tuple(anyChannel, anySession, uint32, uint32).map(([c, s, e, n]) => encodeCopiesDropped(c, s, e, n)),
  fc.tuple(anyChannel, anySession, uint32, uint32).map(([c, s, e, n]) => encodeReceipt(c, s, e, n)),
);

/** Header fields as [offset, size]: byte 1 (flags, reason, count or reserved), channelId, sessionId, the uint32 at 8, the one at 12. */
const HEADER_FIELDS = { byte1: [1, 1], channel: [2, 2], session: [4, 4], at8: [8, 4], at12: [12, 4] } as const;

type Edit =
  | { set: [index: number, value: number] }
  | { field: [name: keyof typeof HEADER_FIELDS, value: number] }
  | { cut: number }
  | { append: Uint8Array };
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ set: fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })) }),
  // Field-aware, and favoured: the boundary values (0, 1, all ones) a decoder must refuse or accept in the field it checks.
  {
    weight: 3,
    arbitrary: fc.record({
      field: fc.tuple(
        fc.constantFrom(...(Object.keys(HEADER_FIELDS) as (keyof typeof HEADER_FIELDS)[])),
        fc.oneof({ weight: 3, arbitrary: fc.constantFrom(0, 1, 0xffff, UINT32_MAX) }, uint32),
      ),
    }),
  },
  fc.record({ cut: fc.nat() }),
  fc.record({ append: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);

function applyEdits(frame: Uint8Array, edits: readonly Edit[]): Uint8Array {
  let bytes = Uint8Array.from(frame);
  for (const e of edits) {
    if ('set' in e) {
      if (bytes.byteLength > 0) bytes[e.set[0] % bytes.byteLength] = e.set[1];
    } else if ('field' in e) {
      const [offset, size] = HEADER_FIELDS[e.field[0]];
      // Big-endian, truncated to the field's size; bytes past the frame's end are left out.
      for (let i = 0; i < size && offset + i < bytes.byteLength; i++) bytes[offset + i] = e.field[1] / 2 ** (8 * (size - 1 - i));
    } else if ('cut' in e) {
      bytes = bytes.slice(0, e.cut % (bytes.byteLength + 1));
    } else {
      bytes = Uint8Array.of(...bytes, ...e.append);
    }
  }
  return bytes;
}

/** A first byte that names a frame type most of the time, so inputs get past the type switch. */
const typeByte = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...Object.values(FrameType)) }, fc.integer({ min: 0, max: 255 }));

/**
 * What a decoder is fed, as a recipe: `head` bytes, then `tail.length` filler bytes (up to ~70 KB), placed
 * `offset` bytes into an ArrayBuffer with `slack` spare bytes after it, so a decoder that reads outside its
 * view, or copies instead of viewing, is caught. Counterexamples print the recipe, not 70 KB of bytes.
 */
interface FrameInput {
  readonly head: Uint8Array;
  readonly tail: { readonly length: number; readonly byte: number; readonly random: boolean };
  readonly offset: number;
  readonly slack: number;
}

/** Inputs for a decoder: mostly frames of its direction with bytes changed, cut or added, then noise and the other direction's frames. */
function frameInput(own: fc.Arbitrary<Uint8Array>, other: fc.Arbitrary<Uint8Array>): fc.Arbitrary<FrameInput> {
  // Half the frames stay as built: their fields already probe one bound at a time.
  const edits = fc.oneof(fc.constant([]), fc.array(edit, { minLength: 1, maxLength: 3 }));
  const edited = (frames: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> =>
    fc.tuple(frames, edits).map(([frame, changes]) => applyEdits(frame, changes));
  return fc.record({
    head: fc.oneof(
      { weight: 3, arbitrary: edited(own) },
      { weight: 1, arbitrary: edited(other) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64, size: 'max' }) },
      { weight: 1, arbitrary: fc.tuple(typeByte, fc.uint8Array({ maxLength: 40, size: 'max' })).map(([type, rest]) => Uint8Array.of(type, ...rest)) },
    ),
    tail: fc.oneof(
      { weight: 3, arbitrary: fc.constant({ length: 0, byte: 0, random: false }) },
      fc.record({ length: fc.integer({ min: 1, max: MAX_FUZZ_FRAME_BYTES - 64 }), byte: fc.integer({ min: 0, max: 255 }), random: fc.boolean() }),
    ),
    offset: fc.nat(15),
    slack: fc.nat(15),
  });
}

function buildInput({ head, tail, offset, slack }: FrameInput): Uint8Array {
  const buffer = new ArrayBuffer(offset + head.byteLength + tail.length + slack);
  // Spare bytes hold a marker, never zeros, so reading them changes a decoded field.
  new Uint8Array(buffer).fill(0xa5);
  const input = new Uint8Array(buffer, offset, head.byteLength + tail.length);
  input.set(head);
  input.set(filledBytes(tail.length, tail.byte, tail.random), head.byteLength);
  return input;
}

/** Copies `bytes` into a fresh ArrayBuffer, `offset` bytes in, with `slack` spare bytes after. */
function placeAt(bytes: Uint8Array, offset: number, slack: number): Uint8Array {
  return buildInput({ head: bytes, tail: { length: 0, byte: 0, random: false }, offset, slack });
}

// ------------------------------------------------------------------------------------------ frame checks

/** Runs `decode`; a FrameError with a known code becomes `undefined`, any other throw fails the property. */
function decodeOrFrameError<T>(decode: (frame: Uint8Array) => T, input: Uint8Array): T | undefined {
  try {
    return decode(input);
  } catch (error) {
    if (!(error instanceof FrameError)) assert.fail(`threw ${String(error)} instead of a FrameError`);
    assert.equal(error.name, 'FrameError');
    assert.ok(FRAME_ERROR_CODES.includes(error.code), `unknown FrameError code ${String(error.code)}`);
    assert.ok(error.message.length > 0);
    return undefined;
  }
}

function assertUint32(value: number, field: string): void {
  assert.ok(Number.isInteger(value) && value >= 0 && value <= UINT32_MAX, `${field} ${value} is not a uint32`);
}

function assertAddressed(frame: { readonly channelId: number; readonly sessionId: number }): void {
  assert.ok(Number.isInteger(frame.channelId), `channelId ${frame.channelId} is not an integer`);
  assert.ok(frame.channelId >= MIN_CHANNEL_ID && frame.channelId <= MAX_CHANNEL_ID, `channelId ${frame.channelId} out of range`);
  assertUint32(frame.sessionId, 'sessionId');
  assert.ok(frame.sessionId >= 1, 'sessionId 0 is reserved');
}

/** Flags within the known bits, and a payload that is the input's own bytes after the header: no copy, nothing outside. */
function assertDataFrame(frame: DataFrameHeader & { readonly payload: Uint8Array }, address: number, input: Uint8Array): void {
  assertAddressed(frame);
  assert.equal(frame.flags & ~KNOWN_FLAGS, 0, `unknown flag bits in 0x${frame.flags.toString(16)}`);
  assertUint32(frame.sequenceNumber, 'sequenceNumber');
  assertUint32(address, 'address');
  assert.ok(frame.payload instanceof Uint8Array);
  assert.equal(frame.payload.buffer, input.buffer, 'the payload must be a view on the input buffer, not a copy');
  assert.ok(frame.payload.byteLength <= input.byteLength);
  assert.equal(frame.payload.byteOffset, input.byteOffset + DATA_HEADER_BYTES);
  assert.equal(frame.payload.byteLength, input.byteLength - DATA_HEADER_BYTES);
}

/** Byte 1 of SessionClose and SessionClosed is reserved: written as 0, ignored on receipt. */
function withReservedByte(encoded: Uint8Array, input: Uint8Array): Uint8Array {
  encoded[1] = input[1]!;
  return encoded;
}

/** Checks a decoded client frame field by field, then that re-encoding it gives back the input exactly. */
function assertWellFormedClientFrame(frame: ClientFrame, input: Uint8Array): void {
  switch (frame.type) {
    case FrameType.Send:
      assertDataFrame(frame, frame.recipientsGeneration, input);
      assert.deepEqual(encodeSend(frame, frame.recipientsGeneration, frame.payload), input);
      return;
    case FrameType.SessionClose:
      assertAddressed(frame);
      assert.deepEqual(withReservedByte(encodeSessionClose(frame.channelId, frame.sessionId), input), input);
      return;
    case FrameType.SetRecipients:
      assertAddressed(frame);
      assertUint32(frame.generation, 'generation');
      assert.equal(frame.recipients.length, input[1]);
      for (const id of frame.recipients) {
        assert.ok(utf8(id) >= 1 && utf8(id) <= MAX_IDENTITY_BYTES, `recipient of ${utf8(id)} bytes`);
      }
      assert.deepEqual(encodeSetRecipients(frame.channelId, frame.sessionId, frame.generation, frame.recipients), input);
      return;
    default:
      assert.fail(`decodeClientFrame returned a frame of type ${String((frame as { type: unknown }).type)}`);
  }
}

/** Checks a decoded server frame field by field, then that re-encoding it gives back the input exactly. */
function assertWellFormedServerFrame(frame: ServerFrame, input: Uint8Array): void {
  switch (frame.type) {
    case FrameType.Deliver:
      assertDataFrame(frame, frame.senderEndpointId, input);
      assert.deepEqual(encodeDeliver(frame, frame.senderEndpointId, frame.payload), input);
      return;
    case FrameType.SessionClosed:
      assertAddressed(frame);
      assertUint32(frame.senderEndpointId, 'senderEndpointId');
      assert.deepEqual(withReservedByte(encodeSessionClosed(frame.channelId, frame.sessionId, frame.senderEndpointId), input), input);
      return;
    case FrameType.Notice:
      assertAddressed(frame);
      assert.ok(DROP_REASONS.includes(frame.reason), `unknown notice reason ${frame.reason}`);
      assertUint32(frame.sequenceNumber, 'sequenceNumber');
      assert.deepEqual(encodeNotice(frame.reason, frame.channelId, frame.sessionId, frame.sequenceNumber), input);
      return;
    case FrameType.SlowRecipient:
      assertAddressed(frame);
      assert.ok(SLOW_REASONS.includes(frame.reason), `unknown slow-recipient reason ${frame.reason}`);
      assert.deepEqual(encodeSlowRecipient(frame.reason, frame.channelId, frame.sessionId, frame.recipientEndpointId, frame.droppedCount), input);
      return;
    case FrameType.Receipt:
      assertAddressed(frame);
      assert.deepEqual(encodeReceipt(frame.channelId, frame.sessionId, frame.recipientEndpointId, frame.sequenceNumber), input);
      return;
    case FrameType.CopiesDropped:
      assertAddressed(frame);
      assert.deepEqual(encodeCopiesDropped(frame.channelId, frame.sessionId, frame.senderEndpointId, frame.count), input);
      return;
    default:
      assert.fail(`decodeServerFrame returned a frame of type ${String((frame as { type: unknown }).type)}`);
  }
}

// ------------------------------------------------------------------------------------------ frame properties

/** Feeds `decode` inputs built mostly from frames of its own direction (`own`), some from the other's. */
function fuzzDecoder<F>(
  decode: (frame: Uint8Array) => F,
  assertWellFormed: (frame: F, input: Uint8Array) => void,
  own: fc.Arbitrary<Uint8Array>,
  other: fc.Arbitrary<Uint8Array>,
): void {
  fc.assert(
    fc.property(frameInput(own, other), (recipe) => {
      const input = buildInput(recipe);
      const before = input.slice();
      const frame = decodeOrFrameError(decode, input);
      assert.deepEqual(input, before, 'decoding must not modify its input');
      if (frame !== undefined) assertWellFormed(frame, input);
    }),
    FUZZ,
  );
}

describe('fuzz: frame decoders', () => {
  it('decodeClientFrame throws only FrameError on arbitrary bytes up to ~70 KB, and returns only well-formed frames that re-encode to the input', () => {
    fuzzDecoder(decodeClientFrame, assertWellFormedClientFrame, clientFrame, serverFrame);
  });

  it('decodeServerFrame throws only FrameError on arbitrary bytes up to ~70 KB, and returns only well-formed frames that re-encode to the input', () => {
    fuzzDecoder(decodeServerFrame, assertWellFormedServerFrame, serverFrame, clientFrame);
  });
});

// ------------------------------------------------------------------------------------------ batches

/**
 * A batch as a sender would build it from 0–6 frames of `own` direction (0 and 1 are refused counts),
 * sometimes with a batch nested in it, and its entries then edited like single frames are (a byte set, a
 * cut, bytes appended), so count, length and nesting checks all meet their bounds. Built by hand: the
 * encoder refuses what the decoder must refuse.
 */
function batchBytesOf(type: number, entries: readonly Uint8Array[], countDelta: number): Uint8Array {
  const size = 4 + entries.reduce((n, e) => n + 2 + e.byteLength, 0);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  bytes[0] = type;
  view.setUint16(2, Math.max(0, entries.length + countDelta));
  let at = 4;
  for (const entry of entries) {
    view.setUint16(at, entry.byteLength);
    bytes.set(entry, at + 2);
    at += 2 + entry.byteLength;
  }
  return bytes;
}

function batchInput(from: 'client' | 'server'): fc.Arbitrary<FrameInput> {
  const own = from === 'client' ? clientFrame : serverFrame;
  const type = from === 'client' ? FrameType.Batch : FrameType.ServerBatch;
  const entry = fc.oneof(
    { weight: 8, arbitrary: own },
    fc
      .tuple(fc.constantFrom(FrameType.Batch, FrameType.ServerBatch), fc.array(own, { minLength: 2, maxLength: 3 }))
      .map(([nestedType, inner]) => batchBytesOf(nestedType, inner, 0)),
    fc.constant(new Uint8Array(0)),
  );
  const edits = fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, fc.array(edit, { minLength: 1, maxLength: 2 }));
  const batch = fc
    .tuple(fc.array(entry, { maxLength: 6 }), mostly(fc.constant(0), fc.constantFrom(-1, 1, 2)), edits)
    .map(([entries, delta, changes]) => applyEdits(batchBytesOf(type, entries, delta), changes));
  return fc.record({
    head: batch,
    tail: fc.oneof(
      { weight: 5, arbitrary: fc.constant({ length: 0, byte: 0, random: false }) },
      fc.record({ length: fc.integer({ min: 1, max: MAX_FUZZ_FRAME_BYTES - 64 }), byte: fc.integer({ min: 0, max: 255 }), random: fc.boolean() }),
    ),
    offset: fc.nat(15),
    slack: fc.nat(15),
  });
}

/**
 * readBatch on arbitrary batches: a FrameError of a known code with no frame visited, or views (never
 * copies) that lie inside the input, re-encode to the input exactly, and decode as single frames do.
 */
function fuzzBatches(from: 'client' | 'server'): void {
  const decode: (frame: Uint8Array) => unknown = from === 'client' ? decodeClientFrame : decodeServerFrame;
  fc.assert(
    fc.property(batchInput(from), (recipe) => {
      const input = buildInput(recipe);
      const before = input.slice();
      const visited: Uint8Array[] = [];
      const count = decodeOrFrameError((bytes) => readBatch(bytes, from, (frame) => visited.push(frame)), input);
      assert.deepEqual(input, before, 'reading a batch must not modify it');
      if (count === undefined) return assert.equal(visited.length, 0, 'a refused batch delivers nothing');
      batchesAccepted++;
      assert.equal(visited.length, count);
      assert.ok(count >= 2 && count <= 1024);
      for (const frame of visited) {
        assert.equal(frame.buffer, input.buffer, 'an inner frame is a view on the batch');
        assert.ok(frame.byteOffset >= input.byteOffset && frame.byteOffset + frame.byteLength <= input.byteOffset + input.byteLength);
        assert.ok(frame[0] !== FrameType.Batch && frame[0] !== FrameType.ServerBatch, 'no batch inside a batch');
        decodeOrFrameError(decode, frame);
      }
      assert.deepEqual(encodeBatch(visited, from), Uint8Array.from(input), 'a batch read re-encodes to its bytes');
    }),
    FUZZ,
  );
}

let batchesAccepted = 0;

describe('fuzz: batch frames', () => {
  it('readBatch (client batches) refuses with FrameError only, and yields views that re-encode to the input', () => {
    batchesAccepted = 0;
    fuzzBatches('client');
    // The inputs are shaped to reach the accepting path too, not only the refusals.
    assert.ok(batchesAccepted >= FUZZ.numRuns / 10, `only ${batchesAccepted} of ${FUZZ.numRuns} batches were well formed`);
  });

  it('readBatch (server batches) refuses with FrameError only, and yields views that re-encode to the input', () => {
    batchesAccepted = 0;
    fuzzBatches('server');
    assert.ok(batchesAccepted >= FUZZ.numRuns / 10, `only ${batchesAccepted} of ${FUZZ.numRuns} batches were well formed`);
  });

  it('encodeBatch → readBatch gives back every frame, in order', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.oneof(clientFrame, serverFrame), { minLength: 2, maxLength: 40 }), (client, frames) => {
        const from = client ? 'client' : 'server';
        const read: Uint8Array[] = [];
        readBatch(encodeBatch(frames, from), from, (frame) => read.push(frame));
        assert.deepEqual(read.map((f) => Uint8Array.from(f)), frames.map((f) => Uint8Array.from(f)));
      }),
      FUZZ,
    );
  });
});

describe('fuzz: frame encoders round-trip', () => {
  it('encodeSend → decodeClientFrame gives back every field and the payload', () => {
    fc.assert(
      fc.property(dataHeader, uint32, payload, (header, generation, bytes) => {
        const decoded = decodeClientFrame(encodeSend(header, generation, bytes));
        assert.deepEqual(decoded, { type: FrameType.Send, ...header, recipientsGeneration: generation, payload: bytes });
      }),
      FUZZ,
    );
  });

  it('encodeDeliver → decodeServerFrame gives back every field and the payload', () => {
    fc.assert(
      fc.property(dataHeader, uint32, payload, (header, sender, bytes) => {
        const decoded = decodeServerFrame(encodeDeliver(header, sender, bytes));
        assert.deepEqual(decoded, { type: FrameType.Deliver, ...header, senderEndpointId: sender, payload: bytes });
      }),
      FUZZ,
    );
  });

  it('rewriteSendAsDeliver turns any Send frame into the Deliver frame encodeDeliver builds', () => {
    fc.assert(
      fc.property(dataHeader, uint32, uint32, payload, (header, generation, sender, bytes) => {
        const rewritten = rewriteSendAsDeliver(encodeSend(header, generation, bytes), sender);
        assert.deepEqual(rewritten, encodeDeliver(header, sender, bytes));
        assert.deepEqual(decodeServerFrame(rewritten), { type: FrameType.Deliver, ...header, senderEndpointId: sender, payload: bytes });
      }),
      FUZZ,
    );
  });

  it('encodeSessionClose → decodeClientFrame gives back channel and session', () => {
    fc.assert(
      fc.property(channelId, sessionId, (channel, session) => {
        const decoded = decodeClientFrame(encodeSessionClose(channel, session));
        assert.deepEqual(decoded, { type: FrameType.SessionClose, channelId: channel, sessionId: session });
      }),
      FUZZ,
    );
  });

  it('encodeSessionClosed → decodeServerFrame gives back channel, session and sender', () => {
    fc.assert(
      fc.property(channelId, sessionId, uint32, (channel, session, sender) => {
        const decoded = decodeServerFrame(encodeSessionClosed(channel, session, sender));
        assert.deepEqual(decoded, { type: FrameType.SessionClosed, channelId: channel, sessionId: session, senderEndpointId: sender });
      }),
      FUZZ,
    );
  });

  it('encodeSlowRecipient, encodeCopiesDropped and encodeReceipt → decodeServerFrame give back every field', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SLOW_REASONS), channelId, sessionId, uint32, uint32, (reason, channel, session, endpoint, count) => {
        assert.deepEqual(decodeServerFrame(encodeSlowRecipient(reason, channel, session, endpoint, count)), {
          type: FrameType.SlowRecipient,
          reason,
          channelId: channel,
          sessionId: session,
          recipientEndpointId: endpoint,
          droppedCount: count,
        });
        assert.deepEqual(decodeServerFrame(encodeReceipt(channel, session, endpoint, count)), {
          type: FrameType.Receipt,
          channelId: channel,
          sessionId: session,
          recipientEndpointId: endpoint,
          sequenceNumber: count,
        });
        assert.deepEqual(decodeServerFrame(encodeCopiesDropped(channel, session, endpoint, count)), {
          type: FrameType.CopiesDropped,
          channelId: channel,
          sessionId: session,
          senderEndpointId: endpoint,
          count,
        });
      }),
      FUZZ,
    );
  });

  it('encodeNotice → decodeServerFrame gives back reason, channel, session and sequence number', () => {
    fc.assert(
      fc.property(fc.constantFrom(...DROP_REASONS), channelId, sessionId, uint32, (reason, channel, session, sequence) => {
        const decoded = decodeServerFrame(encodeNotice(reason, channel, session, sequence));
        assert.deepEqual(decoded, { type: FrameType.Notice, reason, channelId: channel, sessionId: session, sequenceNumber: sequence });
      }),
      FUZZ,
    );
  });

  it('encodeSetRecipients → decodeClientFrame gives back 0–64 ids of 1–255 UTF-8 bytes, non-ASCII and leading U+FEFF included', () => {
    fc.assert(
      fc.property(channelId, sessionId, uint32, recipientList, (channel, session, generation, recipients) => {
        const decoded = decodeClientFrame(encodeSetRecipients(channel, session, generation, recipients));
        assert.deepEqual(decoded, { type: FrameType.SetRecipients, channelId: channel, sessionId: session, generation, recipients });
      }),
      FUZZ,
    );
  });
});

// ------------------------------------------------------------------------------------------ signaling inputs

/** Any UTF-16 code unit, lone surrogates included: JSON text may carry them raw or as \uD800 escapes. */
const utf16Unit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));

/**
 * Strings of `minLength`–`maxLength` UTF-16 code units (what zod's min/max count): short ones of any
 * characters, and some of exactly `maxLength` units of one character, ASCII, multi-byte, escaped in JSON or a
 * lone surrogate.
 */
function text(minLength: number, maxLength: number): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.string({ minLength, maxLength }) },
    { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength, maxLength }).filter((s) => s.length <= maxLength) },
    { weight: 3, arbitrary: fc.string({ unit: utf16Unit, minLength, maxLength }) },
    { weight: 1, arbitrary: fc.constantFrom('x', 'é', '€', '"', '\u0001', '\uD800').map((c) => c.repeat(maxLength)) },
  );
}

/** Messages are plain objects, as JSON.parse makes them: fast-check would otherwise also build null-prototype ones. */
const plain = { noNullPrototype: true } as const;
const endpointId = fc.integer({ min: 1, max: UINT32_MAX });
const ref = fc.maxSafeNat();
const positiveInt = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const positive = fc.double({ min: Number.MIN_VALUE, max: Number.MAX_VALUE, noNaN: true });
const protocolVersion = fc.oneof(fc.constant(PROTOCOL_VERSION), fc.maxSafeInteger());
const token = text(1, 8192);
const sdp = text(1, 32 * 1024);
const participant = fc.record({ endpointId, identity: text(1, 255), displayName: text(0, 256) }, plain);

const validClientMessage: fc.Arbitrary<ClientMessage> = fc.oneof(
  fc.record(
    { type: fc.constant('hello' as const), protocolVersion, token, displayName: text(0, 256) },
    { requiredKeys: ['type', 'protocolVersion', 'token'], noNullPrototype: true },
  ),
  fc.record({ type: fc.constant('refreshToken' as const), token }, plain),
  fc.record({ type: fc.constant('join' as const), ref, groupId: text(1, 256) }, plain),
  fc.record({ type: fc.constant('offer' as const), endpointId, sdp }, plain),
  fc.record({ type: fc.constant('candidate' as const), endpointId, candidate: text(0, 1024), mid: text(0, 64) }, plain),
  fc.record({ type: fc.constant('leave' as const), endpointId }, plain),
  fc.record({ type: fc.constant('resume' as const), ref, endpointId, resumeToken: text(1, 128) }, plain),
);

const validServerMessage: fc.Arbitrary<ServerMessage> = fc.oneof(
  fc.record({
    type: fc.constant('welcome' as const),
    protocolVersion,
    identity: text(1, 255),
    iceServers: fc.array(
      fc.record(
        { urls: fc.oneof(text(0, 64), fc.array(text(0, 64), { maxLength: 3 })), username: text(0, 32), credential: text(0, 32) },
        { requiredKeys: ['urls'], noNullPrototype: true },
      ),
      { maxLength: 3 },
    ),
  }, plain),
  fc.record({
    type: fc.constant('joined' as const),
    ref,
    callId: text(0, 64),
    endpointId,
    limits: fc.record({
      maxMessageSizeBytes: positiveInt,
      maxRecipients: positiveInt,
      durableMaxKbps: positive,
      lossyMaxKbps: positive,
      highPriorityLossyMaxKbps: positive,
      broadcastPacketsPerSecond: positive,
      broadcastPacketBytes: positiveInt,
      // `+ 0` turns -0, which JSON cannot carry, into 0.
      broadcastReceiveShare: fc.double({ min: 0, max: 1, noNaN: true }).map((share) => share + 0),
      receiverIdleCloseMs: positiveInt,
      maxSendBacklogMs: positiveInt,
    }, plain),
    resumeToken: text(1, 128),
    resumeWindowMs: fc.maxSafeNat(),
  }, plain),
  fc.record({ type: fc.constant('resumed' as const), ref, callId: text(0, 64), endpointId, participants: fc.array(participant, { maxLength: 4 }) }, plain),
  fc.record({ type: fc.constant('answer' as const), endpointId, sdp }, plain),
  fc.record({ type: fc.constant('candidate' as const), endpointId, candidate: text(0, 1024), mid: text(0, 64) }, plain),
  fc.record({ type: fc.constant('connected' as const), endpointId, participants: fc.array(participant, { maxLength: 4 }) }, plain),
  fc.record({ type: fc.constant('participantsChanged' as const), endpointId, joined: fc.array(participant, { maxLength: 4 }), left: fc.array(endpointId, { maxLength: 4 }) }, plain),
  fc.record({ type: fc.constant('callEnded' as const), endpointId, code: text(0, 64), message: text(0, 1024) }, plain),
  fc.record(
    { type: fc.constant('error' as const), ref, endpointId, code: text(0, 64), message: text(0, 1024) },
    { requiredKeys: ['type', 'code', 'message'], noNullPrototype: true },
  ),
);

const MESSAGE_TYPES = [
  ...['hello', 'refreshToken', 'join', 'offer', 'candidate', 'leave', 'resume'],
  ...['welcome', 'joined', 'resumed', 'answer', 'connected', 'participantsChanged', 'callEnded', 'error'],
];
/** Every top-level field some message has. */
const FIELD_NAMES = [
  'type', 'protocolVersion', 'token', 'displayName', 'ref', 'groupId', 'endpointId', 'sdp', 'candidate', 'mid', 'identity',
  'iceServers', 'callId', 'limits', 'participants', 'joined', 'left', 'code', 'message', 'resumeToken',
  'resumeWindowMs',
];

/** Any JSON value, or values at the edges of the schema's bounds and types. */
const replacement: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom(...MESSAGE_TYPES),
  fc.constantFrom(0, -1, 0.5, 1e308, UINT32_MAX, UINT32_MAX + 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, '', '1', null, [], {}),
  fc.constantFrom(256, 257, 1024, 1025, 8193, 32 * 1024 + 1).map((n) => 'x'.repeat(n)),
);

type Path = readonly (string | number)[];

/** Every field of a JSON value, objects' and arrays' alike, depth first. */
function fieldPaths(value: unknown, at: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((item: unknown, i) => [i, item]) : Object.entries(value);
  return entries.flatMap(([key, item]) => [[...at, key], ...fieldPaths(item, [...at, key])]);
}

/** A copy of `message` with the field at `path` set to `value.set`, or removed when `value` is undefined. */
function mutated(message: unknown, path: Path, value: { readonly set: unknown } | undefined): unknown {
  const copy: unknown = structuredClone(message);
  let parent = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value !== undefined) parent[last] = value.set;
  else if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else Reflect.deleteProperty(parent, last);
  return copy;
}

interface Mutation {
  readonly message: ClientMessage | ServerMessage;
  readonly field: number;
  readonly value: { readonly set: unknown } | undefined;
  /** Sometimes a field no message has, too: the parser must drop it. */
  readonly unknown: { readonly key: string; readonly value: unknown } | undefined;
}

/** A valid message of any type with one field replaced by an arbitrary value, or removed. */
function mutationOf(valid: fc.Arbitrary<ClientMessage | ServerMessage>): fc.Arbitrary<Mutation> {
  return fc.record({
    message: valid,
    field: fc.nat(),
    value: fc.option(fc.record({ set: replacement }), { nil: undefined, freq: 4 }),
    unknown: fc.option(
      fc.record({ key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'extra'), fc.string()), value: replacement }),
      { nil: undefined },
    ),
  });
}

/** `message` as JSON text, with `unknown` added as an own field (even when named `__proto__`, as JSON.parse would make it). */
function withUnknownField(message: unknown, unknown: Mutation['unknown']): string {
  if (unknown === undefined || FIELD_NAMES.includes(unknown.key) || message === null || typeof message !== 'object') {
    return JSON.stringify(message);
  }
  return JSON.stringify(Object.defineProperty({ ...message }, unknown.key, { value: unknown.value, enumerable: true }));
}

/** Arbitrary text: any code units, JSON-ish punctuation, valid message texts with a slice replaced. */
function arbitraryText(valid: fc.Arbitrary<ClientMessage | ServerMessage>): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: utf16Unit, maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.string({ unit: fc.constantFrom(...'{}[]":,0123456789.eE+-tfnulrs\\ \n\uFEFF'), maxLength: 200 }),
    fc.tuple(valid, fc.nat(), fc.nat(8), fc.string({ unit: utf16Unit, maxLength: 8 })).map(([message, at, removed, inserted]) => {
      const json = encodeSignaling(message);
      const start = at % (json.length + 1);
      return json.slice(0, start) + inserted + json.slice(start + removed);
    }),
  );
}

/** JSON nested `depth` levels deep (up to what fits in the size limit): a recursive parser or validator would overflow its stack. */
const deeplyNested = fc
  .record({ type: fc.constantFrom(...MESSAGE_TYPES), field: fc.constantFrom(...FIELD_NAMES), depth: fc.integer({ min: 1, max: 21_000 }), array: fc.boolean() })
  .map(({ type, field, depth, array }) => {
    const value = array ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    return `{"type":${JSON.stringify(type)},${JSON.stringify(field)}:${value}}`;
  });

/** Arbitrary JSON values, objects with a known or unknown `type` and arbitrary known-named fields, and deep nesting. */
const arbitraryJson: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.oneof(fc.constantFrom(...MESSAGE_TYPES), fc.jsonValue()), fc.dictionary(fc.constantFrom(...FIELD_NAMES, '__proto__'), replacement))
      .map(([type, fields]) => JSON.stringify({ ...fields, type })),
  },
  { weight: 1, arbitrary: deeplyNested },
);

// ------------------------------------------------------------------------------------------ signaling checks

const SIGNALING_MESSAGE = /^(signaling message over \d+ bytes|signaling message is not JSON|invalid signaling message( at [^:]+)?: [\s\S]+)$/;

/** Runs `parse`; returns its value or its SignalingError (checked: code BadRequest, a known message form); any other throw fails. */
function parseOrSignalingError<T>(parse: (text: string) => T, input: string): { value: T } | { error: SignalingError } {
  try {
    return { value: parse(input) };
  } catch (error) {
    if (!(error instanceof SignalingError)) assert.fail(`threw ${String(error)} instead of a SignalingError`);
    assert.equal(error.name, 'SignalingError');
    assert.equal(error.code, 'BadRequest');
    assert.match(error.message, SIGNALING_MESSAGE);
    return { error };
  }
}

/** The result passes its schema again, unchanged (so it holds no field the schema does not define), and survives re-encoding. */
function assertWellFormedMessage<T>(schema: { parse(value: unknown): T }, parse: (text: string) => T, message: T): void {
  assert.deepEqual(schema.parse(message), message);
  const encoded = encodeSignaling(message as ClientMessage | ServerMessage);
  if (utf8(encoded) <= MAX_SIGNALING_MESSAGE_BYTES) assert.equal(encodeSignaling(parse(encoded) as ClientMessage | ServerMessage), encoded);
}

interface Parser<T> {
  readonly name: string;
  readonly parse: (text: string) => T;
  readonly schema: { parse(value: unknown): T };
  readonly valid: fc.Arbitrary<T & (ClientMessage | ServerMessage)>;
}

const parsers: [Parser<ClientMessage>, Parser<ServerMessage>] = [
  { name: 'parseClientMessage', parse: parseClientMessage, schema: clientMessageSchema, valid: validClientMessage },
  { name: 'parseServerMessage', parse: parseServerMessage, schema: serverMessageSchema, valid: validServerMessage },
];

// ------------------------------------------------------------------------------------------ signaling properties

describe('fuzz: signaling parsers', () => {
  for (const { name, parse, schema, valid } of parsers as readonly Parser<ClientMessage | ServerMessage>[]) {
    const fuzzText = (input: string): void => {
      const outcome = parseOrSignalingError(parse, input);
      if ('value' in outcome) assertWellFormedMessage(schema, parse, outcome.value);
    };

    it(`${name} throws only SignalingError (BadRequest) on arbitrary text, and returns only messages that re-validate`, () => {
      fc.assert(fc.property(arbitraryText(valid), fuzzText), FUZZ);
    });

    it(`${name} throws only SignalingError (BadRequest) on arbitrary JSON, and returns only messages that re-validate`, () => {
      fc.assert(fc.property(arbitraryJson, fuzzText), FUZZ);
    });

    it(`${name} refuses a valid message with one field replaced or removed only with a SignalingError naming that field`, () => {
      fc.assert(
        fc.property(mutationOf(valid), ({ message, field, value, unknown }) => {
          const paths = fieldPaths(message);
          const path = paths[field % paths.length]!;
          const input = withUnknownField(mutated(message, path, value), unknown);
          const outcome = parseOrSignalingError(parse, input);
          if ('value' in outcome) return assertWellFormedMessage(schema, parse, outcome.value);
          if (utf8(input) > MAX_SIGNALING_MESSAGE_BYTES) return assert.match(outcome.error.message, / over /);
          // A changed `type` makes the message another type, whose own fields are then wrong.
          if (path[0] === 'type') return;
          // Removing an array element shifts the next ones into its place: the parent names the change.
          const changed = (value === undefined && typeof path[path.length - 1] === 'number' ? path.slice(0, -1) : path).join('.');
          // The named field is the changed one, a field inside it, or (for a union such as `urls`) one around it.
          const named = /^invalid signaling message at ([^:]+): /.exec(outcome.error.message)?.[1] ?? '';
          const related = named === changed || named.startsWith(`${changed}.`) || changed.startsWith(`${named}.`);
          assert.ok(related, `changed ${changed}, refused with "${outcome.error.message}"`);
        }),
        FUZZ,
      );
    });
  }
});

describe('fuzz: signaling encoder round-trips', () => {
  for (const { name, parse, valid } of parsers as readonly Parser<ClientMessage | ServerMessage>[]) {
    it(`encodeSignaling → ${name} gives back any valid message that fits in MAX_SIGNALING_MESSAGE_BYTES, and refuses others as "over"`, () => {
      fc.assert(
        fc.property(valid, (message) => {
          const encoded = encodeSignaling(message);
          // The schema bounds strings in UTF-16 units, the wire in UTF-8 bytes: a valid `sdp` of 32 Ki '€' is 96 KiB.
          if (utf8(encoded) <= MAX_SIGNALING_MESSAGE_BYTES) assert.deepEqual(parse(encoded), message);
          else assert.throws(() => parse(encoded), { name: 'SignalingError', message: `signaling message over ${MAX_SIGNALING_MESSAGE_BYTES} bytes` });
        }),
        FUZZ,
      );
    });
  }
});

// ------------------------------------------------------------------------------------------ allocation limits

/** Runs `run` with JSON.parse counting its calls. The suite runs its tests one at a time, so the swap is not observed elsewhere. */
function countingJsonParse<T>(run: () => T): { result: T; calls: number } {
  const original = JSON.parse;
  let calls = 0;
  JSON.parse = (...args: Parameters<typeof JSON.parse>): unknown => {
    calls++;
    return original(...args);
  };
  try {
    return { result: run(), calls };
  } finally {
    JSON.parse = original;
  }
}

describe('fuzz: decoders never allocate beyond the limits', () => {
  it('decodeClientFrame and decodeServerFrame return any Send or Deliver payload, wherever it sits in its buffer, as a view: payload.buffer === input.buffer', () => {
    fc.assert(
      fc.property(fc.boolean(), dataHeader, uint32, payload, fc.nat(15), fc.nat(15), (send, header, address, bytes, offset, slack) => {
        const encoded = send ? encodeSend(header, address, bytes) : encodeDeliver(header, address, bytes);
        const input = placeAt(encoded, offset, slack);
        const frame = send ? decodeClientFrame(input) : decodeServerFrame(input);
        assert.ok(frame.type === FrameType.Send || frame.type === FrameType.Deliver);
        assert.equal(frame.payload.buffer, input.buffer, 'decoding copied the payload');
        assert.equal(frame.payload.byteOffset, input.byteOffset + DATA_HEADER_BYTES);
        assert.deepEqual(frame.payload, bytes);
      }),
      FUZZ,
    );
  });

  const MAX = MAX_SIGNALING_MESSAGE_BYTES;
  const paddable = {
    parseClientMessage: { parse: parseClientMessage, message: { type: 'leave', endpointId: 1 } },
    parseServerMessage: { parse: parseServerMessage, message: { type: 'participantsChanged', endpointId: 1, joined: [], left: [2] } },
  };
  /**
   * Text whose UTF-8 size lands within 8 bytes of the limit, either side, made of 1-, 2-, 3- and 4-byte characters, characters
   * JSON escapes, and lone surrogates: a valid message padded by an ignored field when `wrapped`, else raw text.
   */
  const nearLimit = fc
    .record({
      parser: fc.constantFrom('parseClientMessage' as const, 'parseServerMessage' as const),
      wrapped: fc.boolean(),
      filler: fc.constantFrom('x', 'é', '€', '😀', '\uD800', '"', '\u0001'),
      prefix: fc.string({ unit: utf16Unit, maxLength: 8 }),
      delta: fc.integer({ min: -8, max: 8 }),
    })
    .map(({ parser, wrapped, filler, prefix, delta }) => {
      const build = (n: number): string =>
        wrapped ? JSON.stringify({ ...paddable[parser].message, pad: filler.repeat(n) }) : prefix + filler.repeat(n);
      const cost = utf8(build(1)) - utf8(build(0));
      return { parser, wrapped, text: build(Math.max(0, Math.floor((MAX + delta - utf8(build(0))) / cost))) };
    });

  it(`parseClientMessage and parseServerMessage refuse text over MAX_SIGNALING_MESSAGE_BYTES (${MAX}) UTF-8 bytes, and only such text, as "over" the limit without parsing JSON`, () => {
    fc.assert(
      fc.property(nearLimit, ({ parser, wrapped, text: input }) => {
        const { parse } = paddable[parser];
        const { result, calls } = countingJsonParse(() => parseOrSignalingError<unknown>(parse, input));
        const over = Buffer.byteLength(input, 'utf8') > MAX;
        if (over) {
          assert.ok('error' in result, `accepted ${Buffer.byteLength(input, 'utf8')} bytes`);
          assert.match(result.error.message, / over /);
          assert.equal(calls, 0, 'JSON.parse ran on text over the limit');
        } else {
          if ('error' in result) assert.doesNotMatch(result.error.message, / over /);
          assert.equal(calls, 1);
          if (wrapped) assert.ok('value' in result, `refused a valid message of ${Buffer.byteLength(input, 'utf8')} bytes`);
        }
      }),
      FUZZ,
    );
  });
});
