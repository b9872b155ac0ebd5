/**
 * Receiving side of the stream helper: reads every message of one DataChannelReceiver, decodes stream
 * frames, and hands each stream's frames to its StreamAssembly. Streams of one sender session may
 * interleave; each is told apart by its id.
 */
import type { DataChannelReceiver } from '../dataChannel/DataChannelReceiver.js';
import type { DataChannelMessage } from '../dataChannel/types.js';
import { TypedEmitter } from '../events.js';
import { digestUnsupported } from './digest.js';
import { decodeStreamFrame, type StreamFrame } from './frames.js';
import { publicIncomingStream, type IncomingStream } from './IncomingStream.js';
import { StreamAssembly } from './StreamAssembly.js';
import { StreamError, StreamErrorCode } from '../errors.js';

export interface StreamReceiverOptions {
  /** Attached as a `stream` listener before any message is read, so no stream is missed. */
  onStream?: (stream: IncomingStream) => void;
  /** Sees every message read from the receiver, before it is decoded (for statistics, say). */
  onMessage?: (message: DataChannelMessage) => void;
  /** Streams announcing more bytes fail at once with `StreamTooLarge`. Default 1 GiB. */
  maxStreamBytes?: number;
}

export interface StreamReceiverEvents {
  /** A Start frame arrived: a new stream. */
  stream: [stream: IncomingStream];
  /** A message that is no stream frame, or a frame of a stream never announced (`StreamMalformed`). */
  error: [error: StreamError];
}

interface Entry {
  assembly: StreamAssembly;
  stream: IncomingStream;
}

const DEFAULT_MAX_STREAM_BYTES = 1024 ** 3;
/** Streams remembered after they end, so that their late frames are ignored quietly. */
const FINISHED_REMEMBERED = 1024;

/**
 * Backchannel extension: reassembles the streams `sendStream` sends on one sender session. It reads all of
 * the receiver's messages: give each receiver to at most one reader.
 */
export class StreamReceiver extends TypedEmitter<StreamReceiverEvents> {
  readonly receiver: DataChannelReceiver;
  readonly #maxStreamBytes: number;
  readonly #onMessage: ((message: DataChannelMessage) => void) | undefined;
  /** Active streams, then finished ones (oldest first) up to FINISHED_REMEMBERED. */
  readonly #streams = new Map<number, Entry>();
  /** Ids of streams whose frames arrived without a Start, reported once each. */
  readonly #unknown = new Set<number>();
  readonly #read = (): void => this.#drain();
  readonly #closed = (): void => this.close(StreamErrorCode.Interrupted, 'the sender session ended before the stream did');
  #open = true;

  constructor(receiver: DataChannelReceiver, options: StreamReceiverOptions = {}) {
    super(receiver.listenerErrorReporter);
    this.receiver = receiver;
    this.#maxStreamBytes = options.maxStreamBytes ?? DEFAULT_MAX_STREAM_BYTES;
    this.#onMessage = options.onMessage;
    if (options.onStream) this.on('stream', options.onStream);
    receiver.on('messageReady', this.#read);
    receiver.on('close', this.#closed);
    this.#drain();
    if (receiver.closed) this.#closed();
  }

  /** Streams still arriving. */
  get activeStreams(): readonly IncomingStream[] {
    return [...this.#streams.values()].filter(({ assembly }) => !assembly.done).map(({ stream }) => stream);
  }

  /**
   * Stops reading; streams still arriving fail with `code` (default `StreamCancelled`). A stream whose End
   * has arrived is still verified: a sender that closes right after its last stream loses nothing. Idempotent.
   */
  close(code: StreamErrorCode = StreamErrorCode.Cancelled, message = 'the stream receiver was closed'): void {
    if (!this.#open) return;
    this.#open = false;
    this.receiver.off('messageReady', this.#read);
    this.receiver.off('close', this.#closed);
    for (const { assembly } of this.#streams.values()) if (assembly.state === 'receiving') assembly.fail(code, message);
  }

  #drain(): void {
    for (let message = this.receiver.readMessage(); message && this.#open; message = this.receiver.readMessage()) {
      if (this.#onMessage) {
        try {
          this.#onMessage(message);
        } catch (error) {
          this.reportListenerError(error, 'StreamReceiver onMessage');
        }
      }
      let frame: StreamFrame;
      try {
        frame = decodeStreamFrame(message.data);
      } catch (error) {
        this.emit('error', error as StreamError);
        continue;
      }
      this.#handle(frame);
    }
  }

  #handle(frame: StreamFrame): void {
    if (frame.type === 'start') return this.#start(frame);
    const entry = this.#streams.get(frame.streamId);
    if (!entry) {
      // Reported once per stream id: a recipient added in the middle of a stream sees all of its chunks.
      if (this.#unknown.has(frame.streamId)) return;
      this.#unknown.add(frame.streamId);
      if (this.#unknown.size > FINISHED_REMEMBERED) this.#unknown.delete(this.#unknown.values().next().value!);
      this.emit('error', new StreamError(StreamErrorCode.Malformed, `a ${frame.type} frame of stream ${frame.streamId}, which never started here`));
      return;
    }
    const { assembly } = entry;
    switch (frame.type) {
      case 'chunk':
        assembly.onChunk(frame.index, frame.data);
        return;
      case 'end':
        void assembly.onEnd(frame.chunkCount, frame.digest);
        return;
      case 'abort':
        assembly.fail(StreamErrorCode.Cancelled, `the sender cancelled the stream: ${frame.reason}`);
        return;
    }
  }

  #start(frame: Extract<StreamFrame, { type: 'start' }>): void {
    this.#streams.get(frame.streamId)?.assembly.fail(StreamErrorCode.ChunkMissing, `stream ${frame.streamId} started again`);
    const assembly = new StreamAssembly({
      streamId: frame.streamId,
      channelId: this.receiver.channelId,
      sender: this.receiver.senderParticipantIdentifier,
      totalBytes: frame.totalBytes,
      metadata: frame.metadata,
    });
    const stream = publicIncomingStream(assembly, this.listenerErrorReporter);
    this.#remember(frame.streamId, { assembly, stream });
    this.emit('stream', stream);
    const unsupported = digestUnsupported();
    if (unsupported) assembly.fail(unsupported.code, unsupported.message);
    else if (frame.totalBytes > this.#maxStreamBytes) {
      assembly.fail(StreamErrorCode.TooLarge, `the stream has ${frame.totalBytes} bytes; this receiver takes at most ${this.#maxStreamBytes}`);
    }
  }

  /** Records a new stream, forgetting the oldest finished ones beyond FINISHED_REMEMBERED. */
  #remember(streamId: number, entry: Entry): void {
    this.#streams.delete(streamId);
    this.#streams.set(streamId, entry);
    for (const [id, { assembly }] of this.#streams) {
      if (this.#streams.size <= FINISHED_REMEMBERED) break;
      if (assembly.done) this.#streams.delete(id);
    }
  }
}

/**
 * Backchannel extension: reads `receiver` as a stream receiver. `onStream` (or `options.onStream`) sees each
 * new stream before any of its chunks.
 */
export function receiveStreams(
  receiver: DataChannelReceiver,
  options: StreamReceiverOptions | ((stream: IncomingStream) => void) = {},
): StreamReceiver {
  return new StreamReceiver(receiver, typeof options === 'function' ? { onStream: options } : options);
}
