/**
 * One endpoint in a group call: a device or tab of an identity, with its peer connection to the server, its
 * sender sessions, and its share of the traffic rules. It owns all of that state; the call manager, the
 * router and the agent connection act on it only through its methods.
 *
 * Lifecycle: 'connecting' (joined, transport not up yet) → 'admitted' (both data channels open: in the
 * roster) → 'closed'. `close()` is idempotent and cascades to the peer connection and the sessions, then
 * emits 'close'.
 */
import {
  CallErrorCode,
  RateMeter,
  TokenBucket,
  type ChannelKind,
  type Clock,
  type DataChannelLimits,
  type SendFrame,
  type ServerMessage,
  type TimerHandle,
} from '@backchannel/protocol';

import { JoinError } from '../errors.js';
import { Emitter, type ListenerErrorReporter } from '../events.js';
import { ServerPeer, type SendResult, type ServerPeerOptions } from '../rtc/ServerPeer.js';
import type { GroupCall } from './GroupCall.js';
import { HeldBytesBudget, ServerSession, type SessionContext } from './ServerSession.js';

/**
 * How long an endpoint whose peer connection went away waits for its agent's `leave` before it ends as
 * TransportFailed (see #transportGone). Short: the `leave` was sent before the close.
 */
const LEAVE_GRACE_MS = 1000;

/** Where an endpoint's signaling goes: its agent's WebSocket. */
export interface SignalingSink {
  readonly identity: string;
  readonly displayName: string;
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
}

export type EndpointState = 'connecting' | 'admitted' | 'closed';

export type EndpointEvents = {
  /** The endpoint closed; `reason` is set when it did not leave of its own accord. */
  close: [reason: EndReason | undefined];
};

/** One endpoint of a group call (see the module comment for its lifecycle). */
export class Endpoint extends Emitter<EndpointEvents> {
  readonly id: number;
  readonly call: GroupCall;
  readonly identity: string;
  readonly displayName: string;
  /** When it joined, on the settings' monotonic clock. */
  readonly joinedAt: number;
  readonly #signaling: SignalingSink;
  readonly #settings: EndpointSettings;
  #state: EndpointState = 'connecting';
  #peer: ServerPeer | undefined;
  readonly #joinTimer: TimerHandle;
  /** Set once the peer connection went away: the end as TransportFailed, unless a `leave` comes first. */
  #goneTimer: TimerHandle | undefined;
  /** Open sender sessions by channel id: their count is what the sender limit applies to. */
  readonly #openSessions = new Map<number, ServerSession>();
  /** The id of the last closed session per channel: frames of it, or older, are stale. */
  readonly #closedSessionIds = new Map<number, number>();
  readonly #sessionContext: SessionContext;
  /** SPEC §4 broadcast packet rate, with a second of slack over what the SDK allows for network jitter. */
  readonly #broadcastPackets: TokenBucket;
  /** What the server delivers to this endpoint: SPEC §4 takes 80% of it off the endpoint's broadcast budget. */
  readonly #received = new RateMeter();

  constructor(id: number, call: GroupCall, signaling: SignalingSink, settings: EndpointSettings) {
    super(settings.reportListenerError);
    this.id = id;
    this.call = call;
    this.identity = signaling.identity;
    this.displayName = signaling.displayName;
    this.#signaling = signaling;
    this.#settings = settings;
    const { clock, limits } = settings;
    this.joinedAt = clock.now();
    this.#broadcastPackets = new TokenBucket(limits.broadcastPacketsPerSecond / 1000, 2 * limits.broadcastPacketsPerSecond, clock.now());
    this.#sessionContext = {
      endpoint: this,
      limits,
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

  /** Sends a signaling message to the endpoint's agent. */
  signal(message: ServerMessage): void {
    this.#signaling.send(message);
  }

  /** Applies the endpoint's SDP offer: creates its peer connection to the server. */
  acceptOffer(sdp: string): void {
    if (this.#state === 'closed') return;
    if (this.#peer) throw new JoinError(CallErrorCode.BadRequest, 'the endpoint already has a peer connection');
    const frames = this.#settings.frames;
    const peer = new ServerPeer(`endpoint-${this.id}`, this.#settings.peer, {
      onAnswer: (answer) => this.signal({ type: 'answer', endpointId: this.id, sdp: answer }),
      onCandidate: (candidate, mid) => this.signal({ type: 'candidate', endpointId: this.id, candidate, mid }),
      onReady: () => this.#admit(),
      onGone: (reason) => this.#transportGone(reason),
      onFrame: (kind, frame) => frames.handleFrame(this, kind, frame),
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
   * Hands a frame to this endpoint's transport (see {@link ServerPeer.send} for the bounds), and counts
   * what it received for its broadcast budget. `now` is read once per routed message, not per copy.
   */
  deliver(kind: ChannelKind, frame: Uint8Array, now = this.#settings.clock.now()): SendResult {
    const result = this.#peer ? this.#peer.send(kind, frame) : 'closed';
    if (result === 'sent') this.#received.add(frame.byteLength, now);
    return result;
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
    const session = new ServerSession(sessionId, this.#sessionContext);
    this.#openSessions.set(channelId, session);
    return session;
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
    if (this.#goneTimer !== undefined) this.#settings.clock.clearTimeout(this.#goneTimer);
    // The reason goes out before the transport closes, so the client reports it rather than a transport failure.
    if (reason) this.signal({ type: 'callEnded', endpointId: this.id, code: reason.code, message: reason.message });
    this.#peer?.close();
    for (const session of this.#openSessions.values()) session.abandon();
    this.#openSessions.clear();
    this.call.leave(this, reason);
    this.safeEmit('close', reason);
  }

  /**
   * The peer connection failed or closed. When the agent hangs up it sends `leave` over signaling and then
   * closes its peer connection; the close can reach the server first (UDP against the agent's ordered
   * WebSocket, behind asynchronous token checks), and a clean hang-up would be counted as a transport
   * failure. So the endpoint waits LEAVE_GRACE_MS for that `leave` before it ends as TransportFailed;
   * meanwhile nothing can reach it (its peer is gone) and it stays in the roster.
   */
  #transportGone(reason: string): void {
    if (this.#state === 'closed' || this.#goneTimer !== undefined) return;
    this.#goneTimer = this.#settings.clock.setTimeout(
      () => this.close({ code: CallErrorCode.TransportFailed, message: reason }),
      LEAVE_GRACE_MS,
    );
  }

  /** Both data channels are open: it enters the roster. */
  #admit(): void {
    if (this.#state !== 'connecting') return;
    this.#state = 'admitted';
    this.#settings.clock.clearTimeout(this.#joinTimer);
    this.call.enter(this);
  }
}
