/**
 * Slow-recipient feedback (an extension, docs/api.md "Slow-recipient feedback"): the reports one sender
 * session gets about its recipients that cannot keep up. The router notes each copy it drops for a slow
 * recipient, each copy a backlogged recipient takes, and each copy kept for a suspended one; the sender hears
 * of each recipient at most once per REPORT_INTERVAL_MS (a SlowRecipient frame with the strongest reason
 * since the last report and the copies dropped meanwhile), so that a recipient frozen under a fast stream
 * costs its sender one small frame a second, not one per message.
 *
 * Made by its session on the first note: a session whose recipients keep up holds none of this.
 */
import { SlowRecipientReason, encodeSlowRecipient, speaksExtensionFrames, type Clock, type TimerHandle } from '@backchannel/protocol';

/** Who hears the reports: the sending endpoint here, or (in a cluster) a stand-in for one on another node. */
export interface ReportSender {
  readonly state: string;
  readonly protocolVersion: number;
  /** A frame of the server's own for it (Endpoint.tell): never dropped as slow. */
  tell(frame: Uint8Array): unknown;
}

/** A recipient, as the reports name it. */
interface Recipient {
  readonly id: number;
}

/** At most one report per (session, recipient) per this long. */
export const REPORT_INTERVAL_MS = 1000;

/** Recipients tracked per session; past it, those reported more than an interval ago are forgotten. */
const MAX_TRACKED = 256;

interface Entry {
  reason: SlowRecipientReason;
  dropped: number;
  /** Something was noted since the last report. */
  pending: boolean;
  lastSentAt: number;
  timer: TimerHandle | undefined;
}

/** Dropping is worse than being kept for a resume, which is worse than being late. */
function severity(reason: SlowRecipientReason): number {
  return reason === SlowRecipientReason.Dropping ? 3 : reason === SlowRecipientReason.Suspended ? 2 : 1;
}

export class SlowRecipientReports {
  readonly #entries = new Map<Recipient, Entry>();
  #closed = false;

  constructor(
    private readonly sender: ReportSender,
    private readonly channelId: number,
    private readonly sessionId: number,
    private readonly clock: Clock,
  ) {}

  /** `recipient` is slow for `reason` (with `dropped` copies dropped for it just now): reported, rate-limited. */
  note(recipient: Recipient, reason: SlowRecipientReason, dropped: number, now: number): void {
    if (this.#closed) return;
    let entry = this.#entries.get(recipient);
    if (!entry) {
      if (this.#entries.size >= MAX_TRACKED) this.#prune(now);
      entry = { reason, dropped: 0, pending: false, lastSentAt: Number.NEGATIVE_INFINITY, timer: undefined };
      this.#entries.set(recipient, entry);
    }
    entry.dropped += dropped;
    entry.reason = entry.pending && severity(entry.reason) > severity(reason) ? entry.reason : reason;
    entry.pending = true;
    if (now - entry.lastSentAt >= REPORT_INTERVAL_MS) return this.#send(recipient, entry, now);
    if (entry.timer !== undefined) return;
    const fire = entry;
    entry.timer = this.clock.setTimeout(
      () => {
        fire.timer = undefined;
        this.#send(recipient, fire, this.clock.now());
      },
      entry.lastSentAt + REPORT_INTERVAL_MS - now,
      { unref: true },
    );
  }

  /** The session ended: nothing more is reported. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const entry of this.#entries.values()) if (entry.timer !== undefined) this.clock.clearTimeout(entry.timer);
    this.#entries.clear();
  }

  #send(recipient: Recipient, entry: Entry, now: number): void {
    if (this.#closed || !entry.pending || this.sender.state === 'closed') return;
    if (!speaksExtensionFrames(this.sender.protocolVersion)) return; // a version-2 SDK cannot read it
    this.sender.tell(encodeSlowRecipient(entry.reason, this.channelId, this.sessionId, recipient.id, entry.dropped));
    entry.lastSentAt = now;
    entry.dropped = 0;
    entry.pending = false;
  }

  #prune(now: number): void {
    for (const [recipient, entry] of this.#entries) {
      if (!entry.pending && now - entry.lastSentAt >= REPORT_INTERVAL_MS) this.#entries.delete(recipient);
    }
  }
}
