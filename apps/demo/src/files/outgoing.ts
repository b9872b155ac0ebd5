/**
 * Files this page sends: one Durable sender on APP_FILE_CHANNEL, one transfer at a time, each a stream
 * (sendStream) to the recipients chosen when it was shared. "Everyone" is sent as the list of everyone
 * present rather than as a broadcast: broadcasts are held to 80 packets/s (SPEC §4), far too slow for files.
 */
import { sendStream, StreamErrorCode, type DataChannelCallFeature, type DataChannelSender } from '@backchannel/client';
import { APP_FILE_CHANNEL, newTransferId } from '@backchannel/protocol';

import { describeError, type ErrorReport } from '../lib/errors.js';
import { Listeners } from '../lib/listeners.js';
import { fileMetadata } from './metadata.js';

export type OutgoingState = 'queued' | 'sending' | 'sent' | 'cancelled' | 'failed';

export interface OutgoingTransfer {
  readonly id: string;
  readonly file: File;
  /** Identities still receiving it; those who declined are moved to `declined`. */
  recipients: string[];
  declined: string[];
  state: OutgoingState;
  sentBytes: number;
  error: ErrorReport | undefined;
}

export class OutgoingFiles {
  readonly transfers: OutgoingTransfer[] = [];
  readonly changed = new Listeners<OutgoingTransfer>();
  readonly #sender: DataChannelSender;
  readonly #controllers = new Map<OutgoingTransfer, AbortController>();
  #queue: Promise<void> = Promise.resolve();

  constructor(dataChannel: DataChannelCallFeature) {
    this.#sender = dataChannel.createDataChannelSender({ channelId: APP_FILE_CHANNEL, reliability: 'Durable' });
  }

  /** Queues `file` for `recipients` (identities). Throws if there is no one to send it to. */
  share(file: File, recipients: string[]): OutgoingTransfer {
    if (recipients.length === 0) throw new Error('no one to send the file to: wait for someone to join, or choose participants');
    const transfer: OutgoingTransfer = { id: newTransferId(), file, recipients: [...recipients], declined: [], state: 'queued', sentBytes: 0, error: undefined };
    this.transfers.push(transfer);
    this.#controllers.set(transfer, new AbortController());
    this.#queue = this.#queue.then(() => this.#run(transfer));
    this.changed.emit(transfer);
    return transfer;
  }

  cancel(transfer: OutgoingTransfer, reason = 'the sender cancelled'): void {
    if (transfer.state === 'queued') this.#finish(transfer, 'cancelled');
    this.#controllers.get(transfer)?.abort(new Error(reason));
  }

  /** A recipient asked to stop: it is dropped from the recipient list, and the transfer stops if no one is left. */
  declined(from: string, transferId: string): void {
    const transfer = this.transfers.find((t) => t.id === transferId);
    if (!transfer || !transfer.recipients.includes(from) || (transfer.state !== 'queued' && transfer.state !== 'sending')) return;
    transfer.recipients = transfer.recipients.filter((identity) => identity !== from);
    transfer.declined.push(from);
    if (transfer.recipients.length === 0) this.cancel(transfer, 'every recipient declined');
    else if (transfer.state === 'sending') this.#sender.setParticipants(transfer.recipients.map((communicationUserId) => ({ communicationUserId })));
    this.changed.emit(transfer);
  }

  dispose(): void {
    for (const transfer of this.transfers) this.cancel(transfer, 'the sender left the call');
    this.#sender.close();
    this.changed.clear();
  }

  async #run(transfer: OutgoingTransfer): Promise<void> {
    const controller = this.#controllers.get(transfer);
    if (transfer.state !== 'queued' || !controller) return; // cancelled while it waited
    const { signal } = controller;
    transfer.state = 'sending';
    this.changed.emit(transfer);
    try {
      this.#sender.setParticipants(transfer.recipients.map((communicationUserId) => ({ communicationUserId })));
      await sendStream(this.#sender, transfer.file, {
        metadata: { ...fileMetadata(transfer.file, transfer.id) },
        signal,
        onProgress: ({ bytes }) => {
          transfer.sentBytes = bytes;
          this.changed.emit(transfer);
        },
      });
      this.#finish(transfer, 'sent');
    } catch (error) {
      const cancelled = (error as { code?: unknown }).code === StreamErrorCode.Cancelled;
      this.#finish(transfer, cancelled ? 'cancelled' : 'failed', describeError(error));
    }
  }

  #finish(transfer: OutgoingTransfer, state: OutgoingState, error?: ErrorReport): void {
    transfer.state = state;
    transfer.error = error;
    this.#controllers.delete(transfer);
    this.changed.emit(transfer);
  }
}
