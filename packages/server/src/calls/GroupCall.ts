/** A group call: its endpoints, who is admitted (transport up, in the roster), and lookups for routing. */
import { randomUUID } from 'node:crypto';

import type { Endpoint } from './Endpoint.js';

export class GroupCall {
  readonly id = randomUUID();
  readonly createdAt = Date.now();
  /** Every endpoint that joined, admitted or still connecting. */
  readonly endpoints = new Map<number, Endpoint>();
  /** Admitted endpoints, in join order. Rebuilt on every roster change; routing reads it per message. */
  admitted: readonly Endpoint[] = [];
  /** Bumped on every roster change, so routing caches know to recompute. */
  rosterVersion = 0;
  readonly #byIdentity = new Map<string, Endpoint[]>();

  constructor(readonly groupId: string) {}

  get size(): number {
    return this.endpoints.size;
  }

  add(endpoint: Endpoint): void {
    this.endpoints.set(endpoint.id, endpoint);
  }

  /** The endpoint's transport is up: it enters the roster. Returns the others, for its first roster. */
  admit(endpoint: Endpoint): Endpoint[] {
    const others = [...this.admitted];
    endpoint.admitted = true;
    this.#rebuild();
    return others;
  }

  /** Removes the endpoint; true if it was admitted (so the others must be told). */
  remove(endpoint: Endpoint): boolean {
    if (!this.endpoints.delete(endpoint.id)) return false;
    const wasAdmitted = endpoint.admitted;
    endpoint.admitted = false;
    if (wasAdmitted) this.#rebuild();
    return wasAdmitted;
  }

  /** Admitted endpoints of `identity`. */
  endpointsOf(identity: string): readonly Endpoint[] {
    return this.#byIdentity.get(identity) ?? [];
  }

  #rebuild(): void {
    this.admitted = [...this.endpoints.values()].filter((e) => e.admitted);
    this.#byIdentity.clear();
    for (const endpoint of this.admitted) {
      const list = this.#byIdentity.get(endpoint.identity);
      if (list) list.push(endpoint);
      else this.#byIdentity.set(endpoint.identity, [endpoint]);
    }
    this.rosterVersion++;
  }
}
