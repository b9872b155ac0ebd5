/**
 * @backchannel/client — calls and in-call data channels, with the Data Channel API of the reference calling
 * SDK. The same code runs in browsers (RTCPeerConnection) and in Node (node-datachannel).
 */
export { CallClient, type CallClientOptions } from './CallClient.js';
export {
  CallAgent,
  type CallAgentEvents,
  type CallAgentOptions,
  type AudioOptions,
  type CallsUpdatedEvent,
  type ConnectionState,
  type ConnectionStateChangedEvent,
  type ConnectionStateChangedEventArgs,
  type ConnectionStateChangedReason,
  type GroupCallLocator,
  type GroupLocator,
  type IncomingCallEvent,
  type JoinCallOptions,
  type StartCallOptions,
  type VideoOptions,
} from './CallAgent.js';
export {
  DiagnosticQuality,
  NetworkDiagnostics,
  UserFacingDiagnosticsFeature,
  type LatestDiagnosticValue,
  type LatestNetworkDiagnostics,
  type NetworkDiagnosticChangedEventArgs,
  type NetworkDiagnosticsEvents,
} from './diagnostics/UserFacingDiagnostics.js';
export {
  Call,
  type CallEndReason,
  type CallEvents,
  type CallState,
  type HangUpOptions,
  type RemoteParticipant,
  type RemoteParticipantState,
  type RemoteParticipantsUpdatedEvent,
} from './Call.js';
export { IncomingCall, type AcceptCallOptions, type CallEndedEvent, type CallerInfo, type IncomingCallEvents } from './IncomingCall.js';
export {
  CommunicationTokenCredential,
  type AbortSignalLike,
  type AccessToken,
  type CommunicationGetTokenOptions,
  type CommunicationTokenCredentialOptions,
  type CommunicationTokenRefreshOptions,
  type TokenCredential,
} from './CommunicationTokenCredential.js';
export { Features, type CallFeature, type CallFeatureFactory } from './Features.js';
export { DataChannelCallFeature, type DataChannelCallFeatureEvents, type DataChannelReceiverCreatedEvent } from './dataChannel/DataChannelCallFeature.js';
export {
  DataChannelSender,
  type DataChannelDeliveredEvent,
  type DataChannelDeliveryResult,
  type DataChannelRecipientEndpoint,
  type DataChannelSenderEvents,
  type DataChannelSlowRecipientEvent,
} from './dataChannel/DataChannelSender.js';
export {
  DataChannelReceiver,
  type DataChannelReceiverCloseEvent,
  type DataChannelReceiverEvents,
  type DataChannelReceiverMessageReadyEvent,
} from './dataChannel/DataChannelReceiver.js';
export type {
  CommunicationIdentifier,
  CommunicationIdentifierKind,
  CommunicationUserIdentifier,
  CommunicationUserKind,
  MicrosoftTeamsAppIdentifier,
  MicrosoftTeamsAppKind,
  MicrosoftTeamsUserIdentifier,
  MicrosoftTeamsUserKind,
  PhoneNumberIdentifier,
  PhoneNumberKind,
  TeamsExtensionUserIdentifier,
  TeamsExtensionUserKind,
  UnknownIdentifier,
  UnknownIdentifierKind,
} from './identifiers.js';
export type {
  DataChannelMessage,
  DataChannelPriority,
  DataChannelReliability,
  DataChannelRetain,
  DataChannelSenderOpenOptions,
  DataChannelSlowRecipientReason,
} from './dataChannel/types.js';
export { BackchannelError, CallError, CallErrorCode, DataChannelError, DataChannelErrorCode, PeerCallEndCode } from './errors.js';
export { TypedEmitter, type CollectionUpdatedEvent, type ListenerErrorReporter, type Listener, type PropertyChangedEvent } from './events.js';
export { DEFAULT_LIMITS, type DataChannelLimits, type IceServerConfig } from '@backchannel/protocol';
// Backchannel extension beyond the reference API: payloads larger than one message (docs/api.md, "Streams").
export { sendStream, type SendStreamOptions, type SentStream, type StreamProgress, type StreamSink } from './streams/sendStream.js';
export { StreamReceiver, receiveStreams, type StreamReceiverEvents, type StreamReceiverOptions } from './streams/StreamReceiver.js';
export { IncomingStream, type IncomingStreamEvents } from './streams/IncomingStream.js';
export type { IncomingStreamState, ReceivedStream } from './streams/StreamAssembly.js';
export type { StreamMetadata } from './streams/frames.js';
export { StreamError, StreamErrorCode } from './errors.js';
