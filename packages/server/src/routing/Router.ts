/**
 * Routes data frames inside group calls. For each Send frame from an endpoint it checks, in order: its
 * token lets it send on the channel (channel permissions, an extension), the session is current, the size,
 * the recipient list (held for a Lossy frame that outran it), the broadcast rules (budget and packet rate),
 * the sender's pace for its class, and the recipient count; then it resolves the recipients (only those
 * whose token lets them receive on the channel), rewrites the frame into a Deliver frame in place and fans
 * the same bytes out to every recipient. Every drop is counted and reported to the sender in a Notice frame.
 * The extensions ride along: slow-recipient reports and dropped-copy counts, receipts, retained state.
 *
 * The server enforces the limits whatever the SDK did; its buckets allow a second of slack over the SDK's
 * so that network jitter on well-behaved senders never trips them.
 *
 * State lives in the call objects (sessions, paces, held frames, rate meters): the router only asks them.
 */
import {
  DATA_HEADER_BYTES,
  DropReason,
  FrameError,
  FrameFlag,
  FrameType,
  broadcastBudgetKbps,
  broadcastPacketCount,
  decodeClientFrame,
  encodeBarrierAck,
  encodeNotice,
  encodeSessionClosed,
  kbpsToBytesPerMs,
  rewriteSendAsDeliver,
  systemClock,
  type ChannelKind,
  type Clock,
  type DataChannelLimits,
  type SendFrame,
  type SessionCloseFrame,
  type SetRecipientsFrame,
} from '@backchannel/protocol';

import { NO_REMOTE_ROUTE, type RemoteRoute } from '../calls/CallSpan.js';
import type { Endpoint, FrameHandler } from '../calls/Endpoint.js';
import { TOO_MANY_RECIPIENTS, type SenderPace, type ServerSession } from '../calls/ServerSession.js';
import { dropReasonName, type ServerStats } from '../stats.js';

/**
 * The server measures what it sends an endpoint, the SDK what it receives; they differ by what is in
 * flight. The server takes off only this share of the SDK's deduction so that an SDK keeping to its own
 * broadcast budget never meets the server's.
 */
const RECEIVE_SHARE_TOLERANCE = 0.75;

export interface RouterOptions {
  limits: DataChannelLimits;
  /** Monotonic time for pacing and rate meters (default: the system clock). */
  clock?: Clock;
  /** Told how long each routed message took, ms (for the latency histogram). */
  observeRouting?: (ms: number) => void;
}

/** The data path of every group call: one instance per server (see the module comment). */
export class Router implements FrameHandler {
  readonly #limits: DataChannelLimits;
  readonly #clock: Clock;
  readonly #stats: ServerStats;
  readonly #observeRouting: ((ms: number) => void) | undefined;

  constructor(options: RouterOptions, stats: ServerStats) {
    this.#limits = options.limits;
    this.#clock = options.clock ?? systemClock;
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
        sender.tell(encodeBarrierAck(frame.token));
        return;
      case FrameType.LinkAck:
      case FrameType.LinkResume:
        // The endpoint's link takes these on the Durable channel; anywhere else they break the protocol.
        this.#stats.malformedFrames++;
        return;
    }
  }

  /** A text message or an unexpected data channel: malformed input, counted. */
  protocolViolation(_sender: Endpoint, _what: string): void {
    this.#stats.malformedFrames++;
  }

  /** A held Lossy frame will never get its recipient list: counted and reported to its sender. */
  heldFrameDropped(sender: Endpoint, frame: SendFrame): void {
    this.#drop(sender, frame, DropReason.UnknownRecipients);
  }

  /** Check → resolve → fan out. */
  #routeSend(sender: Endpoint, kind: ChannelKind, frame: SendFrame, bytes: Uint8Array): void {
    const now = this.#clock.now(); // one clock reading per message, not per copy
    // Channel permissions (an extension): before the session opens, so a forbidden channel holds nothing.
    if (!sender.maySend(frame.channelId)) return this.#drop(sender, frame, DropReason.ChannelNotPermitted);
    const session = sender.openSession(frame.channelId, frame.sessionId);
    if (session === 'stale') return this.#drop(sender, frame, DropReason.StaleSession);
    if (session === 'limit') return this.#drop(sender, frame, DropReason.TooManySenders);
    const size = frame.payload.byteLength;
    if (size > this.#limits.maxMessageSizeBytes) return this.#drop(sender, frame, DropReason.MessageTooLarge);
    const generation = frame.recipientsGeneration;
    // A Lossy frame can overtake the recipient list it names, which travels on the Durable channel: it is
    // held (bounded) until the list arrives. A Durable frame cannot: its list is on the same ordered channel.
    if (generation > session.generation) {
      if (kind === 'lossy') session.hold(frame, bytes, now);
      else this.#drop(sender, frame, DropReason.UnknownRecipients);
      return;
    }
    const recipients = session.recipients(generation);
    if (recipients === undefined) return this.#drop(sender, frame, DropReason.UnknownRecipients);
    if (recipients === TOO_MANY_RECIPIENTS) return this.#drop(sender, frame, DropReason.TooManyRecipients);

    // The channel a frame arrives on decides its reliability class, whatever its flags claim.
    const highPriority = (frame.flags & FrameFlag.HighPriority) !== 0;
    const pace = session.pace(kind, highPriority, now);
    const broadcast = recipients === 'broadcast';
    const refused = this.#checkTraffic(sender, pace, broadcast, size, now);
    if (refused !== undefined) return this.#drop(sender, frame, refused);

    const targets = session.resolve(generation);
    // Recipients on other nodes of a cluster: resolved against the whole call (none on a single node).
    const remote = sender.call.span ? session.remoteRoute(generation) : NO_REMOTE_ROUTE;
    // The recipient limit is on lists (identities expand to their endpoints); a broadcast reaches everyone.
    if (!broadcast && targets.length + remote.count > this.#limits.maxRecipients) return this.#drop(sender, frame, DropReason.TooManyRecipients);
    this.#charge(sender, pace, broadcast, size, now);
    this.#countRouted(kind, highPriority, size);
    const deliver = rewriteSendAsDeliver(bytes, sender.id);
    const receipts = kind === 'durable' && (frame.flags & FrameFlag.Receipts) !== 0 ? frame.sequenceNumber : undefined;
    let slow = this.#fanOut(sender, session, kind, deliver, targets, now, receipts);
    if (remote.nodes.length > 0) slow = this.#forward(sender, kind, deliver, remote) || slow;
    if (slow && kind === 'durable') this.#drop(sender, frame, DropReason.RecipientSlow);
    // State for late joiners (an extension): the Deliver frame its recipients got.
    if (kind === 'durable' && (frame.flags & FrameFlag.Retain) !== 0) session.retain(deliver, targets, remote);
    this.#observeRouting?.(this.#clock.now() - now);
  }

  /**
   * The traffic rules a routable frame must meet: for a broadcast, the budget (SPEC §4: the sender's
   * maximum − 80% of what its endpoint receives) and the packet rate; then the sender's pace for its class.
   * Sets the pace's rate to what applies to this frame. Undefined if the frame may go.
   */
  #checkTraffic(sender: Endpoint, pace: SenderPace, broadcast: boolean, size: number, now: number): DropReason | undefined {
    if (broadcast) {
      const budgetKbps = broadcastBudgetKbps(this.#limits, pace.maxKbps, sender.receivedKbps(now), RECEIVE_SHARE_TOLERANCE);
      if (budgetKbps <= 0) return DropReason.TrafficLimit;
      pace.bucket.setRate(kbpsToBytesPerMs(budgetKbps), now);
      if (sender.broadcastPacketBalance(now) < broadcastPacketCount(this.#limits, size)) return DropReason.TrafficLimit;
    } else {
      pace.bucket.setRate(kbpsToBytesPerMs(pace.maxKbps), now);
    }
    return pace.bucket.balance(now) < 0 ? DropReason.Bandwidth : undefined;
  }

  /** Charges a frame that is being routed to its sender's pace (and packet rate, for a broadcast). */
  #charge(sender: Endpoint, pace: SenderPace, broadcast: boolean, size: number, now: number): void {
    pace.bucket.consume(DATA_HEADER_BYTES + size, now);
    if (broadcast) sender.chargeBroadcastPackets(broadcastPacketCount(this.#limits, size), now);
  }

  #countRouted(kind: ChannelKind, highPriority: boolean, size: number): void {
    const stats = this.#stats;
    stats.messagesRouted[kind]++;
    stats.bytesRouted[kind] += size;
    const byClass = stats.routed[kind][highPriority ? 'high' : 'normal'];
    byClass.messages++;
    byClass.bytes += size;
  }

  /**
   * Rewrites the Send frame into a Deliver frame in place and hands the same bytes to every target. True
   * if a copy was dropped for a slow recipient (the caller reports a Durable one to its sender: one Notice
   * RecipientSlow per message, however many copies; Durable data is delivered or someone is told).
   */
  #fanOut(
    sender: Endpoint,
    session: ServerSession,
    kind: ChannelKind,
    deliver: Uint8Array,
    targets: readonly Endpoint[],
    now: number,
    receiptFor: number | undefined,
  ): boolean {
    const stats = this.#stats;
    let slow = false;
    for (const target of targets) {
      // With the extensions' part (dropped-copy counts, receipts, slow-recipient reports): Endpoint.takeCopy.
      const result = target.takeCopy(kind, deliver, now, session, sender.id, receiptFor);
      if (result === 'sent' || result === 'kept') stats.deliveries++;
      else if (result === 'slow') {
        stats.drops[kind === 'durable' ? 'SlowReceiverDurable' : 'SlowReceiverLossy']++;
        slow = true;
      }
    }
    return slow;
  }

  /**
   * Hands the Deliver frame to each other node with recipients, once per node (that node fans it out to its
   * own endpoints). True if a node's link is too far behind for it (counted as slow copies, as locally).
   */
  #forward(sender: Endpoint, kind: ChannelKind, deliver: Uint8Array, remote: RemoteRoute): boolean {
    const cross = this.#stats.crossNode;
    let slow = false;
    for (const { node, targets } of remote.nodes) {
      const result = node.data(kind, remote.broadcast, sender.id, targets, deliver);
      if (result === 'sent') {
        if (kind === 'durable') sender.forwardedTo(node);
        cross.messagesSent++;
        cross.bytesSent += deliver.byteLength;
      } else if (result === 'slow') {
        this.#stats.drops[kind === 'durable' ? 'SlowReceiverDurable' : 'SlowReceiverLossy']++;
        slow = true;
      }
    }
    return slow;
  }

  #closeSession(sender: Endpoint, frame: SessionCloseFrame): void {
    const session = sender.sessionOn(frame.channelId);
    if (!session || !sender.closeSession(frame.channelId, frame.sessionId)) return;
    this.#stats.sessionsClosed++;
    // Everyone is told, not only the current recipients: earlier recipients may hold a receiver too.
    const closed = encodeSessionClosed(frame.channelId, frame.sessionId, sender.id);
    for (const endpoint of sender.call.roster) {
      if (endpoint === sender || !endpoint.mayReceive(frame.channelId)) continue;
      if (endpoint.hasDroppedCopies) endpoint.tellDroppedCopies(session, sender.id);
      // Held to the slow bounds like a copy: a sender that opens and closes sessions at will must not grow
      // a slow recipient's link (a receiver whose close is lost ends when idle).
      endpoint.deliver('durable', closed);
    }
    sender.call.span?.toEveryone(sender, closed);
  }

  #setRecipients(sender: Endpoint, frame: SetRecipientsFrame): void {
    if (!sender.maySend(frame.channelId)) return; // its messages are refused: no session for them
    const session = sender.openSession(frame.channelId, frame.sessionId);
    if (typeof session === 'string' || frame.generation <= session.generation) return;
    session.setRecipients(frame.generation, frame.recipients);
    this.#stats.recipientListsSet++;
    session.offerRetained();
    if (session.heldCount === 0) return;
    for (const entry of session.releaseHeld(this.#clock.now())) this.#routeSend(sender, 'lossy', entry.frame, entry.bytes);
  }

  /** Reports a dropped message to its sender (Notice), counted by reason. */
  #drop(sender: Endpoint, frame: SendFrame, reason: DropReason): void {
    this.#stats.drops[dropReasonName(reason)]++;
    sender.tell(encodeNotice(reason, frame.channelId, frame.sessionId, frame.sequenceNumber));
  }
}
