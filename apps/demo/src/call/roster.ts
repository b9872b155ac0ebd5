/**
 * Who is in the call, what they are called, and whom the user picked as recipients. Names are remembered
 * after people leave, so old chat lines and transfers still say who sent them.
 */
import type { Call, CommunicationIdentifierKind, RemoteParticipant } from '@backchannel/client';

import { shortId } from '../lib/format.js';
import { Listeners } from '../lib/listeners.js';

/**
 * The identity of a participant as the SDK reports it. The type is the reference's union of identifier
 * kinds; Backchannel's participants are all Communication users.
 */
export function identityOf(identifier: CommunicationIdentifierKind): string {
  return identifier.kind === 'communicationUser' ? identifier.communicationUserId : identifier.kind;
}

export class Roster {
  /** The participant list or the selection changed. */
  readonly changed = new Listeners();
  readonly #call: Call;
  readonly #me: string;
  readonly #names = new Map<string, string>();
  readonly #selected = new Set<string>();
  readonly #onUpdate = (): void => this.#update();

  constructor(call: Call, me: string) {
    this.#call = call;
    this.#me = me;
    call.on('remoteParticipantsUpdated', this.#onUpdate);
    this.#update();
  }

  /** The other endpoints, in the order they joined. */
  get participants(): readonly RemoteParticipant[] {
    return this.#call.remoteParticipants;
  }

  /** Distinct identities of the other endpoints (recipients are identities). */
  get identities(): string[] {
    return [...new Set(this.participants.map((p) => identityOf(p.identifier)))];
  }

  isMe(identity: string): boolean {
    return identity === this.#me;
  }

  nameOf(identity: string): string {
    if (identity === this.#me) return 'You';
    return this.#names.get(identity) || `Guest ${shortId(identity)}`;
  }

  isSelected(identity: string): boolean {
    return this.#selected.has(identity);
  }

  setSelected(identity: string, selected: boolean): void {
    if (selected) this.#selected.add(identity);
    else this.#selected.delete(identity);
    this.changed.emit();
  }

  /** Selected identities that are still in the call. */
  get selected(): string[] {
    return this.identities.filter((identity) => this.#selected.has(identity));
  }

  dispose(): void {
    this.#call.off('remoteParticipantsUpdated', this.#onUpdate);
    this.changed.clear();
  }

  #update(): void {
    for (const p of this.participants) if (p.displayName) this.#names.set(identityOf(p.identifier), p.displayName);
    // Whoever left is no longer a recipient: re-joining should not silently restore a private audience.
    const present = new Set(this.identities);
    for (const identity of this.#selected) if (!present.has(identity)) this.#selected.delete(identity);
    this.changed.emit();
  }
}
