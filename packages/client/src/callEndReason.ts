/**
 * `callEndReason` as the reference reports it: an HTTP-like `code` and a `subCode`, the pairs its
 * documentation lists ("Troubleshooting call end response codes"), chosen for each of Backchannel's
 * reasons so that ported code branching on them keeps its meaning. Backchannel's own name for the reason
 * and its message stay on the object (`name`, `message`). docs/porting.md has the table; a unit test keeps
 * the two in step.
 */
import { CallErrorCode, PeerCallEndCode } from '@backchannel/protocol';

import type { EndCause } from './callTypes.js';

/** Why a call ended (reference SDK: `CallEndReason`), set once it is Disconnected. */
export interface CallEndReason {
  /** The reference's code: 0 for a normal end, else an HTTP/SIP-like status (table in docs/porting.md). */
  readonly code: number;
  /** The reference's subCode for that end, when it has one. */
  readonly subCode?: number;
  /**
   * Backchannel extension: the reason's stable name, a {@link CallErrorCode} (`ServerShutdown`,
   * `TransportFailed`, …) or a {@link PeerCallEndCode} (`HungUp`, `Rejected`, …); a newer server's name as
   * it came.
   */
  readonly name: CallErrorCode | PeerCallEndCode;
  /** Backchannel extension: what happened, for people. */
  readonly message: string;
}

/** @internal Where the call was when it ended: a few reasons read differently before the call connected. */
export type EndContext = 'ringing' | 'connecting' | 'connected';

interface ReferenceCode {
  readonly code: number;
  readonly subCode?: number;
}

/**
 * @internal The reference's code and subCode of each reason. Every CallErrorCode and PeerCallEndCode has
 * one (the Record's type checks it); the comments quote the reference's meaning of the pair.
 */
export const REFERENCE_END_CODES: Readonly<Record<CallErrorCode | PeerCallEndCode, ReferenceCode>> = {
  // "Call ended successfully by local participant." (also what the other party of a 1:1 call sees).
  [PeerCallEndCode.HungUp]: { code: 0, subCode: 0 },
  // "Call ended for all users by the meeting organizer."
  [PeerCallEndCode.EndedForEveryone]: { code: 0, subCode: 4097 },
  // "Call ended successfully as it was declined from callee."
  [PeerCallEndCode.Rejected]: { code: 603, subCode: 0 },
  // "Call was canceled on timeout, as target user didn't accept or reject it on time."
  [PeerCallEndCode.NoAnswer]: { code: 487, subCode: 10004 },
  // "Target user didn't have any endpoints registered with ACS."
  [PeerCallEndCode.CalleeOffline]: { code: 480, subCode: 10037 },
  // "Call was canceled for this user endpoint as it was accepted elsewhere, by another endpoint."
  [PeerCallEndCode.AnsweredElsewhere]: { code: 487, subCode: 10003 },
  // "Call ended as application didn't provide valid Azure Communication Services token."
  [CallErrorCode.InvalidToken]: { code: 495, subCode: 4507 },
  // "Call dropped due to unexpected network problem on the client" (3100 before connecting: "Call setup failed …").
  [CallErrorCode.TransportFailed]: { code: 410, subCode: 3101 },
  // "Call ended as client lost network connection abruptly, and despite retrying multiple times it wasn't able to connect."
  [CallErrorCode.ConnectionLost]: { code: 496, subCode: 7 },
  // "Communication Services infrastructure error."
  [CallErrorCode.ServerShutdown]: { code: 503 },
  // "Call not found."
  [CallErrorCode.NotFound]: { code: 404 },
  // The reference has no code for a full call: a refusal (403) without a subCode.
  [CallErrorCode.CallFull]: { code: 403 },
  [CallErrorCode.TooManyConnections]: { code: 403 },
  [CallErrorCode.BadRequest]: { code: 400 },
  [CallErrorCode.UnsupportedProtocol]: { code: 400 },
  // "Local media stack or media infrastructure error."
  [CallErrorCode.PlatformUnavailable]: { code: 410 },
  // "Communication Services infrastructure error." (the identity store is unreachable; the SDK retries)
  [CallErrorCode.IdentityStoreUnavailable]: { code: 503 },
};

/** @internal What a reason this SDK does not know (a newer server's) is reported as: a server error. */
export const UNKNOWN_END_CODE: ReferenceCode = { code: 500 };

/** @internal The public `callEndReason` of an end cause, frozen (one object per call, handed to every reader). */
export function publicEndReason(cause: EndCause, context: EndContext): CallEndReason {
  let reference = REFERENCE_END_CODES[cause.code as CallErrorCode | PeerCallEndCode] ?? UNKNOWN_END_CODE;
  if (cause.code === CallErrorCode.TransportFailed && context !== 'connected') reference = { code: 410, subCode: 3100 };
  // "Call ended successfully as caller canceled the call": what the callee sees when the caller hangs up.
  if (cause.code === PeerCallEndCode.HungUp && context === 'ringing') reference = { code: 487, subCode: 0 };
  return Object.freeze({ ...reference, name: cause.code as CallErrorCode | PeerCallEndCode, message: cause.message });
}
