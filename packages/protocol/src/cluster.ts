/**
 * The wire format between the nodes of one cluster (docs/cluster.md): length-prefixed records on one TLS
 * connection from each node to each other node. Data records carry the Deliver (or SessionClosed,
 * EndpointLeft) frame exactly as the endpoints get it, behind a small binary header, so the data path
 * crosses nodes without JSON; control records (roster, presence, relayed signaling) are JSON, as signaling
 * is. Servers only: the SDK never sees these.
 *
 *   record  = length u32 (of what follows) · type u8 · body
 *   Data    = kind u8 (0 Durable, 1 Lossy) · flags u8 (1: broadcast) · sender u32 · count u16 · targets u32×count · frame
 *   Notice  = endpoint u32 · frame (a Notice for that endpoint of the receiving node)
 *   Control = UTF-8 JSON of a {@link ClusterControl}
 */
import { readU16, readU32, writeU16, writeU32 } from './bytes.js';
import type { ChannelKind } from './channels.js';
import type { ServerMessage } from './signaling.js';

/**
 * Version of the node-to-node records; a node refuses a link hello of another. 2: links are TLS, and the
 * proofs of membership are bound to the session (`welcome` answers `hello`). 3: every node acknowledges
 * on each open link at least once a second (a keepalive: a link silent for longer is taken down), an
 * acknowledgement names the link session it counts, and 1:1 calls are replicated to a party's node
 * (`peerReplica`, `peerReplicaDrop`, `resumeWait`, `peerAdopted`).
 */
export const CLUSTER_LINK_VERSION = 3;

export const ClusterRecordType = {
  Control: 1,
  Data: 2,
  Notice: 3,
} as const;
export type ClusterRecordType = (typeof ClusterRecordType)[keyof typeof ClusterRecordType];

/** The largest record a node accepts: a data frame of the largest configurable message and its targets. */
export const MAX_CLUSTER_RECORD_BYTES = 1024 * 1024;
/** The largest hello or welcome: what a node reads from a peer that has not proven itself yet. */
export const MAX_CLUSTER_HANDSHAKE_RECORD_BYTES = 4096;

const DATA_HEAD_BYTES = 4 + 1 + 1 + 1 + 4 + 2;
const NOTICE_HEAD_BYTES = 4 + 1 + 4;
const DATA_FLAG_BROADCAST = 1;

/** A participant as nodes tell each other about it (the roster entry of an endpoint on the sending node). */
export interface ClusterMember {
  readonly endpointId: number;
  readonly identity: string;
  readonly displayName: string;
}

/** An agent connected to the sending node, as far as 1:1 calls need to know it. */
export interface ClusterAgent {
  /** The connection's number on its node. */
  readonly conn: number;
  readonly identity: string;
  readonly displayName: string;
}

/** The 1:1 call requests an agent can make, relayed to the node that holds the call. */
export type ClusterPeerOp =
  | { readonly op: 'accept' }
  | { readonly op: 'reject' }
  | { readonly op: 'hangUp'; readonly lost?: { readonly message: string } }
  | { readonly op: 'relay'; readonly signal: unknown }
  /**
   * Take a place back in a call (resumePeerCall). `probe`: the agent's node does not know which node holds
   * the call (the agent came from another node), so it asks every node: the holder acts, the others answer
   * `resumeMiss`.
   */
  | { readonly op: 'resume'; readonly ref: number; readonly resumeToken: string; readonly probe?: boolean };

/** A seat of a 1:1 call, as a replica of the call carries it (`peerReplica`). */
export interface ClusterPeerSeat {
  readonly identity: string;
  readonly displayName: string;
  /** The secret that takes this seat back (`resumePeerCall`). */
  readonly resumeToken: string;
  /** Where the seat's agent is, if not on the holder itself: its node, and its number there. */
  readonly node?: string;
  readonly conn?: number;
}

/** Control records (JSON). */
export type ClusterControl =
  /**
   * First record on a link, from the node that opened it: who is calling, proven with the deployment's token
   * secret over the TLS session (an HMAC of the node id and the session's exported keying material).
   */
  | { readonly t: 'hello'; readonly version: number; readonly node: string; readonly proof: string; readonly session: string }
  /**
   * The accepting node's answer to a valid hello, proven the same way; the caller sends nothing before it.
   * `received`: how many records of the caller's link session (the hello's `session`) it already has; the
   * caller sends the rest again.
   */
  | { readonly t: 'welcome'; readonly node: string; readonly proof: string; readonly received: number }
  /**
   * On the sender's own link back: how many records of the receiving node's link session `session` the
   * sender has received (cumulative). Not part of the stream itself: not counted, never acknowledged. Sent
   * at least once a second on an open link, so it is also the link's keepalive; `session` is empty when no
   * session of the receiving node has reached the sender yet.
   */
  | { readonly t: 'ack'; readonly count: number; readonly session: string }
  /** The sender is in call `groupId`, and these are (more of) its admitted endpoints there. */
  | { readonly t: 'members'; readonly groupId: string; readonly members: readonly ClusterMember[] }
  /** Endpoint `endpointId` of the sender left call `groupId`. */
  | { readonly t: 'left'; readonly groupId: string; readonly endpointId: number }
  /** The sender has no endpoint left in call `groupId`. */
  | { readonly t: 'callLeft'; readonly groupId: string }
  /** Call `groupId` was ended for everyone by an endpoint of the sender: end yours with this reason. */
  | { readonly t: 'endCall'; readonly groupId: string; readonly code: string; readonly message: string }
  /** Agents now connected to the sender (`reset`: these and no others). */
  | { readonly t: 'agents'; readonly reset: boolean; readonly agents: readonly ClusterAgent[] }
  /** An agent of the sender went away (`lost`: not closed by its server on purpose). */
  | { readonly t: 'agentGone'; readonly conn: number; readonly lost: boolean }
  /** A signaling message for agent `conn` of the receiving node (1:1 calls held by the sender). */
  | { readonly t: 'toAgent'; readonly conn: number; readonly message: ServerMessage }
  /** Agent `conn` of the sender acts on 1:1 call `callId`, held by the receiving node. */
  | ({ readonly t: 'peerOp'; readonly conn: number; readonly callId: string } & ClusterPeerOp)
  /** The sender does not hold the call a probing resume (request `ref` of agent `conn`) asked for. */
  | { readonly t: 'resumeMiss'; readonly conn: number; readonly ref: number }
  /**
   * The sender holds accepted 1:1 call `callId`, and a party of it is an agent of the receiving node: both
   * seats, so that the receiver can take the call over should the sender be declared lost (the call's data
   * is peer to peer and needs no node). Sent again when a seat moves, to the node it moved to.
   */
  | { readonly t: 'peerReplica'; readonly callId: string; readonly caller: ClusterPeerSeat; readonly callee: ClusterPeerSeat }
  /** The replica of 1:1 call `callId` is not wanted on the receiving node any more: the call ended, or its party moved. */
  | { readonly t: 'peerReplicaDrop'; readonly callId: string }
  /**
   * The sender has a replica of the call a probing resume (request `ref` of agent `conn`) asked for: the
   * asker waits for its answer, which comes once the holder has answered the agent, or has been declared
   * lost and the sender took the call over (then it is the sender's `toAgent` answer, else `resumeMiss`).
   */
  | { readonly t: 'resumeWait'; readonly conn: number; readonly ref: number }
  /**
   * The sender took over 1:1 call `callId` from its lost holder, with the receiving node's agent in a seat:
   * that agent's requests about the call go to the sender from now on.
   */
  | { readonly t: 'peerAdopted'; readonly callId: string };

/** A decoded record; `frame` and `targets` are views on the received bytes, not copies. */
export type ClusterRecord =
  | { readonly type: typeof ClusterRecordType.Control; readonly control: ClusterControl }
  | {
      readonly type: typeof ClusterRecordType.Data;
      readonly kind: ChannelKind;
      readonly broadcast: boolean;
      readonly sender: number;
      /** Endpoint ids of the receiving node (empty for a broadcast). */
      readonly targets: readonly number[];
      readonly frame: Uint8Array;
    }
  | { readonly type: typeof ClusterRecordType.Notice; readonly endpointId: number; readonly frame: Uint8Array };

export class ClusterRecordError extends Error {
  override readonly name = 'ClusterRecordError';
}

/** A control record, ready to write. */
export function encodeClusterControl(control: ClusterControl): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(control));
  const record = new Uint8Array(5 + json.byteLength);
  writeU32(record, 0, 1 + json.byteLength);
  record[4] = ClusterRecordType.Control;
  record.set(json, 5);
  return record;
}

/**
 * The head of a data record whose frame follows it on the link (written separately, so the frame is not
 * copied): `targets` empty with `broadcast`.
 */
export function encodeClusterDataHead(kind: ChannelKind, broadcast: boolean, sender: number, targets: readonly number[], frameBytes: number): Uint8Array {
  const head = new Uint8Array(DATA_HEAD_BYTES + 4 * targets.length);
  writeU32(head, 0, head.byteLength - 4 + frameBytes);
  head[4] = ClusterRecordType.Data;
  head[5] = kind === 'durable' ? 0 : 1;
  head[6] = broadcast ? DATA_FLAG_BROADCAST : 0;
  writeU32(head, 7, sender);
  writeU16(head, 11, targets.length);
  for (let i = 0; i < targets.length; i++) writeU32(head, 13 + 4 * i, targets[i]!);
  return head;
}

/** The head of a Notice record for `endpointId`; the Notice frame follows. */
export function encodeClusterNoticeHead(endpointId: number, frameBytes: number): Uint8Array {
  const head = new Uint8Array(NOTICE_HEAD_BYTES);
  writeU32(head, 0, NOTICE_HEAD_BYTES - 4 + frameBytes);
  head[4] = ClusterRecordType.Notice;
  writeU32(head, 5, endpointId);
  return head;
}

/** Decodes one record's body (the bytes after its length). Throws {@link ClusterRecordError}. */
export function decodeClusterRecord(body: Uint8Array): ClusterRecord {
  if (body.byteLength < 1) throw new ClusterRecordError('empty record');
  switch (body[0]) {
    case ClusterRecordType.Control: {
      let control: unknown;
      try {
        control = JSON.parse(new TextDecoder().decode(body.subarray(1)));
      } catch {
        throw new ClusterRecordError('control record is not JSON');
      }
      if (typeof control !== 'object' || control === null || typeof (control as { t?: unknown }).t !== 'string') throw new ClusterRecordError('control record without a type');
      return { type: ClusterRecordType.Control, control: control as ClusterControl };
    }
    case ClusterRecordType.Data: {
      if (body.byteLength < DATA_HEAD_BYTES - 4) throw new ClusterRecordError('data record too short');
      const count = readU16(body, 7);
      const frameAt = 9 + 4 * count;
      if (body.byteLength < frameAt) throw new ClusterRecordError('data record too short for its targets');
      const targets: number[] = [];
      for (let i = 0; i < count; i++) targets.push(readU32(body, 9 + 4 * i));
      return {
        type: ClusterRecordType.Data,
        kind: body[1] === 0 ? 'durable' : 'lossy',
        broadcast: (body[2]! & DATA_FLAG_BROADCAST) !== 0,
        sender: readU32(body, 3),
        targets,
        frame: body.subarray(frameAt),
      };
    }
    case ClusterRecordType.Notice:
      if (body.byteLength < NOTICE_HEAD_BYTES - 4) throw new ClusterRecordError('notice record too short');
      return { type: ClusterRecordType.Notice, endpointId: readU32(body, 1), frame: body.subarray(5) };
    default:
      throw new ClusterRecordError(`unknown record type ${body[0]}`);
  }
}

/**
 * Splits a TCP byte stream into record bodies. Holds at most one partial record; a record over
 * {@link MAX_CLUSTER_RECORD_BYTES} throws {@link ClusterRecordError}.
 */
export class ClusterRecordReader {
  #pending: Uint8Array = new Uint8Array(0);
  /** Records longer than this are refused (ClusterRecordError): set it higher once the peer has proven itself. */
  maxRecordBytes: number;

  constructor(maxRecordBytes = MAX_CLUSTER_RECORD_BYTES) {
    this.maxRecordBytes = maxRecordBytes;
  }

  /** The complete record bodies `chunk` finishes, in order (views on `chunk` when they fit in it). */
  push(chunk: Uint8Array): Uint8Array[] {
    let data = chunk;
    if (this.#pending.byteLength > 0) {
      data = new Uint8Array(this.#pending.byteLength + chunk.byteLength);
      data.set(this.#pending, 0);
      data.set(chunk, this.#pending.byteLength);
    }
    const bodies: Uint8Array[] = [];
    let at = 0;
    while (data.byteLength - at >= 4) {
      const length = readU32(data, at);
      if (length > this.maxRecordBytes) throw new ClusterRecordError(`record of ${length} bytes`);
      if (data.byteLength - at - 4 < length) break;
      bodies.push(data.subarray(at + 4, at + 4 + length));
      at += 4 + length;
    }
    this.#pending = at === data.byteLength ? new Uint8Array(0) : data.slice(at);
    return bodies;
  }
}
