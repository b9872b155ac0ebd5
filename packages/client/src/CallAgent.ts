import type { IceServerConfig } from '@backchannel/protocol';

import { Call, type CallSetup } from './Call.js';
import type { CommunicationTokenCredential } from './CommunicationTokenCredential.js';
import { TypedEmitter } from './events.js';
import { CallError, CallErrorCode } from './errors.js';
import type { CommunicationIdentifier } from './dataChannel/types.js';
import { IncomingCall } from './IncomingCall.js';
import type { IncomingCallMessage, SignalingClient } from './internal/signaling/SignalingClient.js';

/** Options of `createCallAgent`. */
export interface CallAgentOptions {
  /** Shown to the other participants. */
  displayName?: string;
}

export interface GroupCallLocator {
  /** Any string naming the call (a UUID, say); joining creates the call if it does not exist. */
  groupId: string;
}

export interface CallsUpdatedEvent {
  added: Call[];
  removed: Call[];
}

export interface CallAgentEvents {
  [event: string]: unknown[];
  /** A 1:1 call rings this agent. */
  incomingCall: [event: { incomingCall: IncomingCall }];
  callsUpdated: [event: CallsUpdatedEvent];
  /** The agent's connection to the server ended (after `dispose()`, or lost). */
  connectionStateChanged: [];
}

/** @internal */
export interface CallAgentConfig {
  receiverBufferSize: number;
  connectTimeoutMs: number;
  /** STUN/TURN servers; default: those the server advertises. */
  iceServers: IceServerConfig[] | undefined;
}

/**
 * One identity's presence on the server: joins calls. Created by `callClient.createCallAgent()`.
 */
export class CallAgent extends TypedEmitter<CallAgentEvents> {
  readonly #signaling: SignalingClient;
  readonly #config: CallAgentConfig;
  readonly #calls = new Set<Call>();
  readonly #stopRefreshing: () => void;
  #disposed = false;

  /** @internal Created by CallClient.createCallAgent(). */
  constructor(signaling: SignalingClient, credential: CommunicationTokenCredential, config: CallAgentConfig) {
    super();
    this.#signaling = signaling;
    this.#config = config;
    const stopListening = credential.onRefreshed((token) => signaling.send({ type: 'refreshToken', token: token.token }));
    const stopKeeping = credential.keepFresh();
    this.#stopRefreshing = () => {
      stopListening();
      stopKeeping();
    };
    signaling.onIncomingCall = (message) => this.#onIncomingCall(message);
    signaling.onClose = () => {
      this.#stopRefreshing();
      this.emit('connectionStateChanged');
    };
  }

  /** Backchannel extension: the identity this agent speaks for. */
  get identifier(): { kind: 'communicationUser'; communicationUserId: string } {
    return { kind: 'communicationUser', communicationUserId: this.#signaling.identity };
  }

  /** Backchannel extension: whether the connection to the server is up. */
  get connectionState(): 'Connected' | 'Disconnected' {
    return this.#signaling.isOpen ? 'Connected' : 'Disconnected';
  }

  /** Calls this agent is in. */
  get calls(): readonly Call[] {
    return [...this.#calls];
  }

  /** Joins (creating if needed) the group call `groupId`. The call starts in state 'Connecting'. */
  join(locator: GroupCallLocator): Call {
    if (typeof locator?.groupId !== 'string' || locator.groupId.length === 0 || locator.groupId.length > 256) {
      throw new CallError(CallErrorCode.BadRequest, 'join needs { groupId } with a groupId of 1–256 characters');
    }
    if (this.#disposed) throw new CallError(CallErrorCode.ConnectionLost, 'the call agent was disposed');
    return this.#newCall({ kind: 'group', groupId: locator.groupId });
  }

  /**
   * Places a 1:1 call to one identity: every agent of the callee rings; data then flows directly between
   * the two endpoints, peer to peer. The call goes Connecting → Ringing → Connected, or ends with a reason
   * (`Rejected`, `NoAnswer`, `CalleeOffline`, `HungUp`).
   */
  startCall(participants: CommunicationIdentifier[]): Call {
    const callee = participants?.[0]?.communicationUserId;
    if (!Array.isArray(participants) || participants.length !== 1 || typeof callee !== 'string' || callee.length === 0) {
      throw new CallError(CallErrorCode.BadRequest, 'startCall takes exactly one participant: [{ communicationUserId }]');
    }
    if (this.#disposed) throw new CallError(CallErrorCode.ConnectionLost, 'the call agent was disposed');
    return this.#newCall({ kind: 'outgoing', callee });
  }

  #newCall(setup: CallSetup): Call {
    const call = new Call(this.#signaling, setup, {
      iceServers: this.#config.iceServers ?? this.#signaling.iceServers,
      receiverBufferSize: this.#config.receiverBufferSize,
      connectTimeoutMs: this.#config.connectTimeoutMs,
      onEnded: (ended) => {
        if (this.#calls.delete(ended)) this.emit('callsUpdated', { added: [], removed: [ended] });
      },
    });
    if (call.state !== 'Disconnected') {
      this.#calls.add(call);
      this.emit('callsUpdated', { added: [call], removed: [] });
    }
    return call;
  }

  #onIncomingCall(message: IncomingCallMessage): void {
    const incoming = new IncomingCall(message.callId, message.caller, message.limits, {
      accept: (callId, caller, limits) => this.#newCall({ kind: 'incoming', callId, caller, limits }),
      reject: (callId) => {
        this.#signaling.send({ type: 'rejectCall', callId });
        this.#signaling.detachPeerCall(callId); // the server tells everyone but the rejecting agent
      },
    });
    // Until accepted, the incoming call listens for the end of the ringing; accepting hands over to the Call.
    this.#signaling.attachPeerCall(message.callId, {
      onMessage: (m) => {
        if (m.type === 'peerCallEnded') {
          this.#signaling.detachPeerCall(message.callId);
          incoming.ended({ code: m.code, message: m.message });
        }
      },
      onConnectionLost: (error) => incoming.ended({ code: error.code, message: error.message }),
    });
    this.emit('incomingCall', { incomingCall: incoming });
  }

  /** Hangs up every call and closes the connection to the server. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await Promise.all([...this.#calls].map((call) => call.hangUp()));
    this.#stopRefreshing();
    this.#signaling.close();
  }
}
