/**
 * An agent's signaling connection to the server: authentication, join requests, and the routing of
 * per-endpoint messages (answer, candidates, roster) to the call that owns the endpoint.
 */
import {
  CallErrorCode,
  PROTOCOL_VERSION,
  SignalingError,
  encodeSignaling,
  parseServerMessage,
  type ClientMessage,
  type IceServerConfig,
  type ServerMessage,
} from '@backchannel/protocol';
import { openSignalingSocket } from '#platform';

import { CallError } from '../../errors.js';
import { SOCKET_OPEN, type SignalingSocket } from './SignalingSocket.js';

export type JoinedMessage = Extract<ServerMessage, { type: 'joined' }>;
export type EndpointMessage = Extract<ServerMessage, { endpointId: number }> | Extract<ServerMessage, { type: 'error' }>;

export interface EndpointHandler {
  onMessage(message: EndpointMessage): void;
  /** The signaling connection is gone; the endpoint cannot continue. */
  onConnectionLost(error: CallError): void;
}

/** How long the server has to answer `hello` or `join`. */
const REQUEST_TIMEOUT_MS = 15_000;

export class SignalingClient {
  readonly identity: string;
  readonly iceServers: IceServerConfig[];
  readonly #socket: SignalingSocket;
  readonly #pendingJoins = new Map<number, { resolve: (m: JoinedMessage) => void; reject: (e: CallError) => void }>();
  readonly #endpoints = new Map<number, EndpointHandler>();
  #nextRef = 1;
  #closed = false;
  /** Called when the connection ends, for whatever reason. */
  onClose: ((error: CallError) => void) | undefined;

  private constructor(socket: SignalingSocket, welcome: Extract<ServerMessage, { type: 'welcome' }>) {
    this.#socket = socket;
    this.identity = welcome.identity;
    this.iceServers = welcome.iceServers;
    socket.onmessage = (event) => this.#onMessage(event.data);
    socket.onclose = (event) => this.#onSocketClose(closeError(event.code, event.reason));
    socket.onerror = () => {
      // 'close' follows and reports.
    };
  }

  /** Opens the connection and authenticates; rejects with a {@link CallError} (e.g. `InvalidToken`). */
  static connect(serverUrl: string, token: string, displayName: string | undefined): Promise<SignalingClient> {
    const socket = openSignalingSocket(signalingUrl(serverUrl));
    return new Promise((resolve, reject) => {
      const fail = (error: CallError): void => {
        clearTimeout(timer);
        socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
        socket.close();
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new CallError(CallErrorCode.ConnectionLost, `no answer from ${serverUrl} within ${REQUEST_TIMEOUT_MS} ms`)),
        REQUEST_TIMEOUT_MS,
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
          resolve(new SignalingClient(socket, message));
        } else if (message.type === 'error') {
          fail(new CallError(message.code, message.message));
        }
      };
    });
  }

  get isOpen(): boolean {
    return !this.#closed && this.#socket.readyState === SOCKET_OPEN;
  }

  /** Asks to join `groupId`; resolves once the server has created the endpoint. */
  join(groupId: string): Promise<JoinedMessage> {
    if (!this.isOpen) return Promise.reject(new CallError(CallErrorCode.ConnectionLost, 'the call agent is disconnected'));
    const ref = this.#nextRef++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pendingJoins.delete(ref);
        reject(new CallError(CallErrorCode.ConnectionLost, `join of '${groupId}' not answered within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.#pendingJoins.set(ref, {
        resolve: (m) => (clearTimeout(timer), resolve(m)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.send({ type: 'join', ref, groupId });
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
    this.#onSocketClose(new CallError(CallErrorCode.ConnectionLost, 'the call agent was disposed'));
  }

  #onMessage(data: unknown): void {
    let message: ServerMessage;
    try {
      message = parseServerMessage(String(data));
    } catch (error) {
      if (error instanceof SignalingError) return; // a newer server's message this SDK does not know
      throw error;
    }
    if (message.type === 'joined') {
      this.#settleJoin(message.ref, (p) => p.resolve(message));
    } else if (message.type === 'error' && message.ref !== undefined) {
      this.#settleJoin(message.ref, (p) => p.reject(new CallError(message.code, message.message)));
    } else if ('endpointId' in message && message.endpointId !== undefined) {
      this.#endpoints.get(message.endpointId)?.onMessage(message as EndpointMessage);
    }
  }

  #settleJoin(ref: number, settle: (pending: { resolve: (m: JoinedMessage) => void; reject: (e: CallError) => void }) => void): void {
    const pending = this.#pendingJoins.get(ref);
    if (!pending) return;
    this.#pendingJoins.delete(ref);
    settle(pending);
  }

  #onSocketClose(error: CallError): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const pending of this.#pendingJoins.values()) pending.reject(error);
    this.#pendingJoins.clear();
    for (const handler of [...this.#endpoints.values()]) handler.onConnectionLost(error);
    this.#endpoints.clear();
    this.onClose?.(error);
  }
}

/** http(s)://host[/] → ws(s)://host/signaling; a URL with a path of its own keeps it (a proxy prefix, say). */
export function signalingUrl(serverUrl: string): string {
  const url = new URL(serverUrl);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/signaling';
  return url.toString();
}

/** Close codes the server uses carry a CallErrorCode as reason (see server/signaling). */
function closeError(code: number, reason: string): CallError {
  if (reason && /^[A-Za-z]+(: |$)/.test(reason)) {
    const [errorCode, ...rest] = reason.split(': ');
    return new CallError(errorCode!, rest.join(': ') || reason);
  }
  return new CallError(CallErrorCode.ConnectionLost, `signaling connection closed (${code}${reason ? `: ${reason}` : ''})`);
}
