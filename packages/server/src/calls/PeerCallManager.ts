/**
 * 1:1 calls. The server rings every agent of the callee, lets the first to accept win, relays SDP and ICE
 * between the two parties, and ends the call for both with a reason (rejected, no answer, hung up, the other
 * side gone). Data never passes through here: it flows on the parties' direct peer connection.
 *
 * An accepted call outlives a party's lost connection (docs/reliability.md): the party is *away* for the
 * resume window, signals for it are dropped (their sender will offer again), and a `resumePeerCall` of the
 * same identity with that party's resume token puts it back on the connection that sent it. Past the window
 * the call ends for the other party.
 *
 * On a cluster node, a watcher (ClusterPeerCalls) hears of every accepted call's seats and of its end, to
 * keep a replica on a party's node; that node adopts the call (`adopt`) should this one be lost.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

import {
  CallErrorCode,
  PeerCallEndCode,
  systemClock,
  type Clock,
  type DataChannelLimits,
  type PeerSignal,
  type ServerMessage,
  type TimerHandle,
} from '@backchannel/protocol';

import type { Logger } from '../logging.js';

/** Unanswered calls one agent may have ringing at once. */
const MAX_RINGING_PER_CALLER = 4;

/** One agent connection, as the 1:1 call manager sees it. */
export interface PeerParty {
  readonly identity: string;
  readonly displayName: string;
  send(message: ServerMessage): void;
}

/** A party's place in a call: the connection it is on now, and what takes it back after a loss. */
interface Seat {
  party: PeerParty;
  /** 128 random bits, sent to this party only (in `callAccepted`). */
  readonly resumeToken: string;
  /** Set while the party's connection is lost: ends the call when the resume window is over. */
  awayTimer: TimerHandle | undefined;
  awaySince: number;
}

interface PeerCall {
  readonly id: string;
  readonly caller: Seat;
  readonly calleeIdentity: string;
  /** Agents still ringing (before an answer). */
  readonly ringing: Set<PeerParty>;
  /** The agent that accepted. */
  callee: Seat | undefined;
  ringTimer: TimerHandle | undefined;
  readonly startedAt: number;
}

export interface PeerCallManagerOptions {
  limits: DataChannelLimits;
  ringTimeoutMs: number;
  /** How long an accepted call waits for a party whose connection was lost, ms (default 0: it ends at once). */
  resumeWindowMs?: number;
  /** Authenticated agents of an identity. */
  agentsOf(identity: string): PeerParty[];
  logger: Logger;
  /** Time for the ring timeout and the resume window (default: the system clock). */
  clock?: Clock;
}

/** A seat of an accepted call, as a watcher sees it. */
export interface PeerSeatView {
  readonly party: PeerParty;
  readonly resumeToken: string;
}

/** Told of accepted calls (ClusterPeerCalls: replicas on another node). */
export interface PeerCallWatcher {
  /** `callId` was accepted, or a party took its seat back on another connection. */
  seated(callId: string, caller: PeerSeatView, callee: PeerSeatView): void;
  /** `callId` is over (whatever the reason, and whether it was accepted or not). */
  ended(callId: string): void;
}

/** A seat of a call taken over from another node (`adopt`): `party` if its agent is here and connected. */
export interface AdoptedSeat {
  readonly identity: string;
  readonly displayName: string;
  readonly resumeToken: string;
  readonly party?: PeerParty;
}

/** What an agent connection asks of 1:1 calls (PeerCallManager; on a cluster node, ClusterPeerCalls in front of it). */
export type PeerCalls = Pick<PeerCallManager, 'start' | 'accept' | 'reject' | 'hangUp' | 'relay' | 'resume' | 'disconnected'>;

/** The server's 1:1 calls: ringing, answer, relay, resume and ending (see the module comment). */
export class PeerCallManager {
  readonly #options: PeerCallManagerOptions;
  readonly #calls = new Map<string, PeerCall>();
  readonly #clock: Clock;
  readonly #resumeWindowMs: number;
  #watcher: PeerCallWatcher | undefined;

  constructor(options: PeerCallManagerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#resumeWindowMs = options.resumeWindowMs ?? 0;
  }

  /** `watcher` hears of every accepted call from now on (one watcher). */
  watch(watcher: PeerCallWatcher): void {
    this.#watcher = watcher;
  }

  /**
   * Takes over accepted call `callId` from a node that was declared lost, from its replica. A seat whose
   * agent is here and connected keeps it; the other is away for the resume window, as if its connection had
   * just been lost (its agent takes it back with `resume`, through any node). Nobody is told: for both
   * parties the call goes on as it was. Returns whether it was adopted (not without a resume window).
   */
  adopt(callId: string, caller: AdoptedSeat, callee: AdoptedSeat): boolean {
    if (this.#calls.has(callId) || this.#resumeWindowMs <= 0) return false;
    const adopted = (s: AdoptedSeat): Seat => ({ party: s.party ?? vacant(s), resumeToken: s.resumeToken, awayTimer: undefined, awaySince: 0 });
    const call: PeerCall = { id: callId, caller: adopted(caller), calleeIdentity: callee.identity, ringing: new Set(), callee: adopted(callee), ringTimer: undefined, startedAt: this.#clock.now() };
    this.#calls.set(callId, call);
    this.#options.logger.warn({ callId, caller: caller.identity, callee: callee.identity }, 'peer call taken over from a lost node');
    for (const [place, given] of [[call.caller, caller], [call.callee!, callee]] as const) if (!given.party) this.#away(call, place);
    this.#seated(call);
    return true;
  }

  /** Forgets, without a word to anyone, every call `test` picks (this node's view of them is void). */
  forsake(test: (callId: string, parties: readonly PeerParty[]) => boolean): void {
    for (const call of [...this.#calls.values()]) {
      if (!test(call.id, [call.caller.party, ...(call.callee ? [call.callee.party] : []), ...call.ringing])) continue;
      this.#calls.delete(call.id);
      this.#clock.clearTimeout(call.ringTimer);
      for (const place of [call.caller, call.callee]) this.#clock.clearTimeout(place?.awayTimer);
      this.#options.logger.info({ callId: call.id }, 'peer call forsaken: this node was declared lost, and another holds it now');
    }
  }

  /** Calls not ended (ringing, connected, or waiting for a party to come back). */
  get size(): number {
    return this.#calls.size;
  }

  /** `caller` rings every other agent of `calleeIdentity`; answered with `ringing` (or an error) under `ref`. */
  start(caller: PeerParty, ref: number, calleeIdentity: string): void {
    let ringing = 0;
    for (const call of this.#calls.values()) if (call.caller.party === caller && !call.callee) ringing++;
    if (ringing >= MAX_RINGING_PER_CALLER) {
      caller.send({ type: 'error', ref, code: CallErrorCode.BadRequest, message: `at most ${MAX_RINGING_PER_CALLER} calls ringing at once per agent` });
      return;
    }
    const agents = this.#options.agentsOf(calleeIdentity).filter((agent) => agent !== caller);
    if (agents.length === 0) {
      caller.send({ type: 'error', ref, code: PeerCallEndCode.CalleeOffline, message: `${calleeIdentity} has no connected agent` });
      return;
    }
    const call: PeerCall = {
      id: randomUUID(),
      caller: seat(caller),
      calleeIdentity,
      ringing: new Set(agents),
      callee: undefined,
      ringTimer: undefined,
      startedAt: this.#clock.now(),
    };
    this.#calls.set(call.id, call);
    call.ringTimer = this.#clock.setTimeout(() => this.#end(call, PeerCallEndCode.NoAnswer, 'nobody answered'), this.#options.ringTimeoutMs);
    const limits = { ...this.#options.limits };
    for (const agent of agents) {
      agent.send({ type: 'incomingCall', callId: call.id, caller: { identity: caller.identity, displayName: caller.displayName }, limits });
    }
    caller.send({ type: 'ringing', ref, callId: call.id, limits });
    this.#options.logger.info({ callId: call.id, caller: caller.identity, callee: calleeIdentity, agents: agents.length }, 'peer call ringing');
  }

  /** `agent`, one of those ringing, answers: the others stop ringing and both parties are told. */
  accept(agent: PeerParty, callId: string): void {
    const call = this.#calls.get(callId);
    if (!call || call.callee || !call.ringing.has(agent)) return this.#notFound(agent, callId);
    this.#clock.clearTimeout(call.ringTimer);
    call.callee = seat(agent);
    call.ringing.delete(agent);
    for (const other of call.ringing) this.#tell(other, call, PeerCallEndCode.AnsweredElsewhere, 'the call was answered on another device');
    call.ringing.clear();
    const callee = { identity: agent.identity, displayName: agent.displayName };
    const resumeWindowMs = this.#resumeWindowMs;
    call.caller.party.send({ type: 'callAccepted', callId, callee, resumeToken: call.caller.resumeToken, resumeWindowMs });
    agent.send({ type: 'callAccepted', callId, callee, resumeToken: call.callee.resumeToken, resumeWindowMs });
    this.#options.logger.info({ callId, msToAnswer: this.#clock.now() - call.startedAt }, 'peer call accepted');
    this.#seated(call);
  }

  /** `agent`, one of those ringing, declines: the call ends with Rejected. */
  reject(agent: PeerParty, callId: string): void {
    const call = this.#calls.get(callId);
    if (!call || call.callee || !call.ringing.has(agent)) return this.#notFound(agent, callId);
    call.ringing.delete(agent);
    this.#end(call, PeerCallEndCode.Rejected, 'the callee rejected the call');
  }

  /**
   * Either party ends the call, before or after it connected: a hang-up, or (`lost`) its SDK gave up
   * waiting for the connection to come back, which the other party hears as ConnectionLost.
   */
  hangUp(agent: PeerParty, callId: string, lost?: { message: string }): void {
    const call = this.#calls.get(callId);
    if (!call || !seatOf(call, agent)) return this.#notFound(agent, callId);
    if (lost) this.#end(call, CallErrorCode.ConnectionLost, `the other party's connection was lost: ${lost.message}`, agent);
    else this.#end(call, PeerCallEndCode.HungUp, 'the other party hung up', agent);
  }

  /**
   * Relays SDP/ICE to the other party of an accepted call. A signal for a party that is away is dropped: it
   * could be stale by the time the party is back, and the transport is set up afresh then anyway.
   */
  relay(agent: PeerParty, callId: string, signal: PeerSignal): void {
    const call = this.#calls.get(callId);
    const from = call && seatOf(call, agent);
    const to = from && (from === call.caller ? call.callee : call.caller);
    if (!call || !to) return this.#notFound(agent, callId);
    if (to.awayTimer !== undefined) return;
    to.party.send({ type: 'peerSignal', callId, signal });
  }

  /** Whether this manager holds 1:1 call `callId` (ringing or accepted). */
  holds(callId: string): boolean {
    return this.#calls.has(callId);
  }

  /**
   * `agent` takes back its place in an accepted call after a lost connection: the same identity with that
   * place's resume token (compared in constant time). Every refusal is the same NotFound, so a client learns
   * nothing of calls it may not resume: unknown or ended (the window is over), not accepted yet, no resume
   * window, another identity, the wrong token. The old connection, noticed dead or not yet, is replaced.
   */
  resume(agent: PeerParty, ref: number, callId: string, resumeToken: string): void {
    const call = this.#calls.get(callId);
    const place = call?.callee && this.#resumeWindowMs > 0 ? [call.caller, call.callee].find((s) => s.party.identity === agent.identity && matches(s.resumeToken, resumeToken)) : undefined;
    const other = place && call && (place === call.caller ? call.callee : call.caller);
    // One connection cannot be both parties (start() never rings the caller's own connection).
    if (!call || !place || other?.party === agent) {
      return agent.send({ type: 'error', ref, code: CallErrorCode.NotFound, message: 'no call to resume' });
    }
    const wasAway = place.awayTimer !== undefined;
    this.#clock.clearTimeout(place.awayTimer);
    place.awayTimer = undefined;
    place.party = agent;
    agent.send({ type: 'peerCallResumed', ref, callId });
    this.#options.logger.info({ callId, identity: agent.identity, msAway: wasAway ? this.#clock.now() - place.awaySince : 0 }, 'peer call party back');
    this.#seated(call);
  }

  /**
   * An agent's connection closed. `lost` (the network, or the client went away: not the server closing it on
   * purpose): in its accepted calls it is away for the resume window. Otherwise, or in calls still ringing,
   * they end for the other side at once.
   */
  disconnected(agent: PeerParty, lost = false): void {
    for (const call of [...this.#calls.values()]) {
      const place = seatOf(call, agent);
      if (place) {
        if (lost && call.callee && this.#resumeWindowMs > 0) this.#away(call, place);
        else this.#end(call, CallErrorCode.ConnectionLost, 'the other party disconnected', agent);
      } else if (call.ringing.delete(agent) && call.ringing.size === 0 && !call.callee) {
        this.#end(call, PeerCallEndCode.CalleeOffline, 'the callee went offline');
      }
    }
  }

  /** Ends every call (shutdown). */
  endAll(code: string, message: string): void {
    for (const call of [...this.#calls.values()]) this.#end(call, code, message);
  }

  /** `place`'s connection is lost: the call waits for it for the resume window, then ends for the other party. */
  #away(call: PeerCall, place: Seat): void {
    const windowMs = this.#resumeWindowMs;
    place.awaySince = this.#clock.now();
    place.awayTimer = this.#clock.setTimeout(() => {
      place.awayTimer = undefined;
      this.#end(call, CallErrorCode.ConnectionLost, `the other party did not come back within ${windowMs} ms`, place.party);
    }, windowMs);
    this.#options.logger.info({ callId: call.id, identity: place.party.identity, windowMs }, 'peer call party away');
  }

  /** Ends `call` for everyone involved except `initiator` (who already knows, or cannot hear it). */
  #end(call: PeerCall, code: string, message: string, initiator?: PeerParty): void {
    if (!this.#calls.delete(call.id)) return;
    this.#clock.clearTimeout(call.ringTimer);
    for (const place of [call.caller, call.callee]) this.#clock.clearTimeout(place?.awayTimer);
    const parties = [call.caller.party, call.callee?.party, ...call.ringing];
    for (const party of parties) if (party && party !== initiator) this.#tell(party, call, code, message);
    this.#options.logger.info({ callId: call.id, code, durationMs: this.#clock.now() - call.startedAt }, 'peer call ended');
    this.#watcher?.ended(call.id);
  }

  #seated(call: PeerCall): void {
    if (call.callee) this.#watcher?.seated(call.id, call.caller, call.callee);
  }

  #tell(agent: PeerParty, call: PeerCall, code: string, message: string): void {
    agent.send({ type: 'peerCallEnded', callId: call.id, code, message });
  }

  #notFound(agent: PeerParty, callId: string): void {
    agent.send({ type: 'peerCallEnded', callId, code: CallErrorCode.NotFound, message: `no call ${callId} for this agent` });
  }
}

/** The party of an adopted seat whose agent is not here: away until it takes the seat back. */
function vacant(seat: AdoptedSeat): PeerParty {
  return { identity: seat.identity, displayName: seat.displayName, send: () => undefined };
}

function seat(party: PeerParty): Seat {
  return { party, resumeToken: randomBytes(16).toString('base64url'), awayTimer: undefined, awaySince: 0 };
}

/** The seat `agent` holds in `call` now (a party's old connection, replaced by a resume, holds none). */
function seatOf(call: PeerCall, agent: PeerParty): Seat | undefined {
  if (call.caller.party === agent) return call.caller;
  if (call.callee?.party === agent) return call.callee;
  return undefined;
}

function matches(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}
