/**
 * Who else is in the call, by endpoint id: the roster the server announces (or, in a 1:1 call, the other
 * party). Applying an update tells what changed, so the call can announce exactly that.
 */
import type { ParticipantInfo } from '@backchannel/protocol';

export interface RosterEntry {
  readonly endpointId: number;
  readonly identity: string;
  readonly displayName: string;
}

export interface RosterChange {
  readonly added: readonly RosterEntry[];
  readonly removed: readonly RosterEntry[];
}

export class Roster {
  readonly #entries = new Map<number, RosterEntry>();
  #selfEndpointId = 0;

  /** This endpoint's own id: the server never lists it, and it is ignored if it does. */
  setSelf(endpointId: number): void {
    this.#selfEndpointId = endpointId;
  }

  get entries(): IterableIterator<RosterEntry> {
    return this.#entries.values();
  }

  /** Adds `joined` (unknown endpoints only) and removes `leftEndpointIds` (known ones only). */
  update(joined: readonly ParticipantInfo[], leftEndpointIds: readonly number[]): RosterChange {
    const added: RosterEntry[] = [];
    const removed: RosterEntry[] = [];
    for (const info of joined) {
      if (info.endpointId === this.#selfEndpointId || this.#entries.has(info.endpointId)) continue;
      const entry: RosterEntry = Object.freeze({ endpointId: info.endpointId, identity: info.identity, displayName: info.displayName });
      this.#entries.set(entry.endpointId, entry);
      added.push(entry);
    }
    for (const endpointId of leftEndpointIds) {
      const entry = this.#entries.get(endpointId);
      if (!entry) continue;
      this.#entries.delete(endpointId);
      removed.push(entry);
    }
    return { added, removed };
  }

  /** Empties the roster (the call ended); returns who was in it. */
  clear(): RosterEntry[] {
    const everyone = [...this.#entries.values()];
    this.#entries.clear();
    return everyone;
  }

  identityOf(endpointId: number): string | undefined {
    return this.#entries.get(endpointId)?.identity;
  }

  /** Remote endpoints of `identity` (one identity may join from several devices). */
  endpointCountOf(identity: string): number {
    let count = 0;
    for (const entry of this.#entries.values()) if (entry.identity === identity) count++;
    return count;
  }
}
