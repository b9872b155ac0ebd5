import { CallAgent, type CallAgentOptions } from './CallAgent.js';
import type { CommunicationTokenCredential } from './CommunicationTokenCredential.js';
import { CallError, CallErrorCode } from './errors.js';
import { SignalingClient } from './internal/signaling/SignalingClient.js';

export interface CallClientOptions {
  /**
   * The Backchannel server, e.g. `http://localhost:8080` (or `ws://…`). In a browser page served by the
   * server it defaults to the page's origin.
   */
  serverUrl?: string;
  /** Backchannel extension: messages each receiver buffers before dropping the oldest. Default 4096. */
  receiverBufferSize?: number;
  /** Backchannel extension: time from `join()` to Connected before the call fails. Default 20 s. */
  connectTimeoutMs?: number;
  /**
   * Backchannel extension: STUN/TURN servers for the peer connections (W3C shape). Default: those the
   * server advertises (`--ice-servers`). Needed for 1:1 calls between endpoints on different networks.
   */
  iceServers?: { urls: string | string[]; username?: string; credential?: string }[];
}

/** Entry point of the SDK (reference SDK: `CallClient`). */
export class CallClient {
  readonly #options: CallClientOptions;

  constructor(options: CallClientOptions = {}) {
    this.#options = { ...options };
  }

  /**
   * Connects to the server as the credential's identity. Rejects with a CallError: `InvalidToken` if the
   * server refuses the token, `ConnectionLost` if it cannot be reached.
   */
  async createCallAgent(credential: CommunicationTokenCredential, options: CallAgentOptions = {}): Promise<CallAgent> {
    const serverUrl = this.#options.serverUrl ?? defaultServerUrl();
    const { token } = await credential.getToken();
    const signaling = await SignalingClient.connect(serverUrl, token, options.displayName);
    return new CallAgent(signaling, credential, {
      receiverBufferSize: this.#options.receiverBufferSize ?? 4096,
      connectTimeoutMs: this.#options.connectTimeoutMs ?? 20_000,
      iceServers: this.#options.iceServers,
    });
  }
}

function defaultServerUrl(): string {
  const location = (globalThis as { location?: { origin?: string } }).location;
  if (location?.origin && location.origin !== 'null') return location.origin;
  throw new CallError(CallErrorCode.BadRequest, 'CallClient needs { serverUrl } outside a page served by the Backchannel server');
}
