import { CallErrorCode } from '@backchannel/protocol';

import { publicDataChannelFeature, type DataChannelCallFeature } from './dataChannel/DataChannelCallFeature.js';
import { publicDiagnosticsFeature, type UserFacingDiagnosticsFeature } from './diagnostics/UserFacingDiagnostics.js';
import { communicationUserKind, type CommunicationIdentifierKind } from './identifiers.js';
import { CallError } from './errors.js';
import { TypedEmitter } from './events.js';
import type { CallFeature, CallFeatureFactory } from './Features.js';
import type { CallCore } from './internal/call/CallCore.js';
import type { RosterEntry } from './internal/call/Roster.js';

import { publicEndReason, type CallEndReason } from './callEndReason.js';
import type { CallState } from './callTypes.js';

export type { CallEndReason, CallState };

/**
 * A remote participant's state (reference SDK: `RemoteParticipantState`, the whole union). Backchannel
 * reports `Connected`, and `Disconnected` in the `removed` list of `remoteParticipantsUpdated`.
 */
export type RemoteParticipantState = 'Idle' | 'Connecting' | 'Ringing' | 'Connected' | 'Hold' | 'InLobby' | 'EarlyMedia' | 'Disconnected';

/** Another endpoint in the call. One identity joined from two devices appears twice. */
export interface RemoteParticipant {
  readonly identifier: CommunicationIdentifierKind;
  readonly displayName: string;
  readonly state: RemoteParticipantState;
  /** Backchannel extension: the server's id for this endpoint. */
  readonly endpointId: number;
}

/** Options of `hangUp()` (reference SDK: `HangUpOptions`). */
export interface HangUpOptions {
  /**
   * End the call for everyone: every other participant's call ends too, with `callEndReason.name`
   * `EndedForEveryone` ({ code: 0, subCode: 4097 }). A 1:1 call ends for both parties either way.
   */
  forEveryone: boolean;
}

export interface RemoteParticipantsUpdatedEvent {
  added: RemoteParticipant[];
  removed: RemoteParticipant[];
}

export interface CallEvents {
  stateChanged: [];
  remoteParticipantsUpdated: [event: RemoteParticipantsUpdatedEvent];
}

let wrap: (core: CallCore) => Call;

/**
 * A call this agent is in. Returned by `callAgent.join()` in state 'Connecting'; 'Connected' once the data
 * transport to the server is up and the roster is known.
 */
export class Call extends TypedEmitter<CallEvents> {
  static {
    wrap = (core) => new Call(core);
  }

  readonly #core: CallCore;
  readonly #participants = new Map<number, RemoteParticipant>();
  readonly #dataChannel: DataChannelCallFeature;
  readonly #diagnostics: UserFacingDiagnosticsFeature;
  /** Whether the call ever was Connected: a transport failure reads differently before and after. */
  #wasConnected = false;
  #endReason: CallEndReason | undefined;

  private constructor(core: CallCore) {
    super(core.listenerErrorReporter);
    this.#core = core;
    this.#dataChannel = publicDataChannelFeature(core.engine, core.link, core.listenerErrorReporter);
    this.#diagnostics = publicDiagnosticsFeature(core, core.listenerErrorReporter);
    core.on('stateChanged', () => {
      if (core.state === 'Connected') this.#wasConnected = true;
      this.emit('stateChanged');
    });
    core.on('rosterChanged', (added, removed) => this.#onRosterChanged(added, removed));
  }

  /** The server's id of this call; empty until the join is accepted. */
  get id(): string {
    return this.#core.id;
  }

  get state(): CallState {
    return this.#core.state;
  }

  /**
   * Why the call ended, set once it is Disconnected: the reference's `{ code, subCode }` (docs/porting.md
   * maps each reason), with Backchannel's `name` and `message` for it.
   */
  get callEndReason(): CallEndReason | undefined {
    const cause = this.#core.endReason;
    if (cause && !this.#endReason) this.#endReason = publicEndReason(cause, this.#wasConnected ? 'connected' : 'connecting');
    return this.#endReason;
  }

  get remoteParticipants(): readonly RemoteParticipant[] {
    return [...this.#participants.values()];
  }

  /**
   * A feature of the call: `call.feature(Features.DataChannel)`, `call.feature(Features.UserFacingDiagnostics)`.
   * Throws CallError `BadRequest` for others.
   */
  feature<T extends CallFeature>(factory: CallFeatureFactory<T>): T {
    if (factory?.name === 'DataChannel') return this.#dataChannel as CallFeature as T;
    if (factory?.name === 'UserFacingDiagnostics') return this.#diagnostics as CallFeature as T;
    throw new CallError(CallErrorCode.BadRequest, `unknown call feature ${String(factory?.name)}`);
  }

  /**
   * Leaves the call, or with `{ forEveryone: true }` ends it for every participant. Resolves once it is
   * Disconnected; messages already sent are flushed first.
   */
  hangUp(options?: HangUpOptions): Promise<void> {
    return this.#core.hangUp(options?.forEveryone === true);
  }

  #onRosterChanged(added: readonly RosterEntry[], removed: readonly RosterEntry[]): void {
    const event: RemoteParticipantsUpdatedEvent = { added: [], removed: [] };
    for (const entry of added) {
      const participant: RemoteParticipant = Object.freeze({
        identifier: communicationUserKind(entry.identity),
        displayName: entry.displayName,
        state: 'Connected' as const,
        endpointId: entry.endpointId,
      });
      this.#participants.set(entry.endpointId, participant);
      event.added.push(participant);
    }
    for (const entry of removed) {
      const participant = this.#participants.get(entry.endpointId);
      if (!participant) continue;
      this.#participants.delete(entry.endpointId);
      event.removed.push(Object.freeze({ ...participant, state: 'Disconnected' as const }));
    }
    this.emit('remoteParticipantsUpdated', event);
  }
}

/** @internal The public call of an internal one (used by the agent and incoming calls only). */
export function publicCall(core: CallCore): Call {
  return wrap(core);
}
