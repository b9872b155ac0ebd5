/**
 * One agent's WebSocket: authentication by token, then join/offer/candidate/leave/resume for the endpoints
 * it owns. Messages that fail their schema get a BadRequest error; nothing a client sends can throw out of
 * here. An agent may act only on endpoints it created or resumed.
 *
 * When the socket closes without the server closing it (the network, or the client went away), the
 * endpoints it had are not ended but told their signaling is lost: an admitted one is suspended for its
 * resume window (Endpoint), and its accepted 1:1 calls wait for it (PeerCallManager). When the server closes
 * it (a refusal, a revocation, a flood, a shutdown), they end.
 */
import {
  CallErrorCode,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  SignalingCloseCode,
  SignalingError,
  TokenBucket,
  encodeSignaling,
  formatCloseReason,
  parseClientMessage,
  speaksLinkCommits,
  type ChannelPermissions,
  type ClientMessage,
  type Clock,
  type IceServerConfig,
  type ServerMessage,
  type TimerHandle,
} from '@backchannel/protocol';
import type { WebSocket } from 'ws';

import type { CallManager } from '../calls/CallManager.js';
import type { Endpoint, SignalingSink } from '../calls/Endpoint.js';
import type { PeerCalls } from '../calls/PeerCallManager.js';
import { IdentityStoreUnavailableError, JoinError, TokenError } from '../errors.js';
import type { IdentityStore } from '../identity/IdentityStore.js';
import type { TokenService, VerifiedToken } from '../identity/TokenService.js';
import type { Logger } from '../logging.js';
import type { ServerStats } from '../stats.js';
import { ConnectionToken } from './ConnectionToken.js';

/** Calls (endpoints) one agent connection may be in at once. */
const MAX_ENDPOINTS_PER_CONNECTION = 16;
/** Signaling bytes waiting for a client that does not read before the server gives up on it. */
const MAX_UNREAD_SIGNALING_BYTES = 1024 * 1024;
/**
 * What the welcome asks of the client's liveness check (protocol `ping`): a ping every 5 s, and a server
 * silent for 10 s after one is taken for dead. A frozen node's agents so reconnect (to another node, given
 * a list) 15 to 20 s after it froze (found silent, then one 5 s attempt on it), within the 30 s resume window.
 */
const CLIENT_PING_INTERVAL_MS = 5000;
const CLIENT_PING_TIMEOUT_MS = 10_000;

export interface AgentConnectionDeps {
  calls: CallManager;
  peerCalls: PeerCalls;
  /** Told when a connection is authenticated (a cluster node tells the other nodes its agents). */
  onAuthenticated?(connection: AgentConnection): void;
  tokens: TokenService;
  identities: IdentityStore;
  stats: ServerStats;
  iceServers: IceServerConfig[];
  /**
   * This run of the server, told in `welcome` (see the protocol's `serverRun`). A cluster node declared lost
   * starts a new run when it rejoins (its endpoints are gone, as after a restart).
   */
  serverRun(): string;
  /** This server is a cluster node: its group calls' endpoints get LinkCommit frames (protocol 4 and later). */
  linkCommits?: boolean;
  helloTimeoutMs: number;
  signalingMessagesPerSecond: number;
  maxConnectionsPerIdentity: number;
  logger: Logger;
  /** Time for the hello timeout, token expiry and the message budget. */
  clock: Clock;
  /** Live authenticated connections of an identity (this one excluded until it is authenticated). */
  connectionsOf(identity: string): number;
}

/** One agent's signaling WebSocket (see the module comment). */
export class AgentConnection implements SignalingSink {
  #displayName = '';
  /** The protocol version of its `hello` (MIN_PROTOCOL_VERSION to PROTOCOL_VERSION): whether it reads batches. */
  #protocolVersion = MIN_PROTOCOL_VERSION;
  #alive = true;
  readonly #socket: WebSocket;
  readonly #deps: AgentConnectionDeps;
  /** The endpoints this connection acts on (see #adopt). */
  readonly #endpoints = new Map<number, Endpoint>();
  readonly #token: ConnectionToken;
  #helloTimer: TimerHandle | undefined;
  #closing = false;
  #closed = false;
  /** Signaling message budget: a flood closes this socket, and only this one. */
  readonly #messageBudget: TokenBucket;
  /** Token checks are async; messages wait behind them so their order is kept. */
  #queue: Promise<void> = Promise.resolve();

  constructor(socket: WebSocket, deps: AgentConnectionDeps) {
    this.#socket = socket;
    this.#deps = deps;
    const { clock } = deps;
    this.#token = new ConnectionToken(deps, () => this.#refuse(CallErrorCode.InvalidToken, 'token expired'));
    this.#messageBudget = new TokenBucket(deps.signalingMessagesPerSecond / 1000, 2 * deps.signalingMessagesPerSecond, clock.now());
    this.#helloTimer = clock.setTimeout(
      () => this.close(SignalingCloseCode.Unauthorized, CallErrorCode.InvalidToken, 'no hello within the time allowed'),
      deps.helloTimeoutMs,
    );
    socket.on('message', (data, isBinary) => {
      // ws still emits what it had already read after close(): nothing more is handled, or counted, then.
      if (this.#closing) return;
      const now = clock.now();
      if (this.#messageBudget.balance(now) < 1) {
        this.#deps.stats.limitHits.signalingRate++;
        return this.close(SignalingCloseCode.PolicyViolation, CallErrorCode.BadRequest, 'too many signaling messages');
      }
      this.#messageBudget.consume(1, now);
      const text = isBinary ? undefined : data.toString();
      // Messages wait behind the (async) token checks; once the socket is gone, none is handled any more.
      this.#queue = this.#queue
        .then(() => (this.#closed ? undefined : this.#onMessage(text)))
        .catch(() => this.close(SignalingCloseCode.InternalError, CallErrorCode.BadRequest, 'internal error'));
    });
    socket.on('close', () => this.#onClosed());
    socket.on('pong', () => (this.#alive = true));
    socket.on('error', (error: Error & { code?: string }) => {
      // ws closes the socket itself (1009) for a message over maxPayload; 'close' follows either way.
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.#deps.stats.limitHits.signalingSize++;
    });
  }

  /** The authenticated identity; '' until the hello is accepted. */
  get identity(): string {
    return this.#token.identity;
  }

  /** The token generation the connection was accepted (or last refreshed) under (identity/revalidate.ts). */
  get tokenGeneration(): number {
    return this.#token.generation;
  }

  /** The channel permissions of its newest token (an extension; unrestricted without the claim). */
  get channels(): ChannelPermissions {
    return this.#token.channels;
  }

  /** Sends a signaling message, unless the socket is gone; a client that does not read is cut off. */
  send(message: ServerMessage): void {
    if (this.#socket.readyState !== this.#socket.OPEN) return;
    // A client that does not read must not make the server buffer for it without bound.
    if (this.#socket.bufferedAmount > MAX_UNREAD_SIGNALING_BYTES) {
      this.#socket.terminate();
      return;
    }
    this.#socket.send(encodeSignaling(message));
  }

  /** The display name the agent gave in its hello. */
  get displayName(): string {
    return this.#displayName;
  }

  get protocolVersion(): number {
    return this.#protocolVersion;
  }

  /** Liveness: false from a ping until the client answers it (SignalingServer pings every connection). */
  get alive(): boolean {
    return this.#alive;
  }

  /** Pings the client; `alive` turns true again when it answers. */
  ping(): void {
    this.#alive = false;
    this.#socket.ping();
  }

  /** Drops the socket without a close handshake (a client that stopped answering). */
  terminate(): void {
    this.#socket.terminate();
  }

  /** Closes the socket with `code` and the reason `"<errorCode>: <message>"`; nothing more is handled. */
  close(code: SignalingCloseCode, errorCode: string, message: string): void {
    this.#closing = true;
    this.#socket.close(code, formatCloseReason(errorCode, message));
  }

  /** The identity's tokens were revoked (or it was deleted): end this connection and its calls. */
  revoke(): void {
    this.#refuse(CallErrorCode.InvalidToken, 'the tokens of this identity were revoked');
  }

  async #onMessage(text: string | undefined): Promise<void> {
    let message: ClientMessage;
    try {
      if (text === undefined) throw new SignalingError('signaling messages are text');
      message = parseClientMessage(text);
    } catch (error) {
      if (!(error instanceof SignalingError)) throw error;
      this.#deps.stats.malformedSignaling++;
      if (!this.identity) return this.close(SignalingCloseCode.BadRequest, CallErrorCode.BadRequest, error.message);
      return this.send({ type: 'error', code: CallErrorCode.BadRequest, message: error.message });
    }
    if (!this.identity) {
      if (message.type !== 'hello') return this.close(SignalingCloseCode.BadRequest, CallErrorCode.BadRequest, 'the first message must be hello');
      return this.#hello(message);
    }
    switch (message.type) {
      case 'hello':
        return this.send({ type: 'error', code: CallErrorCode.BadRequest, message: 'already authenticated' });
      case 'refreshToken':
        return this.#refreshToken(message.token);
      case 'join':
        return this.#join(message.ref, message.groupId);
      case 'offer':
        return this.#withEndpoint(message.endpointId, (endpoint) => endpoint.acceptOffer(message.sdp));
      case 'candidate':
        return this.#withEndpoint(message.endpointId, (endpoint) => endpoint.addCandidate(message.candidate, message.mid));
      case 'leave':
        return this.#withEndpoint(message.endpointId, (endpoint) => (message.forEveryone ? endpoint.call.endForEveryone(endpoint) : endpoint.close()));
      case 'resume':
        return this.#resume(message.ref, message.endpointId, message.resumeToken);
      case 'startCall':
        return this.#deps.peerCalls.start(this, message.ref, message.callee);
      case 'acceptCall':
        return this.#deps.peerCalls.accept(this, message.callId);
      case 'rejectCall':
        return this.#deps.peerCalls.reject(this, message.callId);
      case 'endCall':
        return this.#deps.peerCalls.hangUp(this, message.callId, message.reason);
      case 'peerSignal':
        return this.#deps.peerCalls.relay(this, message.callId, message.signal);
      case 'resumePeerCall':
        return this.#deps.peerCalls.resume(this, message.ref, message.callId, message.resumeToken);
      case 'ping':
        return this.send({ type: 'pong' });
    }
  }

  async #hello(message: Extract<ClientMessage, { type: 'hello' }>): Promise<void> {
    const version = message.protocolVersion;
    if (version < MIN_PROTOCOL_VERSION || version > PROTOCOL_VERSION) {
      return this.#refuse(CallErrorCode.UnsupportedProtocol, `server speaks protocol ${MIN_PROTOCOL_VERSION}–${PROTOCOL_VERSION}, client ${version}`);
    }
    const verified = await this.#verify(message.token);
    if (!verified || this.#closed) return;
    if (this.#deps.connectionsOf(verified.identity) >= this.#deps.maxConnectionsPerIdentity) {
      this.#deps.stats.limitHits.connectionsPerIdentity++;
      return this.#refuse(CallErrorCode.TooManyConnections, `at most ${this.#deps.maxConnectionsPerIdentity} connections per identity`);
    }
    this.#deps.clock.clearTimeout(this.#helloTimer);
    this.#displayName = message.displayName ?? '';
    this.#protocolVersion = version;
    this.#token.accept(verified);
    this.#deps.logger.info({ identity: this.identity }, 'agent connected');
    // The connection speaks the client's version: the welcome says so (a newer client then knows what it may send).
    const linkCommits = this.#deps.linkCommits === true && speaksLinkCommits(version) ? { linkCommits: true as const } : {};
    this.send({ type: 'welcome', protocolVersion: version, identity: this.identity, iceServers: this.#deps.iceServers, serverRun: this.#deps.serverRun(), pingIntervalMs: CLIENT_PING_INTERVAL_MS, pingTimeoutMs: CLIENT_PING_TIMEOUT_MS, ...linkCommits });
    this.#deps.onAuthenticated?.(this);
  }

  async #refreshToken(token: string): Promise<void> {
    const verified = await this.#verify(token);
    if (!verified || this.#closed) return;
    try {
      this.#token.refresh(verified);
    } catch (error) {
      if (!(error instanceof TokenError)) throw error;
      this.#refuse(error.code, error.message);
    }
  }

  /**
   * Verifies a token (see ConnectionToken); on failure refuses the connection and returns undefined. A
   * token that could not be checked (the identity store unreachable) is not refused as invalid: the close
   * says to try again later, which the SDK's reconnection does.
   */
  async #verify(token: string): Promise<VerifiedToken | undefined> {
    try {
      return await this.#token.verify(token);
    } catch (error) {
      if (error instanceof IdentityStoreUnavailableError) {
        this.#deps.logger.info({ identity: this.identity || undefined, reason: error.message }, 'agent turned away: the identity store is unreachable');
        this.send({ type: 'error', code: error.code, message: error.message });
        this.close(SignalingCloseCode.TryAgainLater, error.code, error.message);
        return undefined;
      }
      if (!(error instanceof TokenError)) throw error;
      this.#refuse(error.code, error.message);
      return undefined;
    }
  }

  #refuse(code: CallErrorCode, message: string): void {
    this.#deps.logger.info({ identity: this.identity || undefined, code, reason: message }, 'agent refused');
    this.send({ type: 'error', code, message });
    this.close(SignalingCloseCode.Unauthorized, code, message);
  }

  async #join(ref: number, groupId: string): Promise<void> {
    if (this.#endpoints.size >= MAX_ENDPOINTS_PER_CONNECTION) {
      return this.send({ type: 'error', ref, code: CallErrorCode.BadRequest, message: `at most ${MAX_ENDPOINTS_PER_CONNECTION} calls per agent` });
    }
    try {
      const calls = this.#deps.calls;
      const endpoint = await calls.join(this, groupId);
      if (this.#closed) return endpoint.close(); // the socket went while a cluster node reserved the place
      this.#adopt(endpoint);
      this.send({
        type: 'joined',
        ref,
        callId: endpoint.call.id,
        endpointId: endpoint.id,
        limits: { ...calls.limits },
        resumeToken: endpoint.resumeToken,
        resumeWindowMs: calls.resumeWindowMs,
      });
    } catch (error) {
      if (!(error instanceof JoinError)) throw error;
      this.send({ type: 'error', ref, code: error.code, message: error.message });
    }
  }

  /**
   * Takes back an endpoint of this identity after a lost connection or transport. Every refusal is the same
   * NotFound, so that a client learns nothing of endpoints it may not resume: unknown, closed, not (or no
   * longer) in its call's roster, another identity's, the wrong token, no resume window, or this connection
   * at its endpoint cap.
   */
  #resume(ref: number, endpointId: number, token: string): void {
    // Shutting down: the endpoint may be gone already, and the SDK must not take that for a refusal (it
    // joins again once the server is back).
    if (!this.#deps.calls.accepting) return this.send({ type: 'error', ref, code: CallErrorCode.ServerShutdown, message: 'the server is shutting down' });
    const endpoint = this.#deps.calls.endpoint(endpointId);
    const mine = this.#endpoints.has(endpointId);
    const resumable =
      endpoint !== undefined &&
      endpoint.admitted &&
      this.#deps.calls.resumeWindowMs > 0 &&
      endpoint.identity === this.identity &&
      endpoint.matchesResumeToken(token) &&
      (mine || this.#endpoints.size < MAX_ENDPOINTS_PER_CONNECTION);
    if (!resumable) return this.send({ type: 'error', ref, code: CallErrorCode.NotFound, message: 'no endpoint to resume' });
    if (!mine) this.#adopt(endpoint);
    endpoint.resume(this, ref);
  }

  /**
   * This connection acts on `endpoint` from now on, until it ends (left, failed, timed out, or its call
   * closed) or a resume moves it to another connection.
   */
  #adopt(endpoint: Endpoint): void {
    this.#endpoints.set(endpoint.id, endpoint);
    const forget = (): void => {
      if (this.#endpoints.get(endpoint.id) === endpoint) this.#endpoints.delete(endpoint.id);
      endpoint.off('close', forget);
      endpoint.off('signalingMoved', moved);
    };
    const moved = (from: SignalingSink): void => {
      if (from === this) forget();
    };
    endpoint.on('close', forget);
    endpoint.on('signalingMoved', moved);
  }

  #withEndpoint(endpointId: number, action: (endpoint: Endpoint) => void): void {
    const endpoint = this.#endpoints.get(endpointId);
    if (!endpoint) return this.send({ type: 'error', endpointId, code: CallErrorCode.NotFound, message: `no endpoint ${endpointId} on this connection` });
    try {
      action(endpoint);
    } catch (error) {
      if (!(error instanceof JoinError)) throw error;
      this.send({ type: 'error', endpointId, code: error.code, message: error.message });
    }
  }

  #onClosed(): void {
    this.#closed = true;
    if (this.identity) this.#deps.logger.info({ identity: this.identity }, 'agent disconnected');
    this.#deps.clock.clearTimeout(this.#helloTimer);
    this.#token.stop();
    // Closed by the server (#closing): its endpoints end. Lost: they may be resumed on another connection.
    for (const endpoint of [...this.#endpoints.values()]) {
      if (this.#closing) endpoint.close();
      else endpoint.signalingLost();
    }
    // Lost, its accepted 1:1 calls wait for it to come back (resumePeerCall); closed on purpose, they end.
    if (this.identity) this.#deps.peerCalls.disconnected(this, !this.#closing);
  }
}
