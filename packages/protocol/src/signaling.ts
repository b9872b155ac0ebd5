/**
 * Signaling messages: JSON over the WebSocket between an agent and the server. Joining calls, SDP/ICE
 * exchange and roster updates travel here; data never does. Each message is validated against its schema
 * on arrival, on both ends, so a peer's bad input becomes a typed {@link SignalingError}, never a crash.
 */
import { z } from 'zod';

import { CallErrorCode } from './errors.js';

/** Largest signaling message either side accepts, in bytes. SDP for two data channels is ~1 KiB. */
export const MAX_SIGNALING_MESSAGE_BYTES = 64 * 1024;

const shortText = z.string().max(256);
const identityId = z.string().min(1).max(255);
const endpointId = z.number().int().min(1).max(0xffffffff);
const sdp = z.string().min(1).max(32 * 1024);
const iceCandidate = z.object({ candidate: z.string().max(1024), mid: z.string().max(64) });

const limitsSchema = z.object({
  maxMessageSizeBytes: z.number().int().positive(),
  maxRecipients: z.number().int().positive(),
  durableMaxKbps: z.number().positive(),
  lossyMaxKbps: z.number().positive(),
  highPriorityLossyMaxKbps: z.number().positive(),
  broadcastPacketsPerSecond: z.number().positive(),
  broadcastPacketBytes: z.number().int().positive(),
  broadcastReceiveShare: z.number().min(0).max(1),
  receiverIdleCloseMs: z.number().int().positive(),
  maxSendBacklogMs: z.number().int().positive(),
});

const callId = z.string().min(1).max(64);
const partySchema = z.object({ identity: identityId, displayName: shortText });
export type PartyInfo = z.infer<typeof partySchema>;
const peerSignalSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('offer'), sdp }),
  z.object({ kind: z.literal('answer'), sdp }),
  z.object({ kind: z.literal('candidate'), ...iceCandidate.shape }),
]);
export type PeerSignal = z.infer<typeof peerSignalSchema>;

const participantSchema = z.object({
  endpointId,
  identity: identityId,
  displayName: shortText,
});
export type ParticipantInfo = z.infer<typeof participantSchema>;

const iceServerSchema = z.object({
  urls: z.union([z.string(), z.array(z.string())]),
  username: z.string().optional(),
  credential: z.string().optional(),
});
export type IceServerConfig = z.infer<typeof iceServerSchema>;

// ------------------------------------------------------------------------------------- client → server

export const clientMessageSchema = z.discriminatedUnion('type', [
  /** First message on a connection: who this is. */
  z.object({ type: z.literal('hello'), protocolVersion: z.number().int(), token: z.string().min(1).max(8192), displayName: shortText.optional() }),
  /** A fresh token for the same identity, before the current one expires. */
  z.object({ type: z.literal('refreshToken'), token: z.string().min(1).max(8192) }),
  /** Join (creating if absent) the group call `groupId`; `ref` pairs the answer with the request. */
  z.object({ type: z.literal('join'), ref: z.number().int().nonnegative(), groupId: z.string().min(1).max(256) }),
  /** The endpoint's SDP offer for its peer connection to the server. */
  z.object({ type: z.literal('offer'), endpointId, sdp }),
  z.object({ type: z.literal('candidate'), endpointId, ...iceCandidate.shape }),
  /** The endpoint leaves its call. */
  z.object({ type: z.literal('leave'), endpointId }),
  /** 1:1 call: ring every agent of identity `callee`; `ref` pairs the answer with the request. */
  z.object({ type: z.literal('startCall'), ref: z.number().int().nonnegative(), callee: identityId }),
  /** 1:1 call: the callee accepts (the first agent to accept wins) or rejects. */
  z.object({ type: z.literal('acceptCall'), callId }),
  z.object({ type: z.literal('rejectCall'), callId }),
  /** 1:1 call: either party ends it (before or after it connected). */
  z.object({ type: z.literal('endCall'), callId }),
  /** 1:1 call: SDP or ICE for the other party, relayed as is. */
  z.object({ type: z.literal('peerSignal'), callId, signal: peerSignalSchema }),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

// ------------------------------------------------------------------------------------- server → client

export const serverMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('welcome'), protocolVersion: z.number().int(), identity: identityId, iceServers: z.array(iceServerSchema) }),
  /** The join was accepted: the endpoint exists, its peer connection may now be offered. */
  z.object({ type: z.literal('joined'), ref: z.number().int().nonnegative(), callId: z.string(), endpointId, limits: limitsSchema }),
  z.object({ type: z.literal('answer'), endpointId, sdp }),
  z.object({ type: z.literal('candidate'), endpointId, ...iceCandidate.shape }),
  /** The endpoint's data transport is up and it is in the roster; `participants` are the others. */
  z.object({ type: z.literal('connected'), endpointId, participants: z.array(participantSchema) }),
  z.object({ type: z.literal('participantJoined'), endpointId, participant: participantSchema }),
  z.object({ type: z.literal('participantLeft'), endpointId, participantEndpointId: endpointId }),
  /** The server ended this endpoint's part in the call. */
  z.object({ type: z.literal('callEnded'), endpointId, code: z.string().max(64), message: z.string().max(1024) }),
  /** 1:1 call: the callee's agents are ringing. */
  z.object({ type: z.literal('ringing'), ref: z.number().int().nonnegative(), callId, limits: limitsSchema }),
  /** 1:1 call: someone is calling this agent. */
  z.object({ type: z.literal('incomingCall'), callId, caller: partySchema, limits: limitsSchema }),
  /** 1:1 call: the callee accepted (sent to the caller, and to the accepting agent as confirmation). */
  z.object({ type: z.literal('callAccepted'), callId, callee: partySchema }),
  /** 1:1 call: it is over for this agent, and why (a PeerCallEndCode). */
  z.object({ type: z.literal('peerCallEnded'), callId, code: z.string().max(64), message: z.string().max(1024) }),
  z.object({ type: z.literal('peerSignal'), callId, signal: peerSignalSchema }),
  /** A request failed; `ref` names a join request, `endpointId` an endpoint, neither the connection. */
  z.object({
    type: z.literal('error'),
    ref: z.number().int().nonnegative().optional(),
    endpointId: endpointId.optional(),
    code: z.string().max(64),
    message: z.string().max(1024),
  }),
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;
export type WireDataChannelLimits = z.infer<typeof limitsSchema>;

/** The only error signaling parsers throw. */
export class SignalingError extends Error {
  override readonly name = 'SignalingError';
  readonly code = CallErrorCode.BadRequest;
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

function parseWith<T>(schema: z.ZodType<T>, text: string): T {
  // A UTF-16 unit is 1 to 3 UTF-8 bytes: count bytes only when the length alone cannot decide.
  const tooLong =
    text.length > MAX_SIGNALING_MESSAGE_BYTES ||
    (text.length * 3 > MAX_SIGNALING_MESSAGE_BYTES && utf8Encoder.encode(text).byteLength > MAX_SIGNALING_MESSAGE_BYTES);
  if (tooLong) throw new SignalingError(`signaling message over ${MAX_SIGNALING_MESSAGE_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SignalingError('signaling message is not JSON');
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw new SignalingError(`invalid signaling message${where}: ${issue?.message ?? 'unknown'}`);
  }
  return result.data;
}
