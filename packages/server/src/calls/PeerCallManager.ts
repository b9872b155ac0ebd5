/**
 * 1:1 calls. The server rings every agent of the callee, lets the first to accept win, relays SDP and ICE
 * between the two parties, and ends the call for both with a reason (rejected, no answer, hung up, the other
 * side gone). Data never passes through here: it flows on the parties' direct peer connection.
 */
import { randomUUID } from 'node:crypto';

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

interface PeerCall {
  readonly id: string;
  readonly caller: PeerParty;
  readonly calleeIdentity: string;
  /** Agents still ringing (before an answer). */
  readonly ringing: Set<PeerParty>;
  /** The agent that accepted. */
  callee: PeerParty | undefined;
  ringTimer: TimerHandle | undefined;
  readonly startedAt: number;
}

export interface PeerCallManagerOptions {
  limits: DataChannelLimits;
  ringTimeoutMs: number;
  /** Authenticated agents of an identity. */
  agentsOf(identity: string): PeerParty[];
  logger: Logger;
  /** Time for the ring timeout (default: the system clock). */
  clock?: Clock;
}

/** The server's 1:1 calls: ringing, answer, relay and ending (see the module comment). */
export class PeerCallManager {
  readonly #options: PeerCallManagerOptions;
  readonly #calls = new Map<string, PeerCall>();
  readonly #clock: Clock;

  constructor(options: PeerCallManagerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** `caller` rings every other agent of `calleeIdentity`; answered with `ringing` (or an error) under `ref`. */
  start(caller: PeerParty, ref: number, calleeIdentity: string): void {
    let ringing = 0;
    for (const call of this.#calls.values()) if (call.caller === caller && !call.callee) ringing++;
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
      caller,
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
    call.callee = agent;
    call.ringing.delete(agent);
    for (const other of call.ringing) this.#tell(other, call, PeerCallEndCode.AnsweredElsewhere, 'the call was answered on another device');
    call.ringing.clear();
    const callee = { identity: agent.identity, displayName: agent.displayName };
    call.caller.send({ type: 'callAccepted', callId, callee });
    agent.send({ type: 'callAccepted', callId, callee });
    this.#options.logger.info({ callId, msToAnswer: this.#clock.now() - call.startedAt }, 'peer call accepted');
  }

  /** `agent`, one of those ringing, declines: the call ends with Rejected. */
  reject(agent: PeerParty, callId: string): void {
    const call = this.#calls.get(callId);
    if (!call || call.callee || !call.ringing.has(agent)) return this.#notFound(agent, callId);
    call.ringing.delete(agent);
    this.#end(call, PeerCallEndCode.Rejected, 'the callee rejected the call');
  }

  /** Either party ends the call, before or after it connected. */
  hangUp(agent: PeerParty, callId: string): void {
    const call = this.#calls.get(callId);
    if (!call || (agent !== call.caller && agent !== call.callee)) return this.#notFound(agent, callId);
    this.#end(call, PeerCallEndCode.HungUp, 'the other party hung up', agent);
  }

  /** Relays SDP/ICE to the other party of an accepted call. */
  relay(agent: PeerParty, callId: string, signal: PeerSignal): void {
    const call = this.#calls.get(callId);
    const other = call && (agent === call.caller ? call.callee : agent === call.callee ? call.caller : undefined);
    if (!call || !other) return this.#notFound(agent, callId);
    other.send({ type: 'peerSignal', callId, signal });
  }

  /** An agent's connection closed: its calls end for the other side. */
  disconnected(agent: PeerParty): void {
    for (const call of [...this.#calls.values()]) {
      if (call.caller === agent || call.callee === agent) this.#end(call, CallErrorCode.ConnectionLost, 'the other party disconnected', agent);
      else if (call.ringing.delete(agent) && call.ringing.size === 0 && !call.callee) this.#end(call, PeerCallEndCode.CalleeOffline, 'the callee went offline');
    }
  }

  /** Ends every call (shutdown). */
  endAll(code: string, message: string): void {
    for (const call of [...this.#calls.values()]) this.#end(call, code, message);
  }

  /** Ends `call` for everyone involved except `initiator` (who already knows). */
  #end(call: PeerCall, code: string, message: string, initiator?: PeerParty): void {
    if (!this.#calls.delete(call.id)) return;
    this.#clock.clearTimeout(call.ringTimer);
    for (const party of [call.caller, call.callee, ...call.ringing]) if (party && party !== initiator) this.#tell(party, call, code, message);
    this.#options.logger.info({ callId: call.id, code, durationMs: this.#clock.now() - call.startedAt }, 'peer call ended');
  }

  #tell(agent: PeerParty, call: PeerCall, code: string, message: string): void {
    agent.send({ type: 'peerCallEnded', callId: call.id, code, message });
  }

  #notFound(agent: PeerParty, callId: string): void {
    agent.send({ type: 'peerCallEnded', callId, code: CallErrorCode.NotFound, message: `no call ${callId} for this agent` });
  }
}
