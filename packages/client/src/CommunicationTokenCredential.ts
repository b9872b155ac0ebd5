import { CallErrorCode, systemClock, type Clock, type TimerHandle } from '@backchannel/protocol';
import { decodeJwt } from 'jose';

import { CallError } from './errors.js';

/**
 * A token and when it expires (reference SDK: `AccessToken`, of `@azure/core-auth`; the shapes are
 * type-tested against each other).
 */
export interface AccessToken {
  token: string;
  /** Milliseconds since the epoch. */
  expiresOnTimestamp: number;
}

/**
 * What a credential's refresher is handed to cancel its work (reference SDK: `AbortSignalLike`, of
 * `@azure/abort-controller`). The platform's `AbortSignal` is one.
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: (this: AbortSignalLike, event: unknown) => unknown, options?: unknown): void;
  removeEventListener(type: 'abort', listener: (this: AbortSignalLike, event: unknown) => unknown, options?: unknown): void;
}

/** Options of `getToken()` (reference SDK: `CommunicationGetTokenOptions`). */
export interface CommunicationGetTokenOptions {
  /** Cancels the refresh this call may start: passed on to the `tokenRefresher`. */
  abortSignal?: AbortSignalLike;
}

/**
 * What `createCallAgent` takes: any object with the reference's credential interface (reference SDK:
 * `CommunicationTokenCredential`, the interface of `@azure/communication-common`), such as that package's
 * `AzureCommunicationTokenCredential` or Backchannel's own {@link CommunicationTokenCredential}.
 */
export interface TokenCredential {
  /** The token to use now; the call agent asks again before it expires, and on every reconnection. */
  getToken(options?: CommunicationGetTokenOptions): Promise<AccessToken>;
  /** Releases the credential. The call agent never calls it: the credential is the application's. */
  dispose(): void;
}

/** How a credential renews its token (reference SDK: `CommunicationTokenRefreshOptions`). */
export interface CommunicationTokenRefreshOptions {
  /**
   * Returns a fresh token for the same identity: a JWT string (its `exp` is read), or an `AccessToken`
   * with the expiry given explicitly. Handed the `abortSignal` of the `getToken()` call that needed it
   * (none for a renewal the credential scheduled itself).
   */
  tokenRefresher: (abortSignal?: AbortSignalLike) => Promise<string | AccessToken>;
  /** A token to start with; without it the refresher is called on the first `getToken()`. */
  token?: string | AccessToken;
  /** Refresh before expiry even while no call agent uses the credential. Default false. */
  refreshProactively?: boolean;
  /**
   * The lifetime, in seconds, assumed for a JWT string without an `exp` claim. Default 600 (10 minutes), as
   * in the reference.
   */
  undecodableTokenExpiryIntervalInSeconds?: number;
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
/** @internal */
export const RETRY_AFTER_FAILURE_MS = 5_000;
const MIN_REFRESH_DELAY_MS = 1_000;
/** getToken() refreshes a token with less than this left. */
const NEARLY_EXPIRED_MS = 5_000;
/** The reference's default for `undecodableTokenExpiryIntervalInSeconds`. */
const DEFAULT_UNDECODABLE_LIFETIME_S = 600;

/**
 * The credential a call agent authenticates with: a static token (a JWT string, or an `AccessToken`), or a
 * refresher that renews it during long calls. Takes what the reference's `AzureCommunicationTokenCredential`
 * takes (its Entra ID form excepted: Backchannel issues its own tokens).
 */
export class CommunicationTokenCredential implements TokenCredential {
  static {
    internalsOf = (credential) => ({
      onRefreshed: (listener) => credential.#onRefreshed(listener),
      keepFresh: () => credential.#keepFresh(),
    });
  }

  #current: AccessToken | undefined;
  readonly #refresher: CommunicationTokenRefreshOptions['tokenRefresher'] | undefined;
  readonly #proactive: boolean;
  readonly #undecodableLifetimeMs: number;
  #pending: Promise<AccessToken> | undefined;
  #timer: TimerHandle | undefined;
  readonly #clock: Clock;
  #disposed = false;
  /** Call agents currently keeping the token fresh. */
  #keepers = 0;
  readonly #listeners = new Set<(token: AccessToken) => void>();

  /**
   * Throws CallError `InvalidToken` for a token that is empty, not a JWT, or an `AccessToken` without a
   * finite expiry; `BadRequest` for options of the wrong shape.
   */
  constructor(token: string | AccessToken | CommunicationTokenRefreshOptions, options: CommunicationTokenCredentialOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    if (typeof token !== 'string' && (typeof token !== 'object' || token === null)) {
      throw new CallError(CallErrorCode.BadRequest, 'a credential takes a token, an AccessToken { token, expiresOnTimestamp }, or { tokenRefresher }');
    }
    // As the reference decides: a string or an AccessToken is static; anything else must be refresh options.
    if (typeof token === 'string' || isAccessTokenShaped(token) || !('tokenRefresher' in token)) {
      this.#undecodableLifetimeMs = DEFAULT_UNDECODABLE_LIFETIME_S * 1000;
      this.#current = this.#parse(token as string | AccessToken);
      this.#refresher = undefined;
      this.#proactive = false;
      return;
    }
    if (typeof token.tokenRefresher !== 'function') throw new CallError(CallErrorCode.BadRequest, 'tokenRefresher must be a function');
    const lifetime = token.undecodableTokenExpiryIntervalInSeconds ?? DEFAULT_UNDECODABLE_LIFETIME_S;
    if (typeof lifetime !== 'number' || !Number.isFinite(lifetime) || lifetime <= 0) {
      throw new CallError(CallErrorCode.BadRequest, 'undecodableTokenExpiryIntervalInSeconds must be a positive number of seconds');
    }
    this.#undecodableLifetimeMs = lifetime * 1000;
    this.#current = token.token ? this.#parse(token.token) : undefined;
    this.#refresher = token.tokenRefresher;
    this.#proactive = token.refreshProactively ?? false;
    if (this.#proactive) this.#scheduleRefresh();
  }

  /**
   * The token to use now: the current one, or, with a refresher, a fresh one when the current one is
   * missing or within a few seconds of expiry. A static token is returned as it is, expired or not: the
   * server then refuses it with `InvalidToken`.
   */
  async getToken(options?: CommunicationGetTokenOptions): Promise<AccessToken> {
    if (this.#disposed) throw new CallError(CallErrorCode.BadRequest, 'the credential was disposed');
    const current = this.#current;
    if (current && (!this.#refresher || current.expiresOnTimestamp - this.#clock.wallNow() > NEARLY_EXPIRED_MS)) return current;
    return this.#refresh(options?.abortSignal);
  }

  /** Stops renewals; `getToken()` rejects from then on. */
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

  #refresh(abortSignal?: AbortSignalLike): Promise<AccessToken> {
    const refresher = this.#refresher!;
    this.#pending ??= Promise.resolve()
      .then(() => refresher(abortSignal))
      .then((token) => {
        const fresh = this.#parse(token);
        // As the reference does: an expired token from the refresher is its failure, not a token to use.
        if (fresh.expiresOnTimestamp <= this.#clock.wallNow()) throw new CallError(CallErrorCode.InvalidToken, 'the tokenRefresher returned an expired token');
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

  /**
   * A token as given or refreshed: an `AccessToken` is taken as it is (its expiry is explicit); a string
   * must be a JWT, whose `exp` gives the expiry (a JWT without one lasts `undecodableTokenExpiryIntervalInSeconds`).
   */
  #parse(token: string | AccessToken): AccessToken {
    if (typeof token === 'object' && token !== null) {
      if (!isAccessTokenShaped(token)) throw new CallError(CallErrorCode.InvalidToken, 'an AccessToken needs a non-empty token and a finite expiresOnTimestamp');
      return { token: token.token, expiresOnTimestamp: token.expiresOnTimestamp };
    }
    if (typeof token !== 'string' || token.length === 0) throw new CallError(CallErrorCode.InvalidToken, 'a token must be a non-empty string');
    let exp: number | undefined;
    try {
      exp = decodeJwt(token).exp;
    } catch (error) {
      // The reference would take it as opaque; Backchannel's tokens are always JWTs, so this is a mistake
      // (an identity id passed for its token, say), reported here rather than by the server later.
      throw new CallError(CallErrorCode.InvalidToken, 'the token is not a JWT', { cause: error });
    }
    return { token, expiresOnTimestamp: exp === undefined ? this.#clock.wallNow() + this.#undecodableLifetimeMs : exp * 1000 };
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

/** @internal Whether `value` has the shape of an {@link AccessToken}: a non-empty token and a finite expiry. */
export function isAccessTokenShaped(value: unknown): value is AccessToken {
  const token = value as Partial<AccessToken> | null;
  return (
    typeof token === 'object' &&
    token !== null &&
    typeof token.token === 'string' &&
    token.token.length > 0 &&
    typeof token.expiresOnTimestamp === 'number' &&
    Number.isFinite(token.expiresOnTimestamp)
  );
}

/**
 * @internal While a call agent is connected, a Backchannel credential pushes each renewed token to
 * `onRefreshed` and keeps renewing; returns the function that stops both, or undefined for a credential of
 * another implementation (which the agent polls instead: internal/agent/TokenRenewal.ts).
 */
export function keepOwnCredentialFresh(credential: TokenCredential, onRefreshed: (token: AccessToken) => void): (() => void) | undefined {
  if (!(credential instanceof CommunicationTokenCredential)) return undefined;
  const internals = internalsOf(credential);
  const stopListening = internals.onRefreshed(onRefreshed);
  const stopKeeping = internals.keepFresh();
  return () => {
    stopListening();
    stopKeeping();
  };
}
