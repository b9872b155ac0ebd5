/**
 * @backchannel/protocol — the one source of every wire shape shared by the Backchannel client and server:
 * binary data frames, signaling messages, limits and error codes. No I/O.
 */
export { BATCH_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, LINK_COMMIT_PROTOCOL_VERSION, speaksBatches, speaksExtensionFrames, speaksLinkCommits, speaksParticipantsChanged } from './version.js';
export * from './clock.js';
export * from './durableLink.js';
export * from './drainRate.js';
export * from './limits.js';
export * from './permissions.js';
export * from './errors.js';
export * from './channels.js';
export * from './frames.js';
export * from './batch.js';
export * from './signaling.js';
export * from './pacing.js';
export * from './rateMeter.js';
export * from './appMessages.js';
export * from './cluster.js';
