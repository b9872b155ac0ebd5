/**
 * Sending side of the stream helper: a payload of any size over one Durable sender, as a Start frame,
 * chunks under the sender's `maxMessageSize`, and an End frame with the integrity digest (frames.ts).
 *
 * Flow control. `sendMessage` resolves once a message is handed to the transport, so sending one chunk at a
 * time keeps at most one chunk queued in the SDK: the SDK's pacing and backpressure set the speed. Two limits
 * refuse messages instead of queueing them (SPEC §4): a sender more than `maxSendBacklogMs` behind its pace
 * (`DataChannelMessageFailureForBandwidth`) and the broadcast rules (`…ForTrafficLimit`). Chunks are sized to
 * half a second of the sender's pace so the first never happens on a targeted sender; when either refuses
 * anyway (a broadcast over the packet rate, say), the chunk took no sequence number, and it is sent again
 * after a short, growing wait.
 */
import { DATA_HEADER_BYTES } from '@backchannel/protocol';

import type { DataChannelReliability } from '../dataChannel/types.js';
import { DataChannelError, DataChannelErrorCode, invalidArgument } from '../errors.js';
import { consoleListenerErrorReporter, type ListenerErrorReporter } from '../events.js';
import { assertDigestSupported, HashList, toHex } from './digest.js';
import { CHUNK_HEADER_BYTES, encodeAbort, encodeChunk, encodeEnd, encodeStart, type StreamMetadata } from './frames.js';
import { StreamError, StreamErrorCode } from '../errors.js';

/** What sendStream needs of a sender: a `DataChannelSender` is one. */
export interface StreamSink {
  readonly maxMessageSize: number;
  /** @internal Where a throwing `onProgress` is reported (a DataChannelSender's client reporter). */
  readonly listenerErrorReporter?: ListenerErrorReporter;
  /** The sender's pace; chunks are sized to half a second of it. */
  readonly bitrateInKbps?: number;
  /** Lossy senders are refused: a stream needs every chunk. */
  readonly reliability?: DataChannelReliability;
  sendMessage(data: Uint8Array): Promise<void>;
}

/** Bytes of the payload handed to the transport (sending side) or received (receiving side). */
export interface StreamProgress {
  bytes: number;
  totalBytes: number;
}

export interface SendStreamOptions {
  /** A JSON object announced with the stream, e.g. `{ name, type }` of a file. Must fit in one message. */
  metadata?: StreamMetadata;
  /** Called after the Start frame (with 0) and after each chunk is handed to the transport. */
  onProgress?: (progress: StreamProgress) => void;
  /** Aborting stops the stream and tells its receivers (they fail with `StreamCancelled`). */
  signal?: AbortSignal;
  /** Payload bytes per chunk; default: the most that fits `maxMessageSize` and half a second of the pace. */
  chunkSize?: number;
  /** How long the limits may keep refusing chunks before the stream fails with `StreamStalled`. Default 30 s. */
  stallTimeoutMs?: number;
}

/** What was sent: the receivers' `ReceivedStream.digest` is the same hex string when the stream arrived intact. */
export interface SentStream {
  streamId: number;
  totalBytes: number;
  chunkCount: number;
  /** Hex SHA-256 over the chunks' SHA-256 digests, in order. */
  digest: string;
}

const PACE_SHARE_MS = 500;
const MIN_CHUNK_BYTES = 256;
const RETRY_FIRST_MS = 10;
const RETRY_MAX_MS = 500;
const RETRYABLE: ReadonlySet<string> = new Set([DataChannelErrorCode.MessageFailureForBandwidth, DataChannelErrorCode.MessageFailureForTrafficLimit]);

/** Stream ids count per sender session, so concurrent streams on one sender never collide. */
const lastStreamId = new WeakMap<StreamSink, number>();

/**
 * Backchannel extension: sends `data` (bytes, or a Blob read a piece at a time) as one stream over a Durable
 * `sender`, to the sender's current recipients. Resolves when the End frame is handed to the transport.
 *
 * Throws `InvalidArgument` at once for bad arguments or a Lossy sender. Rejects with StreamError
 * `StreamCancelled` when `signal` aborts, `StreamStalled` when the limits keep refusing, `StreamNotSupported`
 * without Web Crypto; and with the sender's DataChannelError when it fails otherwise (closed, call ended).
 */
export function sendStream(sender: StreamSink, data: Uint8Array | Blob, options: SendStreamOptions = {}): Promise<SentStream> {
  if (!(data instanceof Uint8Array) && !(data instanceof Blob)) throw invalidArgument('sendStream takes a Uint8Array or a Blob');
  if (sender.reliability === 'Lossy') throw invalidArgument('sendStream needs a Durable sender: a Lossy one may lose chunks');
  const chunkSize = options.chunkSize ?? defaultChunkSize(sender);
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > sender.maxMessageSize - CHUNK_HEADER_BYTES) {
    throw invalidArgument(`chunkSize must be an integer from 1 to ${sender.maxMessageSize - CHUNK_HEADER_BYTES} (maxMessageSize less the chunk header)`);
  }
  const streamId = ((lastStreamId.get(sender) ?? 0) + 1) >>> 0;
  lastStreamId.set(sender, streamId);
  return run(sender, data, streamId, chunkSize, options);
}

function defaultChunkSize(sender: StreamSink): number {
  const fit = sender.maxMessageSize - CHUNK_HEADER_BYTES;
  if (!sender.bitrateInKbps) return fit;
  const paced = Math.floor((sender.bitrateInKbps / 8) * PACE_SHARE_MS) - DATA_HEADER_BYTES - CHUNK_HEADER_BYTES;
  return Math.max(Math.min(fit, MIN_CHUNK_BYTES), Math.min(fit, paced));
}

async function run(sender: StreamSink, data: Uint8Array | Blob, streamId: number, chunkSize: number, options: SendStreamOptions): Promise<SentStream> {
  const { signal } = options;
  const totalBytes = data instanceof Uint8Array ? data.byteLength : data.size;
  const send = (frame: Uint8Array): Promise<void> => sendPatiently(sender, frame, signal, options.stallTimeoutMs ?? 30_000);
  const progress = (bytes: number): void => {
    try {
      options.onProgress?.({ bytes, totalBytes });
    } catch (error) {
      (sender.listenerErrorReporter ?? consoleListenerErrorReporter)(error, 'sendStream onProgress');
    }
  };
  assertDigestSupported();
  throwIfAborted(signal);
  await send(encodeStart(streamId, totalBytes, options.metadata));
  progress(0);
  const hashes = new HashList();
  let sentBytes = 0;
  try {
    for await (const chunk of chunksOf(data, chunkSize)) {
      throwIfAborted(signal);
      hashes.add(chunk);
      await send(encodeChunk(streamId, hashes.count - 1, chunk));
      sentBytes += chunk.byteLength;
      progress(sentBytes);
    }
    throwIfAborted(signal);
    const digest = await hashes.root();
    await send(encodeEnd(streamId, hashes.count, digest));
    return { streamId, totalBytes, chunkCount: hashes.count, digest: toHex(digest) };
  } catch (error) {
    // Best effort: a sender that is closed cannot say it, and its receivers see the session close instead.
    const reason = signal?.aborted ? reasonText(signal) : `the sender failed: ${error instanceof Error ? error.message : String(error)}`;
    sender.sendMessage(encodeAbort(streamId, reason)).catch(() => undefined);
    throw error;
  }
}

/** The payload in chunks; a Blob is read in blocks of 64 chunks, so a large file is never in memory whole. */
async function* chunksOf(data: Uint8Array | Blob, chunkSize: number): AsyncGenerator<Uint8Array> {
  if (data instanceof Uint8Array) {
    for (let at = 0; at < data.byteLength; at += chunkSize) yield data.subarray(at, at + chunkSize);
    return;
  }
  const blockSize = chunkSize * 64;
  for (let at = 0; at < data.size; at += blockSize) {
    const block = new Uint8Array(await data.slice(at, at + blockSize).arrayBuffer());
    for (let i = 0; i < block.byteLength; i += chunkSize) yield block.subarray(i, i + chunkSize);
  }
}

async function sendPatiently(sender: StreamSink, frame: Uint8Array, signal: AbortSignal | undefined, stallTimeoutMs: number): Promise<void> {
  let delayMs = RETRY_FIRST_MS;
  let refusedSince: number | undefined;
  for (;;) {
    try {
      await sender.sendMessage(frame);
      return;
    } catch (error) {
      if (!(error instanceof DataChannelError) || !RETRYABLE.has(error.code)) throw error;
      refusedSince ??= performance.now();
      if (performance.now() - refusedSince > stallTimeoutMs) {
        throw new StreamError(StreamErrorCode.Stalled, `the sender's limits refused the stream for ${stallTimeoutMs} ms: ${error.message}`, { cause: error });
      }
      await wait(delayMs, signal);
      delayMs = Math.min(delayMs * 2, RETRY_MAX_MS);
    }
  }
}

function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(cancelled(signal));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(cancelled(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelled(signal);
}

function cancelled(signal: AbortSignal): StreamError {
  return new StreamError(StreamErrorCode.Cancelled, `the stream was cancelled: ${reasonText(signal)}`, { cause: signal.reason });
}

/** The abort reason as receivers will read it in the Abort frame. */
function reasonText(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason.message : String(reason);
}
