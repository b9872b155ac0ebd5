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
 *   and if none holds it the agent is told NotFound, as on one node.
 * Data never passes through here: a 1:1 call's data flows on the parties' own peer connection.
 */
import { CallErrorCode, type ClusterAgent, type ClusterControl, type ClusterPeerOp, type PeerSignal, type ServerMessage } from '@backchannel/protocol';

import type { PeerCallManager, PeerCalls, PeerParty } from '../calls/PeerCallManager.js';
import type { ClusterNode } from './ClusterNode.js';
import type { NodeLink } from './NodeLink.js';

/** How long a resume asked of every node waits for the one holding the call before it is answered NotFound. */
const RESUME_PROBE_MS = 3000;

/** A resume asked of every node, waiting for their answers. */
interface ResumeProbe {
  readonly agent: PeerParty;
  readonly ref: number;
  readonly callId: string;
  readonly resumeToken: string;
  /** Nodes that have not answered yet. */
  readonly waiting: Set<string>;
  readonly timer: ReturnType<typeof setTimeout>;
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
    this.cluster.link(this.node).control({ t: 'toAgent', conn: this.conn, message });
  }
}

export class ClusterPeerCalls implements PeerCalls {
  readonly #local: PeerCallManager;
  readonly #cluster: ClusterNode;
  readonly #localAgents: () => readonly PeerParty[];
  /** This node's agents by the number other nodes know them by, and back. */
  readonly #conns = new Map<PeerParty, number>();
  readonly #byConn = new Map<number, PeerParty>();
  #nextConn = 1;
  /** Other nodes' agents, by node, then by their number there. */
  readonly #remote = new Map<string, Map<number, RemoteAgent>>();
  /** 1:1 calls held by another node that local agents were rung for or are in: that node, and those agents. */
  readonly #heldElsewhere = new Map<string, { node: string; agents: Set<PeerParty> }>();
  /** Resumes asked of every node, by `conn:ref` of the local agent. */
  readonly #probes = new Map<string, ResumeProbe>();
  /** Probes answered NotFound when their wait ran out, by key: a holder's late answer is undone, not passed on. */
  readonly #expired = new Map<string, { callId: string; at: number }>();

  /** `localAgents`: this node's authenticated agent connections. */
  constructor(local: PeerCallManager, cluster: ClusterNode, localAgents: () => readonly PeerParty[]) {
    this.#local = local;
    this.#cluster = cluster;
    this.#localAgents = localAgents;
    cluster.on('linkUp', (link) => link.control({ t: 'agents', reset: true, agents: this.#localAgents().map((a) => this.#describe(a)) }));
    cluster.on('peerRecord', (from, record) => this.#record(from, record));
    cluster.on('nodeLost', (node) => this.#nodeLost(node));
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
    if (held.agents.size === 0) this.#heldElsewhere.delete(callId);
  }

  relay(agent: PeerParty, callId: string, signal: PeerSignal): void {
    if (!this.#forward(agent, callId, { op: 'relay', signal })) this.#local.relay(agent, callId, signal);
  }

  resume(agent: PeerParty, ref: number, callId: string, resumeToken: string): void {
    if (this.#forward(agent, callId, { op: 'resume', ref, resumeToken })) return;
    const conn = this.#conns.get(agent);
    // Every node this node has a link to, up or reconnecting (what is written to it waits for the link).
    const links = [...this.#cluster.links.values()];
    if (this.#local.holds(callId) || conn === undefined || links.length === 0) return this.#local.resume(agent, ref, callId, resumeToken);
    // A call this node has never seen: the agent comes from another node. Every node is asked.
    const key = `${conn}:${ref}`;
    clearTimeout(this.#probes.get(key)?.timer); // the same request number again: the newer one counts
    const timer = setTimeout(() => this.#probeAnswered(key, undefined), RESUME_PROBE_MS);
    timer.unref();
    this.#probes.set(key, { agent, ref, callId, resumeToken, waiting: new Set(links.map((link) => link.id)), timer });
    for (const link of links) link.control({ t: 'peerOp', conn, callId, op: 'resume', ref, resumeToken, probe: true });
  }

  disconnected(agent: PeerParty, lost?: boolean): void {
    this.#local.disconnected(agent, lost);
    for (const [key, probe] of [...this.#probes]) {
      if (probe.agent !== agent) continue;
      clearTimeout(probe.timer);
      this.#probes.delete(key);
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
    clearTimeout(probe.timer);
    this.#probes.delete(key);
    if (node === undefined) this.#rememberExpired(key, probe.callId);
    this.#local.resume(probe.agent, probe.ref, probe.callId, probe.resumeToken);
  }

  /** Keeps an expired probe's key for a while (RESUME_PROBE_MS × 10), dropping older ones. */
  #rememberExpired(key: string, callId: string): void {
    const now = Date.now();
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

  /** A local agent acts on a call another node holds: the request goes there. */
  #forward(agent: PeerParty, callId: string, op: ClusterPeerOp): boolean {
    const held = this.#heldElsewhere.get(callId);
    const conn = this.#conns.get(agent);
    if (held === undefined || conn === undefined) return false;
    this.#cluster.link(held.node).control({ t: 'peerOp', conn, callId, ...op });
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
          if (probe) {
            clearTimeout(probe.timer);
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
          const held = this.#heldElsewhere.get(message.callId) ?? { node: from.id, agents: new Set<PeerParty>() };
          held.agents.add(agent);
          this.#heldElsewhere.set(message.callId, held);
        }
        agent.send(message);
        return;
      }
      case 'peerOp': {
        const agent = this.#remote.get(from.id)?.get(record.conn);
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
      default:
        return;
    }
  }

  /** A node is lost: its agents are gone (lost), and the calls it held end for the agents here. */
  #nodeLost(node: string): void {
    const byConn = this.#remote.get(node);
    this.#remote.delete(node);
    for (const agent of byConn?.values() ?? []) this.#local.disconnected(agent, true);
    for (const key of [...this.#probes.keys()]) this.#probeAnswered(key, node);
    for (const [callId, held] of [...this.#heldElsewhere]) {
      if (held.node !== node) continue;
      this.#heldElsewhere.delete(callId);
      const message: ServerMessage = { type: 'peerCallEnded', callId, code: CallErrorCode.ConnectionLost, message: 'the server node holding the call was lost' };
      for (const agent of held.agents) agent.send(message);
    }
  }
}
