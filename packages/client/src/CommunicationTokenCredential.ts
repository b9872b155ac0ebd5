import { decodeJwt } from 'jose';

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
  #current: AccessToken | undefined;
  readonly #refresher: (() => Promise<string>) | undefined;
  readonly #proactive: boolean;
  #pending: Promise<AccessToken> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #disposed = false;
  /** Call agents currently keeping the token fresh. */
  #keepers = 0;
  readonly #listeners = new Set<(token: AccessToken) => void>();

  constructor(token: string | CommunicationTokenRefreshOptions) {
    if (typeof token === 'string') {
      this.#current = parseToken(token);
      this.#refresher = undefined;
      this.#proactive = false;
    } else {
      if (typeof token?.tokenRefresher !== 'function') throw new TypeError('tokenRefresher must be a function');
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
    if (this.#disposed) throw new Error('the credential was disposed');
    const current = this.#current;
    if (current && (!this.#refresher || current.expiresOnTimestamp - Date.now() > NEARLY_EXPIRED_MS)) return current;
    return this.#refresh();
  }

  dispose(): void {
    this.#disposed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#listeners.clear();
  }

  /** @internal The call agent listens to pass renewed tokens to the server. */
  onRefreshed(listener: (token: AccessToken) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * @internal A call agent keeps the token renewed while it is connected, as the reference SDK does,
   * whether or not `refreshProactively` was set. Returns the function that stops it.
   */
  keepFresh(): () => void {
    this.#keepers++;
    if (this.#refresher && !this.#timer) this.#scheduleRefresh();
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      this.#keepers--;
      if (this.#keepers === 0 && !this.#proactive && this.#timer) {
        clearTimeout(this.#timer);
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
    if (this.#timer) clearTimeout(this.#timer);
    const delay = refreshDelay(this.#current ? this.#current.expiresOnTimestamp - Date.now() : 0);
    this.#timer = setTimeout(() => {
      // A failed refresh is retried; the current token stays in use until it expires.
      this.#refresh().catch(() => {
        if (this.#renewing) this.#timer = setTimeout(() => this.#scheduleRefresh(), RETRY_AFTER_FAILURE_MS);
      });
    }, delay);
    (this.#timer as { unref?: () => void }).unref?.();
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
  if (typeof token !== 'string' || token.length === 0) throw new TypeError('a token must be a non-empty string');
  let exp: number | undefined;
  try {
    exp = decodeJwt(token).exp;
  } catch (error) {
    throw new TypeError('the token is not a JWT', { cause: error });
  }
  return { token, expiresOnTimestamp: exp === undefined ? Number.MAX_SAFE_INTEGER : exp * 1000 };
}
