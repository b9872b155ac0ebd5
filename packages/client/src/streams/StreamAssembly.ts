/**
 * One incoming stream being put back together: checks each frame against what came before, keeps the
 * chunks and their digests, and verifies the End frame. The public IncomingStream forwards to it; the
 * StreamReceiver feeds it frames.
 */
import type { CommunicationIdentifierKind } from '../identifiers.js';
import { HashList, sameBytes, toHex } from './digest.js';
import type { StreamMetadata } from './frames.js';
import { StreamError, StreamErrorCode } from '../errors.js';

export type IncomingStreamState = 'receiving' | 'verifying' | 'complete' | 'failed';

/** A stream that arrived whole and intact. */
export interface ReceivedStream {
  /** The chunks in order (views on the received messages, not copies). */
  readonly chunks: readonly Uint8Array[];
  readonly byteLength: number;
  /** Hex SHA-256 over the chunks' SHA-256 digests: the same as the sender's `SentStream.digest`. */
  readonly digest: string;
  /** The payload in one new Uint8Array. */
  bytes(): Uint8Array;
  /** The payload as a Blob (no single large copy: the chunks become its parts). */
  blob(type?: string): Blob;
}

export interface StreamHeader {
  streamId: number;
  channelId: number;
  sender: CommunicationIdentifierKind;
  totalBytes: number;
  metadata: StreamMetadata | undefined;
}

/** What the public IncomingStream hears. */
export interface AssemblyListener {
  progress(bytes: number, totalBytes: number): void;
  complete(result: ReceivedStream): void;
  failed(error: StreamError): void;
}

export class StreamAssembly {
  readonly header: StreamHeader;
  state: IncomingStreamState = 'receiving';
  receivedBytes = 0;
  listener: AssemblyListener | undefined;
  #chunks: Uint8Array[] = [];
  #hashes = new HashList();

  constructor(header: StreamHeader) {
    this.header = header;
  }

  get done(): boolean {
    return this.state === 'complete' || this.state === 'failed';
  }

  onChunk(index: number, data: Uint8Array): void {
    if (this.state !== 'receiving') return;
    if (index !== this.#chunks.length) {
      this.fail(StreamErrorCode.ChunkMissing, `chunk ${index} arrived where chunk ${this.#chunks.length} was expected`);
      return;
    }
    if (this.receivedBytes + data.byteLength > this.header.totalBytes) {
      this.fail(StreamErrorCode.TooLarge, `more than the ${this.header.totalBytes} bytes the stream announced arrived`);
      return;
    }
    this.#chunks.push(data);
    this.#hashes.add(data);
    this.receivedBytes += data.byteLength;
    this.listener?.progress(this.receivedBytes, this.header.totalBytes);
  }

  async onEnd(chunkCount: number, digest: Uint8Array): Promise<void> {
    if (this.state !== 'receiving') return;
    if (chunkCount !== this.#chunks.length || this.receivedBytes !== this.header.totalBytes) {
      this.fail(
        StreamErrorCode.ChunkMissing,
        `the stream ended after ${chunkCount} chunks of ${this.header.totalBytes} bytes, but ${this.#chunks.length} chunks of ${this.receivedBytes} bytes arrived`,
      );
      return;
    }
    this.state = 'verifying';
    let actual: Uint8Array;
    try {
      actual = await this.#hashes.root();
    } catch (error) {
      this.fail(StreamErrorCode.NotSupported, `could not compute the SHA-256 check: ${String(error)}`);
      return;
    }
    if (this.state !== 'verifying') return; // cancelled meanwhile
    if (!sameBytes(actual, digest)) {
      this.fail(StreamErrorCode.IntegrityFailed, `SHA-256 check failed: received ${toHex(actual)}, sender sent ${toHex(digest)}`);
      return;
    }
    this.state = 'complete';
    this.listener?.complete(received(this.#chunks, this.receivedBytes, toHex(actual)));
    this.#chunks = [];
  }

  fail(code: StreamErrorCode, message: string): void {
    if (this.done) return;
    this.state = 'failed';
    this.#chunks = [];
    this.#hashes = new HashList();
    this.listener?.failed(new StreamError(code, message));
  }
}

function received(chunks: readonly Uint8Array[], byteLength: number, digest: string): ReceivedStream {
  return Object.freeze({
    chunks,
    byteLength,
    digest,
    bytes() {
      const all = new Uint8Array(byteLength);
      let at = 0;
      for (const chunk of chunks) {
        all.set(chunk, at);
        at += chunk.byteLength;
      }
      return all;
    },
    blob(type?: string) {
      return new Blob(chunks as Uint8Array<ArrayBuffer>[], type === undefined ? {} : { type });
    },
  });
}
