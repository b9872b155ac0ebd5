/**
 * Chat and control messages over one Durable sender on APP_MESSAGE_CHANNEL, in the app message format the
 * CLI speaks too (@backchannel/protocol, appMessages.ts). The recipient list is set right before each
 * message: setParticipants and sendMessage run back to back, and each message goes to the list current when
 * it was sent (SPEC §4), so lines to different audiences never mix.
 */
import type { DataChannelCallFeature, DataChannelReceiver, DataChannelSender } from '@backchannel/client';
import {
  APP_MESSAGE_CHANNEL,
  AppMessageError,
  decodeAppMessage,
  encodeAppMessage,
  MAX_CHAT_LENGTH,
  type AppMessage,
  type FileCancelMessage,
} from '@backchannel/protocol';

import { identityOf } from '../call/roster.js';
import { Listeners } from '../lib/listeners.js';
import type { ReceiverStats } from '../stats/receiverStats.js';

export interface ChatLine {
  readonly id: number;
  /** Identity of the sender (the server's stamp for received lines). */
  readonly from: string;
  readonly text: string;
  readonly to: 'everyone' | string[];
  readonly outgoing: boolean;
  readonly at: Date;
  /**
   * An outgoing line's delivery (a Backchannel extension, delivery receipts): 'sent' once handed to the
   * transport, 'delivered' once every recipient endpoint's SDK has it.
   */
  delivery?: 'sent' | 'delivered';
}

export class Chat {
  readonly lines: ChatLine[] = [];
  readonly added = new Listeners<ChatLine>();
  /** An outgoing line's delivery changed. */
  readonly delivered = new Listeners<ChatLine>();
  /**
   * A file-cancel request arrived, with the identity that sent it. The CLI's receipts (file-received,
   * file-failed) are not shown by the page: it reads them as it reads unknown messages, by skipping them.
   */
  readonly control = new Listeners<{ from: string; message: FileCancelMessage }>();
  readonly #sender: DataChannelSender;
  readonly #me: string;
  readonly #stats: ReceiverStats;
  #nextId = 1;

  constructor(dataChannel: DataChannelCallFeature, me: string, stats: ReceiverStats) {
    this.#sender = dataChannel.createDataChannelSender({ channelId: APP_MESSAGE_CHANNEL, reliability: 'Durable', receipts: true });
    this.#me = me;
    this.#stats = stats;
  }

  /** Sends a line to everyone, or to the given identities. Rejects with the SDK's DataChannelError. */
  async send(text: string, to: 'everyone' | string[]): Promise<void> {
    const line = text.trim().slice(0, MAX_CHAT_LENGTH);
    if (!line) return;
    if (to !== 'everyone' && to.length === 0) throw new Error('choose at least one participant, or send to everyone');
    const sent = this.#send({ type: 'chat', text: line, to }, to === 'everyone' ? [] : to);
    const sequenceNumber = this.#sender.sequenceNumber;
    await sent;
    const added = this.#add({ from: this.#me, text: line, to, outgoing: true, delivery: 'sent' });
    // ✓✓ once every recipient in the call has it (receipts: cumulative acknowledgements, no round trip each).
    void this.#sender.whenDelivered(sequenceNumber).then(({ reached, missed }) => {
      if (reached.length === 0 || missed.length > 0) return;
      added.delivery = 'delivered';
      this.delivered.emit(added);
    });
  }

  /** Sends a control message to one identity. */
  sendControl(message: FileCancelMessage, to: string): Promise<void> {
    return this.#send(message, [to]);
  }

  /** Reads a receiver of APP_MESSAGE_CHANNEL for as long as it lives. */
  read(receiver: DataChannelReceiver): void {
    const from = identityOf(receiver.senderParticipantIdentifier);
    const drain = (): void => {
      for (let m = receiver.readMessage(); m; m = receiver.readMessage()) {
        this.#stats.record(receiver, m);
        const message = readAppMessage(m.data);
        // A longer line than the page sends is cut to what the page shows.
        if (message?.type === 'chat') this.#add({ from, text: message.text.slice(0, MAX_CHAT_LENGTH), to: message.to, outgoing: false });
        else if (message?.type === 'file-cancel') this.control.emit({ from, message });
      }
    };
    receiver.on('messageReady', drain);
    drain();
  }

  dispose(): void {
    this.#sender.close();
    this.added.clear();
    this.delivered.clear();
    this.control.clear();
  }

  #send(message: AppMessage, recipients: string[]): Promise<void> {
    this.#sender.setParticipants(recipients.map((communicationUserId) => ({ communicationUserId })));
    return this.#sender.sendMessage(encodeAppMessage(message));
  }

  #add(line: Omit<ChatLine, 'id' | 'at'>): ChatLine {
    const full = { ...line, id: this.#nextId++, at: new Date() };
    this.lines.push(full);
    this.added.emit(full);
    return full;
  }
}

/** The app message in `data`, or undefined for anything else (another application's, a newer type). */
function readAppMessage(data: Uint8Array): AppMessage | undefined {
  try {
    return decodeAppMessage(data);
  } catch (error) {
    if (error instanceof AppMessageError) return undefined;
    throw error;
  }
}
