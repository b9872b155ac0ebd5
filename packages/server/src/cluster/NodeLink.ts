/**
 * This node's ordered link to one other node: one TLS connection it opens, on which it sends everything for
 * that node (roster records, data frames, relayed signaling) in the order it was produced. The other node
 * answers on its own link back. Records written before the link is up wait in a bounded queue; past the
 * bound, data frames are refused as 'slow' (the caller reports Durable ones to their sender) rather than
 * buffered without limit.
 *
 * The link is up once both ends have proven, over this TLS session, that they know the deployment's token
 * secret (linkProof.ts): this node sends its hello, and sends nothing more until the other node's welcome
 * checks out. The certificates are not verified; the session-bound proofs stand in for them.
 *
 * Writes of one event-loop turn are corked together: a broadcast to many nodes, or many small messages,
 * costs one write to the socket per turn, not one per record.
 */
import { connect, type TLSSocket } from 'node:tls';

import {
  CLUSTER_LINK_VERSION,
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

import type { NodeSendResult, PeerNode } from '../calls/CallSpan.js';
import type { Logger } from '../logging.js';
import { channelBinding, proofMatches, type LinkRole } from './linkProof.js';

/** Bytes a link may have waiting (queued before connect, or in the socket's buffer) before data is refused. */
export const MAX_LINK_QUEUED_BYTES = 32 * 1024 * 1024;
/** Lossy frames are refused sooner: late Lossy data is worthless. */
const MAX_LINK_QUEUED_LOSSY_BYTES = 4 * 1024 * 1024;
/** Wait before connecting again after the link broke. */
const RECONNECT_MS = 250;
/** Time the other node has to answer the hello with a valid welcome. */
const WELCOME_TIMEOUT_MS = 5000;

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

export class NodeLink implements PeerNode {
  readonly id: string;
  readonly #options: NodeLinkOptions;
  #socket: TLSSocket | undefined;
  #open = false;
  #closed = false;
  /** Records written while not connected, in order. */
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #corked = false;
  #retry: ReturnType<typeof setTimeout> | undefined;

  constructor(id: string, options: NodeLinkOptions) {
    this.id = id;
    this.#options = options;
    void this.#connect();
  }

  /** The connection is up (records go to the socket, not the queue). */
  get open(): boolean {
    return this.#open;
  }

  control(record: ClusterControl): void {
    this.#write(encodeClusterControl(record));
  }

  data(kind: ChannelKind, broadcast: boolean, sender: number, targets: readonly number[], frame: Uint8Array): NodeSendResult {
    if (this.#closed) return 'closed';
    if (this.#pending() > (kind === 'durable' ? MAX_LINK_QUEUED_BYTES : MAX_LINK_QUEUED_LOSSY_BYTES)) return 'slow';
    this.#write(encodeClusterDataHead(kind, broadcast, sender, targets, frame.byteLength));
    this.#write(frame);
    return 'sent';
  }

  /** A server frame for endpoint `endpointId` of that node: a Notice (a copy it sent through us was dropped), or a Receipt. */
  notice(endpointId: number, frame: Uint8Array): void {
    this.#write(encodeClusterNoticeHead(endpointId, frame.byteLength));
    this.#write(frame);
  }

  /** Closes the link for good. */
  close(): void {
    this.#closed = true;
    this.#open = false;
    clearTimeout(this.#retry);
    this.#socket?.destroy();
    this.#queue = [];
    this.#queuedBytes = 0;
  }

  #pending(): number {
    return this.#open ? this.#socket!.writableLength : this.#queuedBytes;
  }

  #write(chunk: Uint8Array): void {
    if (this.#closed) return;
    const socket = this.#socket;
    if (!this.#open || !socket) {
      // A node that stays unreachable must not make this one buffer without bound: past twice the data
      // bound, records are dropped (the node is lost soon: docs/cluster.md, "A node lost").
      if (this.#queuedBytes > 2 * MAX_LINK_QUEUED_BYTES) return;
      this.#queue.push(chunk);
      this.#queuedBytes += chunk.byteLength;
      return;
    }
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
    const welcomeTimer = setTimeout(() => socket.destroy(), WELCOME_TIMEOUT_MS);
    welcomeTimer.unref();
    let binding: Buffer | undefined;
    socket.on('secureConnect', () => {
      if (this.#closed) return socket.destroy();
      binding = channelBinding(socket);
      const proof = this.#options.prove('caller', this.#options.self, binding);
      socket.write(encodeClusterControl({ t: 'hello', version: CLUSTER_LINK_VERSION, node: this.#options.self, proof }));
    });
    // The welcome is the one record the other node sends on this link; it answers on its own link back.
    const reader = new ClusterRecordReader();
    socket.on('data', (chunk: Buffer) => {
      if (this.#open || !binding) return;
      try {
        for (const body of reader.push(chunk)) {
          const record = decodeClusterRecord(body);
          const welcome = record.type === ClusterRecordType.Control && record.control.t === 'welcome' ? record.control : undefined;
          if (!welcome || welcome.node !== this.id || !proofMatches(this.#options.prove('listener', this.id, binding), welcome.proof)) {
            this.#options.logger.warn({ node: this.id, address }, 'cluster link refused: the other end did not prove it is that node');
            return void socket.destroy();
          }
          clearTimeout(welcomeTimer);
          this.#up();
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

  /** Both ends proven: what waited goes first, in order. */
  #up(): void {
    this.#open = true;
    const queued = this.#queue;
    this.#queue = [];
    this.#queuedBytes = 0;
    for (const chunk of queued) this.#write(chunk);
    this.#options.onOpen(this);
  }

  #later(): void {
    if (this.#closed) return;
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => void this.#connect(), RECONNECT_MS);
    this.#retry.unref();
  }
}
