/**
 * Files arriving on APP_FILE_CHANNEL: every receiver of that channel is read by the SDK's StreamReceiver, which
 * reassembles each stream and checks its SHA-256 hash list. A completed file becomes a Blob URL to save.
 */
import {
  receiveStreams,
  StreamErrorCode,
  type DataChannelReceiver,
  type IncomingStream,
  type StreamError,
  type StreamReceiver,
} from '@backchannel/client';

import { identityOf } from '../call/roster.js';
import type { Chat } from '../chat/chat.js';
import { describeError, type ErrorReport } from '../lib/errors.js';
import { Listeners } from '../lib/listeners.js';
import type { ReceiverStats } from '../stats/receiverStats.js';
import { readFileMetadata } from './metadata.js';

export type IncomingState = 'receiving' | 'verifying' | 'complete' | 'cancelled' | 'failed';

export interface IncomingTransfer {
  readonly id: string;
  readonly from: string;
  readonly name: string;
  readonly type: string;
  readonly size: number;
  receivedBytes: number;
  state: IncomingState;
  /** Blob URL of the verified file. */
  url: string | undefined;
  /** Hex SHA-256 hash list of the file, as checked. */
  digest: string | undefined;
  error: ErrorReport | undefined;
}

/**
 * Largest file a page accepts. A received file stays in the page's memory (as Blob parts) until saved; past
 * a few GiB a tab runs out of memory, so bigger files fail at once with StreamTooLarge instead.
 */
const MAX_FILE_BYTES = 4 * 1024 ** 3;

export class IncomingFiles {
  readonly transfers: IncomingTransfer[] = [];
  readonly changed = new Listeners<IncomingTransfer>();
  /** A message on the file channel that is not part of a stream. */
  readonly problem = new Listeners<StreamError>();
  readonly #streams = new Map<IncomingTransfer, IncomingStream>();
  readonly #readers: StreamReceiver[] = [];
  readonly #chat: Chat;
  readonly #stats: ReceiverStats;

  constructor(chat: Chat, stats: ReceiverStats) {
    this.#chat = chat;
    this.#stats = stats;
  }

  receive(receiver: DataChannelReceiver): void {
    const reader = receiveStreams(receiver, {
      onStream: (stream) => this.#add(stream),
      onMessage: (message) => this.#stats.record(receiver, message),
      maxStreamBytes: MAX_FILE_BYTES,
    });
    reader.on('error', (error) => this.problem.emit(error));
    this.#readers.push(reader);
  }

  /** Stops receiving `transfer` here and asks its sender to stop sending it to this page. */
  async cancel(transfer: IncomingTransfer): Promise<void> {
    this.#streams.get(transfer)?.cancel('you declined the file');
    await this.#chat.sendControl({ type: 'file-cancel', transferId: transfer.id }, transfer.from);
  }

  dispose(): void {
    for (const reader of this.#readers) reader.close();
    for (const transfer of this.transfers) if (transfer.url) URL.revokeObjectURL(transfer.url);
    this.changed.clear();
    this.problem.clear();
  }

  #add(stream: IncomingStream): void {
    const meta = readFileMetadata(stream.metadata, `${identityOf(stream.sender)}/${stream.id}`);
    const transfer: IncomingTransfer = {
      id: meta.transferId,
      from: identityOf(stream.sender),
      name: meta.name,
      type: meta.type,
      size: stream.totalBytes,
      receivedBytes: 0,
      state: 'receiving',
      url: undefined,
      digest: undefined,
      error: undefined,
    };
    this.transfers.push(transfer);
    this.#streams.set(transfer, stream);
    stream.on('progress', ({ bytes }) => {
      transfer.receivedBytes = bytes;
      if (bytes === transfer.size) transfer.state = 'verifying';
      this.changed.emit(transfer);
    });
    stream.on('complete', (result) => {
      transfer.state = 'complete';
      transfer.digest = result.digest;
      transfer.url = URL.createObjectURL(result.blob(transfer.type));
      this.#streams.delete(transfer);
      this.changed.emit(transfer);
    });
    stream.on('error', (error) => {
      transfer.state = error.code === StreamErrorCode.Cancelled ? 'cancelled' : 'failed';
      transfer.error = describeError(error);
      this.#streams.delete(transfer);
      this.changed.emit(transfer);
    });
    this.changed.emit(transfer);
  }
}
