/**
 * Identities issued by this server (in memory: they live as long as the process). Each identity has a
 * token generation: tokens carry the generation they were issued under, and revoking bumps it, so every
 * earlier token is refused from then on.
 */
import { randomUUID } from 'node:crypto';

/** The identities of this server process, with their token generations. */
export class IdentityStore {
  readonly #identities = new Map<string, { createdAt: number; tokenGeneration: number }>();

  /** A new identity, with token generation 0. */
  create(): string {
    const id = `8:backchannel:${randomUUID()}`;
    this.#identities.set(id, { createdAt: Date.now(), tokenGeneration: 0 });
    return id;
  }

  /** The generation tokens of `id` must carry to be accepted; undefined for an unknown identity. */
  tokenGeneration(id: string): number | undefined {
    return this.#identities.get(id)?.tokenGeneration;
  }

  /** Refuses every token issued so far for `id`. False if the identity does not exist. */
  revokeTokens(id: string): boolean {
    const identity = this.#identities.get(id);
    if (!identity) return false;
    identity.tokenGeneration++;
    return true;
  }

  /** Forgets `id` (its tokens are refused from then on). False if it did not exist. */
  delete(id: string): boolean {
    return this.#identities.delete(id);
  }

  /** Identities held. */
  get size(): number {
    return this.#identities.size;
  }
}
