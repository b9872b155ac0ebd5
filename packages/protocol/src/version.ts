/**
 * Version of the Backchannel wire protocol (signaling messages and binary frames).
 *
 * Sent by the client in its `hello`; the server refuses versions it does not speak. Bump it whenever a
 * frame layout or a signaling message changes incompatibly. Retired frame types, flags and codes are never
 * reused (see docs/protocol.md).
 */
export const PROTOCOL_VERSION = 3;
