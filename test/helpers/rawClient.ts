/**
 * A test client that speaks the wire protocol itself (signaling JSON over `ws`, frames over node-datachannel),
 * bypassing every check of the SDK: what a hostile or buggy client can send, the server must handle.
 *
 *   const raw = await RawEndpoint.join(server.url, token, 'room');
 *   raw.send('durable', encodeSend(...));
 *   const notice = await raw.nextFrame((f) => f.type === FrameType.Notice);
 *   raw.close();
 */
import {
  FrameType,
  PROTOCOL_VERSION,
  decodeServerFrame,
  readBatch,
  encodeSignaling,
  parseServerMessage,
  type ClientMessage,
  type LinkFrame,
  type ParticipantInfo,
  type ServerFrame,
  type ServerMessage,
} from '@backchannel/protocol';
import { acquireRtcRuntime, releaseRtcRuntime } from '@backchannel/node-rtc';
import nodeDataChannel, { type DataChannel, type PeerConnection } from 'node-datachannel';
import { WebSocket } from 'ws';

import type { Harness } from './backchannel.js';

const TIMEOUT_MS = 15_000;

/** SCTP messages received, how many of them were batches, and the largest on each channel (bytes). */
export interface Received {
  messages: number;
  batches: number;
  readonly largest: { durable: number; lossy: number };
}

/**
 * Reads one SCTP message from the server into `frames`: a frame, or each frame of a ServerBatch (counted
 * in `received.batches`). Throws FrameError for a malformed one, as the decoders do.
 */
function readServerMessage(bytes: Uint8Array, frames: ServerFrame[], received: Received, kind: 'durable' | 'lossy'): void {
  received.messages++;
  received.largest[kind] = Math.max(received.largest[kind], bytes.byteLength);
  if (bytes[0] !== FrameType.ServerBatch) return void frames.push(decodeServerFrame(bytes));
  received.batches++;
  readBatch(bytes, 'server', (frame) => frames.push(decodeServerFrame(frame)));
}

export class RawEndpoint {
  readonly frames: ServerFrame[] = [];
  /** SCTP messages received, how many of them were batches, the largest per channel. */
  readonly received: Received = { messages: 0, batches: 0, largest: { durable: 0, lossy: 0 } };
  readonly messages: ServerMessage[] = [];
  #waiters: (() => void)[] = [];
  #closed = false;

  private constructor(
    readonly ws: WebSocket,
    readonly identity: string,
    readonly endpointId: number,
    readonly pc: PeerConnection,
    readonly channels: { durable: DataChannel; lossy: DataChannel },
    readonly participants: ParticipantInfo[],
  ) {}

  /** Opens a signaling socket and authenticates; resolves with the socket and the welcome. */
  static async connect(
    serverUrl: string,
    token: string,
    protocolVersion = PROTOCOL_VERSION,
  ): Promise<{ ws: WebSocket; identity: string; messages: ServerMessage[]; next: Next }> {
    const ws = new WebSocket(`${serverUrl.replace(/^http/, 'ws')}/signaling`);
    const messages: ServerMessage[] = [];
    const waiters: (() => void)[] = [];
    ws.on('message', (data) => {
      messages.push(parseServerMessage(String(data)));
      for (const wake of waiters.splice(0)) wake();
    });
    const next: Next = (predicate) =>
      waitUntil(
        () => messages.find(predicate),
        (wake) => {
          waiters.push(wake);
          ws.once('close', wake);
        },
      );
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(encodeSignaling({ type: 'hello', protocolVersion, token }));
    const welcome = await next((m) => m.type === 'welcome' || m.type === 'error');
    if (welcome.type !== 'welcome') throw new Error(`refused: ${JSON.stringify(welcome)}`);
    return { ws, identity: welcome.identity, messages, next };
  }

  /**
   * Joins `groupId` with a hand-made peer connection carrying the protocol's two channels, saying
   * `protocolVersion` in its hello (2: the server sends it no batches).
   */
  static async join(serverUrl: string, token: string, groupId: string, protocolVersion = PROTOCOL_VERSION): Promise<RawEndpoint> {
    const { ws, identity, messages, next } = await RawEndpoint.connect(serverUrl, token, protocolVersion);
    ws.send(encodeSignaling({ type: 'join', ref: 1, groupId }));
    const joined = await next((m) => m.type === 'joined' || m.type === 'error');
    if (joined.type !== 'joined') throw new Error(`join refused: ${JSON.stringify(joined)}`);
    const endpointId = joined.endpointId;
    acquireRtcRuntime();
    const pc = new nodeDataChannel.PeerConnection('raw-client', { iceServers: [] });
    const heldCandidates: ClientMessage[] = [];
    let answered = false;
    const send = (m: ClientMessage): void => ws.send(encodeSignaling(m));
    pc.onLocalCandidate((candidate, mid) => {
      const m: ClientMessage = { type: 'candidate', endpointId, candidate, mid };
      if (answered) send(m);
      else heldCandidates.push(m);
    });
    const offer = new Promise<string>((resolve) => pc.onLocalDescription((sdp) => resolve(sdp)));
    const durable = pc.createDataChannel('backchannel-durable');
    const lossy = pc.createDataChannel('backchannel-lossy', { unordered: true, maxRetransmits: 0 });
    const sdp = (await offer).split('\r\n').filter((l) => !l.startsWith('a=candidate')).join('\r\n');
    send({ type: 'offer', endpointId, sdp });
    const answer = await next((m) => m.type === 'answer');
    if (answer.type !== 'answer') throw new Error('no answer');
    pc.setRemoteDescription(answer.sdp, 'answer');
    answered = true;
    for (const m of heldCandidates) send(m);
    let seen = messages.indexOf(answer);
    const applyCandidates = (): void => {
      for (; seen < messages.length; seen++) {
        const m = messages[seen]!;
        if (m.type !== 'candidate') continue;
        try {
          pc.addRemoteCandidate(m.candidate, m.mid);
        } catch {
          // This pc was closed by the test; later candidates are for a new transport of the endpoint (RawTransport).
        }
      }
    };
    ws.on('message', applyCandidates);
    applyCandidates();
    const connected = await next((m) => m.type === 'connected' || m.type === 'callEnded');
    if (connected.type !== 'connected') throw new Error(`not connected: ${JSON.stringify(connected)}`);
    const endpoint = new RawEndpoint(ws, identity, endpointId, pc, { durable, lossy }, connected.participants);
    endpoint.messages.push(...messages);
    ws.on('message', (data) => {
      endpoint.messages.push(parseServerMessage(String(data)));
      endpoint.#wake();
    });
    ws.on('close', () => endpoint.#wake());
    for (const channel of [durable, lossy]) {
      // node-datachannel forgets a channel only through onClosed: without it a collected channel crashes cleanup.
      channel.onClosed(() => undefined);
      channel.onMessage((message) => {
        if (typeof message === 'string') return;
        readServerMessage(new Uint8Array(message as Buffer), endpoint.frames, endpoint.received, channel === durable ? 'durable' : 'lossy');
        endpoint.#wake();
      });
    }
    return endpoint;
  }

  /** The resume token the server gave this endpoint in `joined`. */
  get resumeToken(): string {
    const joined = this.messages.find((m) => m.type === 'joined' && m.endpointId === this.endpointId);
    if (joined?.type !== 'joined') throw new Error('no joined message');
    return joined.resumeToken;
  }

  /** Its own signaling socket, as {@link RawTransport.open} and {@link RawEndpoint.resumeOn} take one. */
  get connection(): RawConnection {
    return { ws: this.ws, messages: this.messages, next: (predicate) => this.nextMessage(predicate) };
  }

  /**
   * Sends `resume` for this endpoint (with `token`, by default its own) on `connection` (by default its own
   * socket), and resolves with the answer: `resumed` or `error`.
   */
  async resumeOn(connection: RawConnection = this.connection, ref = 1000, token = this.resumeToken, endpointId = this.endpointId): Promise<ServerMessage> {
    connection.ws.send(encodeSignaling({ type: 'resume', ref, endpointId, resumeToken: token }));
    return connection.next((m) => (m.type === 'resumed' || m.type === 'error') && m.ref === ref);
  }

  /** Sends raw bytes on a channel, exactly as given. */
  send(kind: 'durable' | 'lossy', bytes: Uint8Array): void {
    this.channels[kind].sendMessageBinary(bytes);
  }

  signal(message: ClientMessage | string): void {
    this.ws.send(typeof message === 'string' ? message : encodeSignaling(message));
  }

  /** The first received frame matching `predicate` (already received or arriving). */
  nextFrame(predicate: (frame: ServerFrame) => boolean): Promise<ServerFrame> {
    return waitUntil(() => this.frames.find(predicate), (wake) => this.#waiters.push(wake));
  }

  nextMessage(predicate: (message: ServerMessage) => boolean): Promise<ServerMessage> {
    return waitUntil(() => this.messages.find(predicate), (wake) => this.#waiters.push(wake));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.channels.durable.close();
    this.channels.lossy.close();
    this.pc.close();
    this.ws.close();
    releaseRtcRuntime();
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

type Next = (predicate: (message: ServerMessage) => boolean) => Promise<ServerMessage>;

/** An authenticated signaling socket: what {@link RawEndpoint.connect} resolves with, or an endpoint's own. */
export interface RawConnection {
  readonly ws: WebSocket;
  readonly messages: ServerMessage[];
  readonly next: Next;
}

/**
 * A further peer connection for an existing endpoint (after a `resume`), offered on `connection`: its own
 * channels and frames. It is open once the server's first frame on its Durable channel, the server's
 * LinkResume, has arrived.
 *
 *   const transport = await RawTransport.open(raw.connection, raw.endpointId);
 *   transport.linkResume.count;                      // what the server has received of the endpoint's
 *   transport.send('durable', encodeLinkResume(n, 'client'));
 */
export class RawTransport {
  readonly frames: ServerFrame[] = [];
  /** SCTP messages received, how many of them were batches, the largest per channel. */
  readonly received: Received = { messages: 0, batches: 0, largest: { durable: 0, lossy: 0 } };
  #waiters: (() => void)[] = [];
  #closed = false;

  private constructor(
    readonly pc: PeerConnection,
    readonly channels: { durable: DataChannel; lossy: DataChannel },
  ) {}

  /** Offers a new peer connection for `endpointId` and resolves once the server has opened its link on it. */
  static async open(connection: RawConnection, endpointId: number): Promise<RawTransport> {
    const { ws, messages, next } = connection;
    const send = (m: ClientMessage): void => ws.send(encodeSignaling(m));
    acquireRtcRuntime();
    const pc = new nodeDataChannel.PeerConnection('raw-client-resume', { iceServers: [] });
    // Before the channels: creating the first one starts the negotiation.
    const offered = new Promise<string>((resolve) => pc.onLocalDescription((sdp) => resolve(sdp)));
    const durable = pc.createDataChannel('backchannel-durable');
    const lossy = pc.createDataChannel('backchannel-lossy', { unordered: true, maxRetransmits: 0 });
    const transport = new RawTransport(pc, { durable, lossy });
    for (const channel of [durable, lossy]) {
      channel.onClosed(() => undefined); // see RawEndpoint.join
      channel.onMessage((message) => {
        if (typeof message === 'string') return;
        readServerMessage(new Uint8Array(message as Buffer), transport.frames, transport.received, channel === durable ? 'durable' : 'lossy');
        transport.#wake();
      });
    }
    const heldCandidates: ClientMessage[] = [];
    let answered = false;
    pc.onLocalCandidate((candidate, mid) => {
      const m: ClientMessage = { type: 'candidate', endpointId, candidate, mid };
      if (answered) send(m);
      else heldCandidates.push(m);
    });
    const offer = await offered;
    // Only what the server says after this offer is about this transport.
    let seen = messages.length;
    send({ type: 'offer', endpointId, sdp: offer.split('\r\n').filter((l) => !l.startsWith('a=candidate')).join('\r\n') });
    const answer = await next((m) => m.type === 'answer' && m.endpointId === endpointId && messages.indexOf(m) >= seen);
    if (answer.type !== 'answer') throw new Error('no answer');
    pc.setRemoteDescription(answer.sdp, 'answer');
    answered = true;
    for (const m of heldCandidates) send(m);
    seen = messages.indexOf(answer);
    const applyCandidates = (): void => {
      for (; seen < messages.length; seen++) {
        const m = messages[seen]!;
        if (m.type === 'candidate' && m.endpointId === endpointId && !transport.#closed) pc.addRemoteCandidate(m.candidate, m.mid);
      }
    };
    ws.on('message', applyCandidates);
    applyCandidates();
    await transport.nextFrame((f) => f.type === FrameType.ServerLinkResume);
    return transport;
  }

  /** The server's LinkResume, the first frame on this transport's Durable channel. */
  get linkResume(): LinkFrame {
    const first = this.frames[0];
    if (first?.type !== FrameType.ServerLinkResume) throw new Error('the transport is not open yet');
    return first;
  }

  /** Sends raw bytes on a channel, exactly as given. */
  send(kind: 'durable' | 'lossy', bytes: Uint8Array): void {
    this.channels[kind].sendMessageBinary(bytes);
  }

  /** The first received frame matching `predicate` (already received or arriving). */
  nextFrame(predicate: (frame: ServerFrame) => boolean): Promise<ServerFrame> {
    return waitUntil(() => this.frames.find(predicate), (wake) => this.#waiters.push(wake));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.channels.durable.close();
    this.channels.lossy.close();
    this.pc.close();
    releaseRtcRuntime();
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

/** Resolves with `find()`'s first defined result, re-checking each time `subscribe`'s wake-up fires. */
function waitUntil<T>(find: () => T | undefined, subscribe: (wake: () => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    const check = (): void => {
      const found = find();
      if (found !== undefined) {
        clearTimeout(timer);
        resolve(found);
      } else {
        subscribe(check);
      }
    };
    check();
  });
}

/**
 * The raw endpoints and sockets one test opens, all closed after it: one fixture instead of an `afterEach`
 * copy per file.
 *
 *   const raw = new RawClients();
 *   afterEach(() => raw.closeAll());
 *   const endpoint = await raw.join(harness, 'room');
 */
export class RawClients {
  readonly #endpoints: RawEndpoint[] = [];
  readonly #sockets: WebSocket[] = [];
  readonly #transports: RawTransport[] = [];

  /** A raw endpoint of a new identity (or of `user`'s) joined to `groupId`, saying `protocolVersion` in its hello. */
  async join(harness: Harness, groupId: string, user?: { token: string }, protocolVersion = PROTOCOL_VERSION): Promise<RawEndpoint> {
    const { token } = user ?? (await harness.createUser());
    const endpoint = await RawEndpoint.join(harness.server.url, token, groupId, protocolVersion);
    this.#endpoints.push(endpoint);
    return endpoint;
  }

  /** An authenticated raw signaling connection (of a new identity unless `token` is given). */
  async connect(harness: Harness, token?: string): Promise<Awaited<ReturnType<typeof RawEndpoint.connect>>> {
    const connection = await RawEndpoint.connect(harness.server.url, token ?? (await harness.createUser()).token);
    connection.ws.on('error', () => {
      // A socket the server closes while we still write may report EPIPE/ECONNRESET; 'close' follows.
    });
    this.#sockets.push(connection.ws);
    return connection;
  }

  /** A further peer connection for `endpointId`, offered on `connection` (see {@link RawTransport.open}). */
  async transport(connection: RawConnection, endpointId: number): Promise<RawTransport> {
    const transport = await RawTransport.open(connection, endpointId);
    this.#transports.push(transport);
    return transport;
  }

  /** Closes `ws` after the test too. */
  track(ws: WebSocket): WebSocket {
    this.#sockets.push(ws);
    return ws;
  }

  /** Closes everything opened since the last call. */
  closeAll(): void {
    for (const transport of this.#transports.splice(0)) transport.close();
    for (const endpoint of this.#endpoints.splice(0)) endpoint.close();
    for (const ws of this.#sockets.splice(0)) if (ws.readyState === ws.OPEN) ws.close();
  }
}
