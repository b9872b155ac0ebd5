/**
 * The roster changes one call owes its endpoints, gathered over one event-loop turn and sent as one
 * `participantsChanged` per endpoint.
 *
 * Sent one message per change, filling a call costs a message to every endpoint per join: N² messages for
 * N endpoints, which made the server's signaling writes the bottleneck of a join storm. Joins and leaves
 * that land in the same turn (libdatachannel hands the server many connections' events in one batch) go
 * out together instead. What is owed is a net change per recipient: an endpoint that joins and leaves
 * within the turn is not announced at all, and what a recipient is told stays what it would have pieced
 * together from the single messages.
 */
import { MAX_SIGNALING_MESSAGE_BYTES, speaksParticipantsChanged, type ParticipantInfo, type ServerMessage } from '@backchannel/protocol';

/** Where an announcement goes: the recipient endpoint's id, its agent's protocol version and signaling. */
export interface RosterRecipient {
  readonly id: number;
  readonly protocolVersion: number;
  signal(message: ServerMessage): void;
}

interface Owed {
  /** Announced as joined, by endpoint id (in join order). */
  joined: Map<number, ParticipantInfo>;
  /** Announced as left. */
  left: Set<number>;
}

/**
 * Bytes of participants per message: well under the signaling limit, which counts the whole message, and
 * a participant's JSON grows with escaping.
 */
const PARTICIPANT_BYTES_PER_MESSAGE = MAX_SIGNALING_MESSAGE_BYTES / 2;

/** One call's owed roster announcements (see the module comment). */
export class RosterAnnouncements {
  readonly #owed = new Map<RosterRecipient, Owed>();
  #scheduled = false;

  /** `recipient` is to learn that `participant` joined. */
  joined(recipient: RosterRecipient, participant: ParticipantInfo): void {
    const owed = this.#owedTo(recipient);
    owed.left.delete(participant.endpointId);
    owed.joined.set(participant.endpointId, participant);
  }

  /** `recipient` is to learn that endpoint `endpointId` left (nothing, if it never learnt it joined). */
  left(recipient: RosterRecipient, endpointId: number): void {
    const owed = this.#owedTo(recipient);
    if (!owed.joined.delete(endpointId)) owed.left.add(endpointId);
  }

  /** `recipient` left the call: what it was owed is not sent. */
  forget(recipient: RosterRecipient): void {
    this.#owed.delete(recipient);
  }

  /** Sends everything owed now (the turn's end, or a call that closes). */
  flush(): void {
    this.#scheduled = false;
    const owed = [...this.#owed];
    this.#owed.clear();
    for (const [recipient, { joined, left }] of owed) {
      if (joined.size === 0 && left.size === 0) continue;
      const messages = speaksParticipantsChanged(recipient.protocolVersion)
        ? messagesFor(recipient.id, [...joined.values()], [...left])
        : version2MessagesFor(recipient.id, [...joined.values()], [...left]);
      for (const message of messages) recipient.signal(message);
    }
  }

  #owedTo(recipient: RosterRecipient): Owed {
    let owed = this.#owed.get(recipient);
    if (!owed) {
      owed = { joined: new Map(), left: new Set() };
      this.#owed.set(recipient, owed);
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      // After this turn's I/O callbacks: every connection libdatachannel reported ready in this batch.
      setImmediate(() => this.flush());
    }
    return owed;
  }
}

/** One message, or several when the participants would not fit one: leaves go in the first. */
function messagesFor(endpointId: number, joined: ParticipantInfo[], left: number[]): ServerMessage[] {
  const messages: ServerMessage[] = [];
  let chunk: ParticipantInfo[] = [];
  let bytes = 0;
  for (const participant of joined) {
    const size = JSON.stringify(participant).length * 3; // UTF-8 bytes, at most
    if (chunk.length > 0 && bytes + size > PARTICIPANT_BYTES_PER_MESSAGE) {
      messages.push({ type: 'participantsChanged', endpointId, joined: chunk, left: messages.length === 0 ? left : [] });
      chunk = [];
      bytes = 0;
    }
    chunk.push(participant);
    bytes += size;
  }
  messages.push({ type: 'participantsChanged', endpointId, joined: chunk, left: messages.length === 0 ? left : [] });
  return messages;
}

/** For a version-2 agent: one message per change, leaves first (as one participantsChanged reads). */
function version2MessagesFor(endpointId: number, joined: ParticipantInfo[], left: number[]): ServerMessage[] {
  return [
    ...left.map((participantEndpointId): ServerMessage => ({ type: 'participantLeft', endpointId, participantEndpointId })),
    ...joined.map((participant): ServerMessage => ({ type: 'participantJoined', endpointId, participant })),
  ];
}
