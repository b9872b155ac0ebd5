/**
 * Delivery receipts (an extension, docs/api.md "Delivery receipts"), the recipient's side: which of the
 * Durable link frames sent to one endpoint were messages whose sender asked for receipts (FrameFlag.Receipts),
 * by link frame number. The endpoint's cumulative LinkAcks (the resume link's, already sent batched) say how
 * many link frames its SDK has taken in; each acknowledgement is mapped back to the highest sequence number
 * per sender session it covers, and each such session sends its sender one Receipt frame for this recipient.
 * A receipt costs no frame of the recipient's and no per-message round trip; a message without the flag
 * costs nothing here.
 *
 * Entries are in link order, so they leave from the front; they are bounded by what the link keeps (each
 * entry is one frame the link still keeps, or just acknowledged).
 */
/**
 * Where one sender session's receipts go: the local session (ServerSession, which hands a Receipt frame to
 * its sender) or, in a cluster, a sender on another node (RemoteSenderSession).
 */
export interface ReceiptSink {
  sendReceipt(recipientId: number, sequenceNumber: number): void;
}

interface Pending {
  /** The frame's link number (mod 2^32). */
  readonly number: number;
  readonly session: ReceiptSink;
  readonly sequenceNumber: number;
}

/** Whether link number `a` is at or before `b`, mod 2^32 (a window is far below 2^31). */
function atOrBefore(a: number, b: number): boolean {
  return ((b - a) >>> 0) < 0x80000000;
}

export class ReceiptTracker {
  #pending: Pending[] = [];
  #head = 0;

  /** A receipts-flagged message of `session` went to the endpoint as link frame `number`. */
  note(number: number, session: ReceiptSink, sequenceNumber: number): void {
    this.#pending.push({ number, session, sequenceNumber });
  }

  /**
   * The endpoint has acknowledged link frames up to `count`: each session whose messages that covers is
   * told the highest sequence number it reached (one receipt per session per acknowledgement).
   */
  acknowledged(count: number, recipientId: number): void {
    const pending = this.#pending;
    if (this.#head >= pending.length) return;
    let highest: Map<ReceiptSink, number> | undefined;
    while (this.#head < pending.length && atOrBefore(pending[this.#head]!.number, count)) {
      const entry = pending[this.#head++]!;
      (highest ??= new Map()).set(entry.session, entry.sequenceNumber);
    }
    if (this.#head === pending.length) {
      this.#pending = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > pending.length) {
      this.#pending = pending.slice(this.#head);
      this.#head = 0;
    }
    if (highest) for (const [session, sequenceNumber] of highest) session.sendReceipt(recipientId, sequenceNumber);
  }

  /** The endpoint is gone: nothing more will be acknowledged. */
  clear(): void {
    this.#pending = [];
    this.#head = 0;
  }
}
