/**
 * This server as one node of a cluster (docs/cluster.md): its place in the registry in Redis (a heartbeat
 * with a TTL), its links to the other nodes (one TLS connection out to each, found through the registry;
 * one in from each; both ends proven with the deployment's token secret, see linkProof.ts), and what
 * arrives on them: roster
 * records for the calls' spans, data frames to fan out to this node's endpoints, Notices for its senders,
 * the presence of other nodes' agents and the 1:1 call signaling relayed for them (ClusterPeerCalls).
 *
 * It is also the calls' {@link CallDirectory}: endpoint places and ids in Redis (one Lua script per join).
 *
 * A node is *lost* when its heartbeat has lapsed in Redis and this node's link to it is down, on two
 * registry reads in a row: its endpoints leave every call here, its agents are gone, and its places in
 * Redis are freed. A node that only lost Redis, and still answers on its link, is not lost. A frozen node
 * keeps its TCP connections open, so the links carry a keepalive (NodeLink): one silent for four seconds
 * is down.
 *
 * A node declared lost that comes back (it was frozen, or cut off from everything) finds the mark the
 * others left in Redis at its next heartbeat. What they held of it is gone, so it must not carry on as if
 * nothing happened: it ends its endpoints quietly (their agents join again, as after a restart), forgets
 * the other nodes, and joins the cluster again under a new node id (#rejoinCluster).
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';

import {
  CLUSTER_LINK_VERSION,
  CallErrorCode,
  MAX_CLUSTER_HANDSHAKE_RECORD_BYTES,
  MAX_CLUSTER_RECORD_BYTES,
  ClusterRecordError,
  ClusterRecordReader,
  ClusterRecordType,
  DropReason,
  FrameType,
  decodeClusterRecord,
  decodeServerFrame,
  encodeClusterControl,
  encodeNotice,
  isExtensionFrame,
  speaksExtensionFrames,
  type Clock,
  type ClusterControl,
  type ClusterRecord,
} from '@backchannel/protocol';
import type { Redis } from 'ioredis';

import type { CallDirectory } from '../calls/CallDirectory.js';
import type { CallManager } from '../calls/CallManager.js';
import type { CallSpan, PeerNode } from '../calls/CallSpan.js';
import { JoinError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { ServerStats } from '../stats.js';
import {
  BEAT_SCRIPT,
  HEARTBEAT_MS,
  HEARTBEAT_TTL_MS,
  JOIN_SCRIPT,
  LOST_MARK_TTL_MS,
  PURGE_SCRIPT,
  REGISTRY_SCRIPT,
  RELEASE_SCRIPT,
  SYNC_SCRIPT,
  clusterKeys,
} from './clusterScripts.js';
import { channelBinding, linkProof, proofMatches } from './linkProof.js';
import { NodeLink } from './NodeLink.js';

/** How often each open link is acknowledged again, as its keepalive (NodeLink.keepalive). */
const KEEPALIVE_MS = 1000;

/** Registry reads in a row that must find a node not beating (and its link down) before it is lost. */
const LOST_AFTER_READS = 2;
/** Time an incoming link has to say hello. */
const HELLO_TIMEOUT_MS = 5000;

export interface ClusterNodeOptions {
  /** The Redis commands client (the identity store's), and whether it is up now. */
  redis(): Redis;
  redisUp(): boolean;
  tokenSecret: string;
  /** The certificate of this node's end of its TLS links (the server's DTLS one: not verified, see linkProof.ts). */
  certificate: { readonly certPem: string; readonly keyPem: string };
  /** Where the node-to-node listener binds, and the address other nodes are told to reach it at. */
  listenHost: string;
  listenPort: number;
  /** host:port other nodes connect to (default: listenHost and the bound port). */
  advertise: string | undefined;
  /** This node's client-facing URL, shown by `backchannel stats`. */
  url: () => string;
  stats: ServerStats;
  logger: Logger;
  clock: Clock;
}

/** Another node's link session toward this one, as this node receives it (see #inbound). */
interface InboundSession {
  readonly session: string;
  received: number;
  socket: TLSSocket;
  /** An acknowledgement is due at the end of this turn. */
  ackDue: boolean;
}

/** A registered node as the last registry read saw it. */
export interface NodeInfo {
  readonly id: string;
  readonly address: string;
  readonly url: string;
  readonly startedAt: number;
  readonly alive: boolean;
}

export type ClusterEvents = {
  /** A link record that is about agents and 1:1 calls, for ClusterPeerCalls. */
  peerRecord: [from: NodeLink, record: ClusterControl];
  /** A link to `node` was (re)established: it should hear this node's agents afresh. */
  linkUp: [node: NodeLink];
  /** `nodeId` is lost (see the module comment). */
  nodeLost: [nodeId: string];
  /**
   * The other nodes declared this node lost (see the module comment), and it has taken a new id: every
   * group call endpoint here must end now, quietly, and its agent find it gone in a new run of the server
   * (so that it joins again). Then the other nodes are forgotten (`nodeLost` for each).
   */
  declaredLost: [];
};

export class ClusterNode implements CallDirectory {
  #id = randomUUID();
  readonly spans = new Map<number, CallSpan>();
  readonly #options: ClusterNodeOptions;
  readonly #startedAt = Date.now();
  readonly #links = new Map<string, NodeLink>();
  readonly #incoming = new Set<TLSSocket>();
  /** The listener's TCP connections, handshaken or not (see start). */
  readonly #connections = new Set<Socket>();
  /**
   * Per other node, its current link session toward this node (named in its hello): how many records of it
   * arrived here, and the connection they arrive on now (an older one of the session is not read any more).
   */
  readonly #inbound = new Map<string, InboundSession>();
  readonly #registry = new Map<string, NodeInfo>();
  /** Registry reads in a row that found a node not beating with its link down. */
  readonly #missing = new Map<string, number>();
  /**
   * Nodes this node declared lost, and when (performance.now()). Their hellos are refused: a lost node that
   * comes back may connect under its old id before its heartbeat finds the mark, and what it would send
   * (the roster of its calls, records kept for the link) would bring back what was dropped, for good.
   */
  readonly #lostIds = new Map<string, number>();
  /** Lost nodes being marked in Redis (#markLost). */
  readonly #marking = new Set<string>();
  /** When the keepalive last ran (performance.now()): a late run follows a stall of this process. */
  #lastKeepalive = 0;
  readonly #listeners: { [K in keyof ClusterEvents]: ((...args: ClusterEvents[K]) => void)[] } = { peerRecord: [], linkUp: [], nodeLost: [], declaredLost: [] };
  #server: Server | undefined;
  #address = '';
  #calls: CallManager | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #keepalive: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  /** Rejoining the cluster under a new id (#rejoinCluster): nothing else is done meanwhile. */
  #rejoining: Promise<void> | undefined;
  /** Lost nodes seen by this node since start. */
  nodesLost = 0;
  /** Times this node was declared lost by the others and rejoined the cluster as a new node. */
  rejoins = 0;
  /** Links taken down for silence (a frozen or vanished node, or a link back that stopped). */
  silentLinks = 0;

  constructor(options: ClusterNodeOptions) {
    this.#options = options;
  }

  /** This node's id in the cluster: random per start, and new after it was declared lost and rejoined. */
  get id(): string {
    return this.#id;
  }

  /** host:port other nodes reach this one at. */
  get address(): string {
    return this.#address;
  }

  /** Nodes as the last registry read saw them (this one included). */
  get nodes(): readonly NodeInfo[] {
    return [...this.#registry.values()];
  }

  /** Links out to other nodes. */
  get links(): ReadonlyMap<string, NodeLink> {
    return this.#links;
  }

  on<K extends keyof ClusterEvents>(event: K, listener: (...args: ClusterEvents[K]) => void): void {
    this.#listeners[event].push(listener);
  }

  #emit<K extends keyof ClusterEvents>(event: K, ...args: ClusterEvents[K]): void {
    for (const listener of this.#listeners[event]) {
      try {
        listener(...args);
      } catch (error) {
        this.#options.logger.error({ err: error, event }, 'a cluster event listener threw');
      }
    }
  }

  /** Listens for other nodes, registers in Redis, and starts beating. */
  async start(calls: CallManager): Promise<void> {
    this.#calls = calls;
    const { certPem, keyPem } = this.#options.certificate;
    // A connection has HELLO_TIMEOUT_MS for its TLS handshake too (Node's default is 120 s).
    const server = createServer({ cert: certPem, key: keyPem, minVersion: 'TLSv1.3', handshakeTimeout: HELLO_TIMEOUT_MS }, (socket) => this.#accept(socket));
    // A failed or timed-out handshake: Node reports it but leaves the connection open, so it is closed here.
    server.on('tlsClientError', (_error, socket) => socket.destroy());
    // Every connection, from its first byte: close() must not wait for one still in its handshake.
    server.on('connection', (raw: Socket) => {
      this.#connections.add(raw);
      raw.once('close', () => this.#connections.delete(raw));
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.listenPort, this.#options.listenHost, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const host = this.#options.listenHost;
    this.#address = this.#options.advertise ?? `${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${port}`;
    await this.#beat();
    await this.#readRegistry();
    this.#timer = setInterval(() => void this.#tick(), HEARTBEAT_MS);
    this.#timer.unref();
    // Not tied to Redis: the links must stay judged while Redis is away.
    this.#keepalive = setInterval(() => this.#keepLinksAlive(), KEEPALIVE_MS);
    this.#keepalive.unref();
    this.#options.logger.info({ node: this.id, address: this.#address }, 'cluster node registered');
  }

  /** The link to `nodeId`, opened on first use. */
  link(nodeId: string): NodeLink {
    let link = this.#links.get(nodeId);
    if (!link) {
      link = new NodeLink(nodeId, {
        self: this.id,
        prove: (role, nodeId, binding) => linkProof(this.#options.tokenSecret, role, nodeId, binding),
        resolve: () => this.#addressOf(nodeId),
        logger: this.#options.logger,
        // Each (re)connection: the other node hears this node's agents again, and how much of its own link
        // session arrived here (acknowledgements sent while this link was down were dropped).
        onOpen: (opened) => {
          const inbound = this.#inbound.get(nodeId);
          if (inbound) opened.ack(inbound.received, inbound.session);
          this.#emit('linkUp', opened);
        },
      });
      this.#links.set(nodeId, link);
    }
    return link;
  }

  async reserve(groupId: string, maxParticipants: number): Promise<{ endpointId: number; nodes: readonly PeerNode[] }> {
    if (!this.#options.redisUp()) throw new JoinError(CallErrorCode.IdentityStoreUnavailable, 'Redis is unreachable from this node: try again later');
    let reply: (number | string)[];
    const reservedAs = this.#id;
    try {
      reply = (await this.#options
        .redis()
        .eval(JOIN_SCRIPT, 3, clusterKeys.call(groupId), clusterKeys.endpointIds, clusterKeys.nodeCalls(this.id), maxParticipants, this.id, groupId)) as (number | string)[];
    } catch (error) {
      throw new JoinError(CallErrorCode.IdentityStoreUnavailable, `Redis could not take the join: ${(error as Error).message}`, { cause: error });
    }
    const endpointId = Number(reply[0]);
    if (endpointId === 0) throw new JoinError(CallErrorCode.CallFull, `call '${groupId}' is full (${maxParticipants} endpoints)`);
    if (this.#id !== reservedAs) {
      // This node rejoined its cluster under a new id meanwhile: the place was taken under the old one,
      // which nobody purges any more. It is given back, and the join refused (the agent tries again).
      // Purged (and marked) again under the old id, tried until done: no place of it may stay behind.
      this.#markLost(reservedAs);
      throw new JoinError(CallErrorCode.IdentityStoreUnavailable, 'this server node rejoined its cluster during the join: try again');
    }
    const nodes = reply.slice(1).map(String).filter((node) => !this.#lostIds.has(node));
    return { endpointId, nodes: nodes.map((node) => this.link(node)) };
  }

  release(groupId: string, endpointId: number): void {
    if (this.#closed || !this.#options.redisUp()) return; // resynchronised when Redis is back (#sync)
    this.#options
      .redis()
      .eval(RELEASE_SCRIPT, 1, clusterKeys.call(groupId), endpointId, this.id)
      .catch((error: unknown) => this.#options.logger.warn({ err: error, groupId, endpointId }, 'could not free an endpoint place in Redis'));
  }

  /**
   * After Redis was unreachable: this node's places become what it holds (departures it could not free
   * meanwhile are freed), and it is registered again (Redis may have come back empty).
   */
  async resync(): Promise<void> {
    // The beat first: if this node was declared lost meanwhile, it rejoins, and holds nothing.
    await this.#beat();
    const held: Record<string, number[]> = {};
    for (const [groupId, call] of this.#calls?.calls ?? []) held[groupId] = [...call.endpoints.keys()];
    await this.#options
      .redis()
      .eval(SYNC_SCRIPT, 1, clusterKeys.nodeCalls(this.id), this.id, clusterKeys.callPrefix, JSON.stringify(held).replace(/^\{\}$/, '{"":[]}'));
  }

  /** Leaves the registry (best effort), closes every link and the listener. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    clearInterval(this.#keepalive);
    if (this.#options.redisUp()) {
      try {
        await this.#purge(this.id, 0);
      } catch {
        // Others purge it once its heartbeat lapses.
      }
    }
    // Let what was written (the calls' last records) leave before the links close.
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const link of this.#links.values()) link.close();
    this.#links.clear();
    for (const socket of this.#incoming) socket.destroy();
    for (const raw of this.#connections) raw.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  async #addressOf(nodeId: string): Promise<string | undefined> {
    const known = this.#registry.get(nodeId);
    if (known) return known.address;
    if (!this.#options.redisUp()) return undefined;
    const json = await this.#options.redis().hget(clusterKeys.nodes, nodeId);
    return json ? (JSON.parse(json) as { address: string }).address : undefined;
  }

  async #tick(): Promise<void> {
    if (this.#closed || this.#rejoining || !this.#options.redisUp()) return;
    try {
      await this.#beat();
      await this.#readRegistry();
    } catch (error) {
      this.#options.logger.debug({ err: error }, 'cluster heartbeat failed');
    }
  }

  /** The heartbeat; if the other nodes declared this node lost, it rejoins the cluster first. */
  async #beat(): Promise<void> {
    if (this.#rejoining) return this.#rejoining;
    if ((await this.#beatOnce()) || this.#closed) return;
    this.#rejoining ??= this.#rejoinCluster().finally(() => (this.#rejoining = undefined));
    return this.#rejoining;
  }

  /** One heartbeat under the current id (BEAT_SCRIPT): false, writing nothing, if this id is marked lost. */
  async #beatOnce(): Promise<boolean> {
    const record = JSON.stringify({ address: this.#address, url: this.#options.url(), startedAt: this.#startedAt });
    const beaten = await this.#options.redis().eval(BEAT_SCRIPT, 3, clusterKeys.alive(this.id), clusterKeys.nodes, clusterKeys.lostMark(this.id), this.id, record, HEARTBEAT_TTL_MS);
    return Number(beaten) === 1;
  }

  /**
   * The other nodes declared this node lost while it could not answer them (it was frozen, or cut off from
   * them and from Redis), and have since dropped its endpoints from their calls, freed its places, and
   * forgotten its agents. Carrying on would leave two views of each call, so it starts over in the cluster
   * under a new id, so that no node mistakes it for what it was: its group call endpoints end now, quietly
   * (`declaredLost`: their agents find them gone and join again, as after a restart); the other nodes are
   * forgotten here as they forgot this one; what the old id may still hold in Redis (a join taken between
   * the purge and now) is purged; and it registers. Its listener and the 1:1 calls between its own agents
   * stay.
   */
  async #rejoinCluster(): Promise<void> {
    const lost = this.#id;
    this.#options.logger.error({ node: lost }, 'this node was declared lost by the other cluster nodes (it was frozen or cut off): ending its call endpoints and rejoining the cluster as a new node');
    // The new id first: a join made from here on takes its place under it.
    this.#id = randomUUID();
    this.rejoins++;
    this.#emit('declaredLost');
    for (const nodeId of [...this.#links.keys()]) this.#forget(nodeId);
    for (const inbound of this.#inbound.values()) inbound.socket.destroy();
    this.#inbound.clear();
    this.#missing.clear();
    this.#registry.clear();
    await this.#purge(lost, LOST_MARK_TTL_MS);
    await this.#beatOnce(); // a new id: never marked
    this.#options.logger.warn({ node: this.id, was: lost }, 'cluster node registered again under a new id');
    await this.#readRegistry();
  }

  /**
   * Every open link sends its keepalive; one whose node has gone silent is taken down. A run that comes late
   * follows a stall of this process itself (a long GC pause, a stopped VM): what the others sent meanwhile
   * is still unread in the sockets (timers run before I/O is polled), so it judges once that has been read.
   */
  #keepLinksAlive(afterIo = false): void {
    if (this.#closed) return;
    const now = performance.now();
    const late = now - this.#lastKeepalive > 2 * KEEPALIVE_MS;
    this.#lastKeepalive = now;
    if (late && !afterIo) return void setImmediate(() => this.#keepLinksAlive(true));
    for (const [nodeId, link] of this.#links) {
      const inbound = this.#inbound.get(nodeId);
      if (link.keepalive(inbound?.received ?? 0, inbound?.session ?? '')) this.silentLinks++;
    }
  }

  async #readRegistry(): Promise<void> {
    const flat = (await this.#options.redis().eval(REGISTRY_SCRIPT, 1, clusterKeys.nodes, clusterKeys.nodePrefix)) as string[];
    const seen = new Set<string>();
    this.#registry.clear();
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const id = String(flat[i]);
      const info = JSON.parse(String(flat[i + 1])) as { address: string; url: string; startedAt: number };
      const alive = Number(flat[i + 2]) === 1;
      this.#registry.set(id, { id, ...info, alive });
      seen.add(id);
      if (id === this.id) continue;
      if (alive && this.#lostIds.has(id)) {
        // Declared lost here, yet beating under its old id: the mark that would make it rejoin is missing
        // (it could not be written). Marked again, and not linked to.
        this.#markLost(id);
      } else if (alive) {
        this.#missing.delete(id);
        this.link(id); // every beating node gets a link: agents and calls can reach it at once
      }
    }
    for (const [id, link] of this.#links) {
      const info = this.#registry.get(id);
      if ((info?.alive ?? false) || link.open) {
        this.#missing.delete(id);
        continue;
      }
      const count = (this.#missing.get(id) ?? 0) + 1;
      this.#missing.set(id, count);
      if (count >= LOST_AFTER_READS) this.#lose(id, seen.has(id));
    }
  }

  #lose(nodeId: string, registered: boolean): void {
    this.nodesLost++;
    const now = performance.now();
    for (const [id, at] of this.#lostIds) if (now - at > LOST_MARK_TTL_MS) this.#lostIds.delete(id);
    this.#lostIds.set(nodeId, now);
    this.#options.logger.warn({ node: nodeId }, 'cluster node lost: its heartbeat lapsed and its link is down');
    this.#forget(nodeId);
    if (registered) this.#markLost(nodeId);
  }

  /**
   * Frees a lost node's places and marks it lost, so that it rejoins as a new node should it come back
   * (#rejoinCluster). Tried again each heartbeat until it is done: a node that came back unmarked would
   * carry on under its old id, with calls the others no longer share.
   */
  #markLost(nodeId: string): void {
    if (this.#closed || this.#marking.has(nodeId)) return;
    this.#marking.add(nodeId);
    const attempt = (): void => {
      this.#purge(nodeId, LOST_MARK_TTL_MS).then(
        () => this.#marking.delete(nodeId),
        (error: unknown) => {
          this.#options.logger.warn({ err: error, node: nodeId }, 'could not free a lost node’s places in Redis (trying again)');
          if (this.#closed) return void this.#marking.delete(nodeId);
          setTimeout(attempt, HEARTBEAT_MS).unref();
        },
      );
    };
    attempt();
  }

  /** What this node holds of `nodeId` goes: its link both ways, its endpoints in every call, its agents. */
  #forget(nodeId: string): void {
    this.#missing.delete(nodeId);
    this.#links.get(nodeId)?.close();
    this.#links.delete(nodeId);
    this.#inbound.get(nodeId)?.socket.destroy();
    this.#inbound.delete(nodeId);
    for (const call of this.#calls?.calls.values() ?? []) call.span?.nodeGone(nodeId);
    this.#emit('nodeLost', nodeId);
  }

  /** Removes `nodeId` from the registry and frees its places; `markMs` > 0 marks it lost for that long. */
  async #purge(nodeId: string, markMs: number): Promise<void> {
    await this.#options
      .redis()
      .eval(PURGE_SCRIPT, 4, clusterKeys.nodeCalls(nodeId), clusterKeys.nodes, clusterKeys.alive(nodeId), clusterKeys.lostMark(nodeId), nodeId, clusterKeys.callPrefix, markMs);
  }

  /**
   * An incoming link: hello first (the node proves it knows the token secret, over this TLS session), this
   * node's welcome back (its own proof), then the other node's records.
   */
  #accept(socket: TLSSocket): void {
    if (this.#closed) return void socket.destroy();
    this.#incoming.add(socket);
    socket.setNoDelay(true);
    // Until the hello has proven the peer, a record may be a hello and no more.
    const reader = new ClusterRecordReader(MAX_CLUSTER_HANDSHAKE_RECORD_BYTES);
    let from: NodeLink | undefined;
    let inbound: InboundSession | undefined;
    const helloTimer = setTimeout(() => socket.destroy(), HELLO_TIMEOUT_MS);
    helloTimer.unref();
    socket.on('data', (chunk: Buffer) => {
      // Any bytes from a proven node are a sign of life (its link's keepalive): once per chunk, not per record.
      if (from && inbound?.socket === socket) from.heard();
      try {
        for (const body of reader.push(chunk)) {
          const record = decodeClusterRecord(body);
          if (from && inbound) {
            if (inbound.socket !== socket || this.#inbound.get(from.id) !== inbound) return; // a newer connection of the session took over, or the node was forgotten
            if (record.type === ClusterRecordType.Control && record.control.t === 'ack') {
              // About this node's own link to it: not a record of the other node's stream. An ack of an
              // earlier session of that link (before it was closed and opened anew) counts nothing now.
              const { count, session } = record.control;
              if (typeof count === 'number' && session === from.session) from.acknowledged(count);
              continue;
            }
            inbound.received++;
            this.#acknowledgeSoon(from, inbound);
            this.#dispatch(from, record);
            continue;
          }
          const binding = channelBinding(socket);
          if (record.type !== ClusterRecordType.Control || record.control.t !== 'hello' || !this.#helloValid(record.control, binding)) {
            this.#options.logger.warn({ remote: socket.remoteAddress }, 'cluster link refused: no valid hello');
            return void socket.destroy();
          }
          clearTimeout(helloTimer);
          const { node, session } = record.control;
          if (this.#lostIds.has(node)) {
            this.#options.logger.info({ node }, 'cluster link refused: that node was declared lost (it comes back under a new id)');
            return void socket.destroy();
          }
          inbound = this.#inbound.get(node);
          if (inbound?.session === session) {
            // The session goes on after its connection broke: the old connection is not read any more.
            if (inbound.socket !== socket) inbound.socket.destroy();
            inbound.socket = socket;
          } else {
            inbound?.socket.destroy();
            inbound = { session, received: 0, socket, ackDue: false };
            this.#inbound.set(node, inbound);
          }
          socket.write(encodeClusterControl({ t: 'welcome', node: this.id, proof: linkProof(this.#options.tokenSecret, 'listener', this.id, binding), received: inbound.received }));
          reader.maxRecordBytes = MAX_CLUSTER_RECORD_BYTES;
          from = this.link(node);
        }
      } catch (error) {
        if (!(error instanceof ClusterRecordError)) throw error;
        this.#options.logger.warn({ err: error, node: from?.id }, 'cluster link closed: a malformed record');
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(helloTimer);
      this.#incoming.delete(socket);
    });
  }

  /** One cumulative acknowledgement per turn in which records of `from`'s session arrived. */
  #acknowledgeSoon(from: NodeLink, inbound: InboundSession): void {
    if (inbound.ackDue) return;
    inbound.ackDue = true;
    setImmediate(() => {
      inbound.ackDue = false;
      if (this.#inbound.get(from.id) === inbound) this.link(from.id).ack(inbound.received, inbound.session);
    });
  }

  #helloValid(hello: Extract<ClusterControl, { t: 'hello' }>, binding: Uint8Array): boolean {
    if (hello.version !== CLUSTER_LINK_VERSION || typeof hello.node !== 'string' || typeof hello.session !== 'string' || hello.node === this.id) return false;
    return proofMatches(linkProof(this.#options.tokenSecret, 'caller', hello.node, binding), hello.proof);
  }

  #dispatch(from: NodeLink, record: ClusterRecord): void {
    switch (record.type) {
      case ClusterRecordType.Data:
        return this.#data(from, record);
      case ClusterRecordType.Notice: {
        const endpoint = this.#calls?.endpoint(record.endpointId);
        // Receipts and slow-recipient reports are extension frames: an SDK of protocol 2 cannot read them.
        if (!endpoint || (isExtensionFrame(record.frame) && !speaksExtensionFrames(endpoint.protocolVersion))) return;
        endpoint.tell(record.frame);
        return;
      }
      case ClusterRecordType.Control:
        return this.#control(from, record.control);
    }
  }

  #data(from: NodeLink, record: Extract<ClusterRecord, { type: typeof ClusterRecordType.Data }>): void {
    const stats = this.#options.stats;
    stats.crossNode.messagesReceived++;
    stats.crossNode.bytesReceived += record.frame.byteLength;
    const span = this.spans.get(record.sender);
    if (!span) return; // its sender left (or its call ended here) meanwhile
    const { delivered, slow } = span.deliverLocal(record.kind, record.broadcast, record.sender, record.targets, record.frame, this.#options.clock.now());
    stats.deliveries += delivered;
    if (slow === 0) return;
    stats.drops[record.kind === 'durable' ? 'SlowReceiverDurable' : 'SlowReceiverLossy'] += slow;
    // A Durable copy dropped here is reported to its sender, on its node, as a local one would be.
    if (record.kind !== 'durable' || record.frame[0] !== FrameType.Deliver) return;
    const frame = decodeServerFrame(record.frame);
    if (frame.type !== FrameType.Deliver) return;
    from.notice(record.sender, encodeNotice(DropReason.RecipientSlow, frame.channelId, frame.sessionId, frame.sequenceNumber));
  }

  #control(from: NodeLink, control: ClusterControl): void {
    switch (control.t) {
      case 'members':
      case 'left':
      case 'callLeft':
      case 'endCall': {
        const call = this.#calls?.calls.get(control.groupId);
        const span = call && !call.closed ? call.span : undefined;
        if (!span) return; // no endpoint of that call here (any more): nothing to tell anyone
        if (control.t === 'members') span.membersFrom(from, Array.isArray(control.members) ? control.members : []);
        else if (control.t === 'left') span.leftFrom(from, control.endpointId);
        else if (control.t === 'callLeft') span.nodeGone(from.id);
        else call!.endedElsewhere({ code: control.code, message: control.message });
        return;
      }
      case 'hello':
      case 'welcome':
      case 'ack':
        return; // only the first record of a link; a welcome never comes on an incoming one; acks are taken before
      default:
        this.#emit('peerRecord', from, control);
    }
  }
}
