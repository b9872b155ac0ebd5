/** Plain types of the call API, shared by the public classes and the implementation beneath them. */

/** A call's state (reference SDK: `CallState`). */
export type CallState = 'None' | 'Connecting' | 'Ringing' | 'Connected' | 'Disconnecting' | 'Disconnected';

/** Why a call ended (reference SDK: `callEndReason`). `code` is a CallErrorCode or a PeerCallEndCode. */
export interface CallEndReason {
  code: string;
  message: string;
}
