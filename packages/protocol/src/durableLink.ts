/**
 * The bookkeeping that lets a Durable link survive the loss of its transport (docs/reliability.md), the
 * same on both ends of it (SDK ↔ server, or SDK ↔ SDK in a 1:1 call). No I/O and no timers: the owner
 * sends the frames and decides when to acknowledge.
 *
 * Each side numbers the *link frames* it sends on the Durable channel (every frame but LinkAck and
 * LinkResume) 1, 2, 3 … over the life of the link, across transports, and counts the link frames it
 * receives. It keeps what it sent until the other side acknowledges it (LinkAck carries the other side's
 * received count: cumulative, sent batched). After a new transport comes up, each side opens with
 * LinkResume(its received count), and each resends, in order, exactly what the other has not received: so
 * nothing is lost and, since a side never resends what the other counted, nothing arrives twice. No frame
 * carries a number: SCTP's ordered, reliable channel keeps the counts in step while a transport lives.
 *
 * Counts are uint32 and wrap: differences are taken mod 2^32, which holds while fewer than 2^31 frames are
 * unacknowledged (a window is bounded far below that).
 */

/**
 * When a side acknowledges: after this many link frames received, or LINK_ACK_WITHIN_MS after the first
 * unacknowledged one, whichever comes first. Both ends follow it.
 */
export const LINK_ACK_EVERY_FRAMES = 32;
export const LINK_ACK_WITHIN_MS = 50;

export class DurableLinkState {
  #sent = 0;
  #received = 0;
  /** Frames sent and not acknowledged, oldest first: numbers acked+1 … sent. */
  readonly #kept: (Uint8Array | undefined)[] = [];
  #keptHead = 0;
  #keptBytes = 0;
  #acked = 0;
  /** Link frames received since the last acknowledgement this side sent. */
  #unacknowledged = 0;

  /** Link frames sent so far (mod 2^32). */
  get sent(): number {
    return this.#sent;
  }

  /** Link frames received so far (mod 2^32): what LinkAck and LinkResume carry. */
  get received(): number {
    return this.#received;
  }

  /** Frames kept for a resend: sent, not acknowledged. */
  get keptFrames(): number {
    return this.#kept.length - this.#keptHead;
  }

  /** Their bytes. */
  get keptBytes(): number {
    return this.#keptBytes;
  }

  /** Link frames received that this side has not acknowledged yet. */
  get unacknowledged(): number {
    return this.#unacknowledged;
  }

  /** A link frame is being sent: it is numbered and kept until acknowledged. */
  recordSent(frame: Uint8Array): void {
    this.#sent = (this.#sent + 1) >>> 0;
    this.#kept.push(frame);
    this.#keptBytes += frame.byteLength;
  }

  /** A link frame arrived. */
  recordReceived(): void {
    this.#received = (this.#received + 1) >>> 0;
    this.#unacknowledged++;
  }

  /** This side is about to send LinkAck or LinkResume with {@link received}. */
  acknowledging(): number {
    this.#unacknowledged = 0;
    return this.#received;
  }

  /**
   * The other side has received `count` of this side's link frames: what it counted is forgotten, each
   * frame shown to `released` first, oldest first (a 1:1 call's delivery receipts read them). Returns false,
   * changing nothing, for a count this side never sent (a broken or hostile peer).
   */
  acknowledge(count: number, released?: (frame: Uint8Array) => void): boolean {
    const advance = (count - this.#acked) >>> 0;
    if (advance > this.keptFrames) return false;
    for (let i = 0; i < advance; i++) {
      const frame = this.#kept[this.#keptHead]!;
      released?.(frame);
      this.#keptBytes -= frame.byteLength;
      this.#kept[this.#keptHead++] = undefined; // let the buffer go now
    }
    this.#acked = count >>> 0;
    // Compact now and then, so the array does not grow with the life of the link.
    if (this.#keptHead > 1024 && this.#keptHead * 2 > this.#kept.length) {
      this.#kept.splice(0, this.#keptHead);
      this.#keptHead = 0;
    }
    return true;
  }

  /**
   * The frames to resend after the other side's LinkResume(`count`), oldest first: everything it has not
   * received; what it has is forgotten as by {@link acknowledge} (shown to `released`). Undefined (and
   * nothing changed) for a count this side never sent.
   */
  resumeFrom(count: number, released?: (frame: Uint8Array) => void): readonly Uint8Array[] | undefined {
    if (!this.acknowledge(count, released)) return undefined;
    const frames: Uint8Array[] = [];
    for (let i = this.#keptHead; i < this.#kept.length; i++) frames.push(this.#kept[i]!);
    return frames;
  }

  /** Everything still kept, oldest first, and forgets it (the link is gone for good). */
  abandon(): readonly Uint8Array[] {
    const frames: Uint8Array[] = [];
    for (let i = this.#keptHead; i < this.#kept.length; i++) frames.push(this.#kept[i]!);
    this.#kept.length = 0;
    this.#keptHead = 0;
    this.#keptBytes = 0;
    this.#acked = this.#sent;
    return frames;
  }
}
