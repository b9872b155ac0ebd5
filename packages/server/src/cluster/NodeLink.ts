/**
 * This node's ordered link to one other node: one TLS connection it opens, on which it sends everything for
 * that node (roster records, data frames, relayed signaling) in the order it was produced. The other node
 * answers on its own link back.
 *
 * The stream outlives its connections. Records are numbered within this link's session (one per NodeLink,
 * named in the hello) and kept until the other node acknowledges them (cumulative `ack` records on its link
 * back, once per event-loop turn). When a connection breaks, the other node's welcome on the next one says
 * how many of the session's records it has, and the rest is sent again: a link that blips loses and
 * repeats nothing. Kept records are bounded: past the bound, data frames are refused as 'slow' (the caller
 * reports Durable ones to their sender) rather than kept without limit.
 *
 * The link is up once both ends have proven, over this TLS session, that they know the deployment's token
 * secret (linkProof.ts): this node sends its hello, and sends nothing more until the other node's welcome
 * checks out. The certificates are not verified; the session-bound proofs stand in for them.
 *
 * A frozen node (stopped, or a machine gone without resetting its connections) keeps its TCP connections
 * open, so the link cannot learn of it from the socket. Every node acknowledges on each open link at least
 * once a second (ClusterNode's keepalive), and a link that hears nothing from its node for
 * LINK_SILENCE_MS is taken down and connects again: it is down from then on, which is what the loss of a
 * node is judged by (with its heartbeat in Redis).
 *
 * Writes of one event-loop turn are corked together: a broadcast to many nodes, or many small messages,
 * costs one write to the socket per turn, not one per record.
 */
import { randomUUID } from 'node:crypto';
import { connect, type TLSSocket } from 'node:tls';

import {
  CLUSTER_LINK_VERSION,
  MAX_CLUSTER_HANDSHAKE_RECORD_BYTES,
  ClusterRecordError,
  ClusterRecordReader,
  ClusterRecordType,
  decodeClusterRecord,
  encodeClusterControl,
  encodeClusterDataHead,
  encodeClusterNoticeHead,
  type ChannelKind,
  type ClusterControl,
} from '@backchannel/protocol';

import type { AckWaiter, NodeSendResult, PeerNode } from '../calls/CallSpan.js';
import type { Logger } from '../logging.js';
import { channelBinding, proofMatches, type LinkRole } from './linkProof.js';

/** Bytes a link may keep unacknowledged (not yet sent, or sent and not yet acknowledged) before data is refused. */
export const MAX_LINK_QUEUED_BYTES = 32 * 1024 * 1024;
/** Lossy frames are refused sooner: late Lossy data is worthless. */
const MAX_LINK_QUEUED_LOSSY_BYTES = 4 * 1024 * 1024;
/** Wait before connecting again after the link broke. */
const RECONNECT_MS = 250;
/** Longest wait between connections after repeated refusals. */
const MAX_RECONNECT_MS = 10_000;
/** Time the other node has to answer the hello with a valid welcome. */
const WELCOME_TIMEOUT_MS = 5000;
/**
 * An open link that hears nothing from its node for this long is taken down (four keepalives missed).
 * Real time, not the server's clock: it is about the network and the other process.
 */
export const LINK_SILENCE_MS = 4000;

export interface NodeLinkOptions {
  /** This node's id. */
  self: string;
  /** Node `nodeId`'s proof of membership as `role` on the TLS session with `binding` (linkProof.ts). */
  prove(role: LinkRole, nodeId: string, binding: Uint8Array): string;
  /** Where the other node listens (host:port), looked up again before each reconnection. */
  resolve(): Promise<string | undefined>;
  logger: Logger;
  /** The connection is up (again): what follows is a new stream for the other node. */
  onOpen(link: NodeLink): void;
}

/**
 * A record the other node has not acknowledged: its number in this link's session, and its bytes (a head,
 * and for data and notices the frame behind it, kept by reference as the recipients here get it).
 */
interface KeptRecord {
  readonly seq: number;
  readonly head: Uint8Array;
  readonly frame: Uint8Array | undefined;
}

export class NodeLink implements PeerNode {
  readonly id: string;
  readonly #options: NodeLinkOptions;
  #socket: TLSSocket | undefined;
  #open = false;
  #closed = false;
  /** This link's session: the other node counts the records it received from it. */
  readonly #session = randomUUID();
  /** Records numbered so far in the session. */
  #numbered = 0;
  /** Records not acknowledged yet, oldest first, from #keptHead on. */
  #kept: KeptRecord[] = [];
  #keptHead = 0;
  #keptBytes = 0;
  /** Records the other node has acknowledged (cumulative). */
  #acknowledged = 0;
  /** Told of every acknowledgement, and of the close (LinkCommits: commits to senders wait on them). */
  readonly #waiters = new Set<AckWaiter>();
  #corked = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  /** Connections refused in a row (no valid welcome): each waits longer before the next, up to MAX_RECONNECT_MS. */
  #refusals = 0;
  /** When the other node was last heard from (performance.now()): its welcome, or anything on its link back. */
  #lastHeard = 0;

  constructor(id: string, options: NodeLinkOptions) {
    this.id = id;
    this.#options = options;
    void this.#connect();
  }

  /** The connection is up (records go to the socket, not the queue). */
  get open(): boolean {
    return this.#open;
  }

  get numbered(): number {
    return this.#numbered;
  }

  get acknowledgedCount(): number {
    return this.#acknowledged;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** This link's session, as its hello names it (acknowledgements name the session they count). */
  get session(): string {
    return this.#session;
  }

  /** Something arrived from the other node on its link back: it is alive. */
  heard(): void {
    this.#lastHeard = performance.now();
  }

  watch(waiter: AckWaiter): void {
    this.#waiters.add(waiter);
  }

  unwatch(waiter: AckWaiter): void {
    this.#waiters.delete(waiter);
  }

  control(record: ClusterControl): void {
    this.#record(encodeClusterControl(record), undefined);
  }

  data(kind: ChannelKind, broadcast: boolean, sender: number, targets: readonly number[], frame: Uint8Array): NodeSendResult {
    if (this.#closed) return 'closed';
    if (this.#keptBytes > (kind === 'durable' ? MAX_LINK_QUEUED_BYTES : MAX_LINK_QUEUED_LOSSY_BYTES)) return 'slow';
    this.#record(encodeClusterDataHead(kind, broadcast, sender, targets, frame.byteLength), frame);
    return 'sent';
  }

  /** A server frame for endpoint `endpointId` of that node: a Notice (a copy it sent through us was dropped), or a Receipt. */
  notice(endpointId: number, frame: Uint8Array): void {
    this.#record(encodeClusterNoticeHead(endpointId, frame.byteLength), frame);
  }

  /**
   * Tells the other node how many records of its link session `session` this node has received (`count`,
   * cumulative). Not a record of this link's stream (not numbered, not kept): a lost one is made good by
   * the next, or by this node's welcome on the other node's next connection.
   */
  ack(count: number, session: string): void {
    if (this.#open && this.#socket) this.#send(encodeClusterControl({ t: 'ack', count, session }));
  }

  /**
   * Once a second (ClusterNode): an open link sends the acknowledgement again, as its keepalive, unless the
   * other node has been silent for LINK_SILENCE_MS; then the connection is taken down, and the link
   * connects again (a frozen node does not answer the next hello). Returns whether it was taken down.
   */
  keepalive(count: number, session: string): boolean {
    if (!this.#open || !this.#socket) return false;
    if (performance.now() - this.#lastHeard > LINK_SILENCE_MS) {
      this.#options.logger.warn({ node: this.id, silentMs: Math.round(performance.now() - this.#lastHeard) }, 'cluster link silent: taking it down');
      this.#socket.destroy();
      return true;
    }
    this.ack(count, session);
    return false;
  }

  /** The other node has the session's first `count` records: they are not kept any more. */
  acknowledged(count: number): void {
    if (count > this.#acknowledged) {
      this.#acknowledged = count;
      this.#releaseKept(count);
      this.#settleWaiters();
    }
  }

  #releaseKept(count: number): void {
    const kept = this.#kept;
    while (this.#keptHead < kept.length && kept[this.#keptHead]!.seq <= count) {
      this.#keptBytes -= recordBytes(kept[this.#keptHead]!);
      this.#keptHead++;
    }
    if (this.#keptHead === kept.length) {
      this.#kept = [];
      this.#keptHead = 0;
    } else if (this.#keptHead > 1024 && this.#keptHead * 2 > kept.length) {
      this.#kept = kept.slice(this.#keptHead);
      this.#keptHead = 0;
    }
  }

  /** Closes the link for good. */
  close(): void {
    this.#closed = true;
    this.#open = false;
    clearTimeout(this.#retry);
    this.#socket?.destroy();
    this.#kept = [];
    this.#keptHead = 0;
    this.#keptBytes = 0;
    this.#settleWaiters();
    this.#waiters.clear();
  }

  #settleWaiters(): void {
    if (this.#waiters.size === 0) return;
    for (const waiter of [...this.#waiters]) waiter.settle();
  }

  /** Numbers and keeps a record (its head, and the frame behind it if any), and sends it if the link is up. */
  #record(head: Uint8Array, frame: Uint8Array | undefined): void {
    if (this.#closed) return;
    // A node that stays unreachable must not make this one keep records without bound: past twice the data
    // bound, records are dropped, unnumbered (the node is lost soon: docs/cluster.md, "A node lost").
    if (this.#keptBytes > 2 * MAX_LINK_QUEUED_BYTES) return;
    const record: KeptRecord = { seq: ++this.#numbered, head, frame };
    this.#kept.push(record);
    this.#keptBytes += recordBytes(record);
    if (this.#open) this.#sendRecord(record);
  }

  #sendRecord(record: KeptRecord): void {
    this.#send(record.head);
    if (record.frame) this.#send(record.frame);
  }

  #send(chunk: Uint8Array): void {
    const socket = this.#socket;
    if (!socket) return;
    if (!this.#corked) {
      this.#corked = true;
      socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        socket.uncork();
      });
    }
    socket.write(chunk);
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    let address: string | undefined;
    try {
      address = await this.#options.resolve();
    } catch {
      address = undefined;
    }
    if (this.#closed) return;
    if (!address) return this.#later();
    const at = address.lastIndexOf(':');
    // No certificate check: the other node proves itself with the token secret over this very session.
    const socket = connect({ host: address.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(address.slice(at + 1)), rejectUnauthorized: false, minVersion: 'TLSv1.3' });
    socket.setNoDelay(true);
    this.#socket = socket;
    const welcomeTimer = setTimeout(() => {
      if (this.#refusals++ === 0) this.#options.logger.warn({ node: this.id, address }, 'cluster link refused: no welcome in time');
      socket.destroy();
    }, WELCOME_TIMEOUT_MS);
    welcomeTimer.unref();
    let binding: Buffer | undefined;
    socket.on('secureConnect', () => {
      if (this.#closed) return socket.destroy();
      binding = channelBinding(socket);
      const proof = this.#options.prove('caller', this.#options.self, binding);
      socket.write(encodeClusterControl({ t: 'hello', version: CLUSTER_LINK_VERSION, node: this.#options.self, proof, session: this.#session }));
    });
    // The welcome is the one record the other node sends on this link; it answers on its own link back.
    const reader = new ClusterRecordReader(MAX_CLUSTER_HANDSHAKE_RECORD_BYTES);
    socket.on('data', (chunk: Buffer) => {
      if (this.#open || !binding) return;
      try {
        for (const body of reader.push(chunk)) {
          const record = decodeClusterRecord(body);
          const welcome = record.type === ClusterRecordType.Control && record.control.t === 'welcome' ? record.control : undefined;
          if (!welcome || welcome.node !== this.id || !proofMatches(this.#options.prove('listener', this.id, binding), welcome.proof)) {
            // Once per run of refusals: a stale registry address answers the same way every 250 ms or more.
            if (this.#refusals++ === 0) this.#options.logger.warn({ node: this.id, address }, 'cluster link refused: the other end did not prove it is that node');
            return void socket.destroy();
          }
          clearTimeout(welcomeTimer);
          this.#refusals = 0;
          this.#up(typeof welcome.received === 'number' ? welcome.received : 0);
          return;
        }
      } catch (error) {
        if (!(error instanceof ClusterRecordError)) throw error;
        socket.destroy();
      }
    });
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => {
      clearTimeout(welcomeTimer);
      if (this.#socket !== socket) return;
      this.#open = false;
      this.#socket = undefined;
      this.#later();
    });
  }

  /**
   * Both ends proven, and the other node has the session's first `received` records: the rest of what is
   * kept goes first (sent again, or never sent), in order.
   */
  #up(received: number): void {
    this.#open = true;
    this.heard();
    this.acknowledged(received);
    for (let i = this.#keptHead; i < this.#kept.length; i++) this.#sendRecord(this.#kept[i]!);
    this.#options.onOpen(this);
  }

  #later(): void {
    if (this.#closed) return;
    clearTimeout(this.#retry);
    const delay = Math.min(RECONNECT_MS * 2 ** Math.min(this.#refusals, 6), MAX_RECONNECT_MS);
    this.#retry = setTimeout(() => void this.#connect(), delay);
    this.#retry.unref();
  }
}

function recordBytes(record: KeptRecord): number {
  return record.head.byteLength + (record.frame?.byteLength ?? 0);
}
