import {
  DEFAULT_LIMITS,
  PeerCallEndCode,
  type ChannelKind,
  type DataChannelLimits,
  type IceServerConfig,
  type ParticipantInfo,
  type PartyInfo,
  type PeerSignal,
  type WireDataChannelLimits,
} from '@backchannel/protocol';
import { createPeerTransport } from '#platform';

import { DataChannelCallFeature } from './dataChannel/DataChannelCallFeature.js';
import type { CommunicationIdentifierKind } from './dataChannel/types.js';
import { CallError, CallErrorCode } from './errors.js';
import { TypedEmitter } from './events.js';
import type { CallFeatureFactory } from './Features.js';
import { DataChannelEngine } from './internal/dataChannel/DataChannelEngine.js';
import { BUFFERED_LOW_WATERMARK, type DataLink } from './internal/dataChannel/DataLink.js';
import { REMOTE_PEER_ENDPOINT_ID, peerFrameAsDelivered } from './internal/p2p/peerFrames.js';
import type { EndpointMessage, PeerCallMessage, SignalingClient } from './internal/signaling/SignalingClient.js';
import { CLOSED_CHANNEL, type PeerTransport, type TransportChannel } from './internal/transport/PeerTransport.js';

export type CallState = 'None' | 'Connecting' | 'Ringing' | 'Connected' | 'Disconnecting' | 'Disconnected';

/** Why a call ended (reference SDK: `callEndReason`). `code` is a {@link CallErrorCode} or a {@link PeerCallEndCode}. */
export interface CallEndReason {
  code: string;
  message: string;
}

/** Another endpoint in the call. One identity joined from two devices appears twice. */
export interface RemoteParticipant {
  readonly identifier: CommunicationIdentifierKind;
  readonly displayName: string;
  readonly state: 'Connected' | 'Disconnected';
  /** Backchannel extension: the server's id for this endpoint. */
  readonly endpointId: number;
}

export interface RemoteParticipantsUpdatedEvent {
  added: RemoteParticipant[];
  removed: RemoteParticipant[];
}

export interface CallEvents {
  [event: string]: unknown[];
  stateChanged: [];
  remoteParticipantsUpdated: [event: RemoteParticipantsUpdatedEvent];
}

/** @internal What a call is: a group call to join, a 1:1 call to place, or one this agent accepted. */
export type CallSetup =
  | { kind: 'group'; groupId: string }
  | { kind: 'outgoing'; callee: string }
  | { kind: 'incoming'; callId: string; caller: PartyInfo; limits: WireDataChannelLimits };


function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined); // nobody may be waiting
  return { promise, resolve, reject };
}

/** @internal How the agent configures the calls it creates. */
export interface CallOptions {
  iceServers: IceServerConfig[];
  receiverBufferSize: number;
  /** Time allowed from join() to Connected. */
  connectTimeoutMs: number;
  onEnded(call: Call): void;
}

/**
 * A call this agent is in. Returned by `callAgent.join()` in state 'Connecting'; 'Connected' once the data
 * transport to the server is up and the roster is known.
 */
export class Call extends TypedEmitter<CallEvents> {
  #id = '';
  #state: CallState = 'None';
  #endReason: CallEndReason | undefined;
  readonly #participants = new Map<number, RemoteParticipant>();
  readonly #signaling: SignalingClient;
  readonly #options: CallOptions;
  #endpointId = 0;
  #limits: DataChannelLimits = DEFAULT_LIMITS;
  #transport: PeerTransport | undefined;
  readonly #openChannels = new Set<ChannelKind>();
  #rosterReceived = false;
  /**
   * Local ICE candidates are held until the server's answer is applied. Without them the server cannot
   * start connectivity checks early: libdatachannel can otherwise connect ICE, and start DTLS, in the
   * moment between taking the answer's ICE credentials and committing its fingerprint, and then refuses
   * the server's certificate ("unknown CA"). Holding them also keeps them from overtaking the offer.
   */
  #heldCandidates: { candidate: string; mid: string }[] | undefined = [];
  #sendCandidate: ((candidate: string, mid: string) => void) | undefined;
  readonly #setup: CallSetup;
  readonly #accepted = deferred();
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set by hangUp(): the call is being left on purpose, transport closures are expected. */
  #leaving = false;
  #hangingUp: Promise<void> | undefined;
  #transportLostTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #dataChannel: DataChannelCallFeature;
  readonly #engine: DataChannelEngine;

  /** @internal Created by CallAgent.join(), CallAgent.startCall() and IncomingCall.accept(). */
  constructor(signaling: SignalingClient, setup: CallSetup, options: CallOptions) {
    super();
    this.#signaling = signaling;
    this.#options = options;
    const currentLimits = (): DataChannelLimits => this.#limits;
    const link: DataLink = {
      get limits() {
        return currentLimits();
      },
      isUsable: () => this.#state === 'Connected' && this.#openChannels.size === 2,
      channel: (kind) => this.#channel(kind),
      endpointCountOf: (identity) => {
        let count = 0;
        for (const p of this.#participants.values()) if (p.identifier.communicationUserId === identity) count++;
        return count;
      },
      identityOf: (endpointId) => this.#participants.get(endpointId)?.identifier.communicationUserId,
    };
    this.#dataChannel = new DataChannelCallFeature(() => this.#engine);
    this.#engine = new DataChannelEngine(link, { receiverBufferSize: options.receiverBufferSize }, (receiver) =>
      this.#dataChannel.receiverCreated(receiver),
    );
    this.#setState('Connecting');
    this.#setup = setup;
    this.#armConnectTimer();
    if (setup.kind === 'group') void this.#connectGroup(setup.groupId);
    else this.#startPeerCall(setup);
  }

  /** The server's id of this call; empty until the join is accepted. */
  get id(): string {
    return this.#id;
  }

  get state(): CallState {
    return this.#state;
  }

  /** Set once the call is Disconnected. */
  get callEndReason(): CallEndReason | undefined {
    return this.#endReason;
  }

  get remoteParticipants(): readonly RemoteParticipant[] {
    return [...this.#participants.values()];
  }

  /** A feature of the call: `call.feature(Features.DataChannel)`. */
  feature<T>(factory: CallFeatureFactory<T>): T {
    if ((factory?.featureClass as unknown) === DataChannelCallFeature) return this.#dataChannel as T;
    throw new TypeError(`unknown call feature ${String(factory?.name)}`);
  }

  /** Leaves the call. Resolves once it is Disconnected. */
  hangUp(): Promise<void> {
    if (this.#state === 'Disconnected') return Promise.resolve();
    return (this.#hangingUp ??= this.#leave());
  }

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
    if (wasConnected) await this.#engine.flush(HANG_UP_FLUSH_MS);
    this.#end({ code: PeerCallEndCode.HungUp, message: 'the call was hung up' });
  }

  #armConnectTimer(): void {
    clearTimeout(this.#connectTimer);
    const ms = this.#options.connectTimeoutMs;
    this.#connectTimer = setTimeout(() => this.#end({ code: CallErrorCode.TransportFailed, message: `not connected within ${ms} ms` }), ms);
  }

  /** @internal Resolves once a 1:1 call this agent accepted is confirmed as its own (first to accept). */
  get accepted(): Promise<void> {
    return this.#accepted.promise;
  }

  async #connectGroup(groupId: string): Promise<void> {
    try {
      const joined = await this.#signaling.join(groupId);
      if (this.#state !== 'Connecting') {
        this.#signaling.send({ type: 'leave', endpointId: joined.endpointId });
        return;
      }
      this.#id = joined.callId;
      this.#endpointId = joined.endpointId;
      this.#limits = Object.freeze({ ...joined.limits });
      this.#signaling.attachEndpoint(joined.endpointId, {
        onMessage: (message) => this.#onSignaling(message),
        onConnectionLost: (error) => this.#end({ code: error.code, message: error.message }),
      });
      this.#transport = this.#createTransport('offerer', (candidate, mid) =>
        this.#signaling.send({ type: 'candidate', endpointId: this.#endpointId, candidate, mid }),
      );
      const sdp = await this.#transport.createOffer();
      this.#signaling.send({ type: 'offer', endpointId: this.#endpointId, sdp });
    } catch (error) {
      const code = error instanceof CallError ? error.code : CallErrorCode.TransportFailed;
      this.#end({ code, message: error instanceof Error ? error.message : String(error) });
    }
  }

  #onSignaling(message: EndpointMessage): void {
    switch (message.type) {
      case 'answer':
        try {
          this.#transport?.setRemoteAnswer(message.sdp);
        } catch (error) {
          this.#end({ code: CallErrorCode.TransportFailed, message: String(error) });
          return;
        }
        this.#releaseCandidates();
        return;
      case 'candidate':
        this.#transport?.addRemoteCandidate(message.candidate, message.mid);
        return;
      case 'connected':
        this.#rosterReceived = true;
        this.#updateRoster(message.participants, []);
        this.#maybeConnected();
        return;
      case 'participantJoined':
        this.#updateRoster([message.participant], []);
        return;
      case 'participantLeft':
        this.#updateRoster([], [message.participantEndpointId]);
        return;
      case 'callEnded':
        this.#end({ code: message.code, message: message.message });
        return;
      case 'error':
        this.#end({ code: message.code, message: message.message });
        return;
    }
  }

  /**
   * The peer connection, either to the server (group call) or to the other party (1:1 call). Local ICE
   * candidates go through `sendCandidate` once `#releaseCandidates()` is called (see #heldCandidates).
   */
  #createTransport(role: 'offerer' | 'answerer', sendCandidate: (candidate: string, mid: string) => void): PeerTransport {
    this.#sendCandidate = sendCandidate;
    const direct = this.#setup.kind !== 'group';
    return createPeerTransport(
      { role, iceServers: this.#options.iceServers, bufferedAmountLowThreshold: BUFFERED_LOW_WATERMARK },
      {
        onLocalCandidate: (candidate, mid) => {
          if (this.#heldCandidates) this.#heldCandidates.push({ candidate, mid });
          else sendCandidate(candidate, mid);
        },
        onStateChange: (state) => {
          if (state === 'failed' || state === 'closed') this.#transportLost(`peer connection ${state}`);
        },
        onChannelOpen: (kind) => {
          this.#openChannels.add(kind);
          this.#maybeConnected();
        },
        onChannelClose: (kind) => {
          this.#openChannels.delete(kind);
          if (this.#state === 'Connected') this.#transportLost(`the ${kind} data channel closed`);
        },
        // A 1:1 peer sends client frames; the engine reads them as the server would deliver them.
        onMessage: (_kind, frame) => {
          const delivered = direct ? peerFrameAsDelivered(frame, (reply) => void this.#transport?.durable.send(reply)) : frame;
          if (delivered) this.#engine.onFrame(delivered);
        },
        onBufferedAmountLow: () => this.#engine.onBufferedAmountLow(),
      },
    );
  }

  /** The remote description is applied: held local candidates may go now. */
  #releaseCandidates(): void {
    const held = this.#heldCandidates ?? [];
    this.#heldCandidates = undefined;
    for (const { candidate, mid } of held) this.#sendCandidate?.(candidate, mid);
  }

  /** 1:1 call: the caller rings the callee; the callee has accepted and waits for the caller's offer. */
  #startPeerCall(setup: Exclude<CallSetup, { kind: 'group' }>): void {
    if (setup.kind === 'incoming') {
      this.#attachPeer(setup.callId, setup.limits);
      this.#signaling.send({ type: 'acceptCall', callId: setup.callId });
      return;
    }
    const onRinging = (ringing: { callId: string; limits: WireDataChannelLimits }): void => {
      if (this.#state !== 'Connecting') return void this.#signaling.send({ type: 'endCall', callId: ringing.callId });
      this.#attachPeer(ringing.callId, ringing.limits);
      // Ringing has its own limit, the server's ring timeout (NoAnswer): the connect timer starts again on answer.
      clearTimeout(this.#connectTimer);
      this.#setState('Ringing');
    };
    this.#signaling.startCall(setup.callee, onRinging).catch((error: unknown) => {
      const code = error instanceof CallError ? error.code : CallErrorCode.ConnectionLost;
      this.#end({ code, message: error instanceof Error ? error.message : String(error) });
    });
  }

  #attachPeer(callId: string, limits: WireDataChannelLimits): void {
    this.#id = callId;
    this.#limits = Object.freeze({ ...limits });
    this.#signaling.attachPeerCall(callId, {
      onMessage: (message) => this.#onPeerSignaling(message),
      onConnectionLost: (error) => this.#end({ code: error.code, message: error.message }),
    });
  }

  /**
   * Everything here comes from the other party, relayed as is by the server: a description it sends out of
   * turn, or one libdatachannel refuses, ends the call (TransportFailed); it never throws.
   */
  #onPeerSignaling(message: PeerCallMessage): void {
    try {
      this.#handlePeerSignaling(message);
    } catch (error) {
      this.#end({ code: CallErrorCode.TransportFailed, message: error instanceof Error ? error.message : String(error) });
    }
  }

  #handlePeerSignaling(message: PeerCallMessage): void {
    const send = (signal: PeerSignal): void => this.#signaling.send({ type: 'peerSignal', callId: this.#id, signal });
    const role = this.#setup.kind === 'outgoing' ? 'offerer' : 'answerer';
    switch (message.type) {
      case 'callAccepted': {
        if (this.#transport) return; // said once only
        const setup = this.#setup;
        const remote = setup.kind === 'incoming' ? setup.caller : message.callee;
        this.#updateRoster([{ endpointId: REMOTE_PEER_ENDPOINT_ID, identity: remote.identity, displayName: remote.displayName }], []);
        this.#rosterReceived = true;
        this.#accepted.resolve();
        if (setup.kind === 'outgoing') {
          if (this.#state === 'Ringing') this.#setState('Connecting');
          this.#armConnectTimer();
          this.#transport = this.#createTransport('offerer', (candidate, mid) => send({ kind: 'candidate', candidate, mid }));
          this.#transport.createOffer().then(
            (sdp) => send({ kind: 'offer', sdp }),
            () => undefined, // closed meanwhile: the call is ending
          );
        } else {
          this.#transport = this.#createTransport('answerer', (candidate, mid) => send({ kind: 'candidate', candidate, mid }));
        }
        return;
      }
      case 'peerSignal': {
        const signal = message.signal;
        if (signal.kind !== 'candidate' && (signal.kind === 'offer') !== (role === 'answerer')) {
          throw new Error(`unexpected ${signal.kind} from the other party`);
        }
        if (signal.kind === 'offer') {
          this.#transport?.acceptOffer(signal.sdp).then(
            (sdp) => {
              send({ kind: 'answer', sdp });
              this.#releaseCandidates();
            },
            (error: unknown) => this.#end({ code: CallErrorCode.TransportFailed, message: `the offer was refused: ${String(error)}` }),
          );
        } else if (signal.kind === 'answer') {
          this.#transport?.setRemoteAnswer(signal.sdp);
          this.#releaseCandidates();
        } else {
          this.#transport?.addRemoteCandidate(signal.candidate, signal.mid);
        }
        return;
      }
      case 'peerCallEnded':
        this.#end({ code: message.code, message: message.message });
        return;
    }
  }

  #maybeConnected(): void {
    if (this.#state !== 'Connecting' || !this.#rosterReceived || this.#openChannels.size < 2) return;
    clearTimeout(this.#connectTimer);
    this.#engine.start();
    this.#setState('Connected');
  }

  #updateRoster(joined: ParticipantInfo[], leftEndpointIds: number[]): void {
    const added: RemoteParticipant[] = [];
    const removed: RemoteParticipant[] = [];
    for (const info of joined) {
      if (info.endpointId === this.#endpointId || this.#participants.has(info.endpointId)) continue;
      const participant: RemoteParticipant = Object.freeze({
        identifier: Object.freeze({ kind: 'communicationUser' as const, communicationUserId: info.identity }),
        displayName: info.displayName,
        state: 'Connected' as const,
        endpointId: info.endpointId,
      });
      this.#participants.set(info.endpointId, participant);
      added.push(participant);
    }
    for (const endpointId of leftEndpointIds) {
      const participant = this.#participants.get(endpointId);
      if (!participant) continue;
      this.#participants.delete(endpointId);
      removed.push(Object.freeze({ ...participant, state: 'Disconnected' as const }));
    }
    // Frames that raced ahead of the roster are delivered now that their sender is known.
    for (const participant of added) this.#engine.onParticipantJoined(participant.endpointId);
    for (const participant of removed) this.#engine.onParticipantLeft(participant.endpointId, participant.identifier.communicationUserId);
    if (added.length > 0 || removed.length > 0) this.emit('remoteParticipantsUpdated', { added, removed });
  }

  /**
   * The peer connection went away. When the server ended the call on purpose (shutdown, say) its reason is
   * on its way over signaling and may arrive just after the transport noticed: wait a moment for it, so the
   * application sees why, not just that the transport failed.
   */
  #transportLost(message: string): void {
    if (this.#leaving || this.#transportLostTimer || this.#state === 'Disconnected' || this.#state === 'Disconnecting') return;
    this.#openChannels.clear();
    if (!this.#signaling.isOpen) return this.#end({ code: CallErrorCode.TransportFailed, message });
    this.#transportLostTimer = setTimeout(() => this.#end({ code: CallErrorCode.TransportFailed, message }), SERVER_REASON_GRACE_MS);
  }

  #channel(kind: ChannelKind): TransportChannel {
    return this.#transport?.[kind] ?? CLOSED_CHANNEL;
  }

  #end(reason: CallEndReason): void {
    if (this.#state === 'Disconnected' || (this.#state === 'Disconnecting' && !this.#leaving) || this.#endReason) return;
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#transportLostTimer);
    this.#endReason = reason;
    this.#setState('Disconnecting');
    // Whoever ended it, the server hears that this endpoint is gone (it may not know: a local timeout, a
    // transport failure). A 'leave' or 'endCall' for something the server already ended is ignored there.
    if (this.#endpointId) this.#signaling.send({ type: 'leave', endpointId: this.#endpointId });
    if (this.#setup.kind !== 'group' && this.#id) this.#signaling.send({ type: 'endCall', callId: this.#id });
    this.#engine.end();
    if (this.#endpointId) this.#signaling.detachEndpoint(this.#endpointId);
    if (this.#setup.kind !== 'group' && this.#id) this.#signaling.detachPeerCall(this.#id);
    this.#accepted.reject(new CallError(reason.code, reason.message));
    this.#transport?.close();
    this.#openChannels.clear();
    const removed = [...this.#participants.values()].map((p) => Object.freeze({ ...p, state: 'Disconnected' as const }));
    this.#participants.clear();
    if (removed.length > 0) this.emit('remoteParticipantsUpdated', { added: [], removed });
    this.#setState('Disconnected');
    this.#options.onEnded(this);
  }

  #setState(state: CallState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('stateChanged');
  }
}

/** How long hangUp() waits for already-sent Durable data to reach the far side. */
const HANG_UP_FLUSH_MS = 2000;

/** How long a lost transport waits for the server's reason before the call ends as TransportFailed. */
const SERVER_REASON_GRACE_MS = 1000;

