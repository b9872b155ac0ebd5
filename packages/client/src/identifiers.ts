/**
 * Participant identifiers, typed as the reference SDK types them (`@azure/communication-common`'s
 * `CommunicationIdentifier` and `CommunicationIdentifierKind` unions), so that ported code compiles as it
 * is: a `switch (identifier.kind)` over every kind, helpers typed with the common package's types, its
 * identifiers passed in. The shapes are declared here, not imported: the SDK takes no dependency on that
 * package, and test/unit/identifiers.types.ts proves that each side's types are assignable to the other's.
 *
 * Backchannel's users are all Communication users (`{ communicationUserId }`): every identifier the SDK
 * hands out is a {@link CommunicationUserKind}, and an identifier of any other kind is refused at run time,
 * with a message naming its kind.
 */

/** A Backchannel identity, as the identity API issues it (`8:backchannel:…`). */
export interface CommunicationUserIdentifier {
  /** The identity's id, as returned by the identity API. */
  communicationUserId: string;
}

/** A phone number. Backchannel has no phone users: refused where an identifier is taken. */
export interface PhoneNumberIdentifier {
  rawId?: string;
  /** The number in E.164 format. */
  phoneNumber: string;
  assertedId?: string;
  isAnonymous?: boolean;
}

/** A Microsoft Teams user. Backchannel has no Teams users: refused where an identifier is taken. */
export interface MicrosoftTeamsUserIdentifier {
  rawId?: string;
  microsoftTeamsUserId: string;
  isAnonymous?: boolean;
  cloud?: 'public' | 'dod' | 'gcch';
}

/** A Microsoft Teams app (bot). Refused where an identifier is taken. */
export interface MicrosoftTeamsAppIdentifier {
  rawId?: string;
  teamsAppId: string;
  cloud?: 'public' | 'dod' | 'gcch';
}

/** A Teams Phone extension user. Refused where an identifier is taken. */
export interface TeamsExtensionUserIdentifier {
  rawId?: string;
  userId: string;
  tenantId: string;
  resourceId: string;
  cloud?: 'public' | 'dod' | 'gcch';
}

/** An identifier of no other kind. Refused where an identifier is taken. */
export interface UnknownIdentifier {
  id: string;
}

/**
 * Names a participant (reference SDK: `CommunicationIdentifier`, the union of `@azure/communication-common`).
 * Backchannel serves {@link CommunicationUserIdentifier} only; the other kinds are in the type so that
 * ported code compiles, and are refused at run time (`InvalidArgument` from the data channel, `BadRequest`
 * from `startCall`), with a message naming the kind.
 */
export type CommunicationIdentifier =
  | CommunicationUserIdentifier
  | PhoneNumberIdentifier
  | MicrosoftTeamsUserIdentifier
  | MicrosoftTeamsAppIdentifier
  | TeamsExtensionUserIdentifier
  | UnknownIdentifier;

/** A Communication user with its `kind`: what Backchannel reports for every participant. */
export interface CommunicationUserKind extends CommunicationUserIdentifier {
  kind: 'communicationUser';
  /**
   * The identifier's raw id. Always set by Backchannel, to the `communicationUserId` itself (which is what
   * the common package's `getIdentifierRawId` returns for a Communication user); optional in the type, as
   * in the reference's union.
   */
  rawId?: string;
}

export interface PhoneNumberKind extends PhoneNumberIdentifier {
  kind: 'phoneNumber';
}

export interface MicrosoftTeamsUserKind extends MicrosoftTeamsUserIdentifier {
  kind: 'microsoftTeamsUser';
}

export interface MicrosoftTeamsAppKind extends MicrosoftTeamsAppIdentifier {
  kind: 'microsoftTeamsApp';
}

export interface TeamsExtensionUserKind extends TeamsExtensionUserIdentifier {
  kind: 'teamsExtensionUser';
}

export interface UnknownIdentifierKind extends UnknownIdentifier {
  kind: 'unknown';
  /**
   * Not in the common package's type (an unknown identifier's `id` is its raw id), declared so that
   * `identifier.rawId` reads on every kind of the union, as the key the reference uses for identifiers.
   */
  rawId?: string;
}

/**
 * A participant as the SDK reports it (reference SDK: `CommunicationIdentifierKind`): `senderParticipantIdentifier`,
 * `remoteParticipant.identifier`, `callerInfo.identifier`. Typed as the reference's whole union, so that a
 * ported `switch (identifier.kind)` compiles; at run time Backchannel reports `communicationUser` only:
 * narrow with `identifier.kind === 'communicationUser'` to read `communicationUserId`, or read `rawId`
 * (optional on every kind in the type; Backchannel always sets it, to the `communicationUserId`).
 */
export type CommunicationIdentifierKind =
  | CommunicationUserKind
  | PhoneNumberKind
  | MicrosoftTeamsUserKind
  | MicrosoftTeamsAppKind
  | TeamsExtensionUserKind
  | UnknownIdentifierKind;

/** @internal The identifier the SDK reports for identity `communicationUserId` (frozen: shared by every reader). */
export function communicationUserKind(communicationUserId: string): CommunicationUserKind {
  return Object.freeze({ kind: 'communicationUser', communicationUserId, rawId: communicationUserId });
}

/**
 * @internal The kind of an identifier Backchannel does not serve, for the refusal's message: its `kind`
 * field if it has one, else the kind its fields imply (as the common package's `getIdentifierKind` reads
 * them); undefined for a Communication user (or for something that is no identifier at all).
 */
export function foreignIdentifierKind(identifier: unknown): string | undefined {
  if (typeof identifier !== 'object' || identifier === null) return undefined;
  const fields = identifier as Record<string, unknown>;
  if (typeof fields.kind === 'string' && fields.kind !== 'communicationUser') return fields.kind;
  if ('communicationUserId' in fields) return undefined;
  if ('phoneNumber' in fields) return 'phoneNumber';
  if ('microsoftTeamsUserId' in fields) return 'microsoftTeamsUser';
  if ('teamsAppId' in fields) return 'microsoftTeamsApp';
  // Older versions of the common package named Teams apps bots.
  if ('botId' in fields) return 'microsoftBot';
  if ('userId' in fields && 'tenantId' in fields) return 'teamsExtensionUser';
  if ('id' in fields) return 'unknown';
  return undefined;
}
