/**
 * One endpoint in a group call: a device or tab of an identity, with its peer connection to the server, its
 * sender sessions, and its share of the traffic rules. It owns all of that state; the call manager, the
 * router and the agent connection act on it only through its methods.
 *
 * Lifecycle: 'connecting' (joined, transport not up yet) → 'admitted' (both data channels open: in the
 * roster) → 'closed'. `close()` is idempotent and cascades to the peer connection and the sessions, then
 * emits 'close'.
 *
 * An admitted endpoint whose transport or signaling connection is lost is *suspended* rather than ended
 * (docs/reliability.md): it stays admitted and in the roster, its peer connection is closed, its Durable
 * link keeps what is routed to it (EndpointLink), and it ends only if it is not resumed within
 * `resumeWindowMs`. A `resume` moves its signaling to the agent connection that sent it; an `offer` then
 * brings up a new peer connection, and the link resumes on it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

import {
  ALL_CHANNELS,
  CallErrorCode,
  FrameError,
  FrameType,
  LOSSY_BATCH_BYTES,
  MAX_BATCH_BYTES,
  MIN_PROTOCOL_VERSION,
  RateMeter,
  TokenBucket,
  SlowRecipientReason,
  encodeCopiesDropped,
  permits,
  type ChannelKind,
  type ChannelPermissions,
  type Clock,
  type DataChannelLimits,
  type SendFrame,
  type ServerMessage,
  type TimerHandle,
  readBatch,
  speaksBatches,
  speaksExtensionFrames,
  speaksLinkCommits,
} from '@backchannel/protocol';

import { JoinError } from '../errors.js';
import { Emitter, type ListenerErrorReporter } from '../events.js';
import type { Logger } from '../logging.js';
import { FrameCoalescer, type TurnFlusher } from '../rtc/Coalescer.js';
import { ServerPeer, type SendResult, type ServerPeerOptions } from '../rtc/ServerPeer.js';
import { ReceiptTracker, type ReceiptSink } from './DeliveryReceipts.js';
import type { SenderSessionKey } from './RemoteSenderSession.js';
import type { PeerNode } from './CallSpan.js';
import { EndpointLink, type LinkChannel } from './EndpointLink.js';
import { LinkCommits } from './LinkCommits.js';
import type { GroupCall } from './GroupCall.js';
import { HeldBytesBudget, ServerSession, type SessionContext } from './ServerSession.js';

/** Remote sessions it keeps dropped-copy counts for; past it the oldest count is forgotten. */
const MAX_DROPPED_COPY_SESSIONS = 256;

/**
 * How long an endpoint whose peer connection went away waits for its agent's `leave` before it ends as
 * TransportFailed (see #transportGone). Short: the `leave` was sent before the close.
 */
const LEAVE_GRACE_MS = 1000;

/**
 * What became of a frame handed to {@link Endpoint.deliver}: as {@link SendResult}, or 'kept': a Durable
 * copy for a suspended (or resuming) endpoint, kept by its link and sent once it resumes.
 */
export type DeliverResult = SendResult | 'kept';

/**
 * The sender session a routed copy belongs to, as the extensions see it: a local one (ServerSession) or, in a
 * cluster, one of a sender on another node (RemoteSenderSession).
 */
export interface CopySource extends SenderSessionKey, ReceiptSink {
  noteSlowRecipient(recipient: Endpoint, reason: SlowRecipientReason, dropped: number, now: number): void;
}

/**
 * What an endpoint's Durable link may keep (sent or waiting, not acknowledged): room for what its transport
 * may hold queued (the bound on a live receiver, twice over) and for usrsctp's own send buffer (1 MiB in
 * libdatachannel) in flight. Past it a live receiver's copies are dropped as slow, and a suspended one ends.
 */
function keptBytesBound(queuedBound: number): number {
  return 2 * queuedBound + 1024 * 1024;
}

/** Where an endpoint's signaling goes: its agent's WebSocket. */
export interface SignalingSink {
  readonly identity: string;
  readonly displayName: string;
  /** The protocol version its `hello` said (default: the oldest spoken, which is sent no batches). */
  readonly protocolVersion?: number;
  /** The channel permissions of its token (an extension); absent: unrestricted. */
  readonly channels?: ChannelPermissions;
  send(message: ServerMessage): void;
}

/**
 * Where an endpoint's data frames go: the router, as calls/ sees it (routing/ depends on calls/, never the
 * reverse).
 */
export interface FrameHandler {
  /** A frame arrived from `sender` on its `kind` channel. Must not throw for bad input. */
  handleFrame(sender: Endpoint, kind: ChannelKind, frame: Uint8Array): void;
  /** A text message or an unexpected channel arrived: counted as malformed input. */
  protocolViolation(sender: Endpoint, what: string): void;
  /** A Lossy frame the sender's session held for its recipient list will never be routed. */
  heldFrameDropped(sender: Endpoint, frame: SendFrame): void;
}

/** Why an endpoint left without asking to: told to its agent in `callEnded`. */
export interface EndReason {
  readonly code: string;
  readonly message: string;
  /**
   * Its agent is not told (no `callEnded`): the server is shutting down to restart, and the SDK, which sees
   * the connection close with ServerShutdown, keeps the call and joins it again once the server is back.
   */
  readonly agentRejoins?: boolean;
}

/** What every endpoint of the server shares: limits, timeouts, the router, the clock. */
export interface EndpointSettings {
  readonly limits: DataChannelLimits;
  /** Sender sessions one endpoint may have open at once. */
  readonly maxSenders: number;
  /** Lossy bytes one endpoint may have held for recipient lists, all sessions together. */
  readonly maxHeldBytes: number;
  /** Time from join to a connected data transport before the endpoint is ended. */
  readonly joinTimeoutMs: number;
  /** Options of each endpoint's peer connection (its send bounds included). */
  readonly peer: ServerPeerOptions;
  readonly frames: FrameHandler;
  readonly clock: Clock;
  readonly reportListenerError?: ListenerErrorReporter;
  /**
   * How long an admitted endpoint whose transport or signaling connection is lost is kept, suspended, for
   * its SDK to resume it, ms. 0 (the default): never suspended; a lost endpoint ends as before.
   */
  readonly resumeWindowMs?: number;
  /**
   * How long Durable data toward it may wait at the rate its path drains, ms, before it is slow (see
   * ServerConfig.recipientBacklogMs). Default: no bound by time.
   */
  readonly recipientBacklogMs?: number;
  /** Bytes of retained messages one call may keep (state for late joiners). Default 4 MiB. */
  readonly maxRetainedBytesPerCall?: number;
  /** Where suspensions and resumes are logged (default: nowhere). */
  readonly logger?: Logger;
  /**
   * Ends the turns of every endpoint's coalescers (rtc/Coalescer.ts): with it, frames queued toward an
   * endpoint of protocol 3 or later within one event-loop turn leave batched; without it, one by one.
   */
  readonly flusher?: TurnFlusher;
}

export type EndpointState = 'connecting' | 'admitted' | 'closed';

export type EndpointEvents = {
  /** The endpoint closed; `reason` is set when it did not leave of its own accord. */
  close: [reason: EndReason | undefined];
  /** A `resume` moved its signaling away from `from`, which must forget it (without ending it). */
  signalingMoved: [from: SignalingSink];
};

/** One endpoint of a group call (see the module comment for its lifecycle). */
export class Endpoint extends Emitter<EndpointEvents> {
  readonly id: number;
  readonly call: GroupCall;
  readonly identity: string;
  readonly displayName: string;
  /** When it joined, on the settings' monotonic clock. */
  readonly joinedAt: number;
  /**
   * What its token let it send on and receive from when it joined (channel permissions, an extension).
   * Fixed for the endpoint's life, so that routing can cache who receives a session.
   */
  readonly channels: ChannelPermissions;
  #signaling: SignalingSink;
  readonly #settings: EndpointSettings;
  /** 128 random bits: what takes the endpoint back after a loss (`resume`). */
  readonly #resumeToken = randomBytes(16).toString('base64url');
  /** Its Durable link: every Durable frame toward it, kept until acknowledged (see EndpointLink). */
  readonly #link: EndpointLink;
  /**
   * What of its frames is safe from this node's loss, on a cluster node for an SDK that reads LinkCommit
   * (protocol 4): see LinkCommits. Undefined otherwise (its acknowledgements say it all).
   */
  readonly #commits: LinkCommits | undefined;
  /** Set while suspended: ends the endpoint when its resume window is over. */
  #resumeTimer: TimerHandle | undefined;
  #suspendedAt = 0;
  /** Its agent's signaling connection was lost (not only its transport): the end, if it comes, says so. */
  #signalingLost = false;
  /** A `resume` was accepted: the next `offer` brings up its new peer connection. */
  #awaitingOffer = false;
  /** A Durable copy could not be kept for its resume: it ends (once). */
  #overflowed = false;
  #state: EndpointState = 'connecting';
  #peer: ServerPeer | undefined;
  /** The current peer's channels behind their coalescers, when its agent reads batches (else undefined). */
  #coalesced: { readonly durable: FrameCoalescer; readonly lossy: FrameCoalescer } | undefined;
  readonly #joinTimer: TimerHandle;
  /** Set once the peer connection went away: the end as TransportFailed, unless a `leave` comes first. */
  #goneTimer: TimerHandle | undefined;
  /** Set by closeWhenDelivered(): the end that waits for the agent to acknowledge what it was sent. */
  #endWhenDelivered: { reason: EndReason; timer: TimerHandle } | undefined;
  /** Open sender sessions by channel id: their count is what the sender limit applies to. */
  readonly #openSessions = new Map<number, ServerSession>();
  /** The id of the last closed session per channel: frames of it, or older, are stale. */
  readonly #closedSessionIds = new Map<number, number>();
  readonly #sessionContext: SessionContext;
  /** SPEC §4 broadcast packet rate, with a second of slack over what the SDK allows for network jitter. */
  readonly #broadcastPackets: TokenBucket;
  /** What the server delivers to this endpoint: SPEC §4 takes 80% of it off the endpoint's broadcast budget. */
  readonly #received = new RateMeter();
  /**
   * Its last Durable copy found it past half a bound (queued bytes, or the wait at its drain rate): it is
   * late, and its senders are told (slow-recipient feedback, an extension).
   */
  #backlogged = false;
  /** Copies dropped for it, per remote session, not yet told to it (CopiesDropped; an extension). */
  readonly #droppedCopies = new Map<SenderSessionKey, number>();
  /** Receipts-flagged messages sent to it, by link number, until it acknowledges them (an extension). */
  readonly #receipts = new ReceiptTracker();

  constructor(id: number, call: GroupCall, signaling: SignalingSink, settings: EndpointSettings) {
    super(settings.reportListenerError);
    this.id = id;
    this.call = call;
    this.identity = signaling.identity;
    this.displayName = signaling.displayName;
    this.channels = signaling.channels ?? ALL_CHANNELS;
    this.#signaling = signaling;
    this.#settings = settings;
    const { clock, limits } = settings;
    const commits = call.span && speaksLinkCommits(this.protocolVersion) ? new LinkCommits(() => this.#link.received, (n) => this.#link.commit(n)) : undefined;
    this.#commits = commits;
    this.#link = new EndpointLink({
      maxKeptBytes: keptBytesBound(settings.peer.sendBufferBytes.durable),
      clock,
      committed: commits ? () => commits.committed : undefined,
    });
    this.joinedAt = clock.now();
    this.#broadcastPackets = new TokenBucket(limits.broadcastPacketsPerSecond / 1000, 2 * limits.broadcastPacketsPerSecond, clock.now());
    this.#sessionContext = {
      retainedBudget: call.retained,
      endpoint: this,
      limits,
      clock,
      heldBytes: new HeldBytesBudget(settings.maxHeldBytes),
      heldFrameDropped: (frame) => settings.frames.heldFrameDropped(this, frame),
    };
    this.#joinTimer = clock.setTimeout(
      () => this.close({ code: CallErrorCode.TransportFailed, message: `data transport not up within ${settings.joinTimeoutMs} ms` }),
      settings.joinTimeoutMs,
    );
  }

  get state(): EndpointState {
    return this.#state;
  }

  /** In the roster: its transport is up and it has not left. Routing reads this per message. */
  /** The protocol version its agent's signaling connection speaks (what the server may send it). */
  get protocolVersion(): number {
    return this.#signaling.protocolVersion ?? MIN_PROTOCOL_VERSION;
  }

  get admitted(): boolean {
    return this.#state === 'admitted';
  }

  /** Its peer connection to the server, once it has sent an offer. */
  get peer(): ServerPeer | undefined {
    return this.#peer;
  }

  /** Sender sessions open now (against the per-endpoint sender limit). */
  get openSessionCount(): number {
    return this.#openSessions.size;
  }

  /** Bytes of Lossy frames its sessions hold for recipient lists not yet received. */
  get heldBytes(): number {
    return this.#sessionContext.heldBytes.used;
  }

  /** Suspended: its transport or signaling was lost and it has not resumed yet (its resume window runs). */
  get suspended(): boolean {
    return this.#resumeTimer !== undefined;
  }

  /** The frame of it being routed (its link's latest) went to `node` as that link's latest record. */
  forwardedTo(node: PeerNode): void {
    this.#commits?.forwarded(node);
  }

  /** Its frames committed (see LinkCommits), or undefined where nothing is committed apart from acknowledged. */
  get committedFrames(): number | undefined {
    return this.#commits?.committed;
  }

  /** Its Durable link (what is kept for it, its counts). */
  get link(): EndpointLink {
    return this.#link;
  }

  /** The secret its agent got in `joined`, to resume it with. */
  get resumeToken(): string {
    return this.#resumeToken;
  }

  /** Whether `token` is its resume token (compared in constant time). */
  matchesResumeToken(token: string): boolean {
    const given = Buffer.from(token);
    const expected = Buffer.from(this.#resumeToken);
    return given.byteLength === expected.byteLength && timingSafeEqual(given, expected);
  }

  /** Sends a signaling message to the endpoint's agent. */
  signal(message: ServerMessage): void {
    this.#signaling.send(message);
  }

  /**
   * Applies the endpoint's SDP offer: creates its peer connection to the server. A second offer is refused
   * while it has one, and an admitted endpoint takes one only after a `resume` was accepted.
   */
  acceptOffer(sdp: string): void {
    if (this.#state === 'closed') return;
    if (this.#peer) throw new JoinError(CallErrorCode.BadRequest, 'the endpoint already has a peer connection');
    if (this.#state === 'admitted' && !this.#awaitingOffer) throw new JoinError(CallErrorCode.BadRequest, 'resume the endpoint before offering a new peer connection');
    this.#awaitingOffer = false;
    const frames = this.#settings.frames;
    // Every callback checks that its peer is still the endpoint's: a replaced peer's late events are ignored
    // (its frames were never counted, so the client resends them on the new link).
    const peer: ServerPeer = new ServerPeer(`endpoint-${this.id}`, this.#settings.peer, {
      onAnswer: (answer) => this.#peer === peer && this.signal({ type: 'answer', endpointId: this.id, sdp: answer }),
      onCandidate: (candidate, mid) => this.#peer === peer && this.signal({ type: 'candidate', endpointId: this.id, candidate, mid }),
      onReady: () => this.#peer === peer && this.#transportReady(peer),
      onGone: (reason, cause) => this.#peer === peer && this.#transportGone(reason, cause),
      onFrame: (kind, frame) => this.#peer === peer && this.#onMessage(kind, frame),
      onProtocolViolation: (what) => frames.protocolViolation(this, what),
    });
    this.#peer = peer;
    try {
      peer.handleOffer(sdp);
    } catch {
      // A refused offer ends the endpoint at once (its peer connection cannot be offered again).
      this.close({ code: CallErrorCode.BadRequest, message: 'the SDP offer was refused' });
    }
  }

  /** A trickled ICE candidate from the client (ignored before the offer). */
  addCandidate(candidate: string, mid: string): void {
    this.#peer?.addCandidate(candidate, mid);
  }

  /**
   * Hands a frame to this endpoint, and counts what it received for its broadcast budget. `now` is read
   * once per routed message, not per copy. Durable frames go through its link (kept until acknowledged,
   * bounded; while suspended, kept and not sent: 'kept'); Lossy ones to the transport while the link is
   * live (see {@link ServerPeer.send} for their bound), else nowhere ('closed', not a drop).
   */
  deliver(kind: ChannelKind, frame: Uint8Array, now = this.#settings.clock.now()): DeliverResult {
    if (kind === 'lossy') {
      const result = this.#peer && this.#link.live ? this.#sendLossy(this.#peer, frame) : 'closed';
      if (result === 'sent') this.#received.add(frame.byteLength, now);
      return result;
    }
    // A live receiver that is far behind is slow: what its transport holds queued is one bound, what its
    // link keeps at the rate its path drains (its acknowledgements show it) another, so that what it is
    // sent arrives within recipientBacklogMs. (What the link keeps also counts what is in flight and
    // awaiting the acknowledgement, so it has its own, larger bound in bytes, checked by the link.)
    if (this.#link.live && this.#peer) {
      // What waits for the end of the turn (the coalescer) counts as queued.
      const queued = this.#peer.bufferedAmount('durable') + (this.#coalesced?.durable.pendingBytes ?? 0) + frame.byteLength;
      const queueBound = this.#settings.peer.sendBufferBytes.durable;
      if (queued > queueBound) return 'slow';
      const waitMs = this.#link.drainMs(this.#link.keptBytes + frame.byteLength);
      const waitBound = this.#settings.recipientBacklogMs ?? Number.POSITIVE_INFINITY;
      if (waitMs !== undefined && waitMs > waitBound) return 'slow';
      this.#backlogged = 2 * queued > queueBound || (waitMs !== undefined && 2 * waitMs > waitBound);
    }
    return this.#onLink(frame, now, false);
  }

  /**
   * A Durable frame onto the link, past {@link deliver}'s or {@link tell}'s own rules. An overflow (too much
   * kept while suspended) ends the endpoint; so does a live link's refusal when `mustGo` (it is at its byte
   * bound, and the frame may not be dropped), otherwise that is a slow copy.
   */
  #onLink(frame: Uint8Array, now: number, mustGo: boolean): DeliverResult {
    const linked = this.#link.deliver(frame);
    if (linked === 'overflow' || (mustGo && linked === 'slow')) {
      this.#overflow();
      return 'closed';
    }
    if (linked === 'sent') this.#received.add(frame.byteLength, now);
    return linked;
  }

  /**
   * A frame of the server's own for it that someone must not miss (a Notice, a receipt, a slow-recipient
   * report, a departure, a barrier's answer): on its Durable link whatever its backlog. The slow-recipient
   * bounds of {@link deliver} are for copies of messages; one of these dropped there would leave someone
   * untold (a Notice is how a sender hears its message was dropped, and the sender's own path is often the
   * slow one). Each is caused by the endpoint's own traffic or is rate-bound (reports, departures), so no
   * other client can grow its link with them. Only the link's bound in bytes holds: past it the endpoint
   * ends (ConnectionLost), which tells too. (A session's close and the count of copies dropped for it stay
   * with {@link deliver}: another sender causes those at will.)
   */
  tell(frame: Uint8Array, now = this.#settings.clock.now()): DeliverResult {
    return this.#onLink(frame, now, true);
  }

  /**
   * Hands it a copy of a message of `session` (sent by `senderId`), with what the extensions add to a routed
   * copy: first it hears of copies dropped for it; a receipts copy (`receiptFor`, its sequence number) is
   * awaited on its link; its sender is told when it is dropped for, held back or suspended.
   */
  takeCopy(kind: ChannelKind, frame: Uint8Array, now: number, session: CopySource, senderId: number, receiptFor: number | undefined): DeliverResult {
    if (this.hasDroppedCopies) this.tellDroppedCopies(session, senderId);
    const result = this.deliver(kind, frame, now);
    if (result === 'sent' || result === 'kept') {
      // Right after the copy went on its link: the receipt waits for that link frame's acknowledgement.
      if (receiptFor !== undefined) this.expectReceipt(session, receiptFor);
      if (result === 'kept') session.noteSlowRecipient(this, SlowRecipientReason.Suspended, 0, now);
      else if (kind === 'durable' && this.#backlogged) session.noteSlowRecipient(this, SlowRecipientReason.Backlogged, 0, now);
    } else if (result === 'slow') {
      this.countDroppedCopy(session);
      session.noteSlowRecipient(this, SlowRecipientReason.Dropping, 1, now);
    }
    return result;
  }

  /** Its last Durable copy was delivered late: past half of a bound (slow-recipient feedback). */
  get backlogged(): boolean {
    return this.#backlogged;
  }

  /**
   * A copy of `session`'s message `sequenceNumber`, flagged for receipts, was just handed to its link (sent
   * or kept): its sender (here, or on another node) gets a receipt when this endpoint acknowledges it.
   */
  expectReceipt(session: ReceiptSink, sequenceNumber: number): void {
    this.#receipts.note(this.#link.sent, session, sequenceNumber);
  }

  /** Whether copies were dropped for it that it has not been told of. Read per copy: cheap. */
  get hasDroppedCopies(): boolean {
    return this.#droppedCopies.size > 0;
  }

  /** A copy of `session`'s message was dropped for it (it was too slow): told to it with the next that goes. */
  countDroppedCopy(session: SenderSessionKey): void {
    const map = this.#droppedCopies;
    if (!map.has(session) && map.size >= MAX_DROPPED_COPY_SESSIONS) map.delete(map.keys().next().value!); // oldest first
    map.set(session, (map.get(session) ?? 0) + 1);
  }

  /**
   * Tells it how many copies of `session` (sent by `senderId`) were dropped for it, before a copy of that
   * session that is about to reach it, or its close. Kept if even that small frame does not fit yet: held to
   * the slow bounds, as the copies it counts are (one per copy tried for a slow recipient otherwise).
   */
  tellDroppedCopies(session: SenderSessionKey, senderId: number): void {
    const count = this.#droppedCopies.get(session);
    if (count === undefined) return;
    if (!speaksExtensionFrames(this.protocolVersion)) return void this.#droppedCopies.delete(session); // a version-2 SDK cannot read it
    const told = this.deliver('durable', encodeCopiesDropped(session.channelId, session.sessionId, senderId, count));
    if (told !== 'slow') this.#droppedCopies.delete(session);
  }

  /**
   * A Lossy copy: refused as slow when what its channel holds and what waits for the end of the turn would
   * pass the bound (see {@link ServerPeer.send}), else sent now or at the end of the turn ('sent': a channel
   * that closed meanwhile loses it, as Lossy may, and the endpoint's suspension follows).
   */
  #sendLossy(peer: ServerPeer, frame: Uint8Array): SendResult {
    const coalesced = this.#coalesced;
    if (!coalesced) return peer.send('lossy', frame);
    const queued = peer.bufferedAmount('lossy') + coalesced.lossy.pendingBytes;
    if (queued + frame.byteLength > this.#settings.peer.sendBufferBytes.lossy) return 'slow';
    coalesced.lossy.send(frame);
    return 'sent';
  }

  /**
   * Its agent's signaling connection is gone without a `leave`: an admitted endpoint is suspended for its
   * resume window (when there is one), any other ends.
   */
  signalingLost(): void {
    if (this.#state !== 'admitted' || !this.#resumable) return this.close();
    this.#signalingLost = true;
    this.#suspend('signaling connection lost');
  }

  /**
   * A `resume` for it was accepted on `sink` (the caller checked identity and token): its signaling moves
   * there (the connection that had it forgets it), its current peer connection, if any, is closed without
   * ending it, and it is suspended until the new one is up; `resumed` answers request `ref`.
   */
  resume(sink: SignalingSink, ref: number): void {
    if (this.#state !== 'admitted') return;
    const from = this.#signaling;
    if (from !== sink) {
      this.#signaling = sink;
      this.safeEmit('signalingMoved', from);
    }
    this.#signalingLost = false;
    this.#suspend('resume requested');
    this.#awaitingOffer = true;
    const participants = this.call.participantsExcept(this);
    this.signal({ type: 'resumed', ref, callId: this.call.id, endpointId: this.id, participants });
  }

  /** Whether a lost connection suspends it rather than ending it. */
  get #resumable(): boolean {
    return (this.#settings.resumeWindowMs ?? 0) > 0;
  }

  /** What it has been delivered over the last second, kbit/s. */
  receivedKbps(now: number): number {
    return this.#received.kbps(now);
  }

  /** Broadcast packets it may still send now (negative while in debt). */
  broadcastPacketBalance(now: number): number {
    return this.#broadcastPackets.balance(now);
  }

  /** Charges a broadcast's packets to its packet rate. */
  chargeBroadcastPackets(packets: number, now: number): void {
    this.#broadcastPackets.consume(packets, now);
  }

  /**
   * Its session `sessionId` on `channelId`: the current one, or a new one if `sessionId` is newer (the one
   * it replaces is closed). 'stale' if `sessionId` is older than the current one or names a closed one;
   * 'limit' if a new session would pass the per-endpoint sender limit.
   */
  openSession(channelId: number, sessionId: number): ServerSession | 'stale' | 'limit' {
    const current = this.#openSessions.get(channelId);
    if (current) {
      if (sessionId === current.sessionId) return current;
      if (sessionId < current.sessionId) return 'stale';
      current.close(); // replaced: the count of open sessions stays the same
    } else {
      const closedId = this.#closedSessionIds.get(channelId);
      if (closedId !== undefined && sessionId <= closedId) return 'stale';
      if (this.#openSessions.size >= this.#settings.maxSenders) return 'limit';
      this.#closedSessionIds.delete(channelId);
    }
    const session = new ServerSession(channelId, sessionId, this.#sessionContext);
    this.#openSessions.set(channelId, session);
    return session;
  }

  /** A new endpoint entered the call: it gets what this endpoint's sessions retain for it (late joiners). */
  offerRetainedTo(newcomer: Endpoint): void {
    for (const session of this.#openSessions.values()) session.offerRetainedTo(newcomer);
  }

  /** An endpoint entered the call on another node: its sessions' retained messages go to it if it is a recipient. */
  offerRetainedToRemote(): void {
    for (const session of this.#openSessions.values()) session.offerRetainedToRemote();
  }

  /** Its open session on `channelId`, if any. */
  sessionOn(channelId: number): ServerSession | undefined {
    return this.#openSessions.get(channelId);
  }

  /** Closes its open session `sessionId` on `channelId`; false if that is not its open session there. */
  closeSession(channelId: number, sessionId: number): boolean {
    const session = this.#openSessions.get(channelId);
    if (!session || session.sessionId !== sessionId) return false;
    this.#openSessions.delete(channelId);
    this.#closedSessionIds.set(channelId, sessionId);
    session.close();
    return true;
  }

  /** Whether its token lets it send on `channelId`. */
  maySend(channelId: number): boolean {
    return permits(this.channels, 'send', channelId);
  }

  /** Whether its token lets it receive what is sent on `channelId`. */
  mayReceive(channelId: number): boolean {
    return permits(this.channels, 'receive', channelId);
  }

  /** As it appears in rosters. */
  toParticipant(): { endpointId: number; identity: string; displayName: string } {
    return { endpointId: this.id, identity: this.identity, displayName: this.displayName };
  }

  /**
   * Ends the endpoint: out of its call, its transport closed, its sessions gone, then 'close'. With a
   * `reason`, its agent is told the call ended (a departure it did not ask for); the others always see it
   * leave. Idempotent.
   */
  close(reason?: EndReason): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#settings.clock.clearTimeout(this.#joinTimer);
    if (this.#endWhenDelivered) this.#settings.clock.clearTimeout(this.#endWhenDelivered.timer);
    if (this.#goneTimer !== undefined) this.#settings.clock.clearTimeout(this.#goneTimer);
    if (this.#resumeTimer !== undefined) this.#settings.clock.clearTimeout(this.#resumeTimer);
    this.#resumeTimer = undefined;
    this.#link.close();
    this.#commits?.dispose();
    // What waits for the end of the turn goes now, as it would have gone unbatched, before the peer closes.
    this.#coalesced?.durable.endTurn();
    this.#coalesced?.lossy.endTurn();
    this.#dropCoalescers();
    this.#receipts.clear();
    // The reason goes out before the transport closes, so the client reports it rather than a transport failure.
    if (reason && !reason.agentRejoins) this.signal({ type: 'callEnded', endpointId: this.id, code: reason.code, message: reason.message });
    this.#peer?.close();
    for (const session of this.#openSessions.values()) session.abandon();
    this.#openSessions.clear();
    this.call.leave(this, reason);
    this.safeEmit('close', reason);
  }

  /**
   * Ends the endpoint with `reason` once its agent has acknowledged every Durable frame the server sent it
   * (at most `withinMs` from now): a call ended for everyone ends only after what was routed to each of its
   * endpoints before, the leaver's last messages among them, has arrived. Closing the peer connection at
   * once could discard frames still in flight, and the agent, told over signaling, could stop listening
   * before they land. At once when nothing is unacknowledged (or the link is not live).
   */
  closeWhenDelivered(reason: EndReason, withinMs: number): void {
    if (this.#state === 'closed' || this.#endWhenDelivered) return;
    if (this.#state !== 'admitted' || !this.#link.live || this.#link.keptFrames === 0) return this.close(reason);
    this.#endWhenDelivered = { reason, timer: this.#settings.clock.setTimeout(() => this.close(reason), withinMs) };
  }

  /**
   * The peer connection failed or closed. An admitted endpoint is suspended for its resume window (a
   * `leave` arriving meanwhile still ends it as a clean departure). Otherwise (still connecting, no resume
   * window, or a peer the server gave up on): when the agent hangs up it sends `leave` over signaling and
   * then closes its peer connection; the close can reach the server first (UDP against the agent's ordered
   * WebSocket, behind asynchronous token checks), and a clean hang-up would be counted as a transport
   * failure. So the endpoint waits LEAVE_GRACE_MS for that `leave` before it ends as TransportFailed;
   * meanwhile nothing can reach it (its peer is gone) and it stays in the roster.
   */
  #transportGone(reason: string, cause: 'lost' | 'refused'): void {
    if (this.#state === 'closed') return;
    if (cause === 'lost' && this.#state === 'admitted' && this.#resumable) return this.#suspend(reason);
    if (this.#goneTimer !== undefined) return;
    this.#goneTimer = this.#settings.clock.setTimeout(
      () => this.close({ code: CallErrorCode.TransportFailed, message: reason }),
      LEAVE_GRACE_MS,
    );
  }

  /**
   * Both data channels of `peer` are open. The first time, it enters the roster and its link goes live; after
   * a resume, it is already there: the link opens with the server's LinkResume and goes live on the
   * client's (see #onFrame).
   */
  #transportReady(peer: ServerPeer): void {
    const flusher = this.#settings.flusher;
    if (flusher && speaksBatches(this.protocolVersion)) {
      // A batch never passes what the SCTP association takes (libdatachannel refuses larger messages).
      const bound = (kind: ChannelKind, most: number): number => Math.min(most, peer.maxMessageSize(kind));
      this.#coalesced = {
        durable: new FrameCoalescer((frame) => void peer.send('durable', frame), flusher, bound('durable', MAX_BATCH_BYTES)),
        lossy: new FrameCoalescer((frame) => void peer.send('lossy', frame), flusher, bound('lossy', LOSSY_BATCH_BYTES)),
      };
    }
    const durable = this.#coalesced?.durable;
    const channel: LinkChannel = durable
      ? { send: (frame) => (durable.send(frame), true) }
      : { send: (frame) => peer.send('durable', frame) === 'sent' };
    if (this.#state === 'connecting') {
      this.#state = 'admitted';
      this.#settings.clock.clearTimeout(this.#joinTimer);
      this.#link.start(channel);
      this.call.enter(this);
    } else if (this.#state === 'admitted') {
      this.#link.resumeOn(channel);
    }
  }

  /**
   * An SCTP message from its current peer: one frame, or a batch of them, each then handled as if it had
   * come alone, in its own buffer, in order (so every per-frame check applies to each). A malformed batch is
   * refused whole.
   */
  #onMessage(kind: ChannelKind, message: Uint8Array): void {
    if (message[0] !== FrameType.Batch) return this.#onFrame(kind, message);
    try {
      // Each frame is copied out of the batch (one copy per routed message, as when each came in its own
      // SCTP message): the server keeps frames (for a resume, held for a recipient list) and bounds what it
      // keeps by their bytes, and a kept view would pin the whole batch, outside every bound.
      readBatch(message, 'client', (frame) => {
        if (this.#state !== 'closed') this.#onFrame(kind, frame.slice());
      });
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      this.#settings.frames.protocolViolation(this, `a malformed batch: ${error.message}`);
    }
  }

  /** A frame from its current peer: Durable ones pass its link first (LinkAck and LinkResume stop there). */
  #onFrame(kind: ChannelKind, frame: Uint8Array): void {
    const frames = this.#settings.frames;
    if (kind !== 'durable' || this.#link.state === 'idle') return frames.handleFrame(this, kind, frame);
    switch (this.#link.receive(frame)) {
      case 'frame':
        return frames.handleFrame(this, kind, frame);
      case 'ack':
        // What it acknowledged: every link frame sent but those still kept.
        this.#receipts.acknowledged((this.#link.sent - this.#link.keptFrames) >>> 0, this.id);
        if (this.#endWhenDelivered && this.#link.keptFrames === 0) this.close(this.#endWhenDelivered.reason);
        return;
      case 'resumed':
        return this.#resumed();
      case 'violation':
        return frames.protocolViolation(this, 'a LinkAck or LinkResume out of place');
      case 'broken':
        frames.protocolViolation(this, 'a LinkResume for frames never sent');
        return this.close({ code: CallErrorCode.TransportFailed, message: 'the resume named frames the server never sent' });
    }
  }

  /**
   * Its transport or signaling is lost, or a resume replaces them: its peer connection (if any) is closed
   * without ending it, its link keeps what comes, and its resume window starts, unless it already runs (the
   * window is counted from the first loss, whatever follows).
   */
  #suspend(why: string): void {
    const peer = this.#peer;
    this.#peer = undefined;
    this.#dropCoalescers();
    peer?.close();
    this.#awaitingOffer = false;
    this.#link.suspend();
    if (this.#resumeTimer !== undefined) return;
    const clock = this.#settings.clock;
    const windowMs = this.#settings.resumeWindowMs ?? 0;
    this.#suspendedAt = clock.now();
    this.#resumeTimer = clock.setTimeout(() => {
      this.#resumeTimer = undefined;
      const code = this.#signalingLost ? CallErrorCode.ConnectionLost : CallErrorCode.TransportFailed;
      this.close({ code, message: `not resumed within ${windowMs} ms` });
    }, windowMs);
    this.#settings.logger?.info({ callId: this.call.id, endpointId: this.id, reason: why }, 'endpoint suspended');
  }

  /** What waits for the end of the turn toward a peer that is going is dropped (its link kept the Durable copies). */
  #dropCoalescers(): void {
    this.#coalesced?.durable.discard();
    this.#coalesced?.lossy.discard();
    this.#coalesced = undefined;
  }

  /** The client's LinkResume arrived on the new transport: the link is live again, the window closed. */
  #resumed(): void {
    const clock = this.#settings.clock;
    if (this.#resumeTimer !== undefined) clock.clearTimeout(this.#resumeTimer);
    this.#resumeTimer = undefined;
    this.#settings.logger?.info(
      { callId: this.call.id, endpointId: this.id, msSuspended: clock.now() - this.#suspendedAt, framesResent: this.#link.lastResent },
      'endpoint resumed',
    );
  }

  /**
   * A Durable copy would pass the bound on what is kept while it cannot be sent: it could not be resumed
   * whole, so it ends. After the routing step in progress (it may be iterating over the roster).
   */
  #overflow(): void {
    if (this.#overflowed) return;
    this.#overflowed = true;
    this.#link.close(); // nothing more is kept: what follows must not be resent out of order
    queueMicrotask(() => this.close({ code: CallErrorCode.ConnectionLost, message: 'too much kept for its resume' }));
  }
}
