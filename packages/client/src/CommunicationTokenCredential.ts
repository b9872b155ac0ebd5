import { CallErrorCode, systemClock, type Clock, type TimerHandle } from '@backchannel/protocol';
import { decodeJwt } from 'jose';

import { CallError } from './errors.js';

/** A token and when it expires (reference SDK: `AccessToken`). */
export interface AccessToken {
  token: string;
  /** Milliseconds since the epoch. */
  expiresOnTimestamp: number;
}

export interface CommunicationTokenRefreshOptions {
  /** A token to start with; without it the refresher is called at once. */
  token?: string;
  /** Returns a fresh token for the same identity. */
  tokenRefresher: () => Promise<string>;
  /** Refresh before expiry even while nobody asks for the token. */
  refreshProactively?: boolean;
}

/** Backchannel extensions of the credential, beyond the reference's. */
export interface CommunicationTokenCredentialOptions {
  /** The clock token lifetimes are read on (tests drive one). Default: the system clock. */
  clock?: Clock;
}

/** What a call agent needs from a Backchannel credential beyond `getToken()`; reachable from inside the SDK only. */
interface CredentialInternals {
  onRefreshed(listener: (token: AccessToken) => void): () => void;
  keepFresh(): () => void;
}

let internalsOf: (credential: CommunicationTokenCredential) => CredentialInternals;

/** Refresh this long before expiry (the reference SDK uses 10 minutes). */
const REFRESH_BEFORE_EXPIRY_MS = 10 * 60 * 1000;
const RETRY_AFTER_FAILURE_MS = 5_000;
const MIN_REFRESH_DELAY_MS = 1_000;
/** getToken() refreshes a token with less than this left. */
const NEARLY_EXPIRED_MS = 5_000;

/**
 * The credential a call agent authenticates with: a static token, or a refresher that renews it during
 * long calls.
 */
export class CommunicationTokenCredential {
  static {
    internalsOf = (credential) => ({
      onRefreshed: (listener) => credential.#onRefreshed(listener),
      keepFresh: () => credential.#keepFresh(),
    });
  }

  #current: AccessToken | undefined;
  readonly #refresher: (() => Promise<string>) | undefined;
  readonly #proactive: boolean;
  #pending: Promise<AccessToken> | undefined;
  #timer: TimerHandle | undefined;
  readonly #clock: Clock;
  #disposed = false;
  /** Call agents currently keeping the token fresh. */
  #keepers = 0;
  readonly #listeners = new Set<(token: AccessToken) => void>();

  constructor(token: string | CommunicationTokenRefreshOptions, options: CommunicationTokenCredentialOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    if (typeof token === 'string') {
      this.#current = parseToken(token);
      this.#refresher = undefined;
      this.#proactive = false;
    } else {
      if (typeof token?.tokenRefresher !== 'function') throw new CallError(CallErrorCode.BadRequest, 'tokenRefresher must be a function');
      this.#current = token.token ? parseToken(token.token) : undefined;
      this.#refresher = token.tokenRefresher;
      this.#proactive = token.refreshProactively ?? false;
      if (this.#proactive) this.#scheduleRefresh();
    }
  }

  /**
   * The token to use now: the current one, or, with a refresher, a fresh one when the current one is
   * missing or within a few seconds of expiry. A static token is returned as it is, expired or not: the
   * server then refuses it with `InvalidToken`.
   */
  async getToken(): Promise<AccessToken> {
    if (this.#disposed) throw new CallError(CallErrorCode.BadRequest, 'the credential was disposed');
    const current = this.#current;
    if (current && (!this.#refresher || current.expiresOnTimestamp - this.#clock.wallNow() > NEARLY_EXPIRED_MS)) return current;
    return this.#refresh();
  }

  dispose(): void {
    this.#disposed = true;
    this.#clock.clearTimeout(this.#timer);
    this.#listeners.clear();
  }

  /** The call agent listens to pass renewed tokens to the server. */
  #onRefreshed(listener: (token: AccessToken) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * A call agent keeps the token renewed while it is connected, as the reference SDK does, whether or not
   * `refreshProactively` was set. Returns the function that stops it.
   */
  #keepFresh(): () => void {
    this.#keepers++;
    if (this.#refresher && !this.#timer) this.#scheduleRefresh();
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      this.#keepers--;
      if (this.#keepers === 0 && !this.#proactive && this.#timer) {
        this.#clock.clearTimeout(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  /** Whether someone wants the token kept fresh right now. */
  get #renewing(): boolean {
    return this.#proactive || this.#keepers > 0;
  }

  #refresh(): Promise<AccessToken> {
    this.#pending ??= this.#refresher!()
      .then((token) => {
        const fresh = parseToken(token);
        this.#current = fresh;
        for (const listener of this.#listeners) listener(fresh);
        if (this.#renewing) this.#scheduleRefresh();
        return fresh;
      })
      .finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  #scheduleRefresh(): void {
    if (this.#disposed) return;
    const clock = this.#clock;
    clock.clearTimeout(this.#timer);
    const delay = refreshDelay(this.#current ? this.#current.expiresOnTimestamp - clock.wallNow() : 0);
    this.#timer = clock.setTimeout(
      () => {
        // A failed refresh is retried; the current token stays in use until it expires.
        this.#refresh().catch(() => {
          if (this.#renewing) this.#timer = clock.setTimeout(() => this.#scheduleRefresh(), RETRY_AFTER_FAILURE_MS, { unref: true });
        });
      },
      delay,
      { unref: true },
    );
  }
}

/**
 * When to renew a token that expires in `expiresIn` ms: 10 minutes before expiry for long-lived tokens (as
 * the reference SDK does), half-way for short-lived ones, and never sooner than a second from now, so a
 * refresher handing out very short tokens cannot spin.
 */
export function refreshDelay(expiresIn: number): number {
  const delay = expiresIn > 2 * REFRESH_BEFORE_EXPIRY_MS ? expiresIn - REFRESH_BEFORE_EXPIRY_MS : expiresIn / 2;
  return Math.max(MIN_REFRESH_DELAY_MS, delay);
}

function parseToken(token: string): AccessToken {
  if (typeof token !== 'string' || token.length === 0) throw new CallError(CallErrorCode.InvalidToken, 'a token must be a non-empty string');
  let exp: number | undefined;
  try {
    exp = decodeJwt(token).exp;
  } catch (error) {
    throw new CallError(CallErrorCode.InvalidToken, 'the token is not a JWT', { cause: error });
  }
  return { token, expiresOnTimestamp: exp === undefined ? Number.MAX_SAFE_INTEGER : exp * 1000 };
}

/**
 * @internal While a call agent is connected: passes each renewed token to `onRefreshed` and keeps the
 * credential renewing. Returns the function that stops both. A credential of another implementation (any
 * object with `getToken()`) is asked for its token only when the agent connects.
 */
export function keepCredentialFresh(credential: CommunicationTokenCredential, onRefreshed: (token: AccessToken) => void): () => void {
  if (!(credential instanceof CommunicationTokenCredential)) return () => undefined;
  const internals = internalsOf(credential);
  const stopListening = internals.onRefreshed(onRefreshed);
  const stopKeeping = internals.keepFresh();
  return () => {
    stopListening();
    stopKeeping();
  };
}
