/**
 * This node's ordered link to one other node: one TCP connection it opens, on which it sends everything for
 * that node (roster records, data frames, relayed signaling) in the order it was produced. The other node
 * answers on its own link back. Records written before the connection is up wait in a bounded queue; past
 * the bound, data frames are refused as 'slow' (the caller reports Durable ones to their sender) rather than
 * buffered without limit.
 *
 * Writes of one event-loop turn are corked together: a broadcast to many nodes, or many small messages,
 * costs one write to the socket per turn, not one per record.
 */
import { connect, type Socket } from 'node:net';

import {
  CLUSTER_LINK_VERSION,
  encodeClusterControl,
  encodeClusterDataHead,
  encodeClusterNoticeHead,
  type ChannelKind,
  type ClusterControl,
} from '@backchannel/protocol';

import type { NodeSendResult, PeerNode } from '../calls/CallSpan.js';
import type { Logger } from '../logging.js';

/** Bytes a link may have waiting (queued before connect, or in the socket's buffer) before data is refused. */
export const MAX_LINK_QUEUED_BYTES = 32 * 1024 * 1024;
/** Lossy frames are refused sooner: late Lossy data is worthless. */
const MAX_LINK_QUEUED_LOSSY_BYTES = 4 * 1024 * 1024;
/** Wait before connecting again after the link broke. */
const RECONNECT_MS = 250;

export interface NodeLinkOptions {
  /** This node's id and its proof of membership (HMAC of the id with the deployment's token secret). */
  self: { id: string; proof: string };
  /** Where the other node listens (host:port), looked up again before each reconnection. */
  resolve(): Promise<string | undefined>;
  logger: Logger;
  /** The connection is up (again): what follows is a new stream for the other node. */
  onOpen(link: NodeLink): void;
}

export class NodeLink implements PeerNode {
  readonly id: string;
  readonly #options: NodeLinkOptions;
  #socket: Socket | undefined;
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
    const socket = connect({ host: address.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(address.slice(at + 1)) });
    socket.setNoDelay(true);
    this.#socket = socket;
    socket.on('connect', () => {
      if (this.#closed) return socket.destroy();
      const { id, proof } = this.#options.self;
      socket.write(encodeClusterControl({ t: 'hello', version: CLUSTER_LINK_VERSION, node: id, proof }));
      this.#open = true;
      const queued = this.#queue;
      this.#queue = [];
      this.#queuedBytes = 0;
      for (const chunk of queued) this.#write(chunk);
      this.#options.onOpen(this);
    });
    // What this node sends is one way; the other node answers on its own link.
    socket.on('data', () => undefined);
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => {
      if (this.#socket !== socket) return;
      this.#open = false;
      this.#socket = undefined;
      this.#later();
    });
  }

  #later(): void {
    if (this.#closed) return;
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => void this.#connect(), RECONNECT_MS);
    this.#retry.unref();
  }
}
