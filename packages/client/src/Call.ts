import { CallErrorCode } from '@backchannel/protocol';

import { publicDataChannelFeature, type DataChannelCallFeature } from './dataChannel/DataChannelCallFeature.js';
import { publicDiagnosticsFeature, type UserFacingDiagnosticsFeature } from './diagnostics/UserFacingDiagnostics.js';
import { communicationUserKind, type CommunicationIdentifierKind } from './identifiers.js';
import { CallError } from './errors.js';
import { TypedEmitter } from './events.js';
import type { CallFeatureFactory } from './Features.js';
import type { CallCore } from './internal/call/CallCore.js';
import type { RosterEntry } from './internal/call/Roster.js';

import type { CallEndReason, CallState } from './callTypes.js';

export type { CallEndReason, CallState };

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

  private constructor(core: CallCore) {
    super(core.listenerErrorReporter);
    this.#core = core;
    this.#dataChannel = publicDataChannelFeature(core.engine, core.link, core.listenerErrorReporter);
    this.#diagnostics = publicDiagnosticsFeature(core, core.listenerErrorReporter);
    core.on('stateChanged', () => this.emit('stateChanged'));
    core.on('rosterChanged', (added, removed) => this.#onRosterChanged(added, removed));
  }

  /** The server's id of this call; empty until the join is accepted. */
  get id(): string {
    return this.#core.id;
  }

  get state(): CallState {
    return this.#core.state;
  }

  /** Set once the call is Disconnected. */
  get callEndReason(): CallEndReason | undefined {
    return this.#core.endReason;
  }

  get remoteParticipants(): readonly RemoteParticipant[] {
    return [...this.#participants.values()];
  }

  /**
   * A feature of the call: `call.feature(Features.DataChannel)`, `call.feature(Features.UserFacingDiagnostics)`.
   * Throws CallError `BadRequest` for others.
   */
  feature<T>(factory: CallFeatureFactory<T>): T {
    if (factory?.name === 'DataChannel') return this.#dataChannel as T;
    if (factory?.name === 'UserFacingDiagnostics') return this.#diagnostics as T;
    throw new CallError(CallErrorCode.BadRequest, `unknown call feature ${String(factory?.name)}`);
  }

  /** Leaves the call. Resolves once it is Disconnected; messages already sent are flushed first. */
  hangUp(): Promise<void> {
    return this.#core.hangUp();
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
