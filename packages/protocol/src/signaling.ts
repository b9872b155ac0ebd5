/**
 * Signaling messages: JSON over the WebSocket between an agent and the server. Joining calls, SDP/ICE
 * exchange and roster updates travel here; data never does. Each message is validated against its schema
 * on arrival, on both ends, so a peer's bad input becomes a typed {@link SignalingError}, never a crash.
 */
import * as z from 'zod/mini';
import english from 'zod/v4/locales/en.js';

import { BackchannelError, CallErrorCode } from './errors.js';

/** Largest signaling message either side accepts, in bytes. SDP for two data channels is ~1 KiB. */
export const MAX_SIGNALING_MESSAGE_BYTES = 64 * 1024;

/** Where the server accepts signaling WebSockets, below its base URL. */
export const SIGNALING_PATH = '/signaling';

/**
 * WebSocket close codes the server ends a signaling connection with (RFC 6455 §7.4: 4000–4999 are the
 * application's). The close reason always carries a CallErrorCode: see {@link formatCloseReason}.
 */
export const SignalingCloseCode = {
  /** RFC 6455: the client broke a rule (a message flood). */
  PolicyViolation: 1008,
  /** RFC 6455: the server failed; the connection cannot go on. */
  InternalError: 1011,
  /** The token was refused, expired or revoked. */
  Unauthorized: 4001,
  /** The client spoke out of turn (no hello first, an invalid first message). */
  BadRequest: 4002,
  /** The server is shutting down. */
  ShuttingDown: 4003,
  /**
   * RFC 6455 (IANA registry): the server cannot serve this connection now but may soon (its identity store
   * is unreachable); the reason carries `IdentityStoreUnavailable`. Retrying is right.
   */
  TryAgainLater: 1013,
} as const;
export type SignalingCloseCode = (typeof SignalingCloseCode)[keyof typeof SignalingCloseCode];

/** A WebSocket close reason is at most 123 bytes (RFC 6455 §5.5); ours stay within 120. */
const MAX_CLOSE_REASON_BYTES = 120;

/**
 * The close reason of a signaling connection: `"<CallErrorCode>: <message>"`, cut to fit a close frame:
 * at most 120 bytes of UTF-8, never in the middle of a character (`ws` refuses a longer reason).
 */
export function formatCloseReason(code: string, message: string): string {
  const reason = `${code}: ${message}`;
  if (reason.length * 3 <= MAX_CLOSE_REASON_BYTES) return reason;
  let bytes = 0;
  let end = 0;
  for (const character of reason) {
    const size = utf8Length(character.codePointAt(0)!);
    if (bytes + size > MAX_CLOSE_REASON_BYTES) break;
    bytes += size;
    end += character.length;
  }
  return reason.slice(0, end);
}

function utf8Length(codePoint: number): number {
  return codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
}

/** Reads a close reason written by {@link formatCloseReason}; undefined for any other reason. */
export function parseCloseReason(reason: string): { code: string; message: string } | undefined {
  const match = /^([A-Za-z]+)(?:: ([\s\S]*))?$/.exec(reason);
  if (!match) return undefined;
  return { code: match[1]!, message: match[2] || reason };
}

const text = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));
const shortText = z.string().check(z.maxLength(256));
const identityId = text(1, 255);
const uint = z.int().check(z.minimum(0));
const endpointId = z.int().check(z.minimum(1), z.maximum(0xffffffff));
const sdp = text(1, 32 * 1024);
const iceCandidateShape = { candidate: z.string().check(z.maxLength(1024)), mid: z.string().check(z.maxLength(64)) };
const positive = z.number().check(z.positive());
const positiveInt = z.int().check(z.positive());
const code = z.string().check(z.maxLength(64));
const reasonText = z.string().check(z.maxLength(1024));

/**
 * The data-channel limits as they travel (advertised at join) and as the server's configuration takes them:
 * one schema for both. The configuration takes it strict and adds the upper bounds the server can serve.
 */
export const limitsSchema = z.object({
  maxMessageSizeBytes: positiveInt,
  maxRecipients: positiveInt,
  durableMaxKbps: positive,
  lossyMaxKbps: positive,
  highPriorityLossyMaxKbps: positive,
  broadcastPacketsPerSecond: positive,
  broadcastPacketBytes: positiveInt,
  broadcastReceiveShare: z.number().check(z.minimum(0), z.maximum(1)),
  receiverIdleCloseMs: positiveInt,
  maxSendBacklogMs: positiveInt,
});

/** A STUN or TURN server, in the W3C `RTCIceServer` shape; the server advertises them in `welcome`. */
export const iceServerSchema = z.strictObject({
  urls: z.union([z.string(), z.array(z.string())]),
  username: z.optional(z.string()),
  credential: z.optional(z.string()),
});
export type IceServerConfig = z.infer<typeof iceServerSchema>;

const callId = text(1, 64);
const partySchema = z.object({ identity: identityId, displayName: shortText });
export type PartyInfo = z.infer<typeof partySchema>;
/**
 * A 1:1 call's transport attempt: 0 for the first peer connection, one more each time the caller offers a
 * new one after a loss (docs/reliability.md). Absent means 0.
 */
const generation = z.optional(uint);
const peerSignalSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('offer'), sdp, generation }),
  z.object({ kind: z.literal('answer'), sdp, generation }),
  z.object({ kind: z.literal('candidate'), ...iceCandidateShape, generation }),
  /** Callee → caller: its transport `generation` failed (or it came back while suspended): offer again. */
  z.object({ kind: z.literal('reconnect'), generation: uint }),
]);
export type PeerSignal = z.infer<typeof peerSignalSchema>;

const participantSchema = z.object({
  endpointId,
  identity: identityId,
  displayName: shortText,
});
export type ParticipantInfo = z.infer<typeof participantSchema>;

// ------------------------------------------------------------------------------------- client → server

export const clientMessageSchema = z.discriminatedUnion('type', [
  /** First message on a connection: who this is. */
  z.object({ type: z.literal('hello'), protocolVersion: z.int(), token: text(1, 8192), displayName: z.optional(shortText) }),
  /** A fresh token for the same identity, before the current one expires. */
  z.object({ type: z.literal('refreshToken'), token: text(1, 8192) }),
  /** Join (creating if absent) the group call `groupId`; `ref` pairs the answer with the request. */
  z.object({ type: z.literal('join'), ref: uint, groupId: text(1, 256) }),
  /** The endpoint's SDP offer for its peer connection to the server. */
  z.object({ type: z.literal('offer'), endpointId, sdp }),
  z.object({ type: z.literal('candidate'), endpointId, ...iceCandidateShape }),
  /**
   * The endpoint leaves its call; with `forEveryone`, the call ends for every endpoint in it (each gets
   * `callEnded` with code EndedForEveryone), after what this endpoint sent before has been routed.
   */
  z.object({ type: z.literal('leave'), endpointId, forEveryone: z.optional(z.literal(true)) }),
  /**
   * Takes back an endpoint of this identity whose connection or transport was lost, within its resume
   * window, with the resume token it got in `joined`. Answered by `resumed` (then `offer` as for a join) or
   * an `error` with code NotFound.
   */
  z.object({ type: z.literal('resume'), ref: uint, endpointId, resumeToken: text(1, 128) }),
  /** 1:1 call: ring every agent of identity `callee`; `ref` pairs the answer with the request. */
  z.object({ type: z.literal('startCall'), ref: uint, callee: identityId }),
  /** 1:1 call: the callee accepts (the first agent to accept wins) or rejects. */
  z.object({ type: z.literal('acceptCall'), callId }),
  z.object({ type: z.literal('rejectCall'), callId }),
  /**
   * 1:1 call: either party ends it (before or after it connected). `reason` says it ended because its
   * connection was not resumed in time, not by a hang-up: the other party is told ConnectionLost.
   */
  z.object({
    type: z.literal('endCall'),
    callId,
    reason: z.optional(z.object({ code: z.literal(CallErrorCode.ConnectionLost), message: reasonText })),
  }),
  /** 1:1 call: SDP or ICE for the other party, relayed as is. */
  z.object({ type: z.literal('peerSignal'), callId, signal: peerSignalSchema }),
  /**
   * 1:1 call: takes back this agent's place in an accepted call after its connection was lost, within the
   * resume window, with the resume token it got in `callAccepted`. Answered by `peerCallResumed` or an
   * `error` with code NotFound.
   */
  z.object({ type: z.literal('resumePeerCall'), ref: uint, callId, resumeToken: text(1, 128) }),
  /**
   * Liveness, sent only to a server whose `welcome` gave `pingIntervalMs`: answered by `pong`. A server that
   * answers nothing (it froze, or its machine vanished without resetting the connection) is found out by the
   * client, which a WebSocket cannot do by itself in a browser.
   */
  z.object({ type: z.literal('ping') }),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

// ------------------------------------------------------------------------------------- server → client

export const serverMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('welcome'),
    protocolVersion: z.int(),
    identity: identityId,
    iceServers: z.array(iceServerSchema),
    /**
     * This run of the server (random at each start). An SDK whose `resume` is refused joins its call again
     * as a new endpoint only when this changed since the join: the server restarted and lost the endpoint.
     * Otherwise the endpoint ended on purpose (its reason is on its way) and is not brought back.
     */
    serverRun: z.optional(text(1, 64)),
    /**
     * This server is a cluster node and sends LinkCommit frames (protocol 4 and later, docs/cluster.md): the
     * SDK keeps its Durable link frames until they are committed, not only acknowledged, and reports those
     * still uncommitted undelivered if it has to join its call again (the node was lost).
     */
    linkCommits: z.optional(z.literal(true)),
    /**
     * The client pings (`ping`) every this many ms, and takes the connection for dead (closes it and
     * reconnects) when nothing has come from the server within `pingTimeoutMs` of a ping. A server that
     * sends neither is not pinged.
     */
    pingIntervalMs: z.optional(z.int().check(z.minimum(100))),
    pingTimeoutMs: z.optional(z.int().check(z.minimum(100))),
  }),
  /** The answer to `ping`. Any message proves the server alive; this one carries nothing else. */
  z.object({ type: z.literal('pong') }),
  /** The join was accepted: the endpoint exists, its peer connection may now be offered. */
  z.object({
    type: z.literal('joined'),
    ref: uint,
    callId: z.string(),
    endpointId,
    limits: limitsSchema,
    /** The secret that takes this endpoint back after a lost connection (`resume`). */
    resumeToken: text(1, 128),
    /** How long the server keeps the endpoint for a resume after its connection or transport is lost, ms. */
    resumeWindowMs: z.int().check(z.minimum(0)),
  }),
  /** The resume was accepted: the endpoint is this connection's again; `participants` are the others now. */
  z.object({ type: z.literal('resumed'), ref: uint, callId: z.string(), endpointId, participants: z.array(participantSchema) }),
  z.object({ type: z.literal('answer'), endpointId, sdp }),
  z.object({ type: z.literal('candidate'), endpointId, ...iceCandidateShape }),
  /** The endpoint's data transport is up and it is in the roster; `participants` are the others. */
  z.object({ type: z.literal('connected'), endpointId, participants: z.array(participantSchema) }),
  /**
   * Other endpoints were admitted to the call (`joined`) or left it (`left`, their endpoint ids) since the
   * last roster message: the server gathers one event-loop turn's changes per message (version 3; it
   * replaced participantJoined and participantLeft, one message per change).
   */
  z.object({ type: z.literal('participantsChanged'), endpointId, joined: z.array(participantSchema), left: z.array(endpointId) }),
  /** Version 2 only (a version-3 connection gets participantsChanged): one endpoint was admitted. */
  z.object({ type: z.literal('participantJoined'), endpointId, participant: participantSchema }),
  /** Version 2 only: one endpoint left. */
  z.object({ type: z.literal('participantLeft'), endpointId, participantEndpointId: endpointId }),
  /** The server ended this endpoint's part in the call. */
  z.object({ type: z.literal('callEnded'), endpointId, code, message: reasonText }),
  /** 1:1 call: the callee's agents are ringing. */
  z.object({ type: z.literal('ringing'), ref: uint, callId, limits: limitsSchema }),
  /** 1:1 call: someone is calling this agent. */
  z.object({ type: z.literal('incomingCall'), callId, caller: partySchema, limits: limitsSchema }),
  /**
   * 1:1 call: the callee accepted (sent to the caller, and to the accepting agent as confirmation). Each
   * party gets its own `resumeToken`, which takes its place back after a lost connection (`resumePeerCall`),
   * and how long the server keeps the call for that (`resumeWindowMs`; 0: not at all).
   */
  z.object({
    type: z.literal('callAccepted'),
    callId,
    callee: partySchema,
    resumeToken: text(1, 128),
    resumeWindowMs: z.int().check(z.minimum(0)),
  }),
  /** 1:1 call: `resumePeerCall` was accepted: this connection is the party's again. */
  z.object({ type: z.literal('peerCallResumed'), ref: uint, callId }),
  /** 1:1 call: it is over for this agent, and why (a PeerCallEndCode). */
  z.object({ type: z.literal('peerCallEnded'), callId, code, message: reasonText }),
  z.object({ type: z.literal('peerSignal'), callId, signal: peerSignalSchema }),
  /** A request failed; `ref` names a join request, `endpointId` an endpoint, neither the connection. */
  z.object({
    type: z.literal('error'),
    ref: z.optional(uint),
    endpointId: z.optional(endpointId),
    code,
    message: reasonText,
  }),
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;
export type WireDataChannelLimits = z.infer<typeof limitsSchema>;

/** The only error signaling parsers throw; its code is always `BadRequest`. */
export class SignalingError extends BackchannelError {
  override readonly name: string = 'SignalingError';
  constructor(message: string) {
    super(CallErrorCode.BadRequest, message);
  }
}

export function parseClientMessage(text: string): ClientMessage {
  return parseWith(clientMessageSchema, text);
}

export function parseServerMessage(text: string): ServerMessage {
  return parseWith(serverMessageSchema, text);
}

export function encodeSignaling(message: ClientMessage | ServerMessage): string {
  return JSON.stringify(message);
}

const utf8Encoder = new TextEncoder();
/**
 * zod/mini carries no messages of its own; English ones are passed per parse rather than set globally, so
 * that the SDK never changes the zod configuration of the application that embeds it.
 */
const messages = { error: english().localeError };

function parseWith<T>(schema: z.ZodMiniType<T>, raw: string): T {
  // A UTF-16 unit is 1 to 3 UTF-8 bytes: count bytes only when the length alone cannot decide.
  const tooLong =
    raw.length > MAX_SIGNALING_MESSAGE_BYTES ||
    (raw.length * 3 > MAX_SIGNALING_MESSAGE_BYTES && utf8Encoder.encode(raw).byteLength > MAX_SIGNALING_MESSAGE_BYTES);
  if (tooLong) throw new SignalingError(`signaling message over ${MAX_SIGNALING_MESSAGE_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new SignalingError('signaling message is not JSON');
  }
  const result = schema.safeParse(json, messages);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw new SignalingError(`invalid signaling message${where}: ${issue?.message ?? 'unknown'}`);
  }
  return result.data;
}
