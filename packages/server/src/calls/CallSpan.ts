/**
 * The part of a group call held by other nodes of a cluster (docs/cluster.md), as this node knows it: which
 * nodes have endpoints in the call, and their admitted endpoints (remote members). A `GroupCall` has one
 * only when the server runs as a cluster node; on a single node there is none and nothing here runs.
 *
 * What keeps the nodes' views together, with one ordered link from each node to each other (NodeLink):
 * - a node that learns another node is in the call (from Redis at join, or from a `members` record) tells
 *   it its own admitted endpoints at once, before anything else it sends about the call, so a data record
 *   never reaches a node that does not know its sender yet;
 * - an endpoint entering or leaving is told to every node in the call, on the same link as its data, so a
 *   departure arrives behind the departed endpoint's last messages (as on one node);
 * - a departure is remembered (endpoint ids are never reused in a cluster), so a late report of an endpoint
 *   that already left cannot bring it back.
 */
import {
  FrameFlag,
  FrameType,
  readDataAddress,
  type ChannelKind,
  type Clock,
  type ClusterControl,
  type ClusterMember,
  type DataAddress,
} from '@backchannel/protocol';

import type { Endpoint } from './Endpoint.js';
import { RemoteSenderSession } from './RemoteSenderSession.js';

/** What became of a record handed to a node link. */
export type NodeSendResult = 'sent' | 'slow' | 'closed';

/** Told when a node link's acknowledgements advance (see {@link PeerNode.watch}). */
export interface AckWaiter {
  settle(): void;
}

/** The ordered link to one other node (cluster/NodeLink.ts), as calls/ sees it. */
export interface PeerNode {
  readonly id: string;
  /** Records numbered on the link so far: the number of the last one handed to it. */
  readonly numbered: number;
  /** Records the other node has acknowledged: the first this many reached it. */
  readonly acknowledgedCount: number;
  /** Closed for good (the node was lost, or this one stops): what it keeps will never reach that node. */
  readonly closed: boolean;
  /** `waiter.settle()` runs after each acknowledgement from that node, and when the link closes, until unwatched. */
  watch(waiter: AckWaiter): void;
  unwatch(waiter: AckWaiter): void;
  control(record: ClusterControl): void;
  /** A data frame for `targets` of that node (or, `broadcast`, every endpoint it has in the sender's call). */
  data(kind: ChannelKind, broadcast: boolean, sender: number, targets: readonly number[], frame: Uint8Array): NodeSendResult;
  /** A server frame for endpoint `endpointId` of that node (a drop notice, a delivery receipt). */
  notice(endpointId: number, frame: Uint8Array): void;
}

/** An admitted endpoint of the call on another node. */
export interface RemoteMember extends ClusterMember {
  readonly node: PeerNode;
  /** Its current sender sessions, by channel, as the extensions see them here: made on its first Durable copy. */
  sessions?: Map<number, RemoteSenderSession>;
}

/** What a span tells its call (GroupCall). */
export interface SpanOwner {
  readonly groupId: string;
  /** The call's admitted endpoints on this node. */
  readonly roster: readonly Endpoint[];
  /** The server's clock (slow-recipient reports are rate-limited on it). */
  readonly clock: Clock;
  /** Its endpoints on this node, admitted or not, by id. */
  readonly endpoints: ReadonlyMap<number, Endpoint>;
  remoteJoined(member: RemoteMember): void;
  remoteLeft(member: RemoteMember): void;
}

/** Where a message goes on other nodes: per node, the endpoint ids (or every endpoint, for a broadcast). */
export interface RemoteRoute {
  readonly broadcast: boolean;
  /** Nodes with recipients, and their recipients (empty lists for a broadcast). */
  readonly nodes: readonly { readonly node: PeerNode; readonly targets: readonly number[] }[];
  /** Recipient endpoints on other nodes, all together. */
  readonly count: number;
}

export const NO_REMOTE_ROUTE: RemoteRoute = Object.freeze({ broadcast: false, nodes: [], count: 0 });

/** The other nodes' part of one call (see the module comment). */
export class CallSpan {
  readonly #owner: SpanOwner;
  /** Every remote member of every call of this node, to its span: how a data record finds its call. */
  readonly #index: Map<number, CallSpan>;
  /** Nodes known to be in the call, by id, with their members. */
  readonly #nodes = new Map<string, { node: PeerNode; members: Map<number, RemoteMember> }>();
  readonly #members = new Map<number, RemoteMember>();
  readonly #address: DataAddress = { channelId: 0, sessionId: 0, sequenceNumber: 0 };
  readonly #byIdentity = new Map<string, RemoteMember[]>();
  /** Remote endpoints that left: never added again. */
  readonly #departed = new Set<number>();
  #broadcastRoute: RemoteRoute = NO_REMOTE_ROUTE;
  #routeStale = true;

  constructor(owner: SpanOwner, index: Map<number, CallSpan>) {
    this.#owner = owner;
    this.#index = index;
  }

  /** Admitted endpoints on other nodes, by endpoint id. */
  get members(): ReadonlyMap<number, RemoteMember> {
    return this.#members;
  }

  /** Other nodes known to be in the call. */
  get nodeCount(): number {
    return this.#nodes.size;
  }

  /** Remote members of `identity`. */
  membersOf(identity: string): readonly RemoteMember[] {
    return this.#byIdentity.get(identity) ?? [];
  }

  /** `node` is in the call (Redis said so at join, or it told us): it learns this node's members first. */
  addNode(node: PeerNode): void {
    if (this.#nodes.has(node.id)) return;
    this.#nodes.set(node.id, { node, members: new Map() });
    this.#routeStale = true;
    node.control({ t: 'members', groupId: this.#owner.groupId, members: this.#owner.roster.map(toMember) });
  }

  /** `node` says these are (more of) its members. */
  membersFrom(node: PeerNode, members: readonly ClusterMember[]): void {
    this.addNode(node);
    const entry = this.#nodes.get(node.id)!;
    for (const m of members) {
      if (this.#members.has(m.endpointId) || this.#departed.has(m.endpointId)) continue;
      const member: RemoteMember = { endpointId: m.endpointId, identity: m.identity, displayName: m.displayName, node };
      entry.members.set(member.endpointId, member);
      this.#members.set(member.endpointId, member);
      this.#index.set(member.endpointId, this);
      const same = this.#byIdentity.get(member.identity);
      if (same) same.push(member);
      else this.#byIdentity.set(member.identity, [member]);
      this.#routeStale = true;
      this.#owner.remoteJoined(member);
    }
  }

  /** Member `endpointId` of `node` left. */
  leftFrom(node: PeerNode, endpointId: number): void {
    this.#departed.add(endpointId);
    const member = this.#members.get(endpointId);
    if (!member || member.node.id !== node.id) return;
    this.#remove(member);
  }

  /** `node` has no endpoint left in the call, or is lost: its members leave. */
  nodeGone(nodeId: string): void {
    const entry = this.#nodes.get(nodeId);
    if (!entry) return;
    this.#nodes.delete(nodeId);
    this.#routeStale = true;
    for (const member of [...entry.members.values()]) {
      this.#departed.add(member.endpointId);
      this.#remove(member);
    }
  }

  /** A local endpoint entered the roster: every node in the call learns it. */
  localEntered(endpoint: Endpoint): void {
    const record: ClusterControl = { t: 'members', groupId: this.#owner.groupId, members: [toMember(endpoint)] };
    for (const { node } of this.#nodes.values()) node.control(record);
  }

  /** A local endpoint that was in the roster left: every node in the call learns it (behind its data). */
  localLeft(endpoint: Endpoint): void {
    const record: ClusterControl = { t: 'left', groupId: this.#owner.groupId, endpointId: endpoint.id };
    for (const { node } of this.#nodes.values()) node.control(record);
  }

  /** The call is over on this node (its last endpoint left): the other nodes stop sending to it. */
  localClosed(end?: { code: string; message: string }): void {
    const groupId = this.#owner.groupId;
    for (const { node } of this.#nodes.values()) node.control(end ? { t: 'endCall', groupId, ...end } : { t: 'callLeft', groupId });
    this.#nodes.clear();
  }

  /** Where a broadcast goes on other nodes: every node with members (one record each). Cached. */
  broadcastRoute(): RemoteRoute {
    if (this.#routeStale) {
      const nodes = [...this.#nodes.values()].filter((e) => e.members.size > 0).map((e) => ({ node: e.node, targets: [] as number[] }));
      this.#broadcastRoute = { broadcast: true, nodes, count: this.#members.size };
      this.#routeStale = false;
    }
    return this.#broadcastRoute;
  }

  /** Where a message for these identities goes on other nodes, grouped by node. */
  routeTo(identities: Iterable<string>): RemoteRoute {
    const byNode = new Map<PeerNode, number[]>();
    let count = 0;
    for (const identity of identities) {
      for (const member of this.membersOf(identity)) {
        const list = byNode.get(member.node);
        if (list) list.push(member.endpointId);
        else byNode.set(member.node, [member.endpointId]);
        count++;
      }
    }
    if (count === 0) return NO_REMOTE_ROUTE;
    return { broadcast: false, nodes: [...byNode].map(([node, targets]) => ({ node, targets })), count };
  }

  /** A frame of local `sender` that every member on every other node gets (SessionClosed). */
  toEveryone(sender: Endpoint, frame: Uint8Array): void {
    for (const { node } of this.broadcastRoute().nodes) {
      if (node.data('durable', true, sender.id, [], frame) === 'sent') sender.forwardedTo(node);
    }
  }

  /**
   * A frame from remote member `sender` for this node's endpoints: `targets`, or every admitted one for a
   * broadcast. The same bytes go to each. Counts the copies handed over and those refused as slow.
   */
  deliverLocal(kind: ChannelKind, broadcast: boolean, sender: number, targets: readonly number[], frame: Uint8Array, now: number): { delivered: number; slow: number } {
    const counts = { delivered: 0, slow: 0 };
    const member = this.#members.get(sender);
    if (!member) return counts;
    const copy = kind === 'durable' ? this.#durableCopy(member, frame) : undefined;
    if (broadcast) for (const endpoint of this.#owner.roster) handOver(endpoint, kind, frame, now, counts, copy);
    else for (const id of targets) handOver(this.#owner.endpoints.get(id), kind, frame, now, counts, copy);
    return counts;
  }

  /**
   * What the extensions need for a Durable Deliver frame of `member`: the sender session it belongs to (one
   * per session, so that one acknowledgement of many of its messages makes one receipt, and its reports are
   * rate-limited as one), and whether its sender asked for receipts.
   */
  #durableCopy(member: RemoteMember, frame: Uint8Array): DurableCopy | undefined {
    if (frame[0] !== FrameType.Deliver) return undefined;
    const { channelId, sessionId, sequenceNumber } = readDataAddress(frame, this.#address);
    const sessions = (member.sessions ??= new Map());
    let session = sessions.get(channelId);
    if (session?.sessionId !== sessionId) {
      session?.close();
      sessions.set(channelId, (session = new RemoteSenderSession(member.node, member.endpointId, channelId, sessionId, this.#owner.clock)));
    }
    const receipts = (frame[1]! & FrameFlag.Receipts) !== 0;
    return { session, sequenceNumber, receipts };
  }

  /** The call is gone from this node: its remote members leave the index. */
  dispose(): void {
    for (const id of this.#members.keys()) if (this.#index.get(id) === this) this.#index.delete(id);
  }

  #remove(member: RemoteMember): void {
    for (const session of member.sessions?.values() ?? []) session.close();
    this.#members.delete(member.endpointId);
    if (this.#index.get(member.endpointId) === this) this.#index.delete(member.endpointId);
    this.#nodes.get(member.node.id)?.members.delete(member.endpointId);
    const same = this.#byIdentity.get(member.identity);
    if (same) {
      const rest = same.filter((m) => m !== member);
      if (rest.length > 0) this.#byIdentity.set(member.identity, rest);
      else this.#byIdentity.delete(member.identity);
    }
    this.#routeStale = true;
    this.#owner.remoteLeft(member);
  }
}

/** A Durable copy from a remote sender, as handOver treats it (see CallSpan.#durableCopy). */
interface DurableCopy {
  readonly session: RemoteSenderSession;
  readonly sequenceNumber: number;
  readonly receipts: boolean;
}

/** Hands one copy to one endpoint; a Durable one with the extensions' part, as the router does (Endpoint.takeCopy). */
function handOver(
  endpoint: Endpoint | undefined,
  kind: ChannelKind,
  frame: Uint8Array,
  now: number,
  counts: { delivered: number; slow: number },
  copy: DurableCopy | undefined,
): void {
  if (!endpoint || !endpoint.admitted) return;
  const result = copy
    ? endpoint.takeCopy(kind, frame, now, copy.session, copy.session.senderId, copy.receipts ? copy.sequenceNumber : undefined)
    : endpoint.deliver(kind, frame, now);
  if (result === 'sent' || result === 'kept') counts.delivered++;
  else if (result === 'slow') counts.slow++;
}

function toMember(endpoint: Endpoint): ClusterMember {
  return { endpointId: endpoint.id, identity: endpoint.identity, displayName: endpoint.displayName };
}
