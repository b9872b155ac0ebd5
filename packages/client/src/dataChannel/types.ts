import type { Priority, Reliability } from '@backchannel/protocol';

import type { CommunicationIdentifier } from '../identifiers.js';

export type DataChannelPriority = Priority;
export type DataChannelReliability = Reliability;

/** Options of `createDataChannelSender` (reference SDK: `DataChannelSenderOpenOptions`). */
export interface DataChannelSenderOpenOptions {
  /** 1–65535, chosen by the application; 0 or absent picks a free id. */
  channelId?: number;
  /** Requested bandwidth; clamped to the limit for the sender's reliability and priority. Default: that limit. */
  bitrateInKbps?: number;
  /** Recipients; empty or absent broadcasts to everyone else in the call. At most 64 endpoints. */
  participants?: CommunicationIdentifier[];
  /** Default 'Normal'. */
  priority?: DataChannelPriority;
  /** Default 'Durable'. */
  reliability?: DataChannelReliability;
  /**
   * Backchannel extension (state for late joiners), Durable senders only. `'last'`: the server keeps this
   * sender's latest message and delivers it, with its sequence number, to every endpoint that joins or
   * becomes a recipient later, before any newer message. Default `'none'` (as the reference).
   */
  retain?: DataChannelRetain;
  /**
   * Backchannel extension (delivery receipts), Durable senders only: the sender learns, per recipient
   * endpoint, up to which sequence number its messages reached that endpoint's SDK (`messagesDelivered`,
   * `whenDelivered`). Default false (as the reference).
   */
  receipts?: boolean;
}

/** Backchannel extension: what the server keeps of a sender's messages for later recipients. */
export type DataChannelRetain = 'none' | 'last';

/** One received message. */
export interface DataChannelMessage {
  /** The sender session's uint32 sequence number; gaps mean messages addressed to others (or lost, if Lossy). */
  sequenceNumber: number;
  data: Uint8Array;
}

/**
 * Backchannel extension (slow-recipient feedback): why the server reports a recipient slow.
 *
 * - `'Dropping'`: copies of this sender's messages for it were dropped (it is further behind than the
 *   server's bounds allow; for a Durable sender each such message was also reported on `messageDropped`);
 * - `'Backlogged'`: its copies still go, but late: what waits for it is past half of the server's bound;
 * - `'Suspended'`: its connection is lost; its copies are kept for its resume.
 */
export type DataChannelSlowRecipientReason = 'Dropping' | 'Backlogged' | 'Suspended';
