/**
 * The two data channels every Backchannel peer connection carries, by label: one reliable and ordered
 * (Durable), one unordered without retransmissions (Lossy). The offerer creates both; the answerer accepts
 * exactly these two and refuses any other.
 */

/** Which of the two SCTP channels: reliable and ordered, or unordered without retransmissions. */
export type ChannelKind = 'durable' | 'lossy';

/** Labels of the two channels, as they appear in the SCTP DATA_CHANNEL_OPEN message (RFC 8832). */
export const CHANNEL_LABELS = Object.freeze({ durable: 'backchannel-durable', lossy: 'backchannel-lossy' } as const);

/** The channel kind a label names, for channels the other side created; undefined for any other label. */
export function kindOfLabel(label: string): ChannelKind | undefined {
  if (label === CHANNEL_LABELS.durable) return 'durable';
  if (label === CHANNEL_LABELS.lossy) return 'lossy';
  return undefined;
}
