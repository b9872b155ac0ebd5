/**
 * A participant card, as an application built on the reference SDK would write it: it lists who is in the
 * call, lets the user pick recipients, sends a text to the picked ones (or to everyone when none is
 * picked), and shows what arrives, with who sent it and whether it was private. Written against the
 * reference's typings only (`@azure/communication-calling`, `@azure/communication-common`).
 *
 * Two copies, one port, as for quickstart.ts: examples/porting/reference/participantCard.ts imports the
 * calling API from `@azure/communication-calling`; examples/porting/participantCard.ts is the same file
 * with that import switched to `@backchannel/client`.
 *
 * No DOM: `render()` returns the card's lines, so that a page, a terminal or a test can show them.
 */
import { getIdentifierRawId, type CommunicationIdentifier, type CommunicationIdentifierKind } from '@azure/communication-common';
import {
  Features,
  type Call,
  type CallEndReason,
  type CallState,
  type CollectionUpdatedEvent,
  type DataChannelReceiver,
  type DataChannelReceiverCloseEvent,
  type DataChannelReceiverCreatedEvent,
  type DataChannelReceiverMessageReadyEvent,
  type DataChannelSender,
  type DataChannelSenderOpenOptions,
  type PropertyChangedEvent,
  type RemoteParticipant,
} from '@backchannel/client';

/** The card's channel: one application use, one channelId. */
export const CARD_CHANNEL_ID = 2001;

/** What travels: the text, and the raw ids it was addressed to (empty: everyone). */
interface CardMessage {
  text: string;
  to: string[];
}

/** A message the card shows. */
export interface ShownMessage {
  from: string;
  text: string;
  sequenceNumber: number;
  /** Addressed to picked participants rather than to everyone. */
  private: boolean;
}

/** A participant as the card lists it. */
export interface ListedParticipant {
  rawId: string;
  name: string;
  picked: boolean;
}

/** How the card names an identifier of any kind (the reference's calls mix them). */
function describe(identifier: CommunicationIdentifierKind): string {
  switch (identifier.kind) {
    case 'communicationUser':
      return identifier.communicationUserId;
    case 'phoneNumber':
      return identifier.phoneNumber;
    case 'microsoftTeamsUser':
      return `Teams user ${identifier.microsoftTeamsUserId}`;
    case 'microsoftTeamsApp':
      return `Teams app ${identifier.teamsAppId}`;
    case 'teamsExtensionUser':
      return `Teams Phone user ${identifier.userId}`;
    case 'unknown':
      return identifier.id;
  }
}

export class ParticipantCard {
  readonly #call: Call;
  readonly #sender: DataChannelSender;
  readonly #picked = new Set<string>();
  readonly #receivers: DataChannelReceiver[] = [];
  readonly #shown: ShownMessage[] = [];
  readonly #listeners = new Set<() => void>();
  readonly #decoder = new TextDecoder();
  #state: CallState;

  /** Opens the card on a Connected call: its sender, and a receiver listener for its channel. */
  constructor(call: Call) {
    this.#call = call;
    this.#state = call.state;
    const options: DataChannelSenderOpenOptions = { channelId: CARD_CHANNEL_ID, reliability: 'Durable', priority: 'Normal' };
    const dataChannel = call.feature(Features.DataChannel);
    this.#sender = dataChannel.createDataChannelSender(options);

    const onReceiverCreated: DataChannelReceiverCreatedEvent = (receiver) => {
      if (receiver.channelId !== CARD_CHANNEL_ID) return;
      this.#receivers.push(receiver); // the SDK announces a receiver once: keep it
      const onMessageReady: DataChannelReceiverMessageReadyEvent = () => this.#read(receiver);
      const onClose: DataChannelReceiverCloseEvent = () => {
        this.#receivers.splice(this.#receivers.indexOf(receiver), 1);
      };
      receiver.on('messageReady', onMessageReady);
      receiver.on('close', onClose);
    };
    dataChannel.on('dataChannelReceiverCreated', onReceiverCreated);

    const onParticipants: CollectionUpdatedEvent<RemoteParticipant> = ({ removed }) => {
      // Whoever left can no longer be picked.
      for (const participant of removed) this.#picked.delete(getIdentifierRawId(participant.identifier));
      this.#changed();
    };
    call.on('remoteParticipantsUpdated', onParticipants);
    const onState: PropertyChangedEvent = () => {
      this.#state = call.state;
      this.#changed();
    };
    call.on('stateChanged', onState);
  }

  /** Everyone else in the call, in the order they joined, and whether they are picked. */
  get participants(): ListedParticipant[] {
    return this.#call.remoteParticipants.map((participant) => {
      const rawId = getIdentifierRawId(participant.identifier);
      return { rawId, name: participant.displayName || describe(participant.identifier), picked: this.#picked.has(rawId) };
    });
  }

  /** What arrived, oldest first. */
  get shown(): readonly ShownMessage[] {
    return this.#shown;
  }

  get state(): CallState {
    return this.#state;
  }

  /** Why the call ended, once it has: the reference's code and subCode. */
  get endReason(): CallEndReason | undefined {
    return this.#call.callEndReason;
  }

  /** Calls `listener` whenever what `render()` shows may have changed. */
  onChange(listener: () => void): void {
    this.#listeners.add(listener);
  }

  /** Picks or unpicks the participant `rawId` as a recipient. */
  toggle(rawId: string): void {
    if (this.#picked.has(rawId)) this.#picked.delete(rawId);
    else if (this.participants.some((participant) => participant.rawId === rawId)) this.#picked.add(rawId);
    this.#changed();
  }

  /** Sends `text` to the picked participants, or to everyone else when none is picked. */
  async send(text: string): Promise<void> {
    const picked = this.#call.remoteParticipants.filter((participant) => this.#picked.has(getIdentifierRawId(participant.identifier)));
    const recipients: CommunicationIdentifier[] = picked.map((participant) => participant.identifier);
    this.#sender.setParticipants(recipients);
    const message: CardMessage = { text, to: [...new Set(recipients.map((identifier) => getIdentifierRawId(identifier)))] };
    await this.#sender.sendMessage(new TextEncoder().encode(JSON.stringify(message)));
  }

  /** Leaves the call; with `forEveryone`, ends it for everyone. */
  async leave(forEveryone: boolean): Promise<void> {
    this.#sender.close();
    await this.#call.hangUp({ forEveryone });
  }

  /** The card as lines of text. */
  render(): string[] {
    const lines = [`call ${this.#state}`];
    const reason = this.#call.callEndReason;
    if (reason) lines.push(`ended: code ${reason.code}, subCode ${reason.subCode ?? '-'}`);
    for (const participant of this.participants) lines.push(`[${participant.picked ? 'x' : ' '}] ${participant.name}`);
    for (const message of this.#shown) lines.push(`${message.from}${message.private ? ' (to you)' : ''}: ${message.text}`);
    return lines;
  }

  #read(receiver: DataChannelReceiver): void {
    for (let message = receiver.readMessage(); message; message = receiver.readMessage()) {
      const { text, to } = JSON.parse(this.#decoder.decode(message.data)) as CardMessage;
      const senderRawId = getIdentifierRawId(receiver.senderParticipantIdentifier);
      const sender = this.#call.remoteParticipants.find((participant) => getIdentifierRawId(participant.identifier) === senderRawId);
      this.#shown.push({
        from: sender?.displayName || describe(receiver.senderParticipantIdentifier),
        text,
        sequenceNumber: message.sequenceNumber,
        private: to.length > 0,
      });
    }
    this.#changed();
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}
