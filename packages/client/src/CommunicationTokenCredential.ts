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

  /** A valid token: the current one, or a fresh one if it is about to expire and a refresher exists. */
  async getToken(): Promise<AccessToken> {
    if (this.#disposed) throw new Error('the credential was disposed');
    const current = this.#current;
    if (current && (!this.#refresher || current.expiresOnTimestamp - Date.now() > REFRESH_BEFORE_EXPIRY_MS)) return current;
    if (!this.#refresher) throw new Error('the token has expired and no tokenRefresher was given');
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

  /** @internal Whether tokens can be renewed (the agent then keeps its connection past expiry). */
  get canRefresh(): boolean {
    return this.#refresher !== undefined;
  }

  #refresh(): Promise<AccessToken> {
    this.#pending ??= this.#refresher!()
      .then((token) => {
        const fresh = parseToken(token);
        this.#current = fresh;
        for (const listener of this.#listeners) listener(fresh);
        if (this.#proactive) this.#scheduleRefresh();
        return fresh;
      })
      .finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  #scheduleRefresh(): void {
    if (this.#disposed) return;
    if (this.#timer) clearTimeout(this.#timer);
    const expiresIn = this.#current ? this.#current.expiresOnTimestamp - Date.now() : 0;
    // Half-way to expiry for short-lived tokens, 10 minutes before it for long ones.
    const delay = Math.max(0, Math.min(expiresIn - REFRESH_BEFORE_EXPIRY_MS, expiresIn / 2));
    this.#timer = setTimeout(() => {
      // A failed refresh is retried; the current token stays in use until it expires.
      this.#refresh().catch(() => {
        this.#timer = setTimeout(() => this.#scheduleRefresh(), RETRY_AFTER_FAILURE_MS);
      });
    }, delay);
    (this.#timer as { unref?: () => void }).unref?.();
  }
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
