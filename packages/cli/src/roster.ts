/**
 * The tools address participants by display name, as people do; these helpers turn names into identities
 * and follow who is in the call.
 */
import type { Call, CommunicationIdentifierKind, RemoteParticipant } from '@backchannel/client';

import { CliError, ExitCode } from './common.js';

/**
 * The identity of a participant as the SDK reports it. The type is the reference's union of identifier
 * kinds; Backchannel's participants are all Communication users.
 */
export function identityOf(identifier: CommunicationIdentifierKind): string {
  return identifier.kind === 'communicationUser' ? identifier.communicationUserId : identifier.kind;
}

/** Display names of the remote endpoints, sorted, e.g. "Bob, Carol"; "(nobody else)" when alone. */
export function describeParticipants(participants: readonly RemoteParticipant[]): string {
  if (participants.length === 0) return '(nobody else)';
  return participants
    .map((p) => p.displayName || identityOf(p.identifier))
    .sort((a, b) => a.localeCompare(b))
    .join(', ');
}

/**
 * The identity whose endpoints go by `name`: an exact display-name match first, else a case-insensitive
 * one. Undefined when nobody has that name; a usage error when two identities share it.
 */
export function findByName(participants: readonly RemoteParticipant[], name: string): string | undefined {
  const exact = participants.filter((p) => p.displayName === name);
  const matches = exact.length > 0 ? exact : participants.filter((p) => p.displayName.toLowerCase() === name.toLowerCase());
  const identities = [...new Set(matches.map((p) => identityOf(p.identifier)))];
  if (identities.length > 1) throw new CliError(ExitCode.Usage, `${identities.length} participants are called '${name}': ${identities.join(', ')}`);
  return identities[0];
}

/**
 * The identity of the participant called `name`, waiting up to `timeoutMs` for it to join. Rejects with
 * ExitCode.TransferFailed when nobody by that name has joined in time.
 */
export function waitForParticipant(call: Call, name: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      let identity: string | undefined;
      try {
        identity = findByName(call.remoteParticipants, name);
      } catch (error) {
        return settle(() => reject(error));
      }
      if (identity !== undefined) settle(() => resolve(identity));
    };
    const timer = setTimeout(
      () => settle(() => reject(new CliError(ExitCode.TransferFailed, `nobody called '${name}' joined within ${timeoutMs / 1000} s; participants: ${describeParticipants(call.remoteParticipants)}`))),
      timeoutMs,
    );
    const settle = (action: () => void): void => {
      clearTimeout(timer);
      call.off('remoteParticipantsUpdated', check);
      action();
    };
    call.on('remoteParticipantsUpdated', check);
    check();
  });
}

/** Whether any endpoint of `identity` is in the call. */
export function isPresent(call: Call, identity: string): boolean {
  return call.remoteParticipants.some((p) => identityOf(p.identifier) === identity);
}

/**
 * Calls `listener` once when the last endpoint of `identity` leaves the call; returns a function that
 * stops watching. The call ending empties the roster too, but that is not a departure (see `ended()`).
 */
export function onDeparture(call: Call, identity: string, listener: () => void): () => void {
  const check = (): void => {
    if (call.state !== 'Connected' || isPresent(call, identity)) return;
    call.off('remoteParticipantsUpdated', check);
    listener();
  };
  call.on('remoteParticipantsUpdated', check);
  return () => call.off('remoteParticipantsUpdated', check);
}
