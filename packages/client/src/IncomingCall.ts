import type { PartyInfo } from '@backchannel/protocol';

import type { Call } from './Call.js';
import type { AudioOptions, VideoOptions } from './CallAgent.js';
import { publicEndReason, type CallEndReason } from './callEndReason.js';
import { communicationUserKind, type CommunicationIdentifierKind } from './identifiers.js';
import { CallError, CallErrorCode, callErrorFromWire } from './errors.js';
import { TypedEmitter } from './events.js';
import type { Ringing } from './internal/agent/Ringing.js';

export interface IncomingCallEvents {
  /** The call stopped ringing here: the caller hung up, nobody answered, or another device accepted. */
  callEnded: [event: { callEndReason: CallEndReason }];
}

/** A listener of `callEnded` (reference SDK: `CallEndedEvent`). */
export type CallEndedEvent = (args: { callEndReason: CallEndReason }) => void;

/** Who is calling (reference SDK: `CallerInfo`). */
export interface CallerInfo {
  readonly identifier: CommunicationIdentifierKind;
  /** The name the caller's agent gave, or `''`. */
  readonly displayName: string;
}

/**
 * Options of `accept()` (reference SDK: `AcceptCallOptions`). Backchannel carries no media yet: the
 * options are accepted, so that ported code compiles, and ignored.
 */
export interface AcceptCallOptions {
  videoOptions?: VideoOptions;
  audioOptions?: AudioOptions;
}

let wrap: (ringing: Ringing, acceptCall: () => Promise<Call>) => IncomingCall;

/**
 * A 1:1 call ringing this agent (reference SDK: `IncomingCall`), announced by the agent's `incomingCall`
 * event. `accept()` connects it, `reject()` ends it for the caller.
 */
export class IncomingCall extends TypedEmitter<IncomingCallEvents> {
  static {
    wrap = (ringing, acceptCall) => new IncomingCall(ringing, acceptCall);
  }

  readonly id: string;
  readonly callerInfo: CallerInfo;
  readonly #ringing: Ringing;
  readonly #acceptCall: () => Promise<Call>;
  #endReason: CallEndReason | undefined;

  private constructor(ringing: Ringing, acceptCall: () => Promise<Call>) {
    super(ringing.listenerErrorReporter);
    this.#ringing = ringing;
    this.#acceptCall = acceptCall;
    this.id = ringing.callId;
    const caller: PartyInfo = ringing.caller;
    this.callerInfo = Object.freeze({
      identifier: communicationUserKind(caller.identity),
      displayName: caller.displayName,
    });
    ringing.on('ended', () => this.emit('callEnded', { callEndReason: this.callEndReason! }));
  }

  /** Set once the call stopped ringing here: the reference's `{ code, subCode }`, with Backchannel's `name` and `message`. */
  get callEndReason(): CallEndReason | undefined {
    const cause = this.#ringing.endReason;
    if (cause && !this.#endReason) this.#endReason = publicEndReason(cause, 'ringing');
    return this.#endReason;
  }

  /**
   * Accepts the call. Resolves with the Call once this agent is confirmed as the one that answered; rejects
   * with a CallError if the call ended first (e.g. `AnsweredElsewhere`, `HungUp`).
   */
  async accept(options?: AcceptCallOptions): Promise<Call> {
    void options; // media options: nothing to apply until Backchannel carries media
    const ended = this.#ringing.endReason;
    if (ended) throw callErrorFromWire(ended.code, `the call is over: ${ended.message}`);
    if (this.#ringing.answered) throw new CallError(CallErrorCode.BadRequest, 'the call was already accepted or rejected');
    this.#ringing.markAccepted();
    return this.#acceptCall();
  }

  /** Rejects the call: the caller's call ends with `Rejected`, other devices stop ringing. */
  async reject(): Promise<void> {
    this.#ringing.reject();
  }
}

/** @internal The public object of a ringing call (used by the agent only). */
export function publicIncomingCall(ringing: Ringing, acceptCall: () => Promise<Call>): IncomingCall {
  return wrap(ringing, acceptCall);
}
