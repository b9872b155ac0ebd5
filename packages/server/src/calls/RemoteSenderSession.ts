/**
 * A session of a sender on another node of a cluster, as the recipients' node sees it: what the extensions
 * need there to treat its copies as it treats a local session's (ServerSession).
 *
 * - Delivery receipts: the recipients' acknowledgements are mapped back to it (ReceiptTracker), and each
 *   Receipt goes back over the link to the sender's node, as a Notice record.
 * - Slow-recipient feedback: a recipient here that is dropped for, held back or suspended is reported the
 *   same way, rate-limited as for a local sender (SlowRecipientReports); the copies dropped for a recipient
 *   are counted against this session and told to the recipient before its next copy (CopiesDropped).
 *
 * One per remote sender and channel (CallSpan keeps them with the remote member), replaced when the sender
 * opens a new session; the sender's node filters what an SDK too old for the extension frames cannot read.
 */
import { PROTOCOL_VERSION, encodeReceipt, type Clock, type SlowRecipientReason } from '@backchannel/protocol';

import type { PeerNode } from './CallSpan.js';
import type { CopySource } from './Endpoint.js';
import { SlowRecipientReports, type ReportSender } from './SlowRecipientReports.js';

/** A sender session, as the per-recipient counts of dropped copies name it. */
export interface SenderSessionKey {
  readonly channelId: number;
  readonly sessionId: number;
}

export class RemoteSenderSession implements CopySource {
  /** The sender's node: only its Notice records are used here. */
  readonly node: Pick<PeerNode, 'id' | 'notice'>;
  readonly senderId: number;
  readonly channelId: number;
  readonly sessionId: number;
  readonly #clock: Clock;
  #slowReports: SlowRecipientReports | undefined;
  #closed = false;

  constructor(node: Pick<PeerNode, 'id' | 'notice'>, senderId: number, channelId: number, sessionId: number, clock: Clock) {
    this.node = node;
    this.#clock = clock;
    this.senderId = senderId;
    this.channelId = channelId;
    this.sessionId = sessionId;
  }

  sendReceipt(recipientId: number, sequenceNumber: number): void {
    if (!this.#closed) this.node.notice(this.senderId, encodeReceipt(this.channelId, this.sessionId, recipientId, sequenceNumber));
  }

  /** `recipient` is slow for `reason`: its sender hears of it, at most once a second per recipient. */
  noteSlowRecipient(recipient: { readonly id: number }, reason: SlowRecipientReason, dropped: number, now: number): void {
    if (this.#closed) return;
    (this.#slowReports ??= new SlowRecipientReports(this.#asSender(), this.channelId, this.sessionId, this.#clock)).note(recipient, reason, dropped, now);
  }

  /** Replaced by a newer session, or its sender left: nothing more goes back. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#slowReports?.close();
  }

  /** The sender, for SlowRecipientReports: its frames go back over the link (its node checks its version). */
  #asSender(): ReportSender {
    const isClosed = (): boolean => this.#closed;
    return {
      get state() {
        return isClosed() ? 'closed' : 'admitted';
      },
      protocolVersion: PROTOCOL_VERSION,
      tell: (frame) => this.node.notice(this.senderId, frame),
    };
  }
}
