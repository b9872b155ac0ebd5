/**
 * The revocations a node has heard of lately, as facts that only ever move one way (a generation only
 * grows, a deleted identity never comes back), to correct a read that raced one.
 *
 * Why: a node reads an identity's generation on its command connection and hears revocations on its
 * subscriber connection, two sockets with no order between them. If another node revokes right after the
 * read was answered, the announcement can be handled first and the (older) read after it: the connection
 * being authenticated would then be accepted under a revoked generation, and having not been accepted yet
 * when the announcement came, it would not have been ended by it. Correcting every read by what was heard
 * closes that gap. Bounded: the oldest facts go first; a fact is needed only for the moment a read is in
 * flight.
 */

/** Facts kept; far more than reads can be in flight at once. */
const DEFAULT_CAPACITY = 4096;

export class RecentRevocations {
  readonly #facts = new Map<string, number | 'deleted'>();
  readonly #capacity: number;

  constructor(capacity = DEFAULT_CAPACITY) {
    this.#capacity = capacity;
  }

  /** `identity` must carry at least `generation` from now on. */
  revoked(identity: string, generation: number): void {
    const known = this.#facts.get(identity);
    if (known === 'deleted' || (known !== undefined && known >= generation)) return;
    this.#remember(identity, generation);
  }

  /** `identity` no longer exists. */
  deleted(identity: string): void {
    this.#remember(identity, 'deleted');
  }

  /** A generation read from the store for `identity`, corrected by what was heard since. */
  correct(identity: string, read: number | undefined): number | undefined {
    const known = this.#facts.get(identity);
    if (known === undefined || read === undefined) return known === 'deleted' ? undefined : read;
    if (known === 'deleted') return undefined;
    return Math.max(known, read);
  }

  get size(): number {
    return this.#facts.size;
  }

  #remember(identity: string, fact: number | 'deleted'): void {
    this.#facts.delete(identity); // re-inserted last: the newest fact is the last to go
    this.#facts.set(identity, fact);
    if (this.#facts.size > this.#capacity) this.#facts.delete(this.#facts.keys().next().value!);
  }
}
