/**
 * Chat and control messages over one Durable sender on MESSAGE_CHANNEL. The recipient list is set right
 * before each message: setParticipants and sendMessage run back to back, and each message goes to the list
 * current when it was sent (SPEC §4), so lines to different audiences never mix.
 */
import type { DataChannelCallFeature, DataChannelReceiver, DataChannelSender } from '@backchannel/client';

import { MESSAGE_CHANNEL } from '../channels.js';
import { Listeners } from '../lib/listeners.js';
import type { ReceiverStats } from '../stats/receiverStats.js';
import { decodeDemoMessage, encodeDemoMessage, MAX_CHAT_LENGTH, type DemoMessage } from './protocol.js';

export interface ChatLine {
  readonly id: number;
  /** Identity of the sender (the server's stamp for received lines). */
  readonly from: string;
  readonly text: string;
  readonly to: 'everyone' | string[];
  readonly outgoing: boolean;
  readonly at: Date;
}

export class Chat {
  readonly lines: ChatLine[] = [];
  readonly added = new Listeners<ChatLine>();
  /** A control message arrived (a file-cancel request, say), with the identity that sent it. */
  readonly control = new Listeners<{ from: string; message: Exclude<DemoMessage, { type: 'chat' }> }>();
  readonly #sender: DataChannelSender;
  readonly #me: string;
  readonly #stats: ReceiverStats;
  #nextId = 1;

  constructor(dataChannel: DataChannelCallFeature, me: string, stats: ReceiverStats) {
    this.#sender = dataChannel.createDataChannelSender({ channelId: MESSAGE_CHANNEL, reliability: 'Durable' });
    this.#me = me;
    this.#stats = stats;
  }

  /** Sends a line to everyone, or to the given identities. Rejects with the SDK's DataChannelError. */
  async send(text: string, to: 'everyone' | string[]): Promise<void> {
    const line = text.trim().slice(0, MAX_CHAT_LENGTH);
    if (!line) return;
    if (to !== 'everyone' && to.length === 0) throw new Error('choose at least one participant, or send to everyone');
    await this.#send({ type: 'chat', text: line, to }, to === 'everyone' ? [] : to);
    this.#add({ from: this.#me, text: line, to, outgoing: true });
  }

  /** Sends a control message to one identity. */
  sendControl(message: Exclude<DemoMessage, { type: 'chat' }>, to: string): Promise<void> {
    return this.#send(message, [to]);
  }

  /** Reads a receiver of MESSAGE_CHANNEL for as long as it lives. */
  read(receiver: DataChannelReceiver): void {
    const from = receiver.senderParticipantIdentifier.communicationUserId;
    const drain = (): void => {
      for (let m = receiver.readMessage(); m; m = receiver.readMessage()) {
        this.#stats.record(receiver, m);
        const message = decodeDemoMessage(m.data);
        if (message?.type === 'chat') this.#add({ from, text: message.text, to: message.to, outgoing: false });
        else if (message) this.control.emit({ from, message });
      }
    };
    receiver.on('messageReady', drain);
    drain();
  }

  dispose(): void {
    this.#sender.close();
    this.added.clear();
    this.control.clear();
  }

  #send(message: DemoMessage, recipients: string[]): Promise<void> {
    this.#sender.setParticipants(recipients.map((communicationUserId) => ({ communicationUserId })));
    return this.#sender.sendMessage(encodeDemoMessage(message));
  }

  #add(line: Omit<ChatLine, 'id' | 'at'>): void {
    const full = { ...line, id: this.#nextId++, at: new Date() };
    this.lines.push(full);
    this.added.emit(full);
  }
}
