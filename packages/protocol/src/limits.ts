/**
 * Data-channel limits (SPEC §4). The server owns them: it enforces each one itself and advertises the
 * values to every endpoint when it joins, so the SDK can refuse over-limit calls locally and at once.
 */
export interface DataChannelLimits {
  /** Largest payload of one message, in bytes (`maxMessageSize`). */
  readonly maxMessageSizeBytes: number;
  /** Most recipient endpoints one sender may address. */
  readonly maxRecipients: number;
  /** Highest bitrate of a Durable sender, kbit/s. */
  readonly durableMaxKbps: number;
  /** Highest bitrate of a Normal-priority Lossy sender, kbit/s. */
  readonly lossyMaxKbps: number;
  /** Highest bitrate of a High-priority Lossy sender, kbit/s. */
  readonly highPriorityLossyMaxKbps: number;
  /** Broadcast packets one endpoint may send per second (all its broadcasting senders together). */
  readonly broadcastPacketsPerSecond: number;
  /** Bytes per broadcast packet: a message counts one packet per started `broadcastPacketBytes`. */
  readonly broadcastPacketBytes: number;
  /**
   * Share of what an endpoint currently receives that is taken off its broadcast send budget:
   * broadcast budget = sender's maximum − `broadcastReceiveShare` × received bitrate.
   */
  readonly broadcastReceiveShare: number;
  /** A receiver with no message for this long is closed, in milliseconds. */
  readonly receiverIdleCloseMs: number;
  /**
   * How far (ms of traffic at its pace) a sender may fall behind before new messages fail or drop; for Durable
   * senders also how long a message may wait at the rate the path was measured to drain (docs/reliability.md).
   */
  readonly maxSendBacklogMs: number;
}

/** Defaults of the reference product. */
export const DEFAULT_LIMITS: DataChannelLimits = Object.freeze({
  maxMessageSizeBytes: 32 * 1024,
  maxRecipients: 64,
  durableMaxKbps: 64,
  lossyMaxKbps: 512,
  highPriorityLossyMaxKbps: 200,
  broadcastPacketsPerSecond: 80,
  broadcastPacketBytes: 1200,
  broadcastReceiveShare: 0.8,
  receiverIdleCloseMs: 2 * 60 * 1000,
  maxSendBacklogMs: 2000,
});

/** Channel ids an application may use; 0 asks the SDK to pick a free one. */
export const MIN_CHANNEL_ID = 1;
export const MAX_CHANNEL_ID = 65535;

export type Reliability = 'Durable' | 'Lossy';
export type Priority = 'High' | 'Normal';

/** The bitrate ceiling for a sender of this class, kbit/s. */
export function senderMaxKbps(limits: DataChannelLimits, reliability: Reliability, priority: Priority): number {
  if (reliability === 'Durable') return limits.durableMaxKbps;
  return priority === 'High' ? limits.highPriorityLossyMaxKbps : limits.lossyMaxKbps;
}

/** Broadcast packets a message of `bytes` payload counts for: one per started packet, at least one. */
export function broadcastPacketCount(limits: DataChannelLimits, bytes: number): number {
  return Math.max(1, Math.ceil(bytes / limits.broadcastPacketBytes));
}

/**
 * SPEC §4 broadcast budget, kbit/s: the sender's maximum minus `broadcastReceiveShare` (80%) of what its
 * endpoint receives now. `shareFactor` scales that deduction (the server applies less than the SDK, since
 * the two measure the received bitrate at different points). Zero or less: no broadcast may go.
 */
export function broadcastBudgetKbps(limits: DataChannelLimits, senderMaxKbps: number, receivedKbps: number, shareFactor = 1): number {
  return senderMaxKbps - shareFactor * limits.broadcastReceiveShare * receivedKbps;
}
