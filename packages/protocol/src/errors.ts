/**
 * Every error code Backchannel reports, in one place, and the one error base every public error extends.
 * docs/errors.md lists each code of each table; a unit test keeps the two in step. Codes are stable strings
 * (drop reasons stable numbers): never rename or reuse one.
 */

/**
 * The base of every error Backchannel's public API throws, rejects with or reports: a stable `code` from
 * one of the tables below, a message for people, and the `cause` when another error led to it (ws's and
 * LiveKit's habit). `instanceof BackchannelError` holds for all of them, whichever package made them.
 */
export class BackchannelError extends Error {
  override readonly name: string = 'BackchannelError';
  /** A stable code from one of this module's tables; never renamed or reused. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Data-channel failures (SPEC §5), spelled as the reference SDK spells them. */
export const DataChannelErrorCode = {
  /** The call's data transport is not (or no longer) usable. */
  FailedToStart: 'DataChannelFailedToStart',
  /** No free channelId is left to assign. */
  RandomIdNotAvailable: 'DataChannelRandomIdNotAvailable',
  /** The sender was closed: by `close()`, by a newer sender on its channel, or by the call ending. */
  SenderClosed: 'DataChannelSenderClosed',
  /** The message is longer than `maxMessageSize`. */
  MessageSizeOverLimit: 'DataChannelMessageSizeOverLimit',
  /** The sender is too far behind its pace. */
  MessageFailureForBandwidth: 'DataChannelMessageFailureForBandwidth',
  /** The message breaks a traffic rule (broadcast packet rate or broadcast bitrate). */
  MessageFailureForTrafficLimit: 'DataChannelMessageFailureForTrafficLimit',
  /** Backchannel addition: an argument was refused (bad channelId, too many recipients, data not bytes). */
  InvalidArgument: 'InvalidArgument',
  /**
   * Backchannel extension (channel permissions): the token of this identity does not let it send on the
   * sender's channel (refused by the SDK first, and by the server: Notice `ChannelNotPermitted`).
   */
  ChannelNotPermitted: 'DataChannelChannelNotPermitted',
} as const;
export type DataChannelErrorCode = (typeof DataChannelErrorCode)[keyof typeof DataChannelErrorCode];

/** Failures of calls and connections, reported over signaling. */
export const CallErrorCode = {
  /** The token was refused: malformed, badly signed, expired, or without the `voip` scope. */
  InvalidToken: 'InvalidToken',
  /** The client speaks a protocol version the server does not. */
  UnsupportedProtocol: 'UnsupportedProtocol',
  /** A signaling message did not match its schema. */
  BadRequest: 'BadRequest',
  /** The call or endpoint named does not exist (any more). */
  NotFound: 'NotFound',
  /** The call is at its participant limit. */
  CallFull: 'CallFull',
  /** The identity already holds as many signaling connections as the server allows. */
  TooManyConnections: 'TooManyConnections',
  /** The peer connection to the server could not be set up. */
  TransportFailed: 'TransportFailed',
  /** The signaling connection was lost. */
  ConnectionLost: 'ConnectionLost',
  /** The server is shutting down. */
  ServerShutdown: 'ServerShutdown',
  /** The SDK cannot run here: in Node, a package it needs (node-datachannel, ws) is not installed. */
  PlatformUnavailable: 'PlatformUnavailable',
  /**
   * The server could not check the token just now: the identity store its deployment shares (Redis) is
   * unreachable from it. Nothing is wrong with the token; retrying later can succeed (the SDK's reconnection
   * keeps retrying by itself).
   */
  IdentityStoreUnavailable: 'IdentityStoreUnavailable',
} as const;
export type CallErrorCode = (typeof CallErrorCode)[keyof typeof CallErrorCode];

/**
 * Why a call ended when nothing failed (`call.callEndReason.name`), besides the CallErrorCodes: mostly the
 * ways a 1:1 call ends. Sent by the server to each party, or set by the SDK for the local side's own action.
 */
export const PeerCallEndCode = {
  /** This side (or, seen from the other side, the remote party) hung up. */
  HungUp: 'HungUp',
  /** Another participant of the group call hung up for everyone (`hangUp({ forEveryone: true })`). */
  EndedForEveryone: 'EndedForEveryone',
  /** The callee rejected the call. */
  Rejected: 'Rejected',
  /** Nobody accepted before the ring timeout. */
  NoAnswer: 'NoAnswer',
  /** The callee has no connected agent. */
  CalleeOffline: 'CalleeOffline',
  /** Another agent of the callee accepted: this one stops ringing. */
  AnsweredElsewhere: 'AnsweredElsewhere',
} as const;
export type PeerCallEndCode = (typeof PeerCallEndCode)[keyof typeof PeerCallEndCode];

/**
 * Why the server dropped a data frame, sent back to its sender in a Notice frame. The numeric values are
 * wire values: append, never renumber.
 */
export const DropReason = {
  /** Payload above the message size limit. */
  MessageTooLarge: 1,
  /** More recipient endpoints than allowed. */
  TooManyRecipients: 2,
  /** Sender above its bitrate for its reliability and priority. */
  Bandwidth: 3,
  /** Endpoint above the broadcast packet rate or broadcast bitrate. */
  TrafficLimit: 4,
  /** Frame for a session older than the channel's current one, or already closed. */
  StaleSession: 5,
  /** Frame refers to a recipient list the server does not hold (a Lossy frame overtook its list). */
  UnknownRecipients: 6,
  /** The endpoint already has as many open sender sessions as allowed. */
  TooManySenders: 7,
  /**
   * A Durable copy for a recipient that is too far behind (its path drains slower than the message could
   * reach it within the server's recipient backlog bound) was dropped; the other recipients got it.
   */
  RecipientSlow: 8,
  /** The sender's token does not let it send on the frame's channel (channel permissions, an extension). */
  ChannelNotPermitted: 9,
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];

const DROP_REASONS = new Set<number>(Object.values(DropReason));
export function isDropReason(value: number): value is DropReason {
  return DROP_REASONS.has(value);
}

/** The data-channel error a sender's pending message fails with when the server drops it for `reason`. */
export function errorCodeForDrop(reason: DropReason): DataChannelErrorCode {
  switch (reason) {
    case DropReason.MessageTooLarge:
      return DataChannelErrorCode.MessageSizeOverLimit;
    case DropReason.Bandwidth:
    case DropReason.RecipientSlow:
      return DataChannelErrorCode.MessageFailureForBandwidth;
    case DropReason.TooManyRecipients:
    case DropReason.TooManySenders:
    case DropReason.TrafficLimit:
    case DropReason.UnknownRecipients:
      return DataChannelErrorCode.MessageFailureForTrafficLimit;
    case DropReason.StaleSession:
      return DataChannelErrorCode.SenderClosed;
    case DropReason.ChannelNotPermitted:
      return DataChannelErrorCode.ChannelNotPermitted;
  }
}

/** A short human-readable explanation of a drop reason. */
export function dropReasonText(reason: DropReason): string {
  switch (reason) {
    case DropReason.MessageTooLarge:
      return 'message over the size limit';
    case DropReason.TooManyRecipients:
      return 'more recipient endpoints than allowed';
    case DropReason.Bandwidth:
      return "sender above its class's bitrate";
    case DropReason.TrafficLimit:
      return 'over the broadcast packet rate or broadcast bitrate';
    case DropReason.StaleSession:
      return 'the session was closed or replaced';
    case DropReason.UnknownRecipients:
      return 'recipient list unknown to the server';
    case DropReason.TooManySenders:
      return 'more open senders than allowed';
    case DropReason.RecipientSlow:
      return 'a recipient is too far behind: its copy was dropped';
    case DropReason.ChannelNotPermitted:
      return "the sender's token does not permit sending on this channel";
  }
}

/** Failures of the stream helper (a Backchannel extension, `sendStream`/`receiveStreams`). */
export const StreamErrorCode = {
  /** The stream was cancelled: by the sender's AbortSignal (both sides see it) or by the receiving application. */
  Cancelled: 'StreamCancelled',
  /** A chunk is missing or out of order, or the end of the stream disagrees with what arrived. */
  ChunkMissing: 'StreamChunkMissing',
  /** The SHA-256 check over the received chunks failed. */
  IntegrityFailed: 'StreamIntegrityFailed',
  /** The sender's session ended (closed, left the call, idle, or this call ended) before the stream did. */
  Interrupted: 'StreamInterrupted',
  /** The stream is larger than the receiver accepts, or more bytes arrived than it announced. */
  TooLarge: 'StreamTooLarge',
  /** A message on the receiver is not a stream message this version understands. */
  Malformed: 'StreamMalformed',
  /** This environment has no `crypto.subtle` (in a browser: a page that is not a secure context). */
  NotSupported: 'StreamNotSupported',
  /** The sender could not send for longer than its patience allows (the limits kept refusing). */
  Stalled: 'StreamStalled',
} as const;
export type StreamErrorCode = (typeof StreamErrorCode)[keyof typeof StreamErrorCode];

/** Errors of the server itself, for whoever runs it: its configuration, its demo page. */
export const ServerErrorCode = {
  /** A configuration value was refused (`ConfigError`: the key and the value are in the message). */
  InvalidConfiguration: 'InvalidConfiguration',
  /** 404 at `/` in demo mode: the demo page has not been built (`npm run build`). */
  DemoNotBuilt: 'DemoNotBuilt',
  /** `startServer` with `redisUrl`: Redis could not be reached (or refused the connection) at start. */
  RedisUnreachable: 'RedisUnreachable',
  /**
   * `startServer` with `redisUrl`: the token secret, access key or token issuer differs from the one the
   * deployment sharing that Redis was started with (compared by fingerprint; the secrets are never stored).
   */
  DeploymentMismatch: 'DeploymentMismatch',
} as const;
export type ServerErrorCode = (typeof ServerErrorCode)[keyof typeof ServerErrorCode];

/**
 * Errors of the identity API (HTTP), in the body `{ error: { code, message } }` of every 4xx answer.
 */
export const IdentityApiErrorCode = {
  /** 401: the access key is missing or wrong. */
  Unauthorized: 'Unauthorized',
  /** 400: the body or a parameter failed validation (the message names it). */
  InvalidRequest: 'InvalidRequest',
  /** 404: no identity with that id (never created, or deleted). */
  IdentityNotFound: 'IdentityNotFound',
  /**
   * 503: the identity store the deployment shares (Redis) is unreachable from this node, so nothing was
   * created, issued, revoked or deleted. Retry, on this node later or on another.
   */
  IdentityStoreUnavailable: 'IdentityStoreUnavailable',
} as const;
export type IdentityApiErrorCode = (typeof IdentityApiErrorCode)[keyof typeof IdentityApiErrorCode];
