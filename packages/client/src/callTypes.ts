/** Plain types of the call API, shared by the public classes and the implementation beneath them. */

/**
 * A call's state (reference SDK: `CallState`, the whole union, so that ported code comparing with any of
 * its values compiles). Backchannel calls go None → Connecting (→ Ringing, 1:1) → Connected →
 * Disconnecting → Disconnected; `LocalHold`, `RemoteHold`, `InLobby` and `EarlyMedia` belong to media and
 * meetings, which Backchannel does not have, and are never reported.
 */
export type CallState = 'None' | 'Connecting' | 'Ringing' | 'Connected' | 'LocalHold' | 'RemoteHold' | 'InLobby' | 'Disconnecting' | 'Disconnected' | 'EarlyMedia';

/**
 * Why a call ended, inside the SDK: a CallErrorCode or PeerCallEndCode (or a newer server's code), and a
 * message. The public `callEndReason` is made from it (callEndReason.ts).
 */
export interface EndCause {
  code: string;
  message: string;
}
