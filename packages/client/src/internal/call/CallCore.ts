/**
 * One call of this agent, inside the SDK: its state machine, roster, data link and data-channel engine,
 * and its end. The public `Call` wraps it and subscribes to its events; the setup flows (GroupJoin,
 * PeerCallSetup) drive it through {@link CallControl}.
 */
import {
  DEFAULT_LIMITS,
  PeerCallEndCode,
  CallErrorCode,
  DataChannelErrorCode,
  FrameError,
  FrameType,
  MAX_BATCH_BYTES,
  SCTP_MESSAGE_SLACK_BYTES,
  readBatch,
  speaksBatches,
  type ChannelKind,
  type Clock,
  type DataChannelLimits,
  type IceServerConfig,
  type ParticipantInfo,
  type TimerHandle,
  type WireDataChannelLimits,
} from '@backchannel/protocol';

import { CallError, DataChannelError } from '../../errors.js';
import { TypedEmitter, type ListenerErrorReporter } from '../../events.js';
import { DataChannelEngine } from '../dataChannel/DataChannelEngine.js';
import { DurableLink, type AcknowledgedFrames } from '../dataChannel/DurableLink.js';
import { peerFrameAsDelivered } from '../p2p/peerFrames.js';
import type { DataLink } from '../dataChannel/DataLink.js';
import type { Platform } from '../platform/Platform.js';
import type { SignalingClient } from '../signaling/SignalingClient.js';
import { CLOSED_CHANNEL, type TransportChannel } from '../transport/PeerTransport.js';
import type { CallControl, CallEndReason, CallState } from './CallControl.js';
import { CallTransport } from './CallTransport.js';
import { GroupJoin } from './GroupJoin.js';
import { PeerCallSetup, type PeerCallRole } from './PeerCallSetup.js';
import { Roster, type RosterEntry } from './Roster.js';

/** What a call is: a group call to join, a 1:1 call to place, or one this agent accepted. */
export type CallSetup = { kind: 'group'; groupId: string } | PeerCallRole;

/** How the agent configures the calls it creates. */
export interface CallContext {
  readonly signaling: SignalingClient;
  readonly platform: Platform;
  readonly clock: Clock;
  readonly iceServers: IceServerConfig[];
  readonly receiverBufferSize: number;
  /** Time allowed from join() to Connected. */
  readonly connectTimeoutMs: number;
  readonly reportListenerError: ListenerErrorReporter;
}

export interface CallCoreEvents {
  stateChanged: [];
  rosterChanged: [added: readonly RosterEntry[], removed: readonly RosterEntry[]];
  /** The endpoint lost its connection and is resuming (`'lost'`), or has resumed (`'resumed'`). */
  networkReconnect: [phase: 'lost' | 'resumed'];
}

/** How long hangUp() waits for already-sent Durable data to reach the far side. */
const HANG_UP_FLUSH_MS = 2000;

/** How long a group call whose replacement transport failed too waits before it resumes again. */
const RESUME_AGAIN_MS = 500;

/** How long a lost transport waits for the server's reason before the call ends as TransportFailed. */
const SERVER_REASON_GRACE_MS = 1000;

export class CallCore extends TypedEmitter<CallCoreEvents> implements CallControl {
  readonly signaling: SignalingClient;
  readonly engine: DataChannelEngine;
  /** What the data-channel engine needs from this call. */
  readonly link: DataLink;
  readonly roster = new Roster();
  readonly #context: CallContext;
  readonly #setup: CallSetup;
  readonly #flow: GroupJoin | PeerCallSetup;
  #id = '';
  #state: CallState = 'None';
  #endReason: CallEndReason | undefined;
  #limits: DataChannelLimits = DEFAULT_LIMITS;
  #transport: CallTransport | undefined;
  #rosterReceived = false;
  readonly #accepted: Deferred;
  #connectTimer: TimerHandle | undefined;
  /** Set by hangUp(): the call is being left on purpose, transport closures are expected. */
  #leaving = false;
  #hangingUp: Promise<void> | undefined;
  #endingForEveryone = false;
  /** hangUp's barrier was acknowledged: nothing sent before it is undelivered. */
  #flushed = false;
  #transportLostTimer: TimerHandle | undefined;
  /** The Durable link across transports (docs/reliability.md). */
  readonly #link: DurableLink;
  /** How long the server keeps this endpoint (1:1: this party) after a loss; 0: no resume. */
  #resumeWindowMs = 0;
  #suspended = false;
  #resumeTimer: TimerHandle | undefined;
  /** Why the call ends if the resume window passes (a server shutdown says so); else ConnectionLost. */
  #suspendEndReason: CallEndReason | undefined;
  #resumeAgainTimer: TimerHandle | undefined;
  /** Joined again as a new endpoint (rejoined): the next transport starts a new link. */
  #rejoining = false;
  /** The call reached Connected (senders made before it then started). */
  #connectedOnce = false;

  constructor(context: CallContext, setup: CallSetup) {
    super(context.reportListenerError);
    this.#context = context;
    this.signaling = context.signaling;
    this.#setup = setup;
    this.#accepted = deferred();
    this.#link = new DurableLink({
      clock: context.clock,
      reportListenerError: context.reportListenerError,
      // Batches go only to a server that reads them (protocol 3 and later), never to a 1:1 peer, and within
      // the SCTP message size the server accepts.
      maxBatchBytes: () =>
        setup.kind === 'group' && speaksBatches(this.signaling.protocolVersion)
          ? Math.min(MAX_BATCH_BYTES, this.#limits.maxMessageSizeBytes + SCTP_MESSAGE_SLACK_BYTES)
          : undefined,
      // A 1:1 call has no server to send receipts: the peer's acknowledgements are mapped back to messages.
      acknowledgedFrames: setup.kind === 'group' ? undefined : this.#peerReceipts(),
      // A cluster node commits what reached the other nodes: until then its loss could lose it (cluster.md).
      keepsUntilCommitted: () => setup.kind === 'group' && this.signaling.linkCommits,
    });
    this.#link.on('resumed', () => this.#resumed());
    this.#link.on('violated', (what) => this.end({ code: CallErrorCode.TransportFailed, message: `the other side broke the Durable link: ${what}` }));
    // The link's room grows with each acknowledgement; a new measure of the path may make the queue too long.
    this.#link.on('acknowledged', () => this.engine.onBufferedAmountLow());
    this.#link.on('measured', () => this.engine.shedBacklog());
    const limits = (): DataChannelLimits => this.#limits;
    this.link = {
      clock: context.clock,
      channels: context.signaling.channels,
      get limits() {
        return limits();
      },
      // Before Connected: 'waiting' (the scheduler holds Durable messages and drops Lossy ones: the transport
      // may be up before the server admitted the endpoint). Suspended: 'open', and the link reports itself
      // full until it resumes. Connected without a transport and not suspended: the call is about to end
      // ('waiting', so that what is sent then is rejected with the end's reason).
      dataState: () => {
        if (this.#state === 'Disconnecting' || this.#state === 'Disconnected') return 'closed';
        // #connectedOnce, not the state: it is set just before the engine starts, so that start's pump sends.
        return this.#connectedOnce && (this.#suspended || this.#transport?.isOpen === true) ? 'open' : 'waiting';
      },
      channel: (kind: ChannelKind): TransportChannel => (kind === 'durable' ? this.#link : (this.#transport?.channel(kind) ?? CLOSED_CHANNEL)),
      durableFlow: this.#link,
      endpointCountOf: (identity) => this.roster.endpointCountOf(identity),
      identityOf: (endpointId) => this.roster.identityOf(endpointId),
      remoteEndpoints: () => Array.from(this.roster.entries, (entry) => ({ endpointId: entry.endpointId, identity: entry.identity })),
    };
    this.engine = new DataChannelEngine(this.link, { receiverBufferSize: context.receiverBufferSize, reportListenerError: context.reportListenerError });
    this.#flow = setup.kind === 'group' ? new GroupJoin(this) : new PeerCallSetup(this, setup);
  }

  /** Starts the join (or the ring, or the answer). */
  start(): void {
    this.#setState('Connecting');
    this.#armConnectTimer();
    if (this.#flow instanceof GroupJoin) void this.#flow.start((this.#setup as { groupId: string }).groupId);
    else this.#flow.start();
  }

  get id(): string {
    return this.#id;
  }

  get state(): CallState {
    return this.#state;
  }

  get endReason(): CallEndReason | undefined {
    return this.#endReason;
  }

  get transport(): CallTransport | undefined {
    return this.#transport;
  }

  get clock(): Clock {
    return this.#context.clock;
  }

  get suspended(): boolean {
    return this.#suspended;
  }

  /** Resolves once a 1:1 call this agent accepted is confirmed as its own (first to accept). */
  get accepted(): Promise<void> {
    return this.#accepted.promise;
  }

  /** Leaves the call (ending it for everyone with `forEveryone`). Resolves once it is Disconnected. */
  hangUp(forEveryone = false): Promise<void> {
    if (this.#state === 'Disconnected') return Promise.resolve();
    if (forEveryone && !this.#hangingUp) this.#endingForEveryone = true;
    return (this.#hangingUp ??= this.#leave());
  }

  /** hangUp({ forEveryone: true }) was called: the flow's leave asks the server to end the call for all. */
  get endingForEveryone(): boolean {
    return this.#endingForEveryone;
  }

  // ----------------------------------------------------------------------------------- CallControl

  established(details: { callId: string; endpointId?: number; limits: WireDataChannelLimits; resumeWindowMs?: number }): void {
    this.#id = details.callId;
    this.#resumeWindowMs = details.resumeWindowMs ?? 0;
    if (details.endpointId !== undefined) this.roster.setSelf(details.endpointId);
    this.#limits = Object.freeze({ ...details.limits });
  }

  openTransport(role: 'offerer' | 'answerer', sendCandidate: (candidate: string, mid: string) => void): CallTransport {
    const direct = this.#setup.kind !== 'group';
    const current = (): boolean => this.#transport === transport; // late callbacks of a replaced transport are ignored
    const transport: CallTransport = new CallTransport(
      this.#context.platform,
      { role, iceServers: this.#context.iceServers, sendCandidate },
      {
        onOpen: () => {
          if (!current()) return;
          if (this.#rejoining) {
            // A new endpoint: a new link, live at once (the server has nothing to resume).
            this.#rejoining = false;
            this.#link.start(transport.channel('durable'));
            return this.#resumed();
          }
          if (this.#suspended) return this.#link.resumeOn(transport.channel('durable'));
          this.#link.start(transport.channel('durable'));
          this.#maybeConnected();
        },
        onLost: (message, what) => {
          if (!current()) return;
          if (what === 'connection' || this.#state === 'Connected') this.#transportLost(message);
        },
        onFrame: (kind, message) => {
          // Frames of a transport that was replaced are not counted: the server resends what it did not hear acknowledged.
          if (!current()) return;
          // The server's batches are split here, and each frame read as if it had come alone, in its own buffer:
          // a message's data handed to the application must not pin the whole batch for as long as it is
          // kept. A 1:1 peer sends no batches, and one it sent would be read as a malformed frame (peerFrames).
          if (direct || message[0] !== FrameType.ServerBatch) return this.#onFrame(kind, message, direct);
          try {
            readBatch(message, 'server', (frame) => current() && this.#onFrame(kind, frame.slice(), direct));
          } catch (error) {
            if (!(error instanceof FrameError)) throw error;
            this.engine.counters.malformedFrames++;
          }
        },
        onBufferedAmountLow: () => this.engine.onBufferedAmountLow(),
      },
    );
    const previous = this.#transport;
    this.#transport = transport;
    previous?.close(); // a 1:1 call's attempt given up for this one: its late callbacks are ignored (current())
    return transport;
  }

  /** One frame from the transport: Durable ones pass the link first (LinkAck and LinkResume stop there). */
  #onFrame(kind: ChannelKind, frame: Uint8Array, direct: boolean): void {
    if (kind === 'durable' && this.#link.receive(frame)) return;
    // A 1:1 peer sends client frames; the engine reads them as the server would deliver them.
    const delivered = direct ? peerFrameAsDelivered(frame, (reply) => void this.#link.send(reply)) : frame;
    if (delivered) this.engine.onFrame(delivered);
  }

  rejoined(details: { callId: string; endpointId: number; limits: WireDataChannelLimits; resumeWindowMs: number }): void {
    this.#id = details.callId;
    this.#resumeWindowMs = details.resumeWindowMs;
    this.#limits = Object.freeze({ ...details.limits });
    const why = 'the server no longer had this endpoint (it restarted, or its cluster node was lost); the call was joined again';
    // Reported against the old sessions first, then the senders move to new ones.
    this.engine.reportUndelivered(
      this.#link.restart(),
      (sequenceNumber) => new DataChannelError(DataChannelErrorCode.FailedToStart, `message ${sequenceNumber} was not delivered: ${why}`),
    );
    this.engine.restartEndpoint(new DataChannelError(DataChannelErrorCode.FailedToStart, `the message was not sent: ${why}`));
    const removed = this.roster.clear();
    if (removed.length > 0) this.emit('rosterChanged', [], removed);
    this.roster.setSelf(details.endpointId);
    this.#rejoining = true;
  }

  rosterKnown(participants: readonly ParticipantInfo[]): void {
    this.#rosterReceived = true;
    this.updateRoster(participants, []);
    this.#maybeConnected();
  }

  updateRoster(joined: readonly ParticipantInfo[], leftEndpointIds: readonly number[]): void {
    const { added, removed } = this.roster.update(joined, leftEndpointIds);
    // Frames that raced ahead of the roster are delivered now that their sender is known.
    for (const entry of added) this.engine.onParticipantJoined(entry.endpointId);
    for (const entry of removed) this.engine.onParticipantLeft(entry.endpointId, entry.identity);
    if (added.length > 0 || removed.length > 0) this.emit('rosterChanged', added, removed);
  }

  replaceRoster(participants: readonly ParticipantInfo[]): void {
    const now = new Set(participants.map((p) => p.endpointId));
    const left = [...this.roster.entries].filter((entry) => !now.has(entry.endpointId)).map((entry) => entry.endpointId);
    this.updateRoster(participants, left);
  }

  suspend(cause: string, endReason?: CallEndReason): boolean {
    if (endReason && this.#state === 'Connected') this.#suspendEndReason ??= endReason;
    if (this.#suspended) {
      // A 1:1 call's replacement transport failed too: its flow tries again. (A group call's is retried by
      // #transportLost, or by the next reconnection's resume.)
      if (this.#setup.kind !== 'group') {
        this.#dropTransport();
        void this.#flow.resume();
      }
      return true;
    }
    if (!this.#beginSuspension(cause)) return false;
    this.#dropTransport();
    void this.#flow.resume();
    return true;
  }

  dropTransport(cause: string): boolean {
    if (!this.#suspended && !this.#beginSuspension(cause)) return false;
    this.#dropTransport();
    return true;
  }

  ringing(): void {
    // Ringing has its own limit, the server's ring timeout (NoAnswer): the connect timer starts again on answer.
    this.#context.clock.clearTimeout(this.#connectTimer);
    this.#setState('Ringing');
  }

  answered(): void {
    if (this.#state === 'Ringing') this.#setState('Connecting');
    this.#armConnectTimer();
  }

  acceptConfirmed(details: { resumeWindowMs: number }): void {
    this.#resumeWindowMs = details.resumeWindowMs;
    this.#accepted.resolve();
  }

  end(reason: CallEndReason): void {
    if (this.#state === 'Disconnected' || (this.#state === 'Disconnecting' && !this.#leaving) || this.#endReason) return;
    const clock = this.#context.clock;
    clock.clearTimeout(this.#connectTimer);
    clock.clearTimeout(this.#transportLostTimer);
    clock.clearTimeout(this.#resumeTimer);
    clock.clearTimeout(this.#resumeAgainTimer);
    this.#endReason = reason;
    this.#setState('Disconnecting');
    this.#flow.leave(reason);
    // What left this endpoint and the server never acknowledged will not be delivered now: reported, not lost.
    const undelivered = this.#link.abandon();
    if (!this.#flushed) {
      this.engine.reportUndelivered(
        undelivered,
        (sequenceNumber) => new DataChannelError(DataChannelErrorCode.FailedToStart, `message ${sequenceNumber} was not delivered: ${reason.message}`),
      );
    }
    // What waits in the senders' queues will not go: before the call connected it never started.
    this.engine.end(this.#connectedOnce ? undefined : new DataChannelError(DataChannelErrorCode.FailedToStart, `the call ended before it connected: ${reason.message}`));
    this.#accepted.reject(new CallError(reason.code as CallErrorCode, reason.message));
    this.#transport?.close();
    const removed = this.roster.clear();
    if (removed.length > 0) this.emit('rosterChanged', [], removed);
    this.#setState('Disconnected');
  }

  // ----------------------------------------------------------------------------------- internals

  /**
   * Leaves without losing what was already sent. A message whose sendMessage resolved may still sit in the
   * SCTP buffers, and closing the peer connection at once would discard it: first a Barrier frame goes on
   * the Durable channel, behind that data, and the server (or the peer) acknowledges it once everything
   * before it has arrived; then the call ends. Bounded by HANG_UP_FLUSH_MS. Messages still waiting in the
   * SDK's own queues (paced, not yet handed to the transport) reject with DataChannelSenderClosed.
   */
  async #leave(): Promise<void> {
    this.#leaving = true;
    const wasConnected = this.#state === 'Connected';
    // Disconnecting from now on: no new sender, no new message (the data link is unusable), while the
    // messages already handed over are flushed.
    this.#setState('Disconnecting');
    // Acknowledged barrier: the server (or peer) has everything sent before it, whatever LinkAck said yet.
    // Suspended, nothing can be acknowledged: what the other side lacks is reported as undelivered instead.
    if (wasConnected && !this.#suspended) this.#flushed = await this.engine.flush(HANG_UP_FLUSH_MS);
    this.end({ code: PeerCallEndCode.HungUp, message: 'the call was hung up' });
  }

  #armConnectTimer(): void {
    const clock = this.#context.clock;
    clock.clearTimeout(this.#connectTimer);
    const ms = this.#context.connectTimeoutMs;
    this.#connectTimer = clock.setTimeout(() => this.end({ code: CallErrorCode.TransportFailed, message: `not connected within ${ms} ms` }), ms);
  }

  /** The link's view of acknowledged frames for a 1:1 call's receipts (the engine is made after the link). */
  #peerReceipts(): AcknowledgedFrames {
    return { frame: (frame) => this.engine.peerReceipts.frame(frame), done: () => this.engine.peerReceipts.done() };
  }

  #maybeConnected(): void {
    if (this.#state !== 'Connecting' || !this.#rosterReceived || !this.#transport?.isOpen) return;
    this.#context.clock.clearTimeout(this.#connectTimer);
    this.#connectedOnce = true;
    this.engine.start();
    this.#setState('Connected');
  }

  /**
   * The peer connection went away. When the server ended the call on purpose (shutdown, say) its reason is
   * on its way over signaling and may arrive just after the transport noticed: wait a moment for it, so the
   * application sees why, not just that the transport failed.
   */
  #transportLost(message: string): void {
    if (this.#leaving || this.#transportLostTimer || this.#state === 'Disconnected' || this.#state === 'Disconnecting') return;
    if (this.#suspended && this.#setup.kind === 'group') return this.#resumeAgainSoon();
    if (this.suspend(message)) return;
    if (!this.signaling.isOpen) return this.end({ code: CallErrorCode.TransportFailed, message });
    this.#transportLostTimer = this.#context.clock.setTimeout(
      () => this.end({ code: CallErrorCode.TransportFailed, message }),
      SERVER_REASON_GRACE_MS,
    );
  }

  /** Suspended from now on, for the resume window; false if the call cannot be (not connected, leaving, no window). */
  #beginSuspension(cause: string): boolean {
    if (this.#state !== 'Connected' || this.#leaving || this.#resumeWindowMs <= 0) return false;
    this.#suspended = true;
    const windowMs = this.#resumeWindowMs;
    this.#resumeTimer = this.#context.clock.setTimeout(() => {
      const shutdown = this.#suspendEndReason;
      if (shutdown) this.end({ code: shutdown.code, message: `${shutdown.message}, and was not back within ${windowMs} ms` });
      else this.end({ code: CallErrorCode.ConnectionLost, message: `not resumed within ${windowMs} ms (${cause})` });
    }, windowMs);
    this.emit('networkReconnect', 'lost');
    return true;
  }

  /**
   * A group call's replacement transport failed too (the network is still bad, the signaling connection
   * is not): a new `resume` shortly, with a new transport, for as long as the window lasts. The server takes
   * a `resume` at any time (it drops what it had of the endpoint's transport).
   */
  #resumeAgainSoon(): void {
    this.#dropTransport();
    this.#context.clock.clearTimeout(this.#resumeAgainTimer);
    this.#resumeAgainTimer = this.#context.clock.setTimeout(() => {
      this.#resumeAgainTimer = undefined;
      if (this.#suspended) void this.#flow.resume();
    }, RESUME_AGAIN_MS);
  }

  /** The link waits for another transport; this one is closed. */
  #dropTransport(): void {
    this.#link.down();
    const transport = this.#transport;
    this.#transport = undefined;
    transport?.close();
  }

  /** The link carries frames again: the endpoint is back. */
  #resumed(): void {
    if (!this.#suspended) return;
    this.#suspended = false;
    this.#suspendEndReason = undefined;
    this.#context.clock.clearTimeout(this.#resumeTimer);
    this.emit('networkReconnect', 'resumed');
    this.engine.onBufferedAmountLow(); // what waited during the outage goes now
  }

  #setState(state: CallState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('stateChanged');
  }
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined); // nobody may be waiting
  return { promise, resolve, reject };
}
