import type { CommunicationIdentifierKind } from '../identifiers.js';
import { TypedEmitter, type ListenerErrorReporter } from '../events.js';
import type { StreamMetadata } from './frames.js';
import type { StreamProgress } from './sendStream.js';
import type { IncomingStreamState, ReceivedStream, StreamAssembly } from './StreamAssembly.js';
import { StreamErrorCode, type StreamError } from '../errors.js';

export interface IncomingStreamEvents {
  /** A chunk arrived. */
  progress: [progress: StreamProgress];
  /** The End frame arrived and the SHA-256 check passed. */
  complete: [result: ReceivedStream];
  /** The stream failed or was cancelled; nothing more happens. */
  error: [error: StreamError];
}

let wrap: (assembly: StreamAssembly, reporter: ListenerErrorReporter) => IncomingStream;

/**
 * Backchannel extension: one stream arriving on a receiver, announced by `StreamReceiver`'s `stream` event.
 * Listen to `progress`, then `complete` or `error` (exactly one of them), or await `done`.
 */
export class IncomingStream extends TypedEmitter<IncomingStreamEvents> {
  static {
    wrap = (assembly, reporter) => new IncomingStream(assembly, reporter);
  }

  /** The sender's id for this stream (unique per sender session). */
  readonly id: number;
  readonly channelId: number;
  /** Who sent it, as stamped by the server. */
  readonly sender: CommunicationIdentifierKind;
  /** The payload size the sender announced. */
  readonly totalBytes: number;
  /** The JSON object the sender announced with the stream, if any. */
  readonly metadata: StreamMetadata | undefined;
  /** Resolves with the payload once complete and verified; rejects with the StreamError of `error`. */
  readonly done: Promise<ReceivedStream>;
  readonly #assembly: StreamAssembly;

  /** Created by StreamReceiver when a Start frame arrives. */
  private constructor(assembly: StreamAssembly, reporter: ListenerErrorReporter) {
    super(reporter);
    this.#assembly = assembly;
    const { header } = assembly;
    this.id = header.streamId;
    this.channelId = header.channelId;
    this.sender = header.sender;
    this.totalBytes = header.totalBytes;
    this.metadata = header.metadata;
    this.done = new Promise<ReceivedStream>((resolve, reject) => {
      assembly.listener = {
        progress: (bytes, totalBytes) => this.emit('progress', { bytes, totalBytes }),
        complete: (result) => {
          resolve(result);
          this.emit('complete', result);
        },
        failed: (error) => {
          reject(error);
          this.emit('error', error);
        },
      };
    });
    // Applications that only listen to events must not see an unhandled rejection.
    this.done.catch(() => undefined);
  }

  /** `receiving`, `verifying` (End arrived, checking), `complete` or `failed`. */
  get state(): IncomingStreamState {
    return this.#assembly.state;
  }

  /** Payload bytes received so far. */
  get receivedBytes(): number {
    return this.#assembly.receivedBytes;
  }

  /**
   * Stops receiving this stream here: what arrived is dropped, later chunks are ignored, and the stream
   * fails with `StreamCancelled`. The sender is not told by the helper (its session may serve other
   * recipients); an application tells it over a channel of its own if it should stop.
   */
  cancel(reason = 'cancelled by the receiver'): void {
    this.#assembly.fail(StreamErrorCode.Cancelled, reason);
  }
}

/** @internal The public object of a stream being assembled (used by StreamReceiver only). */
export function publicIncomingStream(assembly: StreamAssembly, reporter: ListenerErrorReporter): IncomingStream {
  return wrap(assembly, reporter);
}
