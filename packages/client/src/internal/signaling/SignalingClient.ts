/**
 * An agent's signaling connection to the server: authentication, join requests, and the routing of
 * per-endpoint messages (answer, candidates, roster) to the call that owns the endpoint.
 */
import {
  CallErrorCode,
  PROTOCOL_VERSION,
  SIGNALING_PATH,
  SignalingError,
  encodeSignaling,
  parseCloseReason,
  parseServerMessage,
  readTokenPermissions,
  type ChannelPermissions,
  type ClientMessage,
  type IceServerConfig,
  type ServerMessage,
} from '@backchannel/protocol';

import { CallError, callErrorFromWire } from '../../errors.js';
import { TypedEmitter, type ListenerErrorReporter } from '../../events.js';
import type { Platform } from '../platform/Platform.js';
import { LivenessCheck } from './LivenessCheck.js';
import { SOCKET_OPEN, type SignalingSocket } from './SignalingSocket.js';

export type JoinedMessage = Extract<ServerMessage, { type: 'joined' }>;
type WelcomeMessage = Extract<ServerMessage, { type: 'welcome' }>;
export type ResumedMessage = Extract<ServerMessage, { type: 'resumed' }>;
export type RingingMessage = Extract<ServerMessage, { type: 'ringing' }>;
export type PeerCallResumedMessage = Extract<ServerMessage, { type: 'peerCallResumed' }>;
export type IncomingCallMessage = Extract<ServerMessage, { type: 'incomingCall' }>;
export type EndpointMessage = Extract<ServerMessage, { endpointId: number }> | Extract<ServerMessage, { type: 'error' }>;
/** Messages about one 1:1 call, routed by its callId. */
export type PeerCallMessage = Extract<ServerMessage, { type: 'callAccepted' | 'peerCallEnded' | 'peerSignal' }>;

export interface PeerCallHandler {
  onMessage(message: PeerCallMessage): void;
  /** The connection is gone for good, or (without `onDisconnected`) dropped: the call cannot continue. */
  onConnectionLost(error: CallError): void;
  /** The connection dropped and the client is reconnecting: a handler that has this keeps its call. */
  onDisconnected?(error: CallError): void;
  /** A new connection is up (after `onDisconnected`). */
  onReconnected?(): void;
}

/** A request answered by a message carrying its `ref`. */
type Answer = JoinedMessage | RingingMessage | ResumedMessage | PeerCallResumedMessage;
type Pending = { resolve: (m: Answer) => void; reject: (e: CallError) => void };

export interface EndpointHandler {
  onMessage(message: EndpointMessage): void;
  /** The signaling connection is gone for good (disposed, or refused: a bad token); the endpoint cannot continue. */
  onConnectionLost(error: CallError): void;
  /** The connection dropped and the client is reconnecting: the endpoint may resume once it is back. */
  onDisconnected(error: CallError): void;
  /** A new connection is up (after `onDisconnected`). */
  onReconnected(): void;
}

/** How a lost connection is re-established: fresh credentials for each attempt. */
export interface ReconnectOptions {
  /** A token for the next `hello` (the credential's current one, renewed if need be). */
  getToken(): Promise<string>;
}

/**
 * Reconnection backoff: the first retry after this, doubling to RECONNECT_MAX_MS. The ceiling is low on
 * purpose: a call is kept for its resume window (30 s by default) from the moment the loss is noticed, and
 * an outage that ends just before the window does must be followed by an attempt at once, not up to a
 * long backoff later (an attempt is one refused TCP connection while the server is unreachable).
 */
const RECONNECT_FIRST_MS = 250;
const RECONNECT_MAX_MS = 1000;

/**
 * Close codes after which reconnecting cannot help: the server refused this identity's token, the
 * protocol, or the connection count. Everything else (a network failure, a server that went away or shut
 * down) is retried: a server that shut down (ServerShutdown) is taken to be restarting, and the agent is
 * back once it, or its replacement, listens again; its group calls are then joined again.
 */
function isFinal(error: CallError): boolean {
  return (
    error.code === CallErrorCode.InvalidToken ||
    error.code === CallErrorCode.UnsupportedProtocol ||
    error.code === CallErrorCode.TooManyConnections ||
    error.code === CallErrorCode.BadRequest
  );
}

/** How long the server has to answer `hello` or `join`. */
const REQUEST_TIMEOUT_MS = 15_000;
/**
 * How long a reconnection attempt to the server the client was on waits for its `welcome` before it gives
 * way to the next (the next URL of the list, if there are several). Shorter than a first connection's: the
 * calls' resume windows are running, and a frozen node accepts TCP connections (its kernel does) without
 * ever answering. An attempt on another URL waits as long as a first connection: that server may be busy
 * with everyone who was on the lost one.
 */
const RECONNECT_ATTEMPT_TIMEOUT_MS = 5000;

export interface SignalingClientEvents {
  /** A 1:1 call rings this agent. */
  incomingCall: [message: IncomingCallMessage];
  /** The connection dropped; the client reconnects by itself (then `reconnected`, or `closed`). */
  disconnected: [error: CallError];
  /** A new connection is up and authenticated. */
  reconnected: [];
  /** The connection ended for good: disposed, or refused (emitted once). */
  closed: [error: CallError];
}

export class SignalingClient extends TypedEmitter<SignalingClientEvents> {
  readonly identity: string;
  readonly iceServers: IceServerConfig[];
  /**
   * The channel permissions its token claims (an extension), read from the token it last authenticated
   * with, so that the SDK refuses early what the server would; calls take them when they are made.
   */
  #channels: ChannelPermissions;
  #socket: SignalingSocket;
  readonly #platform: Platform;
  /** The server's URLs (several: nodes of one cluster); `#current` is the one connected to (or last). */
  readonly #serverUrls: readonly string[];
  #current: number;
  /** Attempts since the connection was lost: the first goes to the same URL, then the next ones in turn. */
  #attempt = 0;
  readonly #displayName: string | undefined;
  #reconnect: ReconnectOptions | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #reconnecting = false;
  #closedWhileConnected = false;
  readonly #pending = new Map<number, Pending>();
  readonly #endpoints = new Map<number, EndpointHandler>();
  readonly #peerCalls = new Map<string, PeerCallHandler>();
  #nextRef = 1;
  #serverRun: string | undefined;
  #protocolVersion: number;
  #linkCommits: boolean;
  /** Pings the server when its welcome asked for it (LivenessCheck); one per connection. */
  #liveness: LivenessCheck | undefined;

  /** The channel permissions of the token it last authenticated with, or refreshed to. */
  get channels(): ChannelPermissions {
    return this.#channels;
  }

  /** A refreshed token was sent: its permissions apply to the calls made from now on. */
  tokenRefreshed(token: string): void {
    this.#channels = readTokenPermissions(token);
  }

  /** The run of the server this client is (or was last) connected to, from its `welcome`. */
  get serverRun(): string | undefined {
    return this.#serverRun;
  }

  /** The protocol version the connection speaks, from its `welcome` (3 and later: batch frames). */
  get protocolVersion(): number {
    return this.#protocolVersion;
  }

  /** The server is a cluster node that commits Durable link frames (LinkCommit, protocol 4), from its `welcome`. */
  get linkCommits(): boolean {
    return this.#linkCommits;
  }
  #closed = false;

  private constructor(
    socket: SignalingSocket,
    welcome: WelcomeMessage,
    target: { platform: Platform; serverUrls: readonly string[]; current: number; displayName: string | undefined; token: string },
    reportListenerError: ListenerErrorReporter,
  ) {
    super(reportListenerError);
    this.#channels = readTokenPermissions(target.token);
    this.#socket = socket;
    this.#platform = target.platform;
    this.#serverUrls = target.serverUrls;
    this.#current = target.current;
    this.#displayName = target.displayName;
    this.identity = welcome.identity;
    this.iceServers = welcome.iceServers;
    this.#serverRun = welcome.serverRun;
    this.#protocolVersion = welcome.protocolVersion;
    this.#linkCommits = welcome.linkCommits === true;
    this.#adopt(socket, welcome);
  }

  /** From now on a lost connection is re-established with `options`; without it a loss ends everything. */
  enableReconnect(options: ReconnectOptions): void {
    this.#reconnect = options;
  }

  #adopt(socket: SignalingSocket, welcome: WelcomeMessage): void {
    this.#socket = socket;
    socket.onmessage = (event) => {
      this.#liveness?.heard();
      this.#onMessage(event.data);
    };
    socket.onclose = (event) => {
      if (this.#socket === socket) this.#onSocketClose(closeError(event.code, event.reason));
    };
    socket.onerror = () => {
      // 'close' follows and reports.
    };
    this.#liveness?.stop();
    const { pingIntervalMs, pingTimeoutMs } = welcome;
    this.#liveness =
      pingIntervalMs !== undefined && pingTimeoutMs !== undefined
        ? new LivenessCheck({ intervalMs: pingIntervalMs, timeoutMs: pingTimeoutMs, ping: () => this.send({ type: 'ping' }), dead: (silentMs) => this.#silent(socket, silentMs) })
        : undefined;
  }

  /**
   * The server answered nothing for `silentMs` after a ping: the connection is as good as lost, although
   * the socket is still open. It is dropped without waiting for a close handshake the server would not
   * answer either, and lost as if it had closed (a reconnection, or the end).
   */
  #silent(socket: SignalingSocket, silentMs: number): void {
    if (this.#socket !== socket || this.#closed) return;
    socket.onmessage = socket.onclose = null;
    socket.onerror = () => undefined; // whatever the close brings (see authenticate)
    socket.close(1000, 'the server stopped answering');
    this.#onSocketClose(new CallError(CallErrorCode.ConnectionLost, `the server stopped answering (nothing for ${silentMs} ms after a ping)`));
  }

  /**
   * Opens the connection and authenticates, trying `serverUrls` in order until one welcomes it; rejects
   * with a {@link CallError} (e.g. `InvalidToken`, at once: another node would refuse the token too; or the
   * last URL's error).
   */
  static async connect(
    platform: Platform,
    serverUrls: readonly string[],
    token: string,
    displayName: string | undefined,
    reportListenerError: ListenerErrorReporter,
  ): Promise<SignalingClient> {
    let failure: unknown;
    for (let current = 0; current < serverUrls.length; current++) {
      try {
        const { socket, welcome } = await authenticate(platform, serverUrls[current]!, token, displayName);
        return new SignalingClient(socket, welcome, { platform, serverUrls, current, displayName, token }, reportListenerError);
      } catch (error) {
        failure = error;
        if (!(error instanceof CallError) || isFinal(error)) throw error;
      }
    }
    throw failure;
  }

  get isOpen(): boolean {
    return !this.#closed && !this.#reconnecting && this.#socket.readyState === SOCKET_OPEN;
  }

  /** Down, and reconnecting by itself. */
  get isReconnecting(): boolean {
    return this.#reconnecting && !this.#closed;
  }

  /** Asks to join `groupId`; resolves once the server has created the endpoint. */
  join(groupId: string): Promise<JoinedMessage> {
    return this.#request((ref) => ({ type: 'join', ref, groupId }), `join of '${groupId}'`) as Promise<JoinedMessage>;
  }

  /** Asks to take back endpoint `endpointId` after a lost connection; rejects (NotFound) if the server has not kept it. */
  resume(endpointId: number, resumeToken: string): Promise<ResumedMessage> {
    return this.#request((ref) => ({ type: 'resume', ref, endpointId, resumeToken }), `resume of endpoint ${endpointId}`) as Promise<ResumedMessage>;
  }

  /**
   * Rings every agent of `callee`. `onRinging` runs synchronously when the server confirms, so the caller
   * can attach its call handler before the next message (the answer may arrive in the same read); the
   * promise rejects (e.g. CalleeOffline) if the call cannot ring.
   */
  startCall(callee: string, onRinging: (message: RingingMessage) => void): Promise<RingingMessage> {
    return this.#request((ref) => ({ type: 'startCall', ref, callee }), `call to '${callee}'`, (m) => onRinging(m as RingingMessage)) as Promise<RingingMessage>;
  }

  /** Takes back this agent's place in 1:1 call `callId` after a lost connection; rejects (NotFound) if the server has not kept it. */
  resumePeerCall(callId: string, resumeToken: string): Promise<PeerCallResumedMessage> {
    return this.#request((ref) => ({ type: 'resumePeerCall', ref, callId, resumeToken }), `resume of call ${callId}`) as Promise<PeerCallResumedMessage>;
  }

  attachPeerCall(callId: string, handler: PeerCallHandler): void {
    this.#peerCalls.set(callId, handler);
  }

  detachPeerCall(callId: string): void {
    this.#peerCalls.delete(callId);
  }

  #request(message: (ref: number) => ClientMessage, what: string, onAnswer?: (m: Answer) => void): Promise<Answer> {
    if (!this.isOpen) return Promise.reject(new CallError(CallErrorCode.ConnectionLost, 'the call agent is disconnected'));
    const ref = this.#nextRef++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(ref);
        reject(new CallError(CallErrorCode.ConnectionLost, `${what} not answered within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.#pending.set(ref, {
        resolve: (m) => (clearTimeout(timer), onAnswer?.(m), resolve(m)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.send(message(ref));
    });
  }

  attachEndpoint(endpointId: number, handler: EndpointHandler): void {
    this.#endpoints.set(endpointId, handler);
  }

  detachEndpoint(endpointId: number): void {
    this.#endpoints.delete(endpointId);
  }

  send(message: ClientMessage): void {
    if (this.isOpen) this.#socket.send(encodeSignaling(message));
  }

  close(): void {
    if (this.#closed) return;
    this.#socket.close(1000, 'agent disposed');
    this.#end(new CallError(CallErrorCode.ConnectionLost, 'the call agent was disposed'));
  }

  #onMessage(data: unknown): void {
    try {
      this.#dispatch(data);
    } catch (error) {
      // A handler's failure must not escape into the socket's callback (it would end a Node process).
      this.reportListenerError(error, 'signaling message');
    }
  }

  #dispatch(data: unknown): void {
    let message: ServerMessage;
    try {
      message = parseServerMessage(String(data));
    } catch (error) {
      if (error instanceof SignalingError) return; // a newer server's message this SDK does not know
      throw error;
    }
    switch (message.type) {
      case 'joined':
      case 'ringing':
      case 'resumed':
      case 'peerCallResumed':
        return this.#settle(message.ref, (p) => p.resolve(message));
      case 'incomingCall':
        return this.emit('incomingCall', message);
      case 'callAccepted':
      case 'peerCallEnded':
      case 'peerSignal':
        return this.#peerCalls.get(message.callId)?.onMessage(message);
      case 'error':
        if (message.ref !== undefined) return this.#settle(message.ref, (p) => p.reject(callErrorFromWire(message.code, message.message)));
        if (message.endpointId !== undefined) this.#endpoints.get(message.endpointId)?.onMessage(message);
        return;
      default:
        if ('endpointId' in message) this.#endpoints.get(message.endpointId)?.onMessage(message);
    }
  }

  #settle(ref: number, settle: (pending: Pending) => void): void {
    const pending = this.#pending.get(ref);
    if (!pending) return;
    this.#pending.delete(ref);
    settle(pending);
  }

  /**
   * The socket closed. With reconnection enabled and a loss that reconnecting can mend, the client stays:
   * requests in flight fail, endpoints and the 1:1 calls that can resume hear `onDisconnected`, the others
   * (a call still ringing) end, and a new connection is attempted with backoff. Otherwise everything ends.
   */
  #onSocketClose(error: CallError): void {
    if (this.#closed) return;
    this.#liveness?.stop();
    if (!this.#reconnect || isFinal(error)) return this.#end(error);
    const wasReconnecting = this.#reconnecting;
    this.#reconnecting = true;
    this.#rejectPending(error);
    for (const [callId, handler] of [...this.#peerCalls]) {
      if (handler.onDisconnected) continue;
      this.#peerCalls.delete(callId);
      handler.onConnectionLost(error);
    }
    if (!wasReconnecting) {
      this.#attempt = 0;
      for (const handler of [...this.#endpoints.values()]) handler.onDisconnected(error);
      for (const handler of [...this.#peerCalls.values()]) handler.onDisconnected?.(error);
      this.emit('disconnected', error);
    }
    this.#scheduleReconnect(RECONNECT_FIRST_MS);
  }

  #scheduleReconnect(delayMs: number): void {
    if (this.#closed) return;
    this.#reconnectTimer = setTimeout(() => void this.#tryReconnect(delayMs), delayMs);
  }

  async #tryReconnect(delayMs: number): Promise<void> {
    if (this.#closed || !this.#reconnect) return;
    try {
      const token = await this.#reconnect.getToken();
      // The node it was on first (a blip: its endpoints can be resumed there), then the others in turn (a
      // node lost: its calls are joined again on another, as after a restart).
      const index = (this.#current + this.#attempt++) % this.#serverUrls.length;
      const timeoutMs = index === this.#current ? RECONNECT_ATTEMPT_TIMEOUT_MS : REQUEST_TIMEOUT_MS;
      const { socket, welcome } = await authenticate(this.#platform, this.#serverUrls[index]!, token, this.#displayName, timeoutMs);
      this.#current = index;
      if (this.#closed) return socket.close(1000, 'agent disposed');
      if (welcome.identity !== this.identity) {
        socket.close(1000, 'another identity');
        return this.#end(new CallError(CallErrorCode.InvalidToken, 'the credential now names another identity'));
      }
      this.#adopt(socket, welcome);
      this.#channels = readTokenPermissions(token);
      this.#serverRun = welcome.serverRun;
      this.#protocolVersion = welcome.protocolVersion;
      this.#linkCommits = welcome.linkCommits === true;
      this.#reconnecting = false;
      for (const handler of [...this.#endpoints.values()]) handler.onReconnected();
      for (const handler of [...this.#peerCalls.values()]) handler.onReconnected?.();
      this.emit('reconnected');
    } catch (error) {
      const failure = error instanceof CallError ? error : new CallError(CallErrorCode.ConnectionLost, String(error), { cause: error });
      if (isFinal(failure)) return this.#end(failure);
      this.#scheduleReconnect(Math.min(RECONNECT_MAX_MS, delayMs * 2));
    }
  }

  #rejectPending(error: CallError): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  /** Whether the connection was up (not reconnecting) when it ended for good: the agent reports a state change. */
  get wasConnectedWhenClosed(): boolean {
    return this.#closedWhileConnected;
  }

  #end(error: CallError): void {
    if (this.#closed) return;
    this.#closedWhileConnected = !this.#reconnecting;
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    this.#liveness?.stop();
    this.#rejectPending(error);
    for (const handler of [...this.#peerCalls.values()]) handler.onConnectionLost(error);
    this.#peerCalls.clear();
    for (const handler of [...this.#endpoints.values()]) handler.onConnectionLost(error);
    this.#endpoints.clear();
    this.emit('closed', error);
  }
}

/** Opens a signaling socket to `serverUrl` and says `hello`; resolves once welcomed, rejects with a CallError. */
function authenticate(
  platform: Platform,
  serverUrl: string,
  token: string,
  displayName: string | undefined,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<{ socket: SignalingSocket; welcome: WelcomeMessage }> {
  let socket: SignalingSocket;
    try {
      socket = platform.openSignalingSocket(signalingUrl(serverUrl));
    } catch (error) {
      return Promise.reject(new CallError(CallErrorCode.BadRequest, `cannot open a connection to ${serverUrl}`, { cause: error }));
    }
    return new Promise((resolve, reject) => {
      const fail = (error: CallError): void => {
        clearTimeout(timer);
        socket.onopen = socket.onmessage = socket.onclose = null;
        // Closing a socket still connecting (no answer in time) reports an error: `ws` would throw it in
        // Node without a listener, ending the application's process.
        socket.onerror = () => undefined;
        socket.close();
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new CallError(CallErrorCode.ConnectionLost, `no answer from ${serverUrl} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.onopen = () => {
        const hello: ClientMessage = { type: 'hello', protocolVersion: PROTOCOL_VERSION, token };
        if (displayName !== undefined) hello.displayName = displayName;
        socket.send(encodeSignaling(hello));
      };
      socket.onerror = () => fail(new CallError(CallErrorCode.ConnectionLost, `cannot connect to ${serverUrl}`));
      socket.onclose = (event) => fail(closeError(event.code, event.reason));
      socket.onmessage = (event) => {
        let message: ServerMessage;
        try {
          message = parseServerMessage(String(event.data));
        } catch (error) {
          fail(new CallError(CallErrorCode.BadRequest, 'server sent an invalid message', { cause: error }));
          return;
        }
        if (message.type === 'welcome') {
          clearTimeout(timer);
          resolve({ socket, welcome: message });
        } else if (message.type === 'error') {
          fail(callErrorFromWire(message.code, message.message));
        }
      };
    });
}

/** http(s)://host[/] → ws(s)://host/signaling; a URL with a path of its own keeps it (a proxy prefix, say). */
export function signalingUrl(serverUrl: string): string {
  const url = new URL(serverUrl);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.pathname === '/' || url.pathname === '') url.pathname = SIGNALING_PATH;
  return url.toString();
}

/** The server's close reasons carry a CallErrorCode (protocol `formatCloseReason`); others are a lost connection. */
function closeError(code: number, reason: string): CallError {
  const parsed = reason ? parseCloseReason(reason) : undefined;
  if (parsed) return callErrorFromWire(parsed.code, parsed.message);
  return new CallError(CallErrorCode.ConnectionLost, `signaling connection closed (${code}${reason ? `: ${reason}` : ''})`);
}
