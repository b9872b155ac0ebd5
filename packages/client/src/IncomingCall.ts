import type { PartyInfo, WireDataChannelLimits } from '@backchannel/protocol';

import type { Call, CallEndReason } from './Call.js';
import type { CommunicationIdentifierKind } from './dataChannel/types.js';
import { CallError, CallErrorCode, PeerCallEndCode } from './errors.js';
import { TypedEmitter } from './events.js';

export interface IncomingCallEvents {
  [event: string]: unknown[];
  /** The call stopped ringing here: the caller hung up, nobody answered, or another device accepted. */
  callEnded: [event: { callEndReason: CallEndReason }];
}

/** @internal How an incoming call becomes a Call. */
export interface IncomingCallOwner {
  accept(callId: string, caller: PartyInfo, limits: WireDataChannelLimits): Call;
  reject(callId: string): void;
}

/**
 * A 1:1 call ringing this agent (reference SDK: `IncomingCall`), announced by the agent's `incomingCall`
 * event. `accept()` connects it, `reject()` ends it for the caller.
 */
export class IncomingCall extends TypedEmitter<IncomingCallEvents> {
  readonly id: string;
  readonly callerInfo: { identifier: CommunicationIdentifierKind; displayName: string };
  readonly #caller: PartyInfo;
  readonly #limits: WireDataChannelLimits;
  readonly #owner: IncomingCallOwner;
  #endReason: CallEndReason | undefined;
  #answered = false;

  /** @internal Created by the call agent. */
  constructor(callId: string, caller: PartyInfo, limits: WireDataChannelLimits, owner: IncomingCallOwner) {
    super();
    this.id = callId;
    this.#caller = caller;
    this.#limits = limits;
    this.#owner = owner;
    this.callerInfo = { identifier: { kind: 'communicationUser', communicationUserId: caller.identity }, displayName: caller.displayName };
  }

  /** Set once the call stopped ringing here. */
  get callEndReason(): CallEndReason | undefined {
    return this.#endReason;
  }

  /**
   * Accepts the call. Resolves with the Call once this agent is confirmed as the one that answered; rejects
   * with a CallError if the call ended first (e.g. `AnsweredElsewhere`, `HungUp`).
   */
  async accept(): Promise<Call> {
    if (this.#endReason) throw new CallError(this.#endReason.code, `the call is over: ${this.#endReason.message}`);
    if (this.#answered) throw new CallError(CallErrorCode.BadRequest, 'the call was already accepted or rejected');
    this.#answered = true;
    const call = this.#owner.accept(this.id, this.#caller, this.#limits);
    await call.accepted;
    return call;
  }

  /** Rejects the call: the caller's call ends with `Rejected`, other devices stop ringing. */
  async reject(): Promise<void> {
    if (this.#endReason || this.#answered) return;
    this.#answered = true;
    this.#owner.reject(this.id);
    this.ended({ code: PeerCallEndCode.Rejected, message: 'the call was rejected' });
  }

  /** @internal The call stopped ringing here. */
  ended(reason: CallEndReason): void {
    if (this.#endReason) return;
    this.#endReason = reason;
    this.emit('callEnded', { callEndReason: reason });
  }
}
