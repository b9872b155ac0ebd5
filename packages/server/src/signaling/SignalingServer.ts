/**
 * Accepts signaling WebSockets on the protocol's SIGNALING_PATH of the HTTP server, keeps them alive (ping),
 * and finds an identity's connections (1:1 calls, revocation, the per-identity cap).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

import { MAX_SIGNALING_MESSAGE_BYTES, SIGNALING_PATH, SignalingCloseCode } from '@backchannel/protocol';
import { WebSocketServer } from 'ws';

import { AgentConnection, type AgentConnectionDeps } from './AgentConnection.js';

/** Real time, not the server's clock: liveness is about the network. */
const PING_INTERVAL_MS = 30_000;

/** The signaling endpoint of the HTTP server and its live connections. */
export class SignalingServer {
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<AgentConnection>();
  #accepting = true;
  readonly #pinger: ReturnType<typeof setInterval>;

  constructor(httpServer: Server, deps: Omit<AgentConnectionDeps, 'connectionsOf'>) {
    // maxPayload is explicit: ws would otherwise accept 100 MiB messages.
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: MAX_SIGNALING_MESSAGE_BYTES });
    this.#wss.on('connection', (socket) => {
      const connection = new AgentConnection(socket, { ...deps, connectionsOf: (identity) => this.connectionsOf(identity) });
      this.#connections.add(connection);
      socket.on('close', () => this.#connections.delete(connection));
    });
    this.#pinger = setInterval(() => this.#checkLiveness(), PING_INTERVAL_MS);
    this.#pinger.unref();
    httpServer.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      if (path !== SIGNALING_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      if (!this.#accepting) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\n\r\n');
        return;
      }
      this.#wss.handleUpgrade(request, socket, head, (ws) => this.#wss.emit('connection', ws, request));
    });
  }

  /**
   * Every PING_INTERVAL_MS each connection is pinged; one that did not answer the previous ping is
   * terminated, so half-open sockets (a client that changed networks) do not keep their endpoints, count
   * against the per-identity cap, or ring forever.
   */
  #checkLiveness(): void {
    for (const connection of this.#connections) {
      if (!connection.alive) connection.terminate();
      else connection.ping();
    }
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Authenticated connections of `identity`. */
  connectionsOf(identity: string): number {
    return this.agentsOf(identity).length;
  }

  /** The authenticated connections of `identity`. */
  agentsOf(identity: string): AgentConnection[] {
    return [...this.#connections].filter((connection) => connection.identity === identity);
  }

  /** Every authenticated connection, of every identity. */
  authenticated(): AgentConnection[] {
    return [...this.#connections].filter((connection) => connection.identity !== '');
  }

  /** Ends every connection (and so every call endpoint) of `identity`: its tokens no longer hold. */
  revokeIdentity(identity: string): void {
    for (const connection of [...this.#connections]) if (connection.identity === identity) connection.revoke();
  }

  /**
   * Cuts every connection as a network loss would (no close frame): their agents reconnect by themselves
   * and resume what this server still holds. Used by a cluster node that rejoined its cluster.
   */
  dropAll(): void {
    for (const connection of [...this.#connections]) connection.terminate();
  }

  /** Refuses new connections from now on (shutdown). */
  stopAccepting(): void {
    this.#accepting = false;
  }

  /** Closes every connection with `reason`, and the WebSocket server. */
  /**
   * Closes every connection with `reason`, and the WebSocket server. A connection whose client does not
   * answer the close (frozen, gone without a FIN) would hold this up for ws's 30 s close timeout: after
   * `deadlineMs` the remaining sockets are cut.
   */
  async close(errorCode: string, message: string, deadlineMs: number): Promise<void> {
    clearInterval(this.#pinger);
    for (const connection of this.#connections) connection.close(SignalingCloseCode.ShuttingDown, errorCode, message);
    const closed = new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), deadlineMs)));
    const outcome = await Promise.race([closed, deadline]);
    clearTimeout(timer);
    if (outcome === 'deadline') {
      for (const connection of this.#connections) connection.terminate();
      await closed;
    }
  }
}
