/**
 * 1:1 calls across the nodes of a cluster. A call is held by its caller's node (its PeerCallManager, as on
 * one node); what makes the callee's agents on other nodes reachable is here:
 * - presence: each node tells every other its authenticated agents (all of them when a link comes up, then
 *   each arrival and departure), so the caller's node can ring every agent of the callee, wherever it is;
 * - a remote agent is a {@link PeerParty} whose `send` relays the message over the link to its node, which
 *   hands it to the agent's connection;
 * - what such an agent does about the call (accept, reject, hang up, SDP/ICE, resume) goes back over the
 *   link to the node that holds the call, which acts on it as for a local agent;
 * - an agent that comes back through a node that has never seen its call (its own node was lost, or the
 *   load balancer sent it elsewhere) asks to resume on every node: the holder acts, the others say so,
 *   and if none holds it the agent is told NotFound, as on one node;
 * - replicas: the holder keeps a replica of each accepted call on another node: a party's, if one is
 *   elsewhere (the callee's first), else any node it is linked to; moved when that party moves or that node
 *   is lost, and dropped when the call ends. Should the holder be declared lost, that node takes the call
 *   over (adopts it): a party on it keeps its seat, the others take theirs back through any node. Only a
 *   node *declared lost* is taken over from, never one whose link is merely down (which a holder that is
 *   alive would contradict), and resumes that arrive meanwhile at the replica's node wait there
 *   (`resumeWait`) for the holder's answer or its loss. A holder declared lost that comes back forsakes every
 *   call it had replicated or shared with other nodes' agents: they are held elsewhere now.
 * Data never passes through here: a 1:1 call's data flows on the parties' own peer connection.
 */
import { CallErrorCode, systemClock, type Clock, type TimerHandle, type ClusterAgent, type ClusterControl, type ClusterPeerOp, type ClusterPeerSeat, type PeerSignal, type ServerMessage } from '@backchannel/protocol';

import type { PeerCallManager, PeerCalls, PeerParty, PeerSeatView } from '../calls/PeerCallManager.js';
import type { ClusterNode } from './ClusterNode.js';
import type { NodeLink } from './NodeLink.js';

/** How long a resume asked of every node waits for the one holding the call before it is answered NotFound. */
const RESUME_PROBE_MS = 3000;

/**
 * How long a resume waits on a node with a replica of the call for the holder to answer it or be declared
 * lost (a crashed node is declared lost within 5 s, a frozen one within 7 s).
 */
const PARK_MS = 15_000;
/**
 * How long a node keeps the calls of a lost holder for its own agents, waiting to hear that another node
 * took them over (`peerAdopted`), before it ends them: the nodes find a node lost at about the same time,
 * from the same heartbeat, but not at once.
 */
const ADOPTION_GRACE_MS = 10_000;
/**
 * SDP/ICE relays of this node's agents kept for a call whose holder was lost, until its adopter is known
 * (beyond, they are dropped: the transport is set up afresh anyway). Other requests are always kept.
 */
const MAX_PENDING_RELAYS = 64;

/** A request of an agent here (its number `conn`) for the node that takes a call over. */
interface PendingOp {
  readonly agent: PeerParty;
  readonly conn: number;
  readonly op: ClusterPeerOp;
}

/** A 1:1 call another node holds, as this node's agents in it see it. */
interface HeldElsewhere {
  readonly callId: string;
  /** The node holding it (or, once lost, that held it). */
  node: string;
  readonly agents: Set<PeerParty>;
  /** Answered (or taken back) by an agent here: only such a call can have a replica, and be taken over. */
  accepted: boolean;
  /** Its holder was lost: ends it for the agents here unless another node takes it over in time. */
  grace?: TimerHandle;
  /** Requests of the agents here meanwhile, for the node that takes it over. */
  pending?: PendingOp[];
}

/** A resume asked of every node, waiting for their answers. */
interface ResumeProbe {
  readonly agent: PeerParty;
  readonly ref: number;
  readonly callId: string;
  readonly resumeToken: string;
  /** Nodes that have not answered yet. */
  readonly waiting: Set<string>;
  timer: TimerHandle;
}

/** A replica of a 1:1 call another node holds, kept here for a party of it that is (or was) an agent here. */
interface Replica {
  readonly holder: string;
  readonly caller: ClusterPeerSeat;
  readonly callee: ClusterPeerSeat;
}

/**
 * A resume of a call this node has a replica of, waiting for the holder's answer or its loss: from an agent
 * here (also sent to the holder), or asked by node `asker.node` for its agent `asker.conn`.
 */
interface ParkedResume {
  readonly agent?: PeerParty;
  readonly asker?: { readonly node: string; readonly conn: number };
  readonly ref: number;
  readonly callId: string;
  readonly resumeToken: string;
  readonly timer: TimerHandle;
}

/** An agent connected to another node, as this node's 1:1 calls see it. */
class RemoteAgent implements PeerParty {
  constructor(
    readonly node: string,
    readonly conn: number,
    readonly identity: string,
    readonly displayName: string,
    readonly cluster: ClusterNode,
  ) {}

  send(message: ServerMessage): void {
    // No link: its node was lost (and its agents with it).
    this.cluster.links.get(this.node)?.control({ t: 'toAgent', conn: this.conn, message });
  }
}

export class ClusterPeerCalls implements PeerCalls {
  readonly #local: PeerCallManager;
  readonly #clock: Clock;
  readonly #cluster: ClusterNode;
  readonly #localAgents: () => readonly PeerParty[];
  /** This node's agents by the number other nodes know them by, and back. */
  readonly #conns = new Map<PeerParty, number>();
  readonly #byConn = new Map<number, PeerParty>();
  #nextConn = 1;
  /** Other nodes' agents, by node, then by their number there. */
  readonly #remote = new Map<string, Map<number, RemoteAgent>>();
  /** 1:1 calls held by another node that local agents were rung for or are in: that node, and those agents. */
  readonly #heldElsewhere = new Map<string, HeldElsewhere>();
  /** Resumes asked of every node, by `conn:ref` of the local agent. */
  readonly #probes = new Map<string, ResumeProbe>();
  /** Probes answered NotFound when their wait ran out, by key: a holder's late answer is undone, not passed on. */
  readonly #expired = new Map<string, { callId: string; at: number }>();
  /** Replicas of calls other nodes hold, by call id. */
  readonly #replicas = new Map<string, Replica>();
  /** Calls held here whose replica is on another node: that node, by call id. */
  readonly #replicaAt = new Map<string, string>();
  /** The seats of the accepted calls held here (live: a seat's party changes as it moves), by call id. */
  readonly #seats = new Map<string, { readonly caller: PeerSeatView; readonly callee: PeerSeatView }>();
  /** Resumes waiting on a replica here: by `conn:ref` for an agent here, `node:conn:ref` for another node's. */
  readonly #parked = new Map<string, ParkedResume>();

  /** `localAgents`: this node's authenticated agent connections; `clock`: the server's (its timers and time). */
  constructor(local: PeerCallManager, cluster: ClusterNode, localAgents: () => readonly PeerParty[], clock: Clock = systemClock) {
    this.#clock = clock;
    this.#local = local;
    this.#cluster = cluster;
    this.#localAgents = localAgents;
    cluster.on('linkUp', (link) => {
      link.control({ t: 'agents', reset: true, agents: this.#localAgents().map((a) => this.#describe(a)) });
      // A call that had no other node to keep its replica on has one now.
      for (const callId of this.#seats.keys()) if (!this.#replicaAt.has(callId)) this.#replicate(callId);
    });
    cluster.on('peerRecord', (from, record) => this.#record(from, record));
    cluster.on('nodeLost', (node) => this.#nodeLost(node));
    cluster.on('declaredLost', () => this.#declaredLost());
    local.watch({
      seated: (callId, caller, callee) => {
        this.#seats.set(callId, { caller, callee });
        this.#replicate(callId);
      },
      ended: (callId) => {
        this.#seats.delete(callId);
        this.#unreplicate(callId);
      },
    });
  }

  /** Agents of `identity` on other nodes (the caller's node rings them too). */
  remoteAgentsOf(identity: string): PeerParty[] {
    const agents: PeerParty[] = [];
    for (const byConn of this.#remote.values()) for (const agent of byConn.values()) if (agent.identity === identity) agents.push(agent);
    return agents;
  }

  /** Agents connected to other nodes, all together. */
  get remoteAgentCount(): number {
    let count = 0;
    for (const byConn of this.#remote.values()) count += byConn.size;
    return count;
  }

  /** A local agent was authenticated: every other node learns it. */
  authenticated(agent: PeerParty): void {
    const record: ClusterControl = { t: 'agents', reset: false, agents: [this.#describe(agent)] };
    for (const link of this.#cluster.links.values()) link.control(record);
  }

  start(caller: PeerParty, ref: number, calleeIdentity: string): void {
    this.#local.start(caller, ref, calleeIdentity);
  }

  /** 1:1 calls held by other nodes that agents here are rung for or in. */
  get callsHeldElsewhere(): number {
    return this.#heldElsewhere.size;
  }

  /** Replicas kept here of 1:1 calls other nodes hold (for a party here, should the holder be lost). */
  get replicas(): number {
    return this.#replicas.size;
  }

  accept(agent: PeerParty, callId: string): void {
    if (!this.#forward(agent, callId, { op: 'accept' })) this.#local.accept(agent, callId);
  }

  reject(agent: PeerParty, callId: string): void {
    if (this.#forward(agent, callId, { op: 'reject' })) this.#leftElsewhere(agent, callId);
    else this.#local.reject(agent, callId);
  }

  hangUp(agent: PeerParty, callId: string, lost?: { message: string }): void {
    if (this.#forward(agent, callId, lost ? { op: 'hangUp', lost } : { op: 'hangUp' })) this.#leftElsewhere(agent, callId);
    else this.#local.hangUp(agent, callId, lost);
  }

  /**
   * `agent` ended (or declined) a call another node holds. That node tells everyone but the one who ended
   * it, so this node forgets the agent's part here.
   */
  #leftElsewhere(agent: PeerParty, callId: string): void {
    const held = this.#heldElsewhere.get(callId);
    if (!held) return;
    held.agents.delete(agent);
    // While its holder is being taken over, kept: the request waits for the node that takes it (#heldBy).
    if (held.agents.size === 0 && held.grace === undefined) this.#heldElsewhere.delete(callId);
  }

  relay(agent: PeerParty, callId: string, signal: PeerSignal): void {
    if (!this.#forward(agent, callId, { op: 'relay', signal })) this.#local.relay(agent, callId, signal);
  }

  resume(agent: PeerParty, ref: number, callId: string, resumeToken: string): void {
    const conn = this.#conns.get(agent);
    const replica = this.#replicas.get(callId);
    if (replica && conn !== undefined && !this.#local.holds(callId)) {
      // The holder may be gone: asked all the same, and the resume waits here for its answer or its loss.
      this.#park(`${conn}:${ref}`, { agent, ref, callId, resumeToken });
      this.#cluster.links.get(replica.holder)?.control({ t: 'peerOp', conn, callId, op: 'resume', ref, resumeToken });
      return;
    }
    if (this.#forward(agent, callId, { op: 'resume', ref, resumeToken })) return;
    // Every node this node has a link to, up or reconnecting (what is written to it waits for the link).
    const links = [...this.#cluster.links.values()];
    if (this.#local.holds(callId) || conn === undefined || links.length === 0) return this.#local.resume(agent, ref, callId, resumeToken);
    // A call this node has never seen: the agent comes from another node. Every node is asked.
    const key = `${conn}:${ref}`;
    this.#clock.clearTimeout(this.#probes.get(key)?.timer); // the same request number again: the newer one counts
    const timer = this.#clock.setTimeout(() => this.#probeAnswered(key, undefined), RESUME_PROBE_MS, { unref: true });
    this.#probes.set(key, { agent, ref, callId, resumeToken, waiting: new Set(links.map((link) => link.id)), timer });
    for (const link of links) link.control({ t: 'peerOp', conn, callId, op: 'resume', ref, resumeToken, probe: true });
  }

  disconnected(agent: PeerParty, lost?: boolean): void {
    this.#local.disconnected(agent, lost);
    for (const [key, probe] of [...this.#probes]) {
      if (probe.agent !== agent) continue;
      this.#clock.clearTimeout(probe.timer);
      this.#probes.delete(key);
    }
    // Its resumes waiting on a replica here: a closed connection must not be seated if the call is taken over.
    for (const [key, parked] of [...this.#parked]) {
      if (parked.agent !== agent) continue;
      this.#clock.clearTimeout(parked.timer);
      this.#parked.delete(key);
    }
    const conn = this.#conns.get(agent);
    if (conn === undefined) return;
    // The nodes holding its calls treat it as they would a local agent gone (away, or ended).
    for (const link of this.#cluster.links.values()) link.control({ t: 'agentGone', conn, lost: lost ?? false });
    this.#conns.delete(agent);
    this.#byConn.delete(conn);
    // Its calls held elsewhere stay known until they end: the agent may take its place back from a new
    // connection here (resumePeerCall), which must reach the node that holds the call.
    for (const held of this.#heldElsewhere.values()) held.agents.delete(agent);
  }

  /**
   * Node `node` does not hold the call of probe `key` (undefined: the wait is over). Once no node is left to
   * answer, the agent gets the answer of one node (NotFound, unless the call is here by now).
   */
  #probeAnswered(key: string, node: string | undefined): void {
    const probe = this.#probes.get(key);
    if (!probe) return;
    if (node !== undefined) {
      probe.waiting.delete(node);
      if (probe.waiting.size > 0) return;
    }
    this.#clock.clearTimeout(probe.timer);
    this.#probes.delete(key);
    if (node === undefined) this.#rememberExpired(key, probe.callId);
    this.#local.resume(probe.agent, probe.ref, probe.callId, probe.resumeToken);
  }

  /** Keeps an expired probe's key for a while (RESUME_PROBE_MS × 10), dropping older ones. */
  #rememberExpired(key: string, callId: string): void {
    const now = this.#clock.now();
    for (const [old, { at }] of this.#expired) {
      if (now - at < RESUME_PROBE_MS * 10) break; // in insertion order: the rest are newer
      this.#expired.delete(old);
    }
    this.#expired.set(key, { callId, at: now });
  }

  #describe(agent: PeerParty): ClusterAgent {
    let conn = this.#conns.get(agent);
    if (conn === undefined) {
      conn = this.#nextConn++;
      this.#conns.set(agent, conn);
      this.#byConn.set(conn, agent);
    }
    return { conn, identity: agent.identity, displayName: agent.displayName };
  }

  /**
   * A local agent acts on a call another node holds: the request goes there, or, while its holder is lost
   * and the node taking it over not yet known, waits (bounded) for that node.
   */
  #forward(agent: PeerParty, callId: string, op: ClusterPeerOp): boolean {
    const held = this.#heldElsewhere.get(callId);
    const conn = this.#conns.get(agent);
    if (held === undefined || conn === undefined) return false;
    if (held.grace === undefined) {
      this.#cluster.links.get(held.node)?.control({ t: 'peerOp', conn, callId, ...op });
      return true;
    }
    const pending = (held.pending ??= []);
    if (op.op !== 'relay' || pending.filter((p) => p.op.op === 'relay').length < MAX_PENDING_RELAYS) pending.push({ agent, conn, op });
    return true;
  }

  #record(from: NodeLink, record: ClusterControl): void {
    switch (record.t) {
      case 'agents': {
        let byConn = this.#remote.get(from.id);
        if (!byConn) this.#remote.set(from.id, (byConn = new Map()));
        if (record.reset) {
          const now = new Set(record.agents.map((a) => a.conn));
          for (const [conn, agent] of [...byConn]) {
            if (now.has(conn)) continue;
            byConn.delete(conn);
            this.#local.disconnected(agent, true);
          }
        }
        for (const a of record.agents) if (!byConn.has(a.conn)) byConn.set(a.conn, new RemoteAgent(from.id, a.conn, a.identity, a.displayName, this.#cluster));
        return;
      }
      case 'agentGone': {
        const agent = this.#remote.get(from.id)?.get(record.conn);
        if (!agent) return;
        this.#remote.get(from.id)!.delete(record.conn);
        this.#local.disconnected(agent, record.lost);
        return;
      }
      case 'toAgent': {
        const agent = this.#byConn.get(record.conn);
        const message = record.message;
        if (message.type === 'peerCallEnded') {
          const held = this.#heldElsewhere.get(message.callId);
          if (agent) held?.agents.delete(agent);
          if (held && (held.agents.size === 0 || !agent)) this.#heldElsewhere.delete(message.callId);
        }
        if (!agent) return;
        // The holder answered a resume asked of every node (taken back, or refused): no need to wait for more.
        if ((message.type === 'peerCallResumed' || message.type === 'error') && message.ref !== undefined) {
          const key = `${record.conn}:${message.ref}`;
          const probe = this.#probes.get(key);
          const parked = this.#parked.get(key);
          if (parked) {
            this.#clock.clearTimeout(parked.timer);
            this.#parked.delete(key);
          } else if (probe) {
            this.#clock.clearTimeout(probe.timer);
            this.#probes.delete(key);
          } else if (this.#expired.has(key)) {
            // Too late: the agent was told NotFound and has ended the call. The holder, which took it back,
            // is told it is gone, so that the other party is not left in a call with no one.
            this.#expired.delete(key);
            if (message.type === 'peerCallResumed') from.control({ t: 'peerOp', conn: record.conn, callId: message.callId, op: 'hangUp', lost: { message: 'the party gave up resuming the call' } });
            return;
          }
        }
        if (message.type === 'incomingCall' || message.type === 'callAccepted' || message.type === 'peerCallResumed') {
          const held: HeldElsewhere = this.#heldElsewhere.get(message.callId) ?? { callId: message.callId, node: from.id, agents: new Set<PeerParty>(), accepted: false };
          held.agents.add(agent);
          if (message.type !== 'incomingCall') held.accepted = true;
          // Answered by another node than the one it was held by: that node took the call over.
          if (held.node !== from.id) this.#heldBy(held, from);
          this.#heldElsewhere.set(message.callId, held);
        }
        agent.send(message);
        return;
      }
      case 'peerOp': {
        const agent = this.#remote.get(from.id)?.get(record.conn);
        if (record.op === 'resume' && record.probe === true && !this.#local.holds(record.callId) && this.#replicas.has(record.callId)) {
          // A replica here: the holder may be lost, and then this node takes the call over and answers.
          this.#park(`${from.id}:${record.conn}:${record.ref}`, { asker: { node: from.id, conn: record.conn }, ref: record.ref, callId: record.callId, resumeToken: record.resumeToken });
          return from.control({ t: 'resumeWait', conn: record.conn, ref: record.ref });
        }
        if (!agent) {
          // An agent this node has not heard of yet: a probe is still answered, so that the asker need not wait.
          if (record.op === 'resume' && record.probe === true) from.control({ t: 'resumeMiss', conn: record.conn, ref: record.ref });
          return;
        }
        switch (record.op) {
          case 'accept':
            return this.#local.accept(agent, record.callId);
          case 'reject':
            return this.#local.reject(agent, record.callId);
          case 'hangUp':
            return this.#local.hangUp(agent, record.callId, record.lost);
          case 'relay':
            return this.#local.relay(agent, record.callId, record.signal as PeerSignal);
          case 'resume':
            if (record.probe === true && !this.#local.holds(record.callId)) return from.control({ t: 'resumeMiss', conn: record.conn, ref: record.ref });
            return this.#local.resume(agent, record.ref, record.callId, record.resumeToken);
        }
        return;
      }
      case 'resumeMiss':
        return this.#probeAnswered(`${record.conn}:${record.ref}`, from.id);
      case 'resumeWait': {
        // That node may take the call over: its answer is worth waiting for, longer than the usual probe.
        const key = `${record.conn}:${record.ref}`;
        const probe = this.#probes.get(key);
        if (!probe) return;
        this.#clock.clearTimeout(probe.timer);
        probe.timer = this.#clock.setTimeout(() => this.#probeAnswered(key, undefined), PARK_MS + RESUME_PROBE_MS, { unref: true });
        return;
      }
      case 'peerReplica':
        this.#replicas.set(record.callId, { holder: from.id, caller: record.caller, callee: record.callee });
        // The holder is alive and has seated an agent another node asked for here: it answered that agent
        // directly, so its resume no longer waits on this replica.
        for (const [key, parked] of [...this.#parked]) {
          const asker = parked.asker;
          if (parked.callId !== record.callId || !asker) continue;
          if ([record.caller, record.callee].some((seat) => seat.node === asker.node && seat.conn === asker.conn)) this.#unpark(key, false);
        }
        return;
      case 'peerAdopted': {
        const held = this.#heldElsewhere.get(record.callId);
        if (held) this.#heldBy(held, from);
        return;
      }
      case 'peerReplicaDrop':
        this.#replicas.delete(record.callId);
        for (const [key, parked] of [...this.#parked]) if (parked.callId === record.callId) this.#unpark(key, false);
        return;
      default:
        return;
    }
  }

  /** `held` is held by `node` from now on (it took the call over): what the agents here asked meanwhile goes there. */
  #heldBy(held: HeldElsewhere, node: NodeLink): void {
    held.node = node.id;
    this.#clock.clearTimeout(held.grace);
    held.grace = undefined;
    for (const { conn, op } of held.pending?.splice(0) ?? []) node.control({ t: 'peerOp', conn, callId: held.callId, ...op });
    if (held.agents.size === 0 && this.#heldElsewhere.get(held.callId) === held) this.#heldElsewhere.delete(held.callId);
  }

  /**
   * The holder side: the replica of `callId` goes to the node of a party that is elsewhere (the callee's
   * first), else to the first node this one is linked to (so that parties that were both here can take the
   * call back through any node should this one be lost).
   */
  #replicate(callId: string): void {
    const seats = this.#seats.get(callId);
    if (!seats) return;
    const { caller, callee } = seats;
    // A party on a node that is gone (lost, or forgotten) has no node to keep the replica for it.
    const nodeOf = (seat: PeerSeatView): string | undefined => (seat.party instanceof RemoteAgent && this.#cluster.links.has(seat.party.node) ? seat.party.node : undefined);
    const linked = [...this.#cluster.links.values()].filter((link) => link.open).map((link) => link.id).sort();
    const target = nodeOf(callee) ?? nodeOf(caller) ?? linked[0];
    const previous = this.#replicaAt.get(callId);
    if (previous !== undefined && previous !== target) this.#cluster.links.get(previous)?.control({ t: 'peerReplicaDrop', callId });
    if (target === undefined) {
      this.#replicaAt.delete(callId);
      return;
    }
    this.#replicaAt.set(callId, target);
    const described = (seat: PeerSeatView): ClusterPeerSeat => ({
      identity: seat.party.identity,
      displayName: seat.party.displayName,
      resumeToken: seat.resumeToken,
      ...(seat.party instanceof RemoteAgent ? { node: seat.party.node, conn: seat.party.conn } : {}),
    });
    this.#cluster.links.get(target)?.control({ t: 'peerReplica', callId, caller: described(caller), callee: described(callee) });
  }

  #unreplicate(callId: string): void {
    const at = this.#replicaAt.get(callId);
    if (at === undefined) return;
    this.#replicaAt.delete(callId);
    this.#cluster.links.get(at)?.control({ t: 'peerReplicaDrop', callId });
  }

  #park(key: string, resume: Omit<ParkedResume, 'timer'>): void {
    this.#clock.clearTimeout(this.#parked.get(key)?.timer); // the same request again: the newer one counts
    const timer = this.#clock.setTimeout(() => this.#unpark(key, false), PARK_MS, { unref: true });
    this.#parked.set(key, { ...resume, timer });
  }

  /**
   * A parked resume is settled: `here`, this node now holds the call and answers it; otherwise the holder
   * answers (or did): another node's agent is told by this node that it holds nothing (resumeMiss), and one
   * of this node's agents, if its wait ran out, gets NotFound here (a late answer of the holder is undone).
   */
  #unpark(key: string, here: boolean): void {
    const parked = this.#parked.get(key);
    if (!parked) return;
    this.#clock.clearTimeout(parked.timer);
    this.#parked.delete(key);
    const agent = parked.agent ?? (parked.asker && this.#remote.get(parked.asker.node)?.get(parked.asker.conn));
    // (A local agent that disconnected meanwhile has no parked resume left: see disconnected().)
    if (here && agent) return this.#local.resume(agent, parked.ref, parked.callId, parked.resumeToken);
    if (parked.asker) return this.#cluster.links.get(parked.asker.node)?.control({ t: 'resumeMiss', conn: parked.asker.conn, ref: parked.ref });
    if (parked.agent && !this.#local.holds(parked.callId) && this.#replicas.has(parked.callId)) {
      this.#rememberExpired(key, parked.callId);
      this.#local.resume(parked.agent, parked.ref, parked.callId, parked.resumeToken);
    }
  }

  /** The holder of the calls replicated here was declared lost: this node takes them over. */
  #adoptFrom(holder: string): void {
    for (const [callId, replica] of [...this.#replicas]) {
      if (replica.holder !== holder) continue;
      this.#replicas.delete(callId);
      // The seat's agent as this node knows it: one of its own, or one of a node still here.
      const partyOf = (s: ClusterPeerSeat): PeerParty | undefined => {
        if (s.node === undefined || s.conn === undefined) return undefined;
        return s.node === this.#cluster.id ? this.#byConn.get(s.conn) : this.#remote.get(s.node)?.get(s.conn);
      };
      const seat = (s: ClusterPeerSeat) => {
        const party = partyOf(s);
        return { identity: s.identity, displayName: s.displayName, resumeToken: s.resumeToken, ...(party ? { party } : {}) };
      };
      const [caller, callee] = [seat(replica.caller), seat(replica.callee)];
      const adopted = this.#local.adopt(callId, caller, callee);
      for (const [key, parked] of [...this.#parked]) {
        if (parked.callId !== callId) continue;
        if (adopted || !parked.agent) this.#unpark(key, adopted);
        else {
          // Not taken over (no resume window): this node's own agent is told NotFound, as the holder would.
          this.#clock.clearTimeout(parked.timer);
          this.#parked.delete(key);
          this.#local.resume(parked.agent, parked.ref, parked.callId, parked.resumeToken);
        }
      }
      if (!adopted) continue; // no resume window: it ends for the agents here with the others (#nodeLost)
      this.#heldElsewhere.delete(callId);
      // Every node a seat names sends its agents' requests here from now on (a seat left vacant too: its
      // agent may be back on that node, resuming).
      const named = new Set([replica.caller.node, replica.callee.node].filter((node): node is string => node !== undefined && node !== this.#cluster.id));
      for (const node of named) this.#cluster.links.get(node)?.control({ t: 'peerAdopted', callId });
    }
  }

  /**
   * This node was declared lost by the others and rejoins under a new id: they have dropped what it held of
   * theirs, and taken over the 1:1 calls it had replicated to them or shared with their agents. Those are
   * forsaken here (two holders would each think the call theirs); calls between its own agents that had no
   * replica (no other node was linked) go on.
   */
  #declaredLost(): void {
    this.#local.forsake((callId, parties) => this.#replicaAt.has(callId) || parties.some((party) => party instanceof RemoteAgent));
    this.#seats.clear();
    for (const parked of this.#parked.values()) this.#clock.clearTimeout(parked.timer);
    this.#parked.clear();
    for (const probe of this.#probes.values()) this.#clock.clearTimeout(probe.timer);
    this.#probes.clear();
    this.#replicas.clear();
    this.#replicaAt.clear();
    for (const held of this.#heldElsewhere.values()) this.#clock.clearTimeout(held.grace);
    this.#heldElsewhere.clear();
  }

  /**
   * A node is lost: its agents are gone (lost); the calls it held that have a replica here are taken over,
   * and the others end for the agents here.
   */
  #nodeLost(node: string): void {
    // Replicas it kept of calls held here go elsewhere (its link is gone by now).
    for (const [callId, at] of [...this.#replicaAt]) {
      if (at !== node) continue;
      this.#replicaAt.delete(callId);
      this.#replicate(callId);
    }
    for (const [key, parked] of [...this.#parked]) if (parked.asker?.node === node) this.#unpark(key, false);
    this.#adoptFrom(node);
    const byConn = this.#remote.get(node);
    this.#remote.delete(node);
    for (const agent of byConn?.values() ?? []) this.#local.disconnected(agent, true);
    for (const key of [...this.#probes.keys()]) this.#probeAnswered(key, node);
    // The calls it held for agents here: another node may have a replica and take one over (peerAdopted).
    // A call still ringing has no replica: it ends at once.
    for (const [callId, held] of [...this.#heldElsewhere]) {
      if (held.node !== node || held.grace !== undefined) continue;
      if (!held.accepted) {
        this.#heldElsewhere.delete(callId);
        this.#holderGone(held);
        continue;
      }
      held.grace = this.#clock.setTimeout(
        () => {
          if (this.#heldElsewhere.get(callId) !== held || held.node !== node) return;
          this.#heldElsewhere.delete(callId);
          this.#holderGone(held);
        },
        ADOPTION_GRACE_MS,
        { unref: true },
      );
    }
  }

  /**
   * A call whose holder was lost, and that no node took over in time (that this node heard of): it ends for
   * its agents here. Should a node hold an accepted one all the same (its word was lost), it is told they
   * are gone; a resume asked meanwhile is asked of every node instead, as from an agent that came from
   * elsewhere. (A call still ringing has no replica: nobody else can hold it.)
   */
  #holderGone(held: HeldElsewhere): void {
    const message: ServerMessage = { type: 'peerCallEnded', callId: held.callId, code: CallErrorCode.ConnectionLost, message: 'the server node holding the call was lost' };
    for (const agent of held.agents) {
      agent.send(message);
      const conn = this.#conns.get(agent);
      if (conn === undefined || !held.accepted) continue;
      for (const link of this.#cluster.links.values()) link.control({ t: 'peerOp', conn, callId: held.callId, op: 'hangUp', lost: { message: 'the server node holding the call was lost' } });
    }
    for (const { agent, op } of held.pending ?? []) {
      if (op.op === 'resume' && this.#conns.has(agent)) this.resume(agent, op.ref, held.callId, op.resumeToken);
    }
  }
}
