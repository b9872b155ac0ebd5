/**
 * The token lifecycle of one signaling connection: verification (signature and claims, then that the
 * identity still exists and the token was not revoked), the expiry timer, and refresh. A connection lives
 * as long as its newest token, plus the clock leeway; when that passes without a refresh, `onExpired` runs.
 */
import { ALL_CHANNELS, type ChannelPermissions, type Clock, type TimerHandle } from '@backchannel/protocol';

import { IdentityStoreUnavailableError, TokenError } from '../errors.js';
import type { IdentityStore } from '../identity/IdentityStore.js';
import type { TokenService, VerifiedToken } from '../identity/TokenService.js';

/** Timers hold at most ~24.8 days; a longer-lived token is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ConnectionTokenDeps {
  tokens: TokenService;
  identities: IdentityStore;
  clock: Clock;
}

/** The token lifecycle of one signaling connection (see the module comment). */
export class ConnectionToken {
  readonly #deps: ConnectionTokenDeps;
  readonly #onExpired: () => void;
  #identity = '';
  /** The token generation of the accepted (or last refreshed) token; -1 before one was accepted. */
  #generation = -1;
  #expiresAt = 0;
  #channels: ChannelPermissions = ALL_CHANNELS;
  /** Ends the connection when its token expires without a refresh. */
  #expiryTimer: TimerHandle | undefined;
  #stopped = false;

  constructor(deps: ConnectionTokenDeps, onExpired: () => void) {
    this.#deps = deps;
    this.#onExpired = onExpired;
  }

  /** The identity of the accepted token; '' before one was accepted. */
  get identity(): string {
    return this.#identity;
  }

  /** The token generation the connection was accepted (or last refreshed) under; -1 before. */
  get generation(): number {
    return this.#generation;
  }

  /** The channel permissions of the newest token (an endpoint takes those of the moment it joins). */
  get channels(): ChannelPermissions {
    return this.#channels;
  }

  /** When the connection's newest token expires, ms since the epoch (0 before one was accepted). */
  get expiresAt(): number {
    return this.#expiresAt;
  }

  /**
   * Verifies a token and that its identity still exists under the token's generation (a revoked token
   * carries an older one). Throws {@link TokenError} for a token it refuses, and
   * {@link IdentityStoreUnavailableError} when the identity store cannot be asked (for a new connection
   * only: see {@link #currentGeneration}).
   */
  async verify(token: string): Promise<VerifiedToken> {
    const verified = await this.#deps.tokens.verify(token);
    const generation = await this.#currentGeneration(verified.identity);
    if (generation === undefined) throw new TokenError('the identity no longer exists');
    if (verified.generation !== generation) throw new TokenError('the token was revoked');
    return verified;
  }

  /**
   * The identity's current generation. While the store is unreachable, a live connection refreshing a
   * token of its own identity is checked against the generation it was accepted under, the last state this
   * node knew: a Redis outage must not end the connections it keeps (docs/cluster.md). What was revoked
   * elsewhere meanwhile ends it once the store is back (identity/revalidate.ts). A new connection has no
   * known state: it is refused, and may retry.
   */
  async #currentGeneration(identity: string): Promise<number | undefined> {
    try {
      return await this.#deps.identities.tokenGeneration(identity);
    } catch (error) {
      if (error instanceof IdentityStoreUnavailableError && this.#identity !== '' && identity === this.#identity) return this.#generation;
      throw error;
    }
  }

  /** The connection authenticated with `verified` (its hello): its lifetime starts. */
  accept(verified: VerifiedToken): void {
    this.#identity = verified.identity;
    this.#generation = verified.generation;
    this.#channels = verified.channels;
    this.#setExpiry(verified.expiresAt);
  }

  /**
   * A refreshed token: the connection lives on to the later of the two expiries. Throws {@link TokenError}
   * if the token is for another identity.
   */
  refresh(verified: VerifiedToken): void {
    if (verified.identity !== this.#identity) throw new TokenError('a refreshed token must be for the same identity');
    this.#generation = verified.generation;
    this.#channels = verified.channels;
    this.#setExpiry(Math.max(this.#expiresAt, verified.expiresAt));
  }

  /** The connection closed: no more expiry. Idempotent. */
  stop(): void {
    this.#stopped = true;
    this.#deps.clock.clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
  }

  #setExpiry(expiresAt: number): void {
    if (this.#stopped) return;
    const { clock, tokens } = this.#deps;
    this.#expiresAt = expiresAt;
    clock.clearTimeout(this.#expiryTimer);
    const remaining = expiresAt + tokens.leewayMs - clock.wallNow();
    // unref: a connection's expiry alone must not keep the process alive.
    this.#expiryTimer = clock.setTimeout(() => this.#checkExpiry(), Math.min(Math.max(0, remaining), MAX_TIMER_MS), { unref: true });
  }

  #checkExpiry(): void {
    this.#expiryTimer = undefined;
    if (this.#stopped) return;
    if (this.#deps.clock.wallNow() >= this.#expiresAt + this.#deps.tokens.leewayMs) this.#onExpired();
    else this.#setExpiry(this.#expiresAt);
  }
}
