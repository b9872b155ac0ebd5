/**
 * Routes data frames inside group calls. For each Send frame from an endpoint it checks, in order: the
 * session is current, the size, the recipient list (held for a Lossy frame that outran it), the broadcast
 * rules (budget and packet rate), the sender's pace for its class, and the recipient count; then it
 * rewrites the frame into a Deliver frame in place and hands the same bytes to every recipient. Every drop is counted and reported to the sender in a Notice frame.
 *
 * The server enforces the limits whatever the SDK did; its buckets allow a second of slack over the SDK's
 * so that network jitter on well-behaved senders never trips them.
 */
import {
  DATA_HEADER_BYTES,
  DropReason,
  FrameError,
  FrameFlag,
  FrameType,
  TokenBucket,
  broadcastBudgetKbps,
  broadcastPacketCount,
  decodeClientFrame,
  encodeBarrierAck,
  encodeNotice,
  encodeSessionClosed,
  kbpsToBytesPerMs,
  rewriteSendAsDeliver,
  senderMaxKbps,
  type ChannelKind,
  type DataChannelLimits,
  type SendFrame,
  type SessionCloseFrame,
  type SetRecipientsFrame,
} from '@backchannel/protocol';

import type { Endpoint } from '../calls/Endpoint.js';
import { dropReasonName, type ServerStats } from '../stats.js';
import { MAX_HELD_FRAMES, MAX_HOLD_MS, ServerSession, TOO_MANY_RECIPIENTS, type HeldFrame } from './ServerSession.js';

/** Lossy frames an endpoint may have waiting for their recipient lists, in bytes, all sessions together. */
const MAX_HELD_BYTES = 256 * 1024;
/** How far ahead of the list the server holds a frame's recipient generation may be. */
const MAX_GENERATIONS_AHEAD = 8;

/** Slack of the server's pace check over the SDK's, in ms of the sender's rate. */
const PACE_SLACK_MS = 1000;

/**
 * The server measures what it sends an endpoint, the SDK what it receives; they differ by what is in
 * flight. The server takes off only this share of the SDK's deduction so that an SDK keeping to its own
 * broadcast budget never meets the server's.
 */
const RECEIVE_SHARE_TOLERANCE = 0.75;

export interface RouterOptions {
  limits: DataChannelLimits;
  maxSendersPerEndpoint: number;
  /** Told how long each routed message took, ms (for the latency histogram). */
  observeRouting?: (ms: number) => void;
}

export class Router {
  readonly #limits: DataChannelLimits;
  readonly #maxSenders: number;
  readonly #stats: ServerStats;
  readonly #observeRouting: ((ms: number) => void) | undefined;

  constructor(options: RouterOptions, stats: ServerStats) {
    this.#limits = options.limits;
    this.#maxSenders = options.maxSendersPerEndpoint;
    this.#observeRouting = options.observeRouting;
    this.#stats = stats;
  }

  /** A frame arrived from `sender` on its `kind` channel. Never throws for bad input. */
  handleFrame(sender: Endpoint, kind: ChannelKind, bytes: Uint8Array): void {
    if (!sender.admitted) return;
    let frame;
    try {
      frame = decodeClientFrame(bytes);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      this.#stats.malformedFrames++;
      return;
    }
    switch (frame.type) {
      case FrameType.Send:
        this.#routeSend(sender, kind, frame, bytes);
        return;
      case FrameType.SessionClose:
        this.#closeSession(sender, frame);
        return;
      case FrameType.SetRecipients:
        this.#setRecipients(sender, frame);
        return;
      case FrameType.Barrier:
        // Frames are handled in arrival order: everything sent before the barrier has been routed.
        sender.deliver('durable', encodeBarrierAck(frame.token));
        return;
    }
  }

  /**
   * The sender's session on a channel, creating it if `sessionId` is newer; 'stale' if older or closed,
   * 'limit' if a new session would pass the per-endpoint sender limit.
   */
  #session(sender: Endpoint, channelId: number, sessionId: number): ServerSession | 'stale' | 'limit' {
    const current = sender.sessions.get(channelId);
    if (!current || sessionId > current.sessionId) {
      const replacing = current !== undefined && !current.closed;
      if (!replacing && sender.openSessions >= this.#maxSenders) return 'limit';
      if (current) this.#discardHeld(sender, current);
      if (!replacing) sender.openSessions++;
      const session = new ServerSession(sessionId);
      sender.sessions.set(channelId, session);
      return session;
    }
    return sessionId === current.sessionId && !current.closed ? current : 'stale';
  }

  #routeSend(sender: Endpoint, kind: ChannelKind, frame: SendFrame, bytes: Uint8Array): void {
    const limits = this.#limits;
    const session = this.#session(sender, frame.channelId, frame.sessionId);
    if (session === 'stale') return this.#drop(sender, frame, DropReason.StaleSession);
    if (session === 'limit') return this.#drop(sender, frame, DropReason.TooManySenders);
    const size = frame.payload.byteLength;
    if (size > limits.maxMessageSizeBytes) return this.#drop(sender, frame, DropReason.MessageTooLarge);
    const generation = frame.recipientsGeneration;
    // A Lossy frame can overtake the recipient list it names, which travels on the Durable channel: it is
    // held (bounded) until the list arrives. A Durable frame cannot: its list is on the same ordered channel.
    if (generation > session.generation) {
      return kind === 'lossy' ? this.#hold(sender, session, frame, bytes) : this.#drop(sender, frame, DropReason.UnknownRecipients);
    }
    const recipients = session.recipients(generation);
    if (recipients === undefined) return this.#drop(sender, frame, DropReason.UnknownRecipients);
    if (recipients === TOO_MANY_RECIPIENTS) return this.#drop(sender, frame, DropReason.TooManyRecipients);

    const now = performance.now();
    // The channel a frame arrives on decides its reliability class, whatever its flags claim.
    const reliability = kind === 'durable' ? 'Durable' : 'Lossy';
    // One pace per class the session uses: a frame is charged to the bucket of the channel it came on and
    // the priority it claims, so switching class mid-session cannot borrow a faster class's budget.
    const priority = frame.flags & FrameFlag.HighPriority ? 'High' : 'Normal';
    const classKey = `${reliability}/${priority}`;
    let pace = session.paces.get(classKey);
    if (!pace) {
      const maxKbps = senderMaxKbps(limits, reliability, priority);
      const rate = kbpsToBytesPerMs(maxKbps);
      pace = { maxKbps, bucket: new TokenBucket(rate, rate * PACE_SLACK_MS + limits.maxMessageSizeBytes + DATA_HEADER_BYTES, now) };
      session.paces.set(classKey, pace);
    }
    const broadcast = recipients === 'broadcast';
    let packets = 0;
    if (broadcast) {
      // SPEC §4: broadcast budget = the sender's maximum − 80% of what its endpoint receives.
      const budgetKbps = broadcastBudgetKbps(limits, pace.maxKbps, sender.received.kbps(now), RECEIVE_SHARE_TOLERANCE);
      if (budgetKbps <= 0) return this.#drop(sender, frame, DropReason.TrafficLimit);
      pace.bucket.setRate(kbpsToBytesPerMs(budgetKbps), now);
      packets = broadcastPacketCount(limits, size);
      if (sender.broadcastPackets.balance(now) < packets) return this.#drop(sender, frame, DropReason.TrafficLimit);
    } else {
      pace.bucket.setRate(kbpsToBytesPerMs(pace.maxKbps), now);
    }
    if (pace.bucket.balance(now) < 0) return this.#drop(sender, frame, DropReason.Bandwidth);

    const targets = session.resolve(sender, generation);
    // The recipient limit is on lists (identities expand to their endpoints); a broadcast reaches everyone.
    if (!broadcast && targets.length > limits.maxRecipients) return this.#drop(sender, frame, DropReason.TooManyRecipients);
    pace.bucket.consume(DATA_HEADER_BYTES + size, now);
    if (broadcast) sender.broadcastPackets.consume(packets, now);

    this.#stats.messagesRouted[kind]++;
    this.#stats.bytesRouted[kind] += size;
    const byClass = this.#stats.routed[kind][frame.flags & FrameFlag.HighPriority ? 'high' : 'normal'];
    byClass.messages++;
    byClass.bytes += size;
    const deliver = rewriteSendAsDeliver(bytes, sender.id);
    for (const target of targets) {
      const result = target.deliver(kind, deliver, now); // one clock reading per message, not per copy
      if (result === 'sent') this.#stats.deliveries++;
      else if (result === 'slow') this.#stats.drops[kind === 'durable' ? 'SlowReceiverDurable' : 'SlowReceiverLossy']++;
    }
    this.#observeRouting?.(performance.now() - now);
  }

  #closeSession(sender: Endpoint, frame: SessionCloseFrame): void {
    const session = sender.sessions.get(frame.channelId);
    if (!session || session.sessionId !== frame.sessionId || session.closed) return;
    session.closed = true;
    sender.openSessions--;
    this.#discardHeld(sender, session);
    this.#stats.sessionsClosed++;
    // Everyone is told, not only the current recipients: earlier recipients may hold a receiver too.
    const closed = encodeSessionClosed(frame.channelId, frame.sessionId, sender.id);
    for (const endpoint of sender.call.admitted) if (endpoint !== sender) endpoint.deliver('durable', closed);
  }

  #setRecipients(sender: Endpoint, frame: SetRecipientsFrame): void {
    const session = this.#session(sender, frame.channelId, frame.sessionId);
    if (typeof session === 'string' || frame.generation <= session.generation) return;
    session.setRecipients(frame.generation, frame.recipients, this.#limits);
    this.#stats.recipientListsSet++;
    if (session.held.length === 0) return;
    const held = this.#release(sender, session);
    const now = performance.now();
    for (const entry of held) {
      if (now - entry.heldAt > MAX_HOLD_MS) this.#drop(sender, entry.frame, DropReason.UnknownRecipients);
      else if (entry.frame.recipientsGeneration > session.generation) this.#keep(sender, session, entry); // a later list's
      else this.#routeSend(sender, 'lossy', entry.frame, entry.bytes);
    }
  }

  /**
   * Holds a Lossy frame until its recipient list arrives. Bounded three ways, so a client naming lists it
   * never sends cannot make the server keep its frames: a few generations ahead at most, MAX_HELD_FRAMES
   * per session, and MAX_HELD_BYTES per endpoint across its sessions.
   */
  #hold(sender: Endpoint, session: ServerSession, frame: SendFrame, bytes: Uint8Array): void {
    const now = performance.now();
    while (session.held.length > 0 && (session.held.length >= MAX_HELD_FRAMES || now - session.held[0]!.heldAt > MAX_HOLD_MS)) {
      const oldest = session.held.shift()!;
      sender.heldBytes -= oldest.bytes.byteLength;
      this.#drop(sender, oldest.frame, DropReason.UnknownRecipients);
    }
    if (frame.recipientsGeneration > session.generation + MAX_GENERATIONS_AHEAD || sender.heldBytes + bytes.byteLength > MAX_HELD_BYTES) {
      return this.#drop(sender, frame, DropReason.UnknownRecipients);
    }
    this.#keep(sender, session, { frame, bytes, heldAt: now });
  }

  #keep(sender: Endpoint, session: ServerSession, entry: HeldFrame): void {
    session.held.push(entry);
    sender.heldBytes += entry.bytes.byteLength;
  }

  /** Takes every held frame off `session` (and off its endpoint's held-bytes budget). */
  #release(sender: Endpoint, session: ServerSession): HeldFrame[] {
    const held = session.held;
    session.held = [];
    for (const entry of held) sender.heldBytes -= entry.bytes.byteLength;
    return held;
  }

  /** A session ended (closed or replaced): frames still waiting for a list will never get one. */
  #discardHeld(sender: Endpoint, session: ServerSession): void {
    for (const entry of this.#release(sender, session)) this.#drop(sender, entry.frame, DropReason.UnknownRecipients);
  }

  #drop(sender: Endpoint, frame: SendFrame, reason: DropReason): void {
    this.#stats.drops[dropReasonName(reason)]++;
    sender.deliver('durable', encodeNotice(reason, frame.channelId, frame.sessionId, frame.sequenceNumber));
  }
}
