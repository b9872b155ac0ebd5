/**
 * Batch frames: several frames in one SCTP message (docs/protocol.md, "Batch").
 *
 * Every frame costs one SCTP message, one DTLS record and at least one UDP datagram, and on each side one
 * crossing between JavaScript and libdatachannel; a server fanning out a burst pays that per copy. A batch
 * carries the frames queued for one peer in one go, so the burst costs one message per recipient instead.
 *
 * Layout: a 4-byte header (type, a reserved zero byte, a uint16 count), then `count` entries, each a uint16
 * length and that many bytes of one inner frame. The frames cannot simply follow each other: a data frame's
 * payload runs to the end of its message, and its header has no length. Two bytes of length per frame is
 * the least that delimits them, and it bounds an inner frame to 65535 bytes, more than a batch holds.
 *
 * Inner frames are any frames of the batch's direction but batches: a batch inside a batch is refused. A
 * batch is not itself a frame of the Durable link: its inner frames are counted, acknowledged and resent
 * one by one (reliability.md), so whether frames travelled batched never changes what a resume resends.
 */
import { readU16, writeU16 } from './bytes.js';
import { FrameError, FrameErrorCode, FrameType } from './frames.js';

/** The batch header: type, reserved byte, uint16 count. */
export const BATCH_HEADER_BYTES = 4;
/** Per inner frame: its uint16 length. */
export const BATCH_ENTRY_BYTES = 2;
/** Fewest frames in a batch: one frame goes on its own, never wrapped. */
export const MIN_BATCH_FRAMES = 2;
/** Most frames in a batch (a decoder refuses more before it reads any). */
export const MAX_BATCH_FRAMES = 1024;
/**
 * Largest batch, bytes. Far below the 256 KiB SCTP messages browsers and libdatachannel accept, and large
 * enough that a burst of small frames costs a few messages; a sender also keeps under what its peer
 * advertised (the server accepts `maxMessageSizeBytes` + {@link SCTP_MESSAGE_SLACK_BYTES}).
 */
export const MAX_BATCH_BYTES = 64 * 1024;
/**
 * Largest batch on a Lossy channel: what one datagram carries (libdatachannel's default 1280-byte MTU less
 * the IPv6, UDP, DTLS, SCTP and DATA-chunk headers leaves about 1160 bytes). A lost datagram then loses
 * the frames it would have carried anyway, and a batch never turns one loss into several (protocol.md).
 */
export const LOSSY_BATCH_BYTES = 1100;
/** Largest inner frame a batch can carry (its length is a uint16). */
export const MAX_BATCHED_FRAME_BYTES = 0xffff;
/** What the server's SCTP endpoint accepts beyond `maxMessageSizeBytes` of payload: headers, batch overhead. */
export const SCTP_MESSAGE_SLACK_BYTES = 1024;

/** The batch type a side sends: `Batch` (0x07) from a client or peer, `ServerBatch` (0x88) from the server. */
export type BatchSender = 'client' | 'server';

function batchType(from: BatchSender): number {
  return from === 'client' ? FrameType.Batch : FrameType.ServerBatch;
}

/** Whether `frame` is a batch of either direction (reads byte 0 only). */
export function isBatch(frame: Uint8Array): boolean {
  return frame[0] === FrameType.Batch || frame[0] === FrameType.ServerBatch;
}

/** The size of a batch of `count` frames of `innerBytes` bytes in all. */
export function batchBytes(count: number, innerBytes: number): number {
  return BATCH_HEADER_BYTES + count * BATCH_ENTRY_BYTES + innerBytes;
}

/**
 * Encodes `frames` (MIN_BATCH_FRAMES to MAX_BATCH_FRAMES, none a batch or empty, MAX_BATCH_BYTES at most
 * in all) as one batch, into one new buffer: one allocation and one copy of each frame, whatever the count.
 * Throws {@link FrameError} `BadBatch` otherwise (a caller's bug: coalescers check the bounds first).
 */
export function encodeBatch(frames: readonly Uint8Array[], from: BatchSender): Uint8Array {
  const count = frames.length;
  if (count < MIN_BATCH_FRAMES || count > MAX_BATCH_FRAMES) {
    throw new FrameError(FrameErrorCode.BadBatch, `a batch carries ${MIN_BATCH_FRAMES}–${MAX_BATCH_FRAMES} frames, not ${count}`);
  }
  let inner = 0;
  for (const frame of frames) {
    if (frame.byteLength === 0 || frame.byteLength > MAX_BATCHED_FRAME_BYTES) {
      throw new FrameError(FrameErrorCode.BadBatch, `a batched frame is 1–${MAX_BATCHED_FRAME_BYTES} bytes, not ${frame.byteLength}`);
    }
    if (isBatch(frame)) throw new FrameError(FrameErrorCode.BadBatch, 'a batch cannot carry a batch');
    inner += frame.byteLength;
  }
  const size = batchBytes(count, inner);
  if (size > MAX_BATCH_BYTES) throw new FrameError(FrameErrorCode.BadBatch, `a batch is at most ${MAX_BATCH_BYTES} bytes, not ${size}`);
  const batch = new Uint8Array(size);
  batch[0] = batchType(from);
  writeU16(batch, 2, count);
  let at = BATCH_HEADER_BYTES;
  for (const frame of frames) {
    writeU16(batch, at, frame.byteLength);
    batch.set(frame, at + BATCH_ENTRY_BYTES);
    at += BATCH_ENTRY_BYTES + frame.byteLength;
  }
  return batch;
}

/**
 * Reads a batch sent by `from` and calls `visit` with each inner frame, in order, as a view on `batch` (no
 * copy). The whole batch is checked before the first visit, so a malformed one is refused whole, never half
 * delivered: {@link FrameError} `BadBatch` (wrong type, reserved byte set, count out of range, a nested
 * batch, an empty entry, bytes past the last entry, over MAX_BATCH_BYTES) or `Truncated`. The inner frames
 * themselves are decoded by the caller, with the checks every frame gets. Returns the count.
 */
export function readBatch(batch: Uint8Array, from: BatchSender, visit: (frame: Uint8Array) => void): number {
  const count = checkBatch(batch, from);
  let at = BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const length = readU16(batch, at);
    at += BATCH_ENTRY_BYTES;
    visit(batch.subarray(at, at + length));
    at += length;
  }
  return count;
}

/** Validates a batch without visiting it; returns its count (see {@link readBatch} for what is refused). */
export function checkBatch(batch: Uint8Array, from: BatchSender): number {
  const name = from === 'client' ? 'Batch' : 'ServerBatch';
  if (batch.byteLength < BATCH_HEADER_BYTES) throw new FrameError(FrameErrorCode.Truncated, `${name} header truncated`);
  if (batch[0] !== batchType(from)) throw new FrameError(FrameErrorCode.BadBatch, `not a ${name}: type 0x${batch[0]!.toString(16)}`);
  if (batch[1] !== 0) throw new FrameError(FrameErrorCode.BadBatch, `${name} reserved byte is ${batch[1]}, not 0`);
  if (batch.byteLength > MAX_BATCH_BYTES) throw new FrameError(FrameErrorCode.BadBatch, `${name} of ${batch.byteLength} bytes is over ${MAX_BATCH_BYTES}`);
  const count = readU16(batch, 2);
  if (count < MIN_BATCH_FRAMES || count > MAX_BATCH_FRAMES) {
    throw new FrameError(FrameErrorCode.BadBatch, `${name} count ${count} is outside ${MIN_BATCH_FRAMES}–${MAX_BATCH_FRAMES}`);
  }
  let at = BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + BATCH_ENTRY_BYTES > batch.byteLength) throw new FrameError(FrameErrorCode.Truncated, `${name} truncated at entry ${i}`);
    const length = readU16(batch, at);
    at += BATCH_ENTRY_BYTES;
    if (length === 0) throw new FrameError(FrameErrorCode.BadBatch, `${name} entry ${i} is empty`);
    if (at + length > batch.byteLength) throw new FrameError(FrameErrorCode.Truncated, `${name} entry ${i} truncated`);
    const type = batch[at];
    if (type === FrameType.Batch || type === FrameType.ServerBatch) throw new FrameError(FrameErrorCode.BadBatch, `${name} entry ${i} is a batch`);
    at += length;
  }
  if (at !== batch.byteLength) throw new FrameError(FrameErrorCode.BadBatch, `${batch.byteLength - at} trailing bytes after the ${name}'s last entry`);
  return count;
}
