/**
 * Type-level test, checked by `npm run typecheck`: the SDK's own declarations of the reference's identifier
 * and credential types (the client takes no dependency on `@azure/communication-common`) are compatible with
 * that package's, both ways, so that ported code mixes them freely. Every assignment below must compile;
 * the lines marked `@ts-expect-error` must not. Nothing here runs.
 */
import type * as common from '@azure/communication-common';
import * as ours from '@backchannel/client';

/** `Source` is assignable to `Target` (a type that fails to compile otherwise). */
type Assignable<Target, Source extends Target> = [Target, Source];

export type IdentifiersFromTheCommonPackageAreOurs = [
  Assignable<ours.CommunicationIdentifier, common.CommunicationIdentifier>,
  Assignable<ours.CommunicationUserIdentifier, common.CommunicationUserIdentifier>,
  Assignable<ours.PhoneNumberIdentifier, common.PhoneNumberIdentifier>,
  Assignable<ours.MicrosoftTeamsUserIdentifier, common.MicrosoftTeamsUserIdentifier>,
  Assignable<ours.MicrosoftTeamsAppIdentifier, common.MicrosoftTeamsAppIdentifier>,
  Assignable<ours.TeamsExtensionUserIdentifier, common.TeamsExtensionUserIdentifier>,
  Assignable<ours.UnknownIdentifier, common.UnknownIdentifier>,
  Assignable<ours.CommunicationIdentifierKind, common.CommunicationIdentifierKind>,
  Assignable<ours.CommunicationUserKind, common.CommunicationUserKind>,
  // A kind is an identifier: what the common package's getIdentifierKind returns goes into setParticipants.
  Assignable<ours.CommunicationIdentifier, common.CommunicationIdentifierKind>,
];

export type OurIdentifiersAreTheCommonPackages = [
  Assignable<common.CommunicationIdentifier, ours.CommunicationIdentifier>,
  Assignable<common.CommunicationIdentifierKind, ours.CommunicationIdentifierKind>,
  Assignable<common.CommunicationUserKind, ours.CommunicationUserKind>,
  Assignable<common.CommunicationIdentifier, ours.CommunicationIdentifierKind>,
];

type CommonAccessToken = Awaited<ReturnType<common.CommunicationTokenCredential['getToken']>>;
type CommonAbortSignalLike = NonNullable<common.CommunicationGetTokenOptions['abortSignal']>;

export type CredentialsAreInterchangeable = [
  // createCallAgent takes the common package's credentials, of either form.
  Assignable<ours.TokenCredential, common.CommunicationTokenCredential>,
  Assignable<ours.TokenCredential, common.AzureCommunicationTokenCredential>,
  // Backchannel's credential goes wherever the common package's interface is expected.
  Assignable<common.CommunicationTokenCredential, ours.CommunicationTokenCredential>,
  Assignable<ours.TokenCredential, ours.CommunicationTokenCredential>,
  // Refresh options written for AzureCommunicationTokenCredential construct Backchannel's, and back.
  Assignable<ours.CommunicationTokenRefreshOptions, common.CommunicationTokenRefreshOptions>,
  Assignable<common.CommunicationTokenRefreshOptions, ours.CommunicationTokenRefreshOptions>,
  Assignable<ours.AccessToken, CommonAccessToken>,
  Assignable<CommonAccessToken, ours.AccessToken>,
  Assignable<ours.CommunicationGetTokenOptions, common.CommunicationGetTokenOptions>,
  Assignable<common.CommunicationGetTokenOptions, ours.CommunicationGetTokenOptions>,
  Assignable<ours.AbortSignalLike, CommonAbortSignalLike>,
  Assignable<ours.AbortSignalLike, AbortSignal>,
];

/** Constructor arguments of AzureCommunicationTokenCredential construct Backchannel's credential as they are. */
export function credentialArgumentsCompile(token: string, accessToken: CommonAccessToken, refresh: common.CommunicationTokenRefreshOptions): ours.TokenCredential[] {
  return [
    new ours.CommunicationTokenCredential(token),
    new ours.CommunicationTokenCredential(accessToken),
    new ours.CommunicationTokenCredential(refresh),
    new ours.CommunicationTokenCredential({
      token: accessToken,
      tokenRefresher: async (abortSignal) => (abortSignal?.aborted ? token : accessToken),
      refreshProactively: true,
      undecodableTokenExpiryIntervalInSeconds: 300,
    }),
  ];
}

/** What ported code does with identifiers, written against the common package's types. */
export function portedCodeCompiles(
  sender: ours.DataChannelSender,
  receiver: ours.DataChannelReceiver,
  participant: ours.RemoteParticipant,
  fromCommon: common.CommunicationIdentifierKind[],
): string {
  sender.setParticipants(fromCommon);
  sender.setParticipants([participant.identifier, { phoneNumber: '+14255550123' }, { id: 'opaque' }]);
  const asCommon: common.CommunicationIdentifierKind = receiver.senderParticipantIdentifier;
  const identifier = participant.identifier;
  // A switch over every kind compiles: the SDK's union is the reference's, not only the kind it reports.
  switch (identifier.kind) {
    case 'communicationUser':
      return identifier.communicationUserId;
    case 'phoneNumber':
      return identifier.phoneNumber;
    case 'microsoftTeamsUser':
      return identifier.microsoftTeamsUserId;
    case 'microsoftTeamsApp':
      return identifier.teamsAppId;
    case 'teamsExtensionUser':
      return identifier.userId;
    case 'unknown':
      return `${identifier.id} ${asCommon.kind}`;
  }
}

export function notAnIdentifierDoesNotCompile(sender: ours.DataChannelSender): void {
  // @ts-expect-error: no identifier kind has only a displayName
  sender.setParticipants([{ displayName: 'Bob' }]);
  // @ts-expect-error: communicationUserId is a string
  sender.setParticipants([{ communicationUserId: 42 }]);
}
