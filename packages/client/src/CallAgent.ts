import type { Clock, IceServerConfig } from '@backchannel/protocol';

import { publicCall, type Call } from './Call.js';
import type { AccessToken, TokenCredential } from './CommunicationTokenCredential.js';
import { communicationUserKind, foreignIdentifierKind, type CommunicationIdentifier, type CommunicationUserIdentifier, type CommunicationUserKind } from './identifiers.js';
import { CallError, CallErrorCode } from './errors.js';
import { TypedEmitter, type ListenerErrorReporter } from './events.js';
import { publicIncomingCall, type IncomingCall } from './IncomingCall.js';
import { Ringing } from './internal/agent/Ringing.js';
import { keepCredentialFresh, tokenOf } from './internal/agent/TokenRenewal.js';
import { CallCore, type CallSetup } from './internal/call/CallCore.js';
import type { Platform } from './internal/platform/Platform.js';
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

/** What `join()` takes (reference SDK: `GroupLocator`; Backchannel has group calls, not meetings or rooms). */
export type GroupLocator = GroupCallLocator;

/**
 * Audio options of a join, a start or an accept (reference SDK: `AudioOptions`). Backchannel carries no
 * media yet: accepted, so that ported code compiles, and ignored. The streams are the reference's
 * `LocalAudioStream` objects, which only the reference SDK makes; hence `unknown`.
 */
export interface AudioOptions {
  muted?: boolean;
  localAudioStreams?: readonly unknown[];
}

/** Video options of a join, a start or an accept (reference SDK: `VideoOptions`). Accepted and ignored, as {@link AudioOptions}. */
export interface VideoOptions {
  localVideoStreams?: readonly unknown[];
  constraints?: unknown;
}

/** Options of `join()` (reference SDK: `JoinCallOptions`): media options, ignored until Backchannel carries media. */
export interface JoinCallOptions {
  videoOptions?: VideoOptions;
  audioOptions?: AudioOptions;
}

/**
 * Options of `startCall()` (reference SDK: `StartCallOptions`). Ignored: media (see {@link JoinCallOptions}),
 * and the phone-network caller id and custom context, which Backchannel does not have.
 */
export interface StartCallOptions extends JoinCallOptions {
  alternateCallerId?: { phoneNumber: string };
  customContext?: unknown;
}

export interface CallsUpdatedEvent {
  added: Call[];
  removed: Call[];
}

/** The agent's connection to the server (reference SDK: `ConnectionState`). */
export type ConnectionState = 'Connected' | 'Disconnected';

/** Why the connection state changed (reference SDK: `ConnectionStateChangedReason`). */
export type ConnectionStateChangedReason = 'invalidToken' | 'connectionIssue';

/** What `connectionStateChanged` carries. */
export interface ConnectionStateChangedEventArgs {
  newValue: ConnectionState;
  oldValue: ConnectionState;
  reason?: ConnectionStateChangedReason;
}

/** A listener of `connectionStateChanged` (reference SDK: `ConnectionStateChangedEvent`). */
export type ConnectionStateChangedEvent = (args: ConnectionStateChangedEventArgs) => void;

/** A listener of `incomingCall` (reference SDK: `IncomingCallEvent`). */
export type IncomingCallEvent = (args: { incomingCall: IncomingCall }) => void;

export interface CallAgentEvents {
  /** A 1:1 call rings this agent. */
  incomingCall: [event: { incomingCall: IncomingCall }];
  callsUpdated: [event: CallsUpdatedEvent];
  /**
   * The agent's connection to the server went down (lost: the SDK reconnects by itself; or ended: after
   * `dispose()`, or refused) or came back.
   */
  connectionStateChanged: [event: ConnectionStateChangedEventArgs];
}

/** @internal How the client configures the agents it creates. */
export interface CallAgentContext {
  readonly signaling: SignalingClient;
  readonly credential: TokenCredential;
  /** The token the connection authenticated with. */
  readonly initialToken: AccessToken;
  readonly platform: Platform;
  readonly clock: Clock;
  readonly receiverBufferSize: number;
  readonly connectTimeoutMs: number;
  /** STUN/TURN servers; default: those the server advertises. */
  readonly iceServers: IceServerConfig[] | undefined;
  readonly reportListenerError: ListenerErrorReporter;
}

let wrap: (context: CallAgentContext) => CallAgent;

/**
 * One identity's presence on the server: joins calls. Created by `callClient.createCallAgent()`.
 */
export class CallAgent extends TypedEmitter<CallAgentEvents> {
  static {
    wrap = (context) => new CallAgent(context);
  }

  readonly #context: CallAgentContext;
  readonly #calls = new Set<Call>();
  readonly #stopRefreshing: () => void;
  #disposed = false;

  private constructor(context: CallAgentContext) {
    super(context.reportListenerError);
    this.#context = context;
    const { signaling } = context;
    this.#stopRefreshing = keepCredentialFresh(context.credential, context.initialToken, context.clock, (token) => {
      signaling.send({ type: 'refreshToken', token: token.token });
      signaling.tokenRefreshed(token.token);
    });
    // A lost connection is re-established with a fresh token from the credential (docs/reliability.md).
    signaling.enableReconnect({ getToken: async () => (await tokenOf(context.credential)).token });
    signaling.on('incomingCall', (message) => this.#onIncomingCall(message));
    signaling.on('disconnected', () => this.emit('connectionStateChanged', { oldValue: 'Connected', newValue: 'Disconnected', reason: 'connectionIssue' }));
    signaling.on('reconnected', () => this.emit('connectionStateChanged', { oldValue: 'Disconnected', newValue: 'Connected' }));
    signaling.on('closed', (error) => {
      this.#stopRefreshing();
      if (signaling.wasConnectedWhenClosed) {
        this.emit('connectionStateChanged', {
          oldValue: 'Connected',
          newValue: 'Disconnected',
          ...(error.code === CallErrorCode.InvalidToken ? { reason: 'invalidToken' as const } : error.code === CallErrorCode.ConnectionLost ? {} : { reason: 'connectionIssue' as const }),
        });
      }
    });
  }

  /** Backchannel extension: the identity this agent speaks for. */
  get identifier(): CommunicationUserKind {
    return communicationUserKind(this.#context.signaling.identity);
  }

  /** Whether the connection to the server is up (reference SDK: `connectionState`). */
  get connectionState(): ConnectionState {
    return this.#context.signaling.isOpen ? 'Connected' : 'Disconnected';
  }

  /** Calls this agent is in. */
  get calls(): readonly Call[] {
    return [...this.#calls];
  }

  /**
   * Joins (creating if needed) the group call `groupId`. The call starts in state 'Connecting'. `options`
   * (media) are ignored until Backchannel carries media. Throws a CallError `BadRequest` for a missing or
   * over-long `groupId`, `ConnectionLost` after `dispose()`.
   */
  join(locator: GroupLocator, options?: JoinCallOptions): Call {
    void options; // media options: nothing to apply until Backchannel carries media
    if (typeof locator?.groupId !== 'string' || locator.groupId.length === 0 || locator.groupId.length > 256) {
      throw new CallError(CallErrorCode.BadRequest, 'join needs { groupId } with a groupId of 1–256 characters');
    }
    if (this.#disposed) throw new CallError(CallErrorCode.ConnectionLost, 'the call agent was disposed');
    return this.#newCall({ kind: 'group', groupId: locator.groupId }).call;
  }

  /**
   * Places a 1:1 call to one identity: every agent of the callee rings; data then flows directly between
   * the two endpoints, peer to peer. The call goes Connecting → Ringing → Connected, or ends with a reason
   * (`Rejected`, `NoAnswer`, `CalleeOffline`, `HungUp`). `options` are ignored (see {@link StartCallOptions}).
   */
  startCall(participants: CommunicationIdentifier[], options?: StartCallOptions): Call {
    void options; // media, caller id, custom context: nothing Backchannel has
    const kind = Array.isArray(participants) ? foreignIdentifierKind(participants[0]) : undefined;
    if (kind !== undefined) {
      throw new CallError(CallErrorCode.BadRequest, `startCall cannot call a ${kind} identifier: Backchannel serves communicationUser identifiers ({ communicationUserId }) only`);
    }
    const callee = (participants?.[0] as Partial<CommunicationUserIdentifier> | undefined)?.communicationUserId;
    if (!Array.isArray(participants) || participants.length !== 1 || typeof callee !== 'string' || callee.length === 0) {
      throw new CallError(CallErrorCode.BadRequest, 'startCall takes exactly one participant: [{ communicationUserId }]');
    }
    if (this.#disposed) throw new CallError(CallErrorCode.ConnectionLost, 'the call agent was disposed');
    return this.#newCall({ kind: 'outgoing', callee }).call;
  }

  /** Hangs up every call and closes the connection to the server. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await Promise.all([...this.#calls].map((call) => call.hangUp()));
    this.#stopRefreshing();
    this.#context.signaling.close();
  }

  #newCall(setup: CallSetup): { call: Call; core: CallCore } {
    const context = this.#context;
    const core = new CallCore(
      {
        signaling: context.signaling,
        platform: context.platform,
        clock: context.clock,
        iceServers: context.iceServers ?? context.signaling.iceServers,
        receiverBufferSize: context.receiverBufferSize,
        connectTimeoutMs: context.connectTimeoutMs,
        reportListenerError: context.reportListenerError,
      },
      setup,
    );
    const call = publicCall(core);
    // Registered after the public call's own listener: the application sees Disconnected before the call
    // leaves `calls`.
    core.on('stateChanged', () => {
      if (core.state === 'Disconnected' && this.#calls.delete(call)) this.emit('callsUpdated', { added: [], removed: [call] });
    });
    core.start();
    if (core.state !== 'Disconnected') {
      this.#calls.add(call);
      this.emit('callsUpdated', { added: [call], removed: [] });
    }
    return { call, core };
  }

  #onIncomingCall(message: IncomingCallMessage): void {
    const context = this.#context;
    const ringing = new Ringing({
      callId: message.callId,
      caller: message.caller,
      limits: message.limits,
      signaling: context.signaling,
      reportListenerError: context.reportListenerError,
    });
    const accept = async (): Promise<Call> => {
      const { call, core } = this.#newCall({ kind: 'incoming', callId: ringing.callId, caller: ringing.caller, limits: ringing.limits });
      await core.accepted;
      return call;
    };
    this.emit('incomingCall', { incomingCall: publicIncomingCall(ringing, accept) });
  }
}

/** @internal The public agent for a signaling connection (used by CallClient only). */
export function publicCallAgent(context: CallAgentContext): CallAgent {
  return wrap(context);
}
