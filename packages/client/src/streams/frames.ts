/**
 * Wire format of the stream helper, version 1. Each stream frame is the payload of one ordinary
 * data-channel message, so the server routes it like any other. Integers are big-endian.
 *
 *   every frame   0: version (1)   1: type   2–5: streamId (uint32, per sender session)
 *   Start (1)     6–13: totalBytes (uint64)   14…: metadata, UTF-8 JSON object (absent if empty)
 *   Chunk (2)     6–9: index (uint32, from 0)  10…: data
 *   End (3)       6–9: chunkCount (uint32)     10–41: SHA-256 over the chunks' SHA-256 digests, in order
 *   Abort (4)     6…: reason, UTF-8
 *
 * docs/api.md ("Streams") and docs/demo.md describe the same layout for other implementations.
 */
import { StreamError, StreamErrorCode } from '../errors.js';

export const STREAM_PROTOCOL_VERSION = 1;

export const StreamFrameType = { Start: 1, Chunk: 2, End: 3, Abort: 4 } as const;

const COMMON_HEADER_BYTES = 6;
export const START_HEADER_BYTES = 14;
export const CHUNK_HEADER_BYTES = 10;
export const DIGEST_BYTES = 32;
const END_BYTES = 10 + DIGEST_BYTES;
/** Abort reasons are cut to this many bytes so that the frame always fits one message. */
const MAX_REASON_BYTES = 1024;

/** Application data announced with a stream (a file name and type, say): any JSON object. */
export type StreamMetadata = Record<string, unknown>;

export type StreamFrame =
  | { type: 'start'; streamId: number; totalBytes: number; metadata: StreamMetadata | undefined }
  | { type: 'chunk'; streamId: number; index: number; data: Uint8Array }
  | { type: 'end'; streamId: number; chunkCount: number; digest: Uint8Array }
  | { type: 'abort'; streamId: number; reason: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function header(type: number, streamId: number, byteLength: number): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(byteLength);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, STREAM_PROTOCOL_VERSION);
  view.setUint8(1, type);
  view.setUint32(2, streamId);
  return { bytes, view };
}

export function encodeStart(streamId: number, totalBytes: number, metadata: StreamMetadata | undefined): Uint8Array {
  const json = metadata === undefined ? new Uint8Array(0) : encoder.encode(JSON.stringify(metadata));
  const { bytes, view } = header(StreamFrameType.Start, streamId, START_HEADER_BYTES + json.byteLength);
  view.setBigUint64(6, BigInt(totalBytes));
  bytes.set(json, START_HEADER_BYTES);
  return bytes;
}

export function encodeChunk(streamId: number, index: number, data: Uint8Array): Uint8Array {
  const { bytes, view } = header(StreamFrameType.Chunk, streamId, CHUNK_HEADER_BYTES + data.byteLength);
  view.setUint32(6, index);
  bytes.set(data, CHUNK_HEADER_BYTES);
  return bytes;
}

export function encodeEnd(streamId: number, chunkCount: number, digest: Uint8Array): Uint8Array {
  const { bytes, view } = header(StreamFrameType.End, streamId, END_BYTES);
  view.setUint32(6, chunkCount);
  bytes.set(digest, 10);
  return bytes;
}

export function encodeAbort(streamId: number, reason: string): Uint8Array {
  let text = encoder.encode(reason);
  if (text.byteLength > MAX_REASON_BYTES) text = encoder.encode(`${reason.slice(0, MAX_REASON_BYTES / 4)}…`);
  const { bytes } = header(StreamFrameType.Abort, streamId, COMMON_HEADER_BYTES + text.byteLength);
  bytes.set(text, COMMON_HEADER_BYTES);
  return bytes;
}

/** Decodes one stream frame; throws StreamError `StreamMalformed` for anything else. `data` is a view, not a copy. */
export function decodeStreamFrame(bytes: Uint8Array): StreamFrame {
  if (bytes.byteLength < COMMON_HEADER_BYTES) throw malformed(`a stream frame has at least ${COMMON_HEADER_BYTES} bytes, got ${bytes.byteLength}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(0);
  if (version !== STREAM_PROTOCOL_VERSION) throw malformed(`stream protocol version ${version} is not ${STREAM_PROTOCOL_VERSION}`);
  const type = view.getUint8(1);
  const streamId = view.getUint32(2);
  switch (type) {
    case StreamFrameType.Start: {
      if (bytes.byteLength < START_HEADER_BYTES) throw malformed('Start frame too short');
      const totalBytes = view.getBigUint64(6);
      if (totalBytes > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`Start announces ${totalBytes} bytes`);
      return { type: 'start', streamId, totalBytes: Number(totalBytes), metadata: decodeMetadata(bytes.subarray(START_HEADER_BYTES)) };
    }
    case StreamFrameType.Chunk:
      if (bytes.byteLength < CHUNK_HEADER_BYTES) throw malformed('Chunk frame too short');
      return { type: 'chunk', streamId, index: view.getUint32(6), data: bytes.subarray(CHUNK_HEADER_BYTES) };
    case StreamFrameType.End:
      if (bytes.byteLength !== END_BYTES) throw malformed(`End frame has ${bytes.byteLength} bytes, not ${END_BYTES}`);
      return { type: 'end', streamId, chunkCount: view.getUint32(6), digest: bytes.subarray(10) };
    case StreamFrameType.Abort:
      return { type: 'abort', streamId, reason: decodeText(bytes.subarray(COMMON_HEADER_BYTES)) };
    default:
      throw malformed(`unknown stream frame type ${type}`);
  }
}

function decodeMetadata(json: Uint8Array): StreamMetadata | undefined {
  if (json.byteLength === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(decodeText(json));
  } catch (error) {
    throw malformed('Start metadata is not JSON', error);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed('Start metadata is not a JSON object');
  return value as StreamMetadata;
}

function decodeText(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch (error) {
    throw malformed('text is not UTF-8', error);
  }
}

function malformed(message: string, cause?: unknown): StreamError {
  return new StreamError(StreamErrorCode.Malformed, message, cause === undefined ? undefined : { cause });
}
