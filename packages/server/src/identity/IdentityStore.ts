/**
 * Where identities and their token generations live: one interface, two backends (pion's habit of one API
 * over a native and a browser implementation). The rest of the server sees only this interface and never
 * learns which backend it has:
 * - {@link MemoryIdentityStore}: in the process, gone with it (the embedded default);
 * - {@link RedisIdentityStore}: in Redis, shared by every node of a deployment and outliving any of them
 *   (`serve --redis`, docs/cluster.md).
 *
 * Each identity has a token generation: tokens carry the generation they were issued under, and revoking
 * bumps it, so every earlier token is refused from then on.
 */
import { randomUUID } from 'node:crypto';

import type { Emitter } from '../events.js';

/** The events of an identity store. */
export type IdentityStoreEvents = {
  /**
   * An identity's tokens stopped holding (revoked, or the identity deleted), on this node or, for a shared
   * store, on any node of the deployment: its live connections must end.
   */
  tokensRevoked: [identity: string];
  /** The store became unreachable: reads and writes fail with IdentityStoreUnavailableError until `up`. */
  down: [reason: string];
  /**
   * The store is reachable again after a `down`. Revocations made elsewhere meanwhile may have been missed:
   * live connections must be checked again (see revalidate.ts).
   */
  up: [];
};

/** Whether the store can be used now, and if not, why (for `/readyz`). */
export interface StoreHealth {
  readonly up: boolean;
  /** Why it is down; undefined while up. */
  readonly reason: string | undefined;
}

/**
 * Identities and their token generations (see the module comment). Every method may reject with
 * `IdentityStoreUnavailableError` when the backend cannot be reached; none changes anything then.
 */
export interface IdentityStore extends Pick<Emitter<IdentityStoreEvents>, 'on' | 'off'> {
  /** 'memory' or 'redis': for logs and `/readyz`, never for behaviour. */
  readonly kind: 'memory' | 'redis';
  readonly health: StoreHealth;
  /** A new identity, with token generation 0. */
  create(): Promise<string>;
  /** The generation tokens of `id` must carry to be accepted; undefined for an unknown (or deleted) identity. */
  tokenGeneration(id: string): Promise<number | undefined>;
  /** Refuses every token issued so far for `id` and emits `tokensRevoked`. False if the identity does not exist. */
  revokeTokens(id: string): Promise<boolean>;
  /** Forgets `id` (its tokens are refused from then on) and emits `tokensRevoked`. False if it did not exist. */
  delete(id: string): Promise<boolean>;
  /** Releases the backend (connections, timers). Idempotent. */
  close(): Promise<void>;
}

/** A new identity id, in the reference product's shape: `8:backchannel:<uuid>`. */
export function newIdentityId(): string {
  return `8:backchannel:${randomUUID()}`;
}
