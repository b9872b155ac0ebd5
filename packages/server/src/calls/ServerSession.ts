/**
 * The server's view of one sender session of an endpoint: its recipient lists by generation, its pace per
 * class, the resolved recipient endpoints cached per roster version, and the Lossy frames it holds for a
 * recipient list that has not arrived yet. Sessions live with the endpoint that sends on them (calls/);
 * the router (routing/) asks them, and never edits their state.
 */
import {
  DATA_HEADER_BYTES,
  TokenBucket,
  encodeReceipt,
  kbpsToBytesPerMs,
  senderMaxKbps,
  type ChannelKind,
  type Clock,
  type DataChannelLimits,
  type SendFrame,
  type SlowRecipientReason,
} from '@backchannel/protocol';

import { NO_REMOTE_ROUTE, type RemoteRoute } from './CallSpan.js';
import type { Endpoint } from './Endpoint.js';
import { RetainedMessage, type RetainedBudget } from './RetainedState.js';
import { SlowRecipientReports } from './SlowRecipientReports.js';

/** A recipient list over the limit: every message under it is dropped. */
export const TOO_MANY_RECIPIENTS = Symbol('too many recipients');
export type Recipients = ReadonlySet<string> | 'broadcast' | typeof TOO_MANY_RECIPIENTS;

/** A Lossy frame that outran the recipient list it names (the list travels on the Durable channel). */
export interface HeldFrame {
  readonly frame: SendFrame;
  readonly bytes: Uint8Array;
  readonly heldAt: number;
}

/** Lossy frames held per session, and for how long, waiting for their recipient list. */
export const MAX_HELD_FRAMES = 64;
export const MAX_HOLD_MS = 2000;
/** How far ahead of the list the server holds a frame's recipient generation may be. */
export const MAX_GENERATIONS_AHEAD = 8;

/**
 * Recipient lists kept per session besides the current one. Lossy frames travel on their own SCTP stream,
 * which the association may schedule behind or ahead of the Durable stream carrying the lists: a frame can
 * arrive after the list that replaced its own, and still goes to the recipients it was sent to.
 */
export const PREVIOUS_LISTS_KEPT = 8;

/** Slack of the server's pace check over the SDK's, in ms of the sender's rate. */
const PACE_SLACK_MS = 1000;

/** The pace of one class (reliability × priority) a session sends in: the class's limit and its bucket. */
export interface SenderPace {
  /** The class's limit, kbit/s (SPEC §4). */
  readonly maxKbps: number;
  /** Bytes the session may still send in the class; the router sets its rate and charges it. */
  readonly bucket: TokenBucket;
}

/**
 * The bytes of Lossy frames an endpoint holds across all its sessions, against one budget: each session
 * reserves what it holds and releases it when the frame leaves (routed, dropped or forgotten).
 */
export class HeldBytesBudget {
  #used = 0;

  constructor(readonly maxBytes: number) {}

  /** Bytes held now. */
  get used(): number {
    return this.#used;
  }

  /** Takes `bytes` off the budget; false (and nothing taken) if they do not fit. */
  tryReserve(bytes: number): boolean {
    if (this.#used + bytes > this.maxBytes) return false;
    this.#used += bytes;
    return true;
  }

  /** Gives back bytes reserved earlier. */
  release(bytes: number): void {
    this.#used -= bytes;
  }
}

/** What a session gets from the endpoint that opened it. */
export interface SessionContext {
  /** The sender: the session's frames come from it and never go back to it. */
  readonly endpoint: Endpoint;
  readonly limits: DataChannelLimits;
  /** The server's clock (slow-recipient reports are timed on it). */
  readonly clock: Clock;
  /** The call's budget for retained messages (state for late joiners). */
  readonly retainedBudget: RetainedBudget;
  /** The endpoint's held-bytes budget, shared by its sessions. */
  readonly heldBytes: HeldBytesBudget;
  /** A held frame will never be routed (too many, too old, too far ahead, over budget, session closed). */
  heldFrameDropped(frame: SendFrame): void;
}

/** One sender session of an endpoint on one channel id (see the module comment). */
export class ServerSession {
  /** The channel it sends on. */
  readonly channelId: number;
  /** The sender's session id on its channel; a higher one replaces this session. */
  readonly sessionId: number;
  readonly #context: SessionContext;
  #generation = 0;
  #closed = false;
  /** Lossy frames sent under a recipient list that has not arrived yet, oldest first. */
  #held: HeldFrame[] = [];
  /** Pace per class, indexed by {@link paceIndex}: made when the session first sends in the class. */
  readonly #paces: (SenderPace | undefined)[] = [undefined, undefined, undefined, undefined];
  /** Recipient lists by generation: the current one and up to PREVIOUS_LISTS_KEPT before it. */
  readonly #lists = new Map<number, Recipients>([[0, 'broadcast']]);
  #resolved: readonly Endpoint[] = [];
  #resolvedVersion = -1;
  #remoteRoute: RemoteRoute = NO_REMOTE_ROUTE;
  #remoteVersion = -1;
  /** Its latest retained message (state for late joiners, an extension): made on the first one. */
  #retained: RetainedMessage | undefined;
  /** Slow-recipient reports to its sender (an extension): made on the first slow recipient. */
  #slowReports: SlowRecipientReports | undefined;

  constructor(channelId: number, sessionId: number, context: SessionContext) {
    this.channelId = channelId;
    this.sessionId = sessionId;
    this.#context = context;
  }

  /** The newest recipient generation the server holds. */
  get generation(): number {
    return this.#generation;
  }

  /** True once closed by its sender, replaced by a newer session, or its endpoint gone. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Lossy frames waiting for their recipient list. */
  get heldCount(): number {
    return this.#held.length;
  }

  /** A newer recipient list arrived (the caller checked `generation` is newer than the current one). */
  setRecipients(generation: number, recipients: readonly string[]): void {
    this.#generation = generation;
    const list: Recipients =
      recipients.length > this.#context.limits.maxRecipients ? TOO_MANY_RECIPIENTS : recipients.length === 0 ? 'broadcast' : new Set(recipients);
    this.#lists.set(generation, list);
    for (const old of this.#lists.keys()) {
      if (this.#lists.size <= PREVIOUS_LISTS_KEPT + 1) break;
      this.#lists.delete(old); // Map order is insertion order: oldest first
    }
    this.#resolvedVersion = -1;
    this.#remoteVersion = -1;
  }

  /** The recipient list of `generation`, if still held. */
  recipients(generation: number): Recipients | undefined {
    return this.#lists.get(generation);
  }

  /**
   * Endpoints that messages of `generation` go to now: admitted, never the sender itself, and only those
   * whose token lets them receive on the session's channel (channel permissions: the others are not
   * recipients at all, not counted against the recipient limit). The current
   * generation's answer is cached per roster version; older ones (rare: reordered Lossy frames) are not.
   */
  resolve(generation: number): readonly Endpoint[] {
    if (generation !== this.#generation) return this.#resolveList(this.#lists.get(generation));
    const rosterVersion = this.#context.endpoint.call.rosterVersion;
    if (this.#resolvedVersion !== rosterVersion) {
      this.#resolved = this.#resolveList(this.#lists.get(generation));
      this.#resolvedVersion = rosterVersion;
    }
    return this.#resolved;
  }

  /**
   * Where messages of `generation` go on other nodes of the cluster (none on a single node), resolved against
   * the call's remote members as `resolve` is against its local ones, and cached the same way.
   */
  remoteRoute(generation: number): RemoteRoute {
    const call = this.#context.endpoint.call;
    const span = call.span;
    if (!span) return NO_REMOTE_ROUTE;
    const list = this.#lists.get(generation);
    if (list === 'broadcast') return span.broadcastRoute();
    if (list === undefined || list === TOO_MANY_RECIPIENTS) return NO_REMOTE_ROUTE;
    if (generation !== this.#generation) return span.routeTo(list);
    if (this.#remoteVersion !== call.rosterVersion) {
      this.#remoteRoute = span.routeTo(list);
      this.#remoteVersion = call.rosterVersion;
    }
    return this.#remoteRoute;
  }

  /**
   * The pace of the class a frame is charged to: the channel it arrived on and the priority it claims, so
   * switching class mid-session cannot borrow a faster class's budget. Made on first use.
   */
  pace(kind: ChannelKind, highPriority: boolean, now: number): SenderPace {
    const index = (kind === 'durable' ? 0 : 2) + (highPriority ? 1 : 0);
    const existing = this.#paces[index];
    if (existing) return existing;
    const limits = this.#context.limits;
    const maxKbps = senderMaxKbps(limits, kind === 'durable' ? 'Durable' : 'Lossy', highPriority ? 'High' : 'Normal');
    const rate = kbpsToBytesPerMs(maxKbps);
    const pace = { maxKbps, bucket: new TokenBucket(rate, rate * PACE_SLACK_MS + limits.maxMessageSizeBytes + DATA_HEADER_BYTES, now) };
    this.#paces[index] = pace;
    return pace;
  }

  /**
   * Holds a Lossy frame until its recipient list arrives. Bounded three ways, so a client naming lists it
   * never sends cannot make the server keep its frames: a few generations ahead at most, MAX_HELD_FRAMES
   * per session, and the endpoint's held-bytes budget across its sessions. Frames pushed out, and a frame
   * that does not fit, are reported through the context's `heldFrameDropped`.
   */
  hold(frame: SendFrame, bytes: Uint8Array, now: number): void {
    const held = this.#held;
    while (held.length > 0 && (held.length >= MAX_HELD_FRAMES || now - held[0]!.heldAt > MAX_HOLD_MS)) {
      this.#drop(held.shift()!);
    }
    if (frame.recipientsGeneration > this.#generation + MAX_GENERATIONS_AHEAD || !this.#context.heldBytes.tryReserve(bytes.byteLength)) {
      this.#context.heldFrameDropped(frame);
      return;
    }
    held.push({ frame, bytes, heldAt: now });
  }

  /**
   * After a new recipient list: takes off the held frames it (or an earlier list) lets go, oldest first, for
   * the caller to route. Frames held too long are dropped; frames for a later list stay held.
   */
  releaseHeld(now: number): readonly HeldFrame[] {
    const held = this.#held;
    if (held.length === 0) return held;
    const ready: HeldFrame[] = [];
    this.#held = [];
    for (const entry of held) {
      if (now - entry.heldAt > MAX_HOLD_MS) this.#drop(entry);
      else if (entry.frame.recipientsGeneration > this.#generation) this.#held.push(entry); // a later list's
      else {
        this.#context.heldBytes.release(entry.bytes.byteLength);
        ready.push(entry);
      }
    }
    return ready;
  }

  /**
   * A message flagged Retain was routed to `targets`, as the Deliver frame `frame`: it is kept for later
   * recipients, in place of the previous one (state for late joiners).
   */
  retain(frame: Uint8Array, targets: readonly Endpoint[], remote: RemoteRoute): void {
    if (this.#closed) return;
    const context = this.#context;
    (this.#retained ??= new RetainedMessage(context.heldBytes, context.retainedBudget)).replace(frame, targets, this.#remoteIds(remote));
  }

  /** After a new recipient list: recipients the retained message has not reached get it now, on any node. */
  offerRetained(): void {
    if (!this.#retained?.frame) return;
    this.#retained.offer(this.resolve(this.#generation));
    this.#offerRetainedRemote();
  }

  /**
   * An endpoint entered the call on another node (in a cluster): it gets the retained message if it is a
   * recipient of the current list, over the link to its node.
   */
  offerRetainedToRemote(): void {
    if (this.#retained?.frame) this.#offerRetainedRemote();
  }

  #offerRetainedRemote(): void {
    const span = this.#context.endpoint.call.span;
    if (!span) return;
    this.#retained!.offerRemote(this.remoteRoute(this.#generation), span.members, this.#context.endpoint.id);
  }

  /** The remote endpoints a route reached: every remote member for a broadcast. */
  #remoteIds(route: RemoteRoute): Iterable<number> {
    if (route.count === 0) return [];
    if (route.broadcast) return this.#context.endpoint.call.span?.members.keys() ?? [];
    return route.nodes.flatMap((n) => n.targets);
  }

  /** `newcomer` entered the call: it gets the retained message if it is a recipient of the current list. */
  offerRetainedTo(newcomer: Endpoint): void {
    if (!this.#retained?.frame || !this.resolve(this.#generation).includes(newcomer)) return;
    this.#retained.offer([newcomer]);
  }

  /** Delivery receipts (an extension): `recipientId` has this session's messages up to `sequenceNumber`. */
  sendReceipt(recipientId: number, sequenceNumber: number): void {
    const sender = this.#context.endpoint;
    if (this.#closed || sender.state === 'closed') return;
    sender.tell(encodeReceipt(this.channelId, this.sessionId, recipientId, sequenceNumber));
  }

  /** `recipient` cannot keep up (slow-recipient feedback): its sender is told, at most once a second per recipient. */
  noteSlowRecipient(recipient: Endpoint, reason: SlowRecipientReason, dropped: number, now: number): void {
    const context = this.#context;
    (this.#slowReports ??= new SlowRecipientReports(context.endpoint, this.channelId, this.sessionId, context.clock)).note(recipient, reason, dropped, now);
  }

  /**
   * Closed by its sender (a SessionClose frame) or replaced by a newer session: frames still waiting for a
   * list will never get one, and are reported dropped. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#slowReports?.close();
    this.#retained?.clear();
    const held = this.#held;
    this.#held = [];
    for (const entry of held) this.#drop(entry);
  }

  /** The endpoint is gone: held frames are forgotten (there is no one left to tell). Idempotent. */
  abandon(): void {
    this.#closed = true;
    this.#slowReports?.close();
    this.#retained?.clear();
    for (const entry of this.#held) this.#context.heldBytes.release(entry.bytes.byteLength);
    this.#held = [];
  }

  #drop(entry: HeldFrame): void {
    this.#context.heldBytes.release(entry.bytes.byteLength);
    this.#context.heldFrameDropped(entry.frame);
  }

  #resolveList(recipients: Recipients | undefined): readonly Endpoint[] {
    const sender = this.#context.endpoint;
    const call = sender.call;
    const channelId = this.channelId;
    if (recipients === 'broadcast') return call.roster.filter((e) => e !== sender && e.mayReceive(channelId));
    if (recipients === undefined || recipients === TOO_MANY_RECIPIENTS) return [];
    const resolved: Endpoint[] = [];
    for (const identity of recipients) for (const e of call.endpointsOf(identity)) if (e !== sender && e.mayReceive(channelId)) resolved.push(e);
    return resolved;
  }
}
