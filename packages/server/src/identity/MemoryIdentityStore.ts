/**
 * The in-process identity store: identities live as long as the process. The embedded default, and what
 * `serve` uses without `--redis`. Never unavailable.
 */
import { Emitter } from '../events.js';
import { newIdentityId, type IdentityStore, type IdentityStoreEvents, type StoreHealth } from './IdentityStore.js';

const ALWAYS_UP: StoreHealth = Object.freeze({ up: true, reason: undefined });

/** The identities of this server process, with their token generations. */
export class MemoryIdentityStore extends Emitter<IdentityStoreEvents> implements IdentityStore {
  readonly kind = 'memory';
  readonly #identities = new Map<string, { createdAt: number; tokenGeneration: number }>();

  get health(): StoreHealth {
    return ALWAYS_UP;
  }

  async create(): Promise<string> {
    const id = newIdentityId();
    this.#identities.set(id, { createdAt: Date.now(), tokenGeneration: 0 });
    return id;
  }

  async tokenGeneration(id: string): Promise<number | undefined> {
    return this.#identities.get(id)?.tokenGeneration;
  }

  async revokeTokens(id: string): Promise<boolean> {
    const identity = this.#identities.get(id);
    if (!identity) return false;
    identity.tokenGeneration++;
    this.safeEmit('tokensRevoked', id);
    return true;
  }

  async delete(id: string): Promise<boolean> {
    if (!this.#identities.delete(id)) return false;
    this.safeEmit('tokensRevoked', id);
    return true;
  }

  /** Identities held. */
  get size(): number {
    return this.#identities.size;
  }

  async close(): Promise<void> {}
}
