/**
 * A signaling relay: an HTTP/WebSocket server on 127.0.0.1 that SDK clients use as `serverUrl`. Each
 * WebSocket at `/signaling` is paired with one to the real server and every message is forwarded both
 * ways through {@link Lane}s ('tcp': delayed, held in an outage, never dropped). Plain HTTP requests are
 * proxied as they are (the SDK needs none today; a browser page would).
 *
 * Server → client messages are rewritten so that ICE can only use the UDP relays: each server candidate
 * (trickled `candidate` messages, and `a=candidate` lines of an `answer`) that is a UDP host candidate on
 * IPv4 loopback is pointed at a relay port; every other candidate is dropped.
 *
 * In a 1:1 call the candidates are the other party's, in server → client `peerSignal` messages (the SDP of
 * an offer or an answer, and trickled candidates): each UDP host candidate on IPv4, loopback or not, is
 * pointed at a relay in front of it, and every other (mDNS `.local` names, IPv6, …) is dropped.
 *
 * Client → server: the client's own candidates are dropped too (`dropClientCandidates`, the default).
 * Passed on, they would let the server's ICE agent check the client's host addresses directly, find a
 * working pair that bypasses the relay, and keep the call alive through an outage the test means to
 * impose. Without them the server learns each client as a peer-reflexive candidate from the checks that
 * reach it through the relay (see UdpRelay), which is how a client behind a NAT is learnt anyway.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { WebSocket, WebSocketServer, type RawData } from 'ws';

import { rewriteCandidate, rewritePeerSignal, rewriteSdpCandidates, type CandidateMapper } from './candidates.js';
import { Lane, type Conditions, type DirectionCounters } from './Lane.js';
import type { SocketTracker } from './UdpRelay.js';

export interface SignalingCounters {
  toServer: DirectionCounters;
  toClient: DirectionCounters;
}

/** Where a kept candidate is to point instead; undefined drops it. */
export type CandidateMap = CandidateMapper;

export interface SignalingRelayOptions {
  /** The real server's base URL (`http://…` or `ws://…`). */
  target: string;
  conditions: Conditions;
  counters: SignalingCounters;
  sockets: SocketTracker;
  /** For the server's candidates (group calls). */
  mapCandidate: CandidateMap;
  /** For the other party's candidates in a 1:1 call. */
  mapPeerCandidate: CandidateMap;
  dropClientCandidates: boolean;
}

type Frame = { kind: 'message'; data: string } | { kind: 'close'; code: number; reason: string };

const frameSize = (frame: Frame): number => (frame.kind === 'message' ? Buffer.byteLength(frame.data) : 2 + Buffer.byteLength(frame.reason));

export class SignalingRelay {
  readonly #http: http.Server;
  readonly #wss: WebSocketServer;
  readonly #options: SignalingRelayOptions;
  readonly #links = new Set<SignalingLink>();
  readonly #onDown = (cutTcp: boolean): void => {
    if (cutTcp) this.cutAll();
  };
  #closed = false;

  private constructor(server: http.Server, options: SignalingRelayOptions) {
    this.#http = server;
    this.#options = options;
    this.#wss = new WebSocketServer({ noServer: true });
    server.on('connection', (socket: Socket) => options.sockets.track(socket));
    server.on('request', (request, response) => this.#proxyHttp(request, response));
    server.on('upgrade', (request, socket, head) => {
      if (this.#closed || !request.url?.startsWith('/signaling')) return socket.destroy();
      this.#wss.handleUpgrade(request, socket, head, (client) => this.#accept(client, request.url!));
    });
    options.conditions.on('down', this.#onDown);
  }

  static async start(options: SignalingRelayOptions): Promise<SignalingRelay> {
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new SignalingRelay(server, options);
  }

  /** The relay's base URL, for `new CallClient({ serverUrl })`. */
  get url(): string {
    return `http://127.0.0.1:${(this.#http.address() as AddressInfo).port}`;
  }

  /** Signaling connections open through the relay. */
  get connectionCount(): number {
    return this.#links.size;
  }

  /** Cuts every signaling connection now, both sides, with no close frame (see SignalingLink.cut). */
  cutAll(): void {
    for (const link of this.#links) link.cut();
  }

  /** Cuts every connection and stops listening; resolves once the HTTP server has closed. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#options.conditions.off('down', this.#onDown);
    this.cutAll();
    this.#wss.close();
    const closed = new Promise<void>((resolve) => this.#http.close(() => resolve()));
    this.#http.closeAllConnections();
    await closed;
  }

  #accept(client: WebSocket, path: string): void {
    const link = new SignalingLink(client, `${this.#options.target.replace(/^http/, 'ws')}${path}`, this.#options);
    this.#links.add(link);
    link.onGone = () => this.#links.delete(link);
  }

  /** One upstream connection per request (`agent: false`): no pooled socket outlives the relay. */
  #proxyHttp(request: http.IncomingMessage, response: http.ServerResponse): void {
    const upstream = http.request(new URL(request.url ?? '/', this.#options.target), { method: request.method, headers: request.headers, agent: false }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  }
}

/** One client's signaling connection, paired with its own connection to the server. */
class SignalingLink {
  onGone: () => void = () => {};
  readonly #client: WebSocket;
  readonly #upstream: WebSocket;
  readonly #toServer: Lane<Frame>;
  readonly #toClient: Lane<Frame>;
  readonly #options: SignalingRelayOptions;
  /** Messages for the server that arrived before its connection opened. */
  #unsent: Frame[] | undefined = [];
  /** Server → client rewriting is asynchronous (a relay may have to be bound): one chain keeps the order. */
  #rewriting: Promise<void> = Promise.resolve();
  #gone = false;

  constructor(client: WebSocket, upstreamUrl: string, options: SignalingRelayOptions) {
    this.#options = options;
    this.#client = options.sockets.track(client);
    this.#upstream = options.sockets.track(new WebSocket(upstreamUrl));
    const { conditions, counters } = options;
    this.#toServer = new Lane<Frame>({ transport: 'tcp', conditions, counters: counters.toServer, size: frameSize, deliver: (f) => this.#toUpstream(f) });
    this.#toClient = new Lane<Frame>({ transport: 'tcp', conditions, counters: counters.toClient, size: frameSize, deliver: (f) => forward(this.#client, f) });

    this.#upstream.on('open', () => {
      const unsent = this.#unsent ?? [];
      this.#unsent = undefined;
      for (const frame of unsent) forward(this.#upstream, frame);
    });
    client.on('message', (data, isBinary) => this.#fromClient(data, isBinary));
    this.#upstream.on('message', (data) => this.#fromServer(String(data)));
    // A close travels like a message: after what was sent before it, as a FIN would.
    client.on('close', (code, reason) => this.#toServer.push({ kind: 'close', code, reason: String(reason) }));
    this.#upstream.on('close', (code, reason) => {
      this.#rewriting = this.#rewriting.then(() => this.#toClient.push({ kind: 'close', code, reason: String(reason) }));
    });
    for (const socket of [client, this.#upstream]) {
      socket.on('error', () => {
        // 'close' follows: it is what the other side learns.
      });
      socket.on('close', () => this.#checkGone());
    }
  }

  /** Drops the connection both ways at once, no close frame: a dead link or a NAT that forgot the flow. */
  cut(): void {
    this.#toServer.close();
    this.#toClient.close();
    this.#client.terminate();
    this.#upstream.terminate();
  }

  #fromClient(data: RawData, isBinary: boolean): void {
    if (isBinary) return; // the protocol's signaling is text only
    const text = String(data);
    if (this.#options.dropClientCandidates) {
      const message = tryParse(text);
      if (message?.type === 'candidate') return;
    }
    this.#toServer.push({ kind: 'message', data: text });
  }

  #fromServer(text: string): void {
    this.#rewriting = this.#rewriting
      .then(async () => {
        const rewritten = await this.#rewrite(text);
        if (rewritten !== undefined) this.#toClient.push({ kind: 'message', data: rewritten });
      })
      .catch(() => this.cut()); // a relay that cannot bind: the test sees the connection drop
  }

  async #rewrite(text: string): Promise<string | undefined> {
    const message = tryParse(text);
    if (message?.type === 'candidate' && typeof message.candidate === 'string') {
      const candidate = await rewriteCandidate(message.candidate, this.#options.mapCandidate);
      return candidate === undefined ? undefined : JSON.stringify({ ...message, candidate });
    }
    if (message?.type === 'answer' && typeof message.sdp === 'string') {
      return JSON.stringify({ ...message, sdp: await rewriteSdpCandidates(message.sdp, this.#options.mapCandidate) });
    }
    if (message?.type === 'peerSignal' && typeof message.signal === 'object' && message.signal !== null) {
      const signal = await rewritePeerSignal(message.signal as Record<string, unknown>, this.#options.mapPeerCandidate);
      return signal === undefined ? undefined : JSON.stringify({ ...message, signal });
    }
    return text;
  }

  #toUpstream(frame: Frame): void {
    if (this.#unsent) this.#unsent.push(frame);
    else forward(this.#upstream, frame);
  }

  #checkGone(): void {
    if (this.#gone || this.#client.readyState !== WebSocket.CLOSED || this.#upstream.readyState !== WebSocket.CLOSED) return;
    this.#gone = true;
    this.#toServer.close();
    this.#toClient.close();
    this.onGone();
  }
}

function forward(socket: WebSocket, frame: Frame): void {
  if (frame.kind === 'message') {
    if (socket.readyState === WebSocket.OPEN) socket.send(frame.data);
    return;
  }
  if (socket.readyState === WebSocket.CLOSED) return;
  // 1005 (no code) and 1006 (no close frame) cannot be sent: the relay does what the far end did.
  if (frame.code === 1006 || socket.readyState === WebSocket.CONNECTING) socket.terminate();
  else if (frame.code === 1005) socket.close();
  else socket.close(frame.code, frame.reason);
}

function tryParse(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
