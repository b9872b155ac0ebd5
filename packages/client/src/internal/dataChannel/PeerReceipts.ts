/**
 * Delivery receipts (an extension, docs/api.md "Delivery receipts") in a 1:1 call, where no server sends
 * Receipt frames: the peer's SDK acknowledges this side's Durable link frames (LinkAck, cumulative and
 * batched, or the count in its LinkResume after a new transport) once they are in its receive buffers, which
 * is what a receipt says. Each acknowledgement is mapped back, through the frames it releases, to the highest
 * sequence number per sender session it covers, and each such sender hears of it once per acknowledgement.
 *
 * The link shows it every frame it forgets ({@link frame}), then says the acknowledgement is over
 * ({@link done}). Frames of senders without receipts cost one type-and-flag test each.
 */
import { isReceiptedSend, readDataAddress, type DataAddress } from '@backchannel/protocol';

import type { SenderState } from './SenderState.js';

export interface PeerReceiptsContext {
  /** The sender open on a channel now. */
  senderOn(channelId: number): SenderState | undefined;
  /** The remote party: its endpoint id and identity (undefined before the call is set up). */
  peer(): { readonly endpointId: number; readonly identity: string } | undefined;
}

export class PeerReceipts {
  readonly #context: PeerReceiptsContext;
  /** The highest sequence number each sender reached in the acknowledgement being read. */
  readonly #highest = new Map<SenderState, number>();
  readonly #address: DataAddress = { channelId: 0, sessionId: 0, sequenceNumber: 0 };

  constructor(context: PeerReceiptsContext) {
    this.#context = context;
  }

  /** A frame the peer acknowledged, oldest first. */
  readonly frame = (frame: Uint8Array): void => {
    if (!isReceiptedSend(frame)) return;
    const { channelId, sessionId, sequenceNumber } = readDataAddress(frame, this.#address);
    const sender = this.#context.senderOn(channelId);
    // A message of a session since replaced: its sender's receipts ended with it.
    if (sender?.sessionId === sessionId) this.#highest.set(sender, sequenceNumber);
  };

  /** The acknowledgement is read: one receipt per sender it covered. */
  readonly done = (): void => {
    if (this.#highest.size === 0) return;
    const peer = this.#context.peer();
    if (peer) for (const [sender, sequenceNumber] of this.#highest) sender.reportReceipt(peer.endpointId, peer.identity, sequenceNumber);
    this.#highest.clear();
  };
}
