/**
 * An impaired network path between SDK clients and a real server, in user space (no netem, no iptables):
 * a signaling relay the clients use as `serverUrl`, and a UDP relay in front of each server ICE candidate,
 * all impaired by the same changeable conditions.
 *
 *   const h = await startHarness({ rtcBindAddress: '127.0.0.1' }); // loopback candidates: see below
 *   const net = await ImpairedNetwork.start(h.server.url, { seed: 7 });
 *   const alice = await joinThrough(h, net, 'room');
 *   net.set({ loss: 0.1, delayMs: 50 });
 *   await net.outage(3000);
 *   await net.close();                                                 // then h.close()
 *
 * The server must gather IPv4 loopback candidates (`rtcBindAddress: '127.0.0.1'`): the relays let no other
 * candidate through, so that the relayed path is the only one.
 *
 * A 1:1 call's data path runs between the two parties: each party's IPv4 UDP host candidates reach the
 * other pointed at relays, every other candidate is dropped (see SignalingRelay), so that path goes through
 * the relays too:
 *
 *   const { caller, callee } = await callThrough(h, net);
 */
import assert from 'node:assert/strict';

import {
  CallClient,
  CommunicationTokenCredential,
  Features,
  type Call,
  type CallAgent,
  type DataChannelReceiver,
} from '@backchannel/client';

import type { Harness, Participant } from '../backchannel.js';
import { until, waitForEvent } from '../events.js';
import { isIpv4UdpHost, isLoopbackUdpHost, type CandidateAddress } from './candidates.js';
import { Conditions, emptyCounters, type NetworkSettings } from './Lane.js';
import { SignalingRelay, type SignalingCounters } from './SignalingRelay.js';
import { SocketTracker, UdpRelay, type UdpCounters } from './UdpRelay.js';
import { connected } from '../backchannel.js';

export { CLEAN_NETWORK, type DirectionCounters, type DropReason, type NetworkSettings } from './Lane.js';

export interface ImpairedNetworkOptions extends Partial<NetworkSettings> {
  /** Seed of the loss draws: the same seed drops the same datagrams of the same traffic. Default 1. */
  seed?: number;
  /** Drop the clients' own ICE candidates on their way to the server (see SignalingRelay). Default true. */
  dropClientCandidates?: boolean;
}

export interface OutageOptions {
  /**
   * Cut the signaling connections (no close frame) instead of holding their traffic: what a NAT rebinding
   * or a link dead for long enough does to TCP. Default false.
   */
  cutSignaling?: boolean;
}

export interface NetworkCounters {
  udp: UdpCounters;
  signaling: SignalingCounters;
}

export class ImpairedNetwork {
  readonly #conditions: Conditions;
  readonly #sockets = new SocketTracker();
  readonly #counters: NetworkCounters = {
    udp: { toServer: emptyCounters(), toClient: emptyCounters() },
    signaling: { toServer: emptyCounters(), toClient: emptyCounters() },
  };
  /** One relay per server candidate address, bound on first sight. */
  readonly #relays = new Map<string, Promise<UdpRelay>>();
  readonly #bound: UdpRelay[] = [];
  readonly #agents: CallAgent[] = [];
  /** Set by start(), right after the constructor: the relay needs the network's candidate map. */
  #signaling: SignalingRelay | undefined;
  #closed = false;

  private constructor(conditions: Conditions) {
    this.#conditions = conditions;
  }

  /** Starts the relays in front of the server at `serverUrl` (its HTTP base URL). */
  static async start(serverUrl: string, options: ImpairedNetworkOptions = {}): Promise<ImpairedNetwork> {
    const { seed = 1, dropClientCandidates = true, ...settings } = options;
    const conditions = new Conditions(settings, seed);
    const network = new ImpairedNetwork(conditions);
    network.#signaling = await SignalingRelay.start({
      target: serverUrl,
      conditions,
      counters: network.#counters.signaling,
      sockets: network.#sockets,
      mapCandidate: (candidate) => network.#relayFor(candidate, isLoopbackUdpHost),
      mapPeerCandidate: (candidate) => network.#relayFor(candidate, isIpv4UdpHost),
      dropClientCandidates,
    });
    return network;
  }

  /** Base URL for `new CallClient({ serverUrl })`: the signaling relay. */
  get url(): string {
    return this.#relay().url;
  }

  /** The settings now in force. */
  get settings(): Readonly<NetworkSettings> {
    return this.#conditions.settings;
  }

  /** Counters so far (live objects: read them when needed, copy them to compare). */
  get counters(): Readonly<NetworkCounters> {
    return this.#counters;
  }

  /** UDP relays bound so far (one per candidate let through), and the flows through them. */
  get relays(): { count: number; flows: number } {
    return { count: this.#bound.length, flows: this.#bound.reduce((sum, relay) => sum + relay.flowCount, 0) };
  }

  /** Sockets open now (relay sockets, signaling connections both sides, the listening server). */
  get openSockets(): number {
    return this.#sockets.open;
  }

  /** Changes some settings, for both directions of both relays, from the next packet on. */
  set(settings: Partial<NetworkSettings>): void {
    this.#conditions.set(settings);
  }

  /** The link goes down: UDP datagrams are dropped, signaling held (or cut, with `cutSignaling`). */
  down(options: OutageOptions = {}): void {
    this.#conditions.down(options.cutSignaling ?? false);
  }

  /** The link is back: held signaling traffic goes on, in order. */
  up(): void {
    this.#conditions.up();
  }

  /**
   * Cuts the signaling connections now, with no close frame, whatever the link's state: e.g. after
   * `down()` and a while, as a TCP connection on a dead link or behind a NAT that forgot it ends.
   */
  cutSignaling(): void {
    this.#relay().cutAll();
  }

  /** Down for `ms`, then up again; resolves when the link is back. */
  async outage(ms: number, options: OutageOptions = {}): Promise<void> {
    this.down(options);
    await new Promise((resolve) => this.#conditions.clock.setTimeout(() => resolve(undefined), ms));
    this.up();
  }

  /** An agent (created by {@link joinThrough}) to dispose of, through a clean link, on {@link close}. */
  adopt(agent: CallAgent): void {
    this.#agents.push(agent);
  }

  /**
   * Restores a clean link, disposes of the adopted agents (so they hang up through it), closes every relay
   * and connection, and asserts that no socket is left open. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#conditions.up();
    this.#conditions.set({ loss: 0, delayMs: 0, rateKbps: undefined });
    await Promise.all(this.#agents.splice(0).map((agent) => agent.dispose()));
    await this.#relay().close();
    for (const relay of this.#bound) relay.close();
    await Promise.allSettled(this.#relays.values());
    for (const relay of this.#bound) relay.close(); // any bound while the others closed
    await until(this.#sockets, 'change', () => this.#sockets.open === 0);
    assert.equal(this.#sockets.open, 0, 'impaired network: sockets left open');
  }

  // --- internals

  #relay(): SignalingRelay {
    if (!this.#signaling) throw new Error('impaired network not started');
    return this.#signaling;
  }

  #relayFor(candidate: CandidateAddress, kept: (candidate: CandidateAddress) => boolean): Promise<{ address: string; port: number } | undefined> {
    if (!kept(candidate) || this.#closed) return Promise.resolve(undefined);
    const key = `${candidate.address}:${candidate.port}`;
    let relay = this.#relays.get(key);
    if (!relay) {
      relay = UdpRelay.start({ address: candidate.address, port: candidate.port }, this.#conditions, this.#counters.udp, this.#sockets);
      void relay.then((bound) => this.#bound.push(bound), () => {});
      this.#relays.set(key, relay);
    }
    return relay.then((bound) => ({ address: bound.address, port: bound.port }));
  }
}

/**
 * Joins `groupId` through `network` as a new identity (created by the harness) and waits for Connected,
 * as `Harness.join` does directly. The agent is disposed of by `network.close()`.
 */
export async function joinThrough(
  harness: Harness,
  network: ImpairedNetwork,
  groupId: string,
  options: { displayName?: string; connectTimeoutMs?: number } = {},
): Promise<Participant> {
  const user = await harness.createUser();
  const displayName = options.displayName ?? `relayed-${user.identity.slice(-6)}`;
  const client = new CallClient({ serverUrl: network.url, ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}) });
  const agent = await client.createCallAgent(new CommunicationTokenCredential(user.token), { displayName });
  network.adopt(agent);
  const call = agent.join({ groupId });
  const dataChannel = call.feature(Features.DataChannel);
  const receivers: DataChannelReceiver[] = [];
  dataChannel.on('dataChannelReceiverCreated', (receiver) => receivers.push(receiver));
  await connected(call, 30_000);
  return { identity: user.identity, displayName, agent, call, dataChannel, receivers };
}

/** One party of a 1:1 call placed by {@link callThrough}. */
export type Party = Participant;

/**
 * A 1:1 call through `network` between two new identities (created by the harness): the caller places it,
 * the callee accepts, and both are Connected on return. Both agents are disposed of by `network.close()`.
 */
export async function callThrough(
  harness: Harness,
  network: ImpairedNetwork,
  options: { connectTimeoutMs?: number } = {},
): Promise<{ caller: Party; callee: Party }> {
  const agentOf = async (displayName: string): Promise<{ identity: string; agent: CallAgent }> => {
    const user = await harness.createUser();
    const client = new CallClient({ serverUrl: network.url, ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}) });
    const agent = await client.createCallAgent(new CommunicationTokenCredential(user.token), { displayName });
    network.adopt(agent);
    return { identity: user.identity, agent };
  };
  const party = (identity: string, displayName: string, agent: CallAgent, call: Call): Party => {
    const dataChannel = call.feature(Features.DataChannel);
    const receivers: DataChannelReceiver[] = [];
    dataChannel.on('dataChannelReceiverCreated', (receiver) => receivers.push(receiver));
    return { identity, displayName, agent, call, dataChannel, receivers };
  };
  const a = await agentOf('caller');
  const b = await agentOf('callee');
  const ringing = waitForEvent(b.agent, 'incomingCall');
  const callerCall = a.agent.startCall([{ communicationUserId: b.identity }]);
  const caller = party(a.identity, 'caller', a.agent, callerCall);
  const [{ incomingCall }] = await ringing;
  const callee = party(b.identity, 'callee', b.agent, await incomingCall.accept());
  await Promise.all([connected(caller.call, 30_000), connected(callee.call, 30_000)]);
  return { caller, callee };
}
