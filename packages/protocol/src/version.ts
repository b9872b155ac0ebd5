/**
 * Version of the Backchannel wire protocol (signaling messages and binary frames).
 *
 * Sent by the client in its `hello`; the server refuses versions it does not speak and answers, in its
 * `welcome`, the version the connection speaks: the client's own. Bump it whenever a frame layout or a
 * signaling message changes incompatibly. Retired frame types, flags and codes are never reused (see
 * docs/protocol.md).
 *
 * 3: batch frames (Batch 0x07, ServerBatch 0x88) and the roster as `participantsChanged`. A version-2 client
 * is still served: never sent a batch, and told of the roster with `participantJoined`/`participantLeft`.
 *
 * 4: LinkCommit (ServerLinkCommit 0x8c) from a cluster node, announced by `linkCommits` in the welcome. A
 * version-3 client is still served: never sent one, and its Durable messages are promised as before.
 */
export const PROTOCOL_VERSION = 4;

/** The oldest version a server still speaks. */
export const MIN_PROTOCOL_VERSION = 2;

/** The first version whose peers read batch frames. */
export const BATCH_PROTOCOL_VERSION = 3;

/** Whether a peer that said `version` is told of the roster in `participantsChanged` (else one message per change). */
export function speaksParticipantsChanged(version: number): boolean {
  return version >= 3;
}

/**
 * Whether a peer that said `version` reads the extensions' server frames (SlowRecipient, CopiesDropped,
 * Receipt): a version-2 SDK would count them as malformed.
 */
export function speaksExtensionFrames(version: number): boolean {
  return version >= 3;
}

/** The first version whose SDKs read LinkCommit (ServerLinkCommit 0x8c). */
export const LINK_COMMIT_PROTOCOL_VERSION = 4;

/** Whether a peer that said `version` may be sent LinkCommit frames (a cluster node's, docs/cluster.md). */
export function speaksLinkCommits(version: number): boolean {
  return version >= LINK_COMMIT_PROTOCOL_VERSION;
}

/** Whether a peer that said `version` may be sent batch frames. */
export function speaksBatches(version: number): boolean {
  return version >= BATCH_PROTOCOL_VERSION;
}
