import { loadPlatform } from '#platform';
import { systemClock, type Clock, type IceServerConfig } from '@backchannel/protocol';

import { publicCallAgent, type CallAgent, type CallAgentOptions } from './CallAgent.js';
import type { TokenCredential } from './CommunicationTokenCredential.js';
import { CallError, CallErrorCode } from './errors.js';
import { consoleListenerErrorReporter, type ListenerErrorReporter } from './events.js';
import { checkCredential, tokenOf } from './internal/agent/TokenRenewal.js';
import { SignalingClient } from './internal/signaling/SignalingClient.js';

export interface CallClientOptions {
  /**
   * The Backchannel server, e.g. `http://localhost:8080` (or `ws://…`). In a browser page served by the
   * server it defaults to the page's origin. Backchannel extension: a list of the URLs of the nodes of one
   * cluster (docs/cluster.md): the agent connects to the first that answers, in order; after a lost
   * connection it tries the node it was on first, then the others in turn, so that a lost node's calls go on
   * on another.
   */
  serverUrl?: string | readonly string[];
  /** Backchannel extension: messages each receiver buffers before dropping the oldest. Default 4096. */
  receiverBufferSize?: number;
  /** Backchannel extension: time from `join()` to Connected before the call fails. Default 20 s. */
  connectTimeoutMs?: number;
  /**
   * Backchannel extension: STUN/TURN servers for the peer connections (W3C shape). Default: those the
   * server advertises (`--ice-servers`). Needed for 1:1 calls between endpoints on different networks.
   */
  iceServers?: IceServerConfig[];
  /**
   * Backchannel extension: where errors thrown by the application's event listeners go (they never reach
   * the SDK's own state). Default: `console.error`.
   */
  onListenerError?: ListenerErrorReporter;
  /**
   * Backchannel extension: the clock pacing, idle close, the connect timeout and token renewal read (tests pass one
   * they drive). Default: the system clock.
   */
  clock?: Clock;
}

/** Entry point of the SDK (reference SDK: `CallClient`). */
export class CallClient {
  readonly #options: CallClientOptions;

  constructor(options: CallClientOptions = {}) {
    this.#options = { ...options };
  }

  /**
   * Connects to the server as the credential's identity. `credential` is a {@link CommunicationTokenCredential}
   * or any object with the reference's credential interface (`getToken()`, `dispose()`), such as
   * `AzureCommunicationTokenCredential` of `@azure/communication-common`; the agent renews its token on the
   * server through it. Rejects with a CallError: `InvalidToken` if the server refuses the token (or
   * `getToken()` resolves something that is not an AccessToken), `ConnectionLost` if the server cannot be
   * reached, `BadRequest` for something that is not a credential, `PlatformUnavailable` in Node without
   * the `node-datachannel` or `ws` package; or with whatever `getToken()` rejects with. A failed call
   * leaves nothing open.
   */
  async createCallAgent(credential: TokenCredential, options: CallAgentOptions = {}): Promise<CallAgent> {
    checkCredential(credential);
    const given = this.#options.serverUrl ?? defaultServerUrl();
    const serverUrls = typeof given === 'string' ? [given] : [...given];
    if (serverUrls.length === 0 || serverUrls.some((url) => typeof url !== 'string')) {
      throw new CallError(CallErrorCode.BadRequest, 'serverUrl must be a URL or a non-empty list of URLs');
    }
    const platform = await loadPlatform();
    const token = await tokenOf(credential);
    const reportListenerError = this.#options.onListenerError ?? consoleListenerErrorReporter;
    const signaling = await SignalingClient.connect(platform, serverUrls, token.token, options.displayName, reportListenerError);
    try {
      return publicCallAgent({
        signaling,
        credential,
        initialToken: token,
        platform,
        clock: this.#options.clock ?? systemClock,
        receiverBufferSize: this.#options.receiverBufferSize ?? 4096,
        connectTimeoutMs: this.#options.connectTimeoutMs ?? 20_000,
        iceServers: this.#options.iceServers,
        reportListenerError,
      });
    } catch (error) {
      // Whatever failed, the connection just opened must not outlive the agent that was never handed out.
      signaling.close();
      throw error;
    }
  }
}

function defaultServerUrl(): string {
  const location = (globalThis as { location?: { origin?: string } }).location;
  if (location?.origin && location.origin !== 'null') return location.origin;
  throw new CallError(CallErrorCode.BadRequest, 'CallClient needs { serverUrl } outside a page served by the Backchannel server');
}
