/**
 * Keeping a call agent's token fresh on the server, whatever the credential. A Backchannel credential
 * pushes each renewed token (it renews on its own schedule while an agent is connected). Any other object
 * with the reference's interface (`@azure/communication-common`'s `AzureCommunicationTokenCredential`, an
 * application's own) can only be asked: the agent calls `getToken()` on the same schedule, ahead of the
 * current token's expiry, and sends the server whatever new token it returns.
 */
import { CallErrorCode, type Clock, type TimerHandle } from '@backchannel/protocol';

import {
  RETRY_AFTER_FAILURE_MS,
  isAccessTokenShaped,
  keepOwnCredentialFresh,
  refreshDelay,
  type AccessToken,
  type TokenCredential,
} from '../../CommunicationTokenCredential.js';
import { CallError } from '../../errors.js';

/** The checks `createCallAgent` makes of a credential before it opens anything. */
export function checkCredential(credential: unknown): asserts credential is TokenCredential {
  if (typeof (credential as Partial<TokenCredential> | null)?.getToken !== 'function') {
    throw new CallError(CallErrorCode.BadRequest, 'createCallAgent takes a credential with getToken(): a CommunicationTokenCredential or any TokenCredential');
  }
}

/** A credential's token, checked: what `getToken()` resolved must be an AccessToken. */
export async function tokenOf(credential: TokenCredential, abortSignal?: AbortSignal): Promise<AccessToken> {
  const token: unknown = await credential.getToken(abortSignal ? { abortSignal } : undefined);
  if (!isAccessTokenShaped(token)) {
    throw new CallError(CallErrorCode.InvalidToken, 'credential.getToken() must resolve { token, expiresOnTimestamp } with a non-empty token and a finite expiry');
  }
  return token;
}

/**
 * Until the returned function is called, passes every token newer than `initial` to `onRefreshed`. A
 * credential of another implementation is asked ahead of expiry as {@link refreshDelay} says, again (sooner
 * each time, at least a second apart) while it still returns the same token (the common package's renews
 * only once the token is within 10 minutes of expiry, or past it without `refreshProactively`), and 5 s
 * after a failure. Stopping aborts a `getToken()` in flight (its `abortSignal`).
 */
export function keepCredentialFresh(credential: TokenCredential, initial: AccessToken, clock: Clock, onRefreshed: (token: AccessToken) => void): () => void {
  const own = keepOwnCredentialFresh(credential, onRefreshed);
  if (own) return own;
  const abort = new AbortController();
  let current = initial;
  let timer: TimerHandle | undefined;
  const ask = (): void => {
    tokenOf(credential, abort.signal).then(
      (token) => {
        if (abort.signal.aborted) return;
        const renewed = token.token !== current.token;
        current = token;
        if (renewed) onRefreshed(token);
        schedule(refreshDelay(current.expiresOnTimestamp - clock.wallNow()));
      },
      () => {
        // The current token stays in use until it expires (the server then closes the connection).
        if (!abort.signal.aborted) schedule(RETRY_AFTER_FAILURE_MS);
      },
    );
  };
  const schedule = (delayMs: number): void => {
    timer = clock.setTimeout(ask, delayMs, { unref: true });
  };
  schedule(refreshDelay(current.expiresOnTimestamp - clock.wallNow()));
  return () => {
    if (abort.signal.aborted) return;
    abort.abort();
    clock.clearTimeout(timer);
  };
}
