/**
 * What each data-channel receiver has seen: the panel's model. Readers of messages (chat, files, the
 * fallback reader) report every message here, since reading consumes it.
 */
import type { DataChannelMessage, DataChannelReceiver } from '@backchannel/client';

import { identityOf } from '../call/roster.js';
import { Listeners } from '../lib/listeners.js';

export interface ReceiverRow {
  readonly receiver: DataChannelReceiver;
  readonly channelId: number;
  readonly sender: string;
  lastSequenceNumber: number | undefined;
  messages: number;
  bytes: number;
  closed: boolean;
}

export class ReceiverStats {
  readonly changed = new Listeners();
  readonly #rows: ReceiverRow[] = [];
  readonly #byReceiver = new Map<DataChannelReceiver, ReceiverRow>();

  get rows(): readonly ReceiverRow[] {
    return this.#rows;
  }

  track(receiver: DataChannelReceiver): void {
    const row: ReceiverRow = {
      receiver,
      channelId: receiver.channelId,
      sender: identityOf(receiver.senderParticipantIdentifier),
      lastSequenceNumber: undefined,
      messages: 0,
      bytes: 0,
      closed: receiver.closed,
    };
    this.#rows.push(row);
    this.#byReceiver.set(receiver, row);
    receiver.once('close', () => {
      row.closed = true;
      this.changed.emit();
    });
    this.changed.emit();
  }

  record(receiver: DataChannelReceiver, message: DataChannelMessage): void {
    const row = this.#byReceiver.get(receiver);
    if (!row) return;
    row.lastSequenceNumber = message.sequenceNumber;
    row.messages++;
    row.bytes += message.data.byteLength;
    this.changed.emit();
  }

  dispose(): void {
    this.changed.clear();
  }
}
