/**
 * Binary frames carried on a call's WebRTC data channels (docs/protocol.md has the byte diagrams).
 *
 * Longer than our ~300-line rule, on purpose: every frame type's layout, encoder and decoder sit side by
 * side, so that a layout is read and changed in one place and the two directions cannot drift.
 *
 * A data message costs its payload plus a 16-byte header, in both directions. The header of a Send frame
 * (client → server) and of a Deliver frame (server → client) have the same size and layout, so the server
 * forwards a message by rewriting the type byte and the 4-byte address field in place: routing copies no
 * payload and allocates nothing per recipient.
 *
 * Control frames (session close, recipient lists, notices) travel on the Durable channel, ordered with the
 * Durable data they relate to.
 */
import { readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { BackchannelError, isDropReason, type DropReason } from './errors.js';
import { MAX_CHANNEL_ID, MIN_CHANNEL_ID } from './limits.js';

/** Frame type, the first byte of every frame. The high bit marks frames sent by the server. */
export const FrameType = {
  /** client → server: a data message for the sender's current recipients. */
  Send: 0x01,
  /** client → server: the sender closed its session. */
  SessionClose: 0x02,
  /** client → server: a sender's recipient list for its next messages. */
  SetRecipients: 0x03,
  /**
   * client → server (or peer): "tell me when you have everything I sent before this". Sent on the Durable
   * channel before leaving, so that messages already handed to the transport are not cut off.
   */
  Barrier: 0x04,
  /**
   * client → server (or peer): "I have received this many of your Durable link frames" (cumulative, sent
   * batched, not per frame). The other side may forget what it kept for a resume up to there.
   */
  LinkAck: 0x05,
  /**
   * client → server (or peer): the first frame on the Durable channel of a resumed link: "I have received
   * this many of your Durable link frames; send me the rest, then carry on".
   */
  LinkResume: 0x06,
  /**
   * client → server: several client frames in one SCTP message (batch.ts), sent only to a server that
   * speaks protocol 3 or later, never to a 1:1 peer.
   */
  Batch: 0x07,
  /** server → client: a data message, stamped with the endpoint that sent it. */
  Deliver: 0x81,
  /** server → client: a remote sender closed its session. */
  SessionClosed: 0x82,
  /** server → client: the server dropped one of this endpoint's messages, and why. */
  Notice: 0x83,
  /**
   * server → client: an endpoint left the call, sent on the Durable channel after the last of its messages,
   * so the receiver knows nothing more will come (the roster update over signaling can overtake its data).
   */
  EndpointLeft: 0x84,
  /** server (or peer) → client: the Barrier with this token arrived, and everything before it. */
  BarrierAck: 0x85,
  /** server → client: LinkAck, the server's count of the client's Durable link frames. */
  ServerLinkAck: 0x86,
  /** server → client: LinkResume, the server's count of the client's Durable link frames. */
  ServerLinkResume: 0x87,
  /** server → client: several server frames in one SCTP message (batch.ts), only to a client of protocol 3 or later. */
  ServerBatch: 0x88,
  /**
   * server → client (an extension: slow-recipient feedback): one recipient of this endpoint's session is
   * too slow: its copies are being dropped, held back, or kept while it is away. Rate-limited per
   * (session, recipient); carries the copies dropped for it since the last report.
   */
  SlowRecipient: 0x89,
  /**
   * server → client (an extension: slow-recipient feedback): the server dropped this many copies of a
   * remote session's messages for this endpoint, which was too far behind. Sent before the next copy of
   * that session that does reach it (or its close).
   */
  CopiesDropped: 0x8a,
  /**
   * server → client (an extension: delivery receipts): a recipient endpoint's SDK has buffered this
   * endpoint's session's messages up to this sequence number (from the recipient's cumulative LinkAcks).
   */
  Receipt: 0x8b,
  /**
   * server → client (protocol 4, a cluster node only): LinkCommit, "I have this many of your Durable link
   * frames, and every one of them is safe from my loss": each has reached every other node it was for, or
   * its sender was told it was not delivered. It acknowledges them too (as a ServerLinkAck would). An SDK
   * whose welcome said `linkCommits` keeps what was acknowledged but not committed, and reports it
   * undelivered if the endpoint is lost with its node (docs/cluster.md, "A node lost").
   */
  ServerLinkCommit: 0x8c,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Bits of a data frame's flags byte. */
export const FrameFlag = {
  Lossy: 0x01,
  HighPriority: 0x02,
  /**
   * Durable only (an extension, state for late joiners): the server keeps this message, the latest of its
   * session, for endpoints that join or become recipients later. Copied to the Deliver frame.
   */
  Retain: 0x04,
  /**
   * Durable only (an extension, delivery receipts): the sender wants Receipt frames for this message.
   * Copied to the Deliver frame.
   */
  Receipts: 0x08,
} as const;
const KNOWN_FLAGS = FrameFlag.Lossy | FrameFlag.HighPriority | FrameFlag.Retain | FrameFlag.Receipts;

/** Size of the header shared by Send and Deliver frames. */
export const DATA_HEADER_BYTES = 16;
const SESSION_CLOSE_BYTES = 8;
const SESSION_CLOSED_BYTES = 12;
const NOTICE_BYTES = 12;
const ENDPOINT_LEFT_BYTES = 8;
const BARRIER_BYTES = 8;
/** Every session report (encodeSessionReport) is this long. */
const SESSION_REPORT_BYTES = 16;
const SLOW_RECIPIENT_BYTES = SESSION_REPORT_BYTES;
const COPIES_DROPPED_BYTES = SESSION_REPORT_BYTES;
const RECEIPT_BYTES = SESSION_REPORT_BYTES;
/** Receipt's byte 1: the layout's version, so that a later layout can be told apart. */
export const RECEIPT_VERSION = 1;

/** Why a recipient is reported slow (SlowRecipient's byte 1). Wire values: append, never renumber. */
export const SlowRecipientReason = {
  /** Copies for it were dropped: it is further behind than the server's bounds allow. */
  Dropping: 1,
  /** Its copies are delivered, but late: what waits for it is past half the server's bound. */
  Backlogged: 2,
  /** Its connection is lost: its copies are kept for its resume, not delivered yet. */
  Suspended: 3,
} as const;
export type SlowRecipientReason = (typeof SlowRecipientReason)[keyof typeof SlowRecipientReason];
const SLOW_RECIPIENT_REASONS = new Set<number>(Object.values(SlowRecipientReason));
const SET_RECIPIENTS_HEADER_BYTES = 12;
/** Longest identity id a recipient list can carry, in UTF-8 bytes. */
export const MAX_IDENTITY_BYTES = 255;
/** Most entries a recipient list frame can carry (the count is one byte). */
export const MAX_RECIPIENT_LIST_ENTRIES = 255;

/** Fields common to Send and Deliver. */
export interface DataFrameHeader {
  readonly flags: number;
  readonly channelId: number;
  readonly sessionId: number;
  readonly sequenceNumber: number;
}

export interface SendFrame extends DataFrameHeader {
  readonly type: typeof FrameType.Send;
  /** Which of the session's recipient lists applies: 0 = everyone else, n = the n-th SetRecipients. */
  readonly recipientsGeneration: number;
  readonly payload: Uint8Array;
}

export interface DeliverFrame extends DataFrameHeader {
  readonly type: typeof FrameType.Deliver;
  /** Server-assigned id of the endpoint that sent the message. */
  readonly senderEndpointId: number;
  readonly payload: Uint8Array;
}

export interface SessionCloseFrame {
  readonly type: typeof FrameType.SessionClose;
  readonly channelId: number;
  readonly sessionId: number;
}

export interface SessionClosedFrame {
  readonly type: typeof FrameType.SessionClosed;
  readonly channelId: number;
  readonly sessionId: number;
  readonly senderEndpointId: number;
}

export interface SetRecipientsFrame {
  readonly type: typeof FrameType.SetRecipients;
  readonly channelId: number;
  readonly sessionId: number;
  /** 1, 2, 3 … per session; data frames name the generation they were sent under. */
  readonly generation: number;
  /** Identity ids; empty means everyone else in the call. */
  readonly recipients: readonly string[];
}

export interface NoticeFrame {
  readonly type: typeof FrameType.Notice;
  readonly reason: DropReason;
  readonly channelId: number;
  readonly sessionId: number;
  readonly sequenceNumber: number;
}

export interface BarrierFrame {
  readonly type: typeof FrameType.Barrier;
  readonly token: number;
}

export interface BarrierAckFrame {
  readonly type: typeof FrameType.BarrierAck;
  readonly token: number;
}

/**
 * LinkAck and LinkResume, in either direction, and the server's LinkCommit: `count` is how many Durable link
 * frames the sender of this frame has received from the other side (mod 2^32; for LinkCommit, also
 * committed). Link frames are every frame on the Durable channel but these (docs/reliability.md).
 */
export interface LinkFrame {
  readonly type:
    | typeof FrameType.LinkAck
    | typeof FrameType.LinkResume
    | typeof FrameType.ServerLinkAck
    | typeof FrameType.ServerLinkResume
    | typeof FrameType.ServerLinkCommit;
  readonly count: number;
}

export interface EndpointLeftFrame {
  readonly type: typeof FrameType.EndpointLeft;
  readonly endpointId: number;
}

export interface SlowRecipientFrame {
  readonly type: typeof FrameType.SlowRecipient;
  readonly reason: SlowRecipientReason;
  /** The session of the receiving endpoint whose recipient this is. */
  readonly channelId: number;
  readonly sessionId: number;
  readonly recipientEndpointId: number;
  /** Copies dropped for it since the previous report (0 for Backlogged, Suspended). */
  readonly droppedCount: number;
}

export interface CopiesDroppedFrame {
  readonly type: typeof FrameType.CopiesDropped;
  /** The remote session whose copies were dropped for the receiving endpoint. */
  readonly channelId: number;
  readonly sessionId: number;
  readonly senderEndpointId: number;
  readonly count: number;
}

export interface ReceiptFrame {
  readonly type: typeof FrameType.Receipt;
  /** The receiving endpoint's own session. */
  readonly channelId: number;
  readonly sessionId: number;
  readonly recipientEndpointId: number;
  /** The recipient has every message of the session up to this one that was addressed to it. */
  readonly sequenceNumber: number;
}

export type ClientFrame = SendFrame | SessionCloseFrame | SetRecipientsFrame | BarrierFrame | LinkFrame;
export type ServerFrame =
  | DeliverFrame
  | SessionClosedFrame
  | NoticeFrame
  | EndpointLeftFrame
  | BarrierAckFrame
  | LinkFrame
  | SlowRecipientFrame
  | CopiesDroppedFrame
  | ReceiptFrame;
export type Frame = ClientFrame | ServerFrame;

/** Why a frame was refused by a decoder. */
export const FrameErrorCode = {
  Truncated: 'Truncated',
  UnknownType: 'UnknownType',
  BadFlags: 'BadFlags',
  BadChannel: 'BadChannel',
  BadSession: 'BadSession',
  BadRecipients: 'BadRecipients',
  /** A malformed batch (batch.ts), a batch inside a batch, or a batch handed to a single-frame decoder. */
  BadBatch: 'BadBatch',
} as const;
export type FrameErrorCode = (typeof FrameErrorCode)[keyof typeof FrameErrorCode];

/** The only error a frame decoder throws. */
export class FrameError extends BackchannelError {
  override readonly name: string = 'FrameError';
  declare readonly code: FrameErrorCode;
  constructor(code: FrameErrorCode, message: string) {
    super(code, message);
  }
}

const utf8Encoder = new TextEncoder();
/** A UTF-16 surrogate without its pair: TextEncoder would silently turn it into U+FFFD. */
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// ignoreBOM: a leading U+FEFF is part of the id, not a byte-order mark to strip.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// ---------------------------------------------------------------------------------------------- encode

/**
 * Encodes a Send frame: header and payload in one new buffer (the single copy the transport needs).
 */
export function encodeSend(header: DataFrameHeader, recipientsGeneration: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(DATA_HEADER_BYTES + payload.byteLength);
  writeDataHeader(frame, FrameType.Send, header, recipientsGeneration);
  frame.set(payload, DATA_HEADER_BYTES);
  return frame;
}

/**
 * Whether `frame`, one this side encoded, is a Send frame whose sender asked for delivery receipts. In a 1:1
 * call the peer's LinkAck that covers such a frame is its receipt (there is no server to send one).
 */
export function isReceiptedSend(frame: Uint8Array): boolean {
  return frame[0] === FrameType.Send && (frame[1]! & FrameFlag.Receipts) !== 0;
}

/**
 * Whether `frame` is one of the extensions' server frames (SlowRecipient, CopiesDropped, Receipt), which a
 * version-2 SDK cannot read (see speaksExtensionFrames).
 */
export function isExtensionFrame(frame: Uint8Array): boolean {
  const type = frame[0];
  return type === FrameType.SlowRecipient || type === FrameType.CopiesDropped || type === FrameType.Receipt;
}

/** Where a data frame belongs: its sender session and its number in it (see {@link readDataAddress}). */
export interface DataAddress {
  channelId: number;
  sessionId: number;
  sequenceNumber: number;
}

/**
 * Reads a Send or Deliver frame's channel, session and sequence number into `into` (reused by the caller:
 * nothing is allocated). For frames this side encoded or already decoded: no checks.
 */
export function readDataAddress(frame: Uint8Array, into: DataAddress): DataAddress {
  into.channelId = readU16(frame, 2);
  into.sessionId = readU32(frame, 4);
  into.sequenceNumber = readU32(frame, 8);
  return into;
}

/** Encodes a Deliver frame (used by tests and by servers that build frames rather than forward them). */
export function encodeDeliver(header: DataFrameHeader, senderEndpointId: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(DATA_HEADER_BYTES + payload.byteLength);
  writeDataHeader(frame, FrameType.Deliver, header, senderEndpointId);
  frame.set(payload, DATA_HEADER_BYTES);
  return frame;
}

/**
 * Turns a received Send frame into the Deliver frame its recipients get, in place: the type byte and the
 * address field change, the payload is untouched. The caller must own `frame`.
 */
export function rewriteSendAsDeliver(frame: Uint8Array, senderEndpointId: number): Uint8Array {
  frame[0] = FrameType.Deliver;
  writeU32(frame, 12, senderEndpointId);
  return frame;
}

export function encodeSessionClose(channelId: number, sessionId: number): Uint8Array {
  const frame = new Uint8Array(SESSION_CLOSE_BYTES);
  frame[0] = FrameType.SessionClose;
  writeU16(frame, 2, channelId);
  writeU32(frame, 4, sessionId);
  return frame;
}

export function encodeSessionClosed(channelId: number, sessionId: number, senderEndpointId: number): Uint8Array {
  const frame = new Uint8Array(SESSION_CLOSED_BYTES);
  frame[0] = FrameType.SessionClosed;
  writeU16(frame, 2, channelId);
  writeU32(frame, 4, sessionId);
  writeU32(frame, 8, senderEndpointId);
  return frame;
}

export function encodeNotice(reason: DropReason, channelId: number, sessionId: number, sequenceNumber: number): Uint8Array {
  const frame = new Uint8Array(NOTICE_BYTES);
  frame[0] = FrameType.Notice;
  frame[1] = reason;
  writeU16(frame, 2, channelId);
  writeU32(frame, 4, sessionId);
  writeU32(frame, 8, sequenceNumber);
  return frame;
}

/**
 * The extensions' 16-byte reports share one layout: type, one byte of its own, the session's channel (u16)
 * and id (u32), the other endpoint's id (u32) and a count or sequence number (u32).
 */
function encodeSessionReport(type: number, byte1: number, channelId: number, sessionId: number, endpointId: number, value: number): Uint8Array {
  const frame = new Uint8Array(SESSION_REPORT_BYTES);
  frame[0] = type;
  frame[1] = byte1;
  writeU16(frame, 2, channelId);
  writeU32(frame, 4, sessionId);
  writeU32(frame, 8, endpointId);
  writeU32(frame, 12, value >>> 0);
  return frame;
}

/** SlowRecipient (an extension): `recipientEndpointId` of session (`channelId`, `sessionId`) is slow. */
export function encodeSlowRecipient(reason: SlowRecipientReason, channelId: number, sessionId: number, recipientEndpointId: number, droppedCount: number): Uint8Array {
  return encodeSessionReport(FrameType.SlowRecipient, reason, channelId, sessionId, recipientEndpointId, droppedCount);
}

/** CopiesDropped (an extension): `count` copies of (`senderEndpointId`, `channelId`, `sessionId`) were dropped for the recipient. */
export function encodeCopiesDropped(channelId: number, sessionId: number, senderEndpointId: number, count: number): Uint8Array {
  return encodeSessionReport(FrameType.CopiesDropped, 0, channelId, sessionId, senderEndpointId, count);
}

/** Receipt (an extension): `recipientEndpointId` has session (`channelId`, `sessionId`) up to `sequenceNumber`. */
export function encodeReceipt(channelId: number, sessionId: number, recipientEndpointId: number, sequenceNumber: number): Uint8Array {
  return encodeSessionReport(FrameType.Receipt, RECEIPT_VERSION, channelId, sessionId, recipientEndpointId, sequenceNumber);
}

export function encodeBarrier(token: number): Uint8Array {
  return encodeTypeAndU32(FrameType.Barrier, token);
}

export function encodeBarrierAck(token: number): Uint8Array {
  return encodeTypeAndU32(FrameType.BarrierAck, token);
}

/** A LinkAck (`from` the client or peer: 0x05; from the server: 0x86) with the count of frames received. */
export function encodeLinkAck(count: number, from: 'client' | 'server'): Uint8Array {
  return encodeTypeAndU32(from === 'client' ? FrameType.LinkAck : FrameType.ServerLinkAck, count >>> 0);
}

/** A LinkCommit (server → client, 0x8c): the first `count` of the client's link frames are committed (and acknowledged). */
export function encodeLinkCommit(count: number): Uint8Array {
  return encodeTypeAndU32(FrameType.ServerLinkCommit, count >>> 0);
}

/** A LinkResume (`from` the client or peer: 0x06; from the server: 0x87) with the count of frames received. */
export function encodeLinkResume(count: number, from: 'client' | 'server'): Uint8Array {
  return encodeTypeAndU32(from === 'client' ? FrameType.LinkResume : FrameType.ServerLinkResume, count >>> 0);
}

/**
 * A LinkAck or LinkResume of either direction, or a server's LinkCommit (an SDK reads the server's, and in a
 * 1:1 call its peer's, which are the client types). Throws {@link FrameError} for any other frame or a wrong length.
 */
export function decodeLinkFrame(frame: Uint8Array): LinkFrame {
  const type = frame[0];
  if (isLinkFrame(frame)) {
    throw new FrameError('UnknownType', `not a link frame: type 0x${(type ?? 0).toString(16)}`);
  }
  const name = type === FrameType.LinkAck || type === FrameType.ServerLinkAck ? 'LinkAck' : type === FrameType.ServerLinkCommit ? 'LinkCommit' : 'LinkResume';
  expectLength(frame, BARRIER_BYTES, name);
  return { type: type as LinkFrame['type'], count: readU32(frame, 4) };
}

/**
 * Whether a frame on the Durable channel counts as a link frame (numbered and kept for a resume): every
 * frame but LinkAck and LinkResume, in either direction, and the server's LinkCommit. Reads byte 0 only. A batch is not a frame of the
 * link: it is split first, and each of its frames is asked about (batch.ts).
 */
export function isLinkFrame(frame: Uint8Array): boolean {
  const type = frame[0];
  return (
    type !== FrameType.LinkAck &&
    type !== FrameType.LinkResume &&
    type !== FrameType.ServerLinkAck &&
    type !== FrameType.ServerLinkResume &&
    type !== FrameType.ServerLinkCommit
  );
}

/** The 8-byte frames: type, three reserved bytes, one uint32. */
function encodeTypeAndU32(type: FrameType, value: number): Uint8Array {
  const frame = new Uint8Array(8);
  frame[0] = type;
  writeU32(frame, 4, value);
  return frame;
}

export function encodeEndpointLeft(endpointId: number): Uint8Array {
  return encodeTypeAndU32(FrameType.EndpointLeft, endpointId);
}

export function encodeSetRecipients(
  channelId: number,
  sessionId: number,
  generation: number,
  recipients: readonly string[],
): Uint8Array {
  if (recipients.length > MAX_RECIPIENT_LIST_ENTRIES) {
    throw new FrameError(FrameErrorCode.BadRecipients, `a recipient list frame carries at most ${MAX_RECIPIENT_LIST_ENTRIES} entries`);
  }
  const encoded = recipients.map((id) => utf8Encoder.encode(id));
  let size = SET_RECIPIENTS_HEADER_BYTES;
  if (recipients.some((id) => LONE_SURROGATE.test(id))) throw new FrameError(FrameErrorCode.BadRecipients, 'identity ids must be well-formed Unicode (no lone surrogates)');
  for (const id of encoded) {
    if (id.byteLength === 0 || id.byteLength > MAX_IDENTITY_BYTES) {
      throw new FrameError(FrameErrorCode.BadRecipients, `identity ids must be 1–${MAX_IDENTITY_BYTES} bytes of UTF-8`);
    }
    size += 1 + id.byteLength;
  }
  const frame = new Uint8Array(size);
  frame[0] = FrameType.SetRecipients;
  frame[1] = recipients.length;
  writeU16(frame, 2, channelId);
  writeU32(frame, 4, sessionId);
  writeU32(frame, 8, generation);
  let at = SET_RECIPIENTS_HEADER_BYTES;
  for (const id of encoded) {
    frame[at++] = id.byteLength;
    frame.set(id, at);
    at += id.byteLength;
  }
  return frame;
}

function writeDataHeader(frame: Uint8Array, type: FrameType, header: DataFrameHeader, address: number): void {
  frame[0] = type;
  frame[1] = header.flags;
  writeU16(frame, 2, header.channelId);
  writeU32(frame, 4, header.sessionId);
  writeU32(frame, 8, header.sequenceNumber);
  writeU32(frame, 12, address);
}

// ---------------------------------------------------------------------------------------------- decode

/** Frames a server accepts. Throws {@link FrameError} for anything else; never throws another error. */
export function decodeClientFrame(frame: Uint8Array): ClientFrame {
  if (frame.byteLength < 1) throw new FrameError('Truncated', 'empty frame');
  switch (frame[0]) {
    case FrameType.Send: {
      const header = readDataHeader(frame);
      return { type: FrameType.Send, ...header, recipientsGeneration: readU32(frame, 12), payload: frame.subarray(DATA_HEADER_BYTES) };
    }
    case FrameType.SessionClose:
      expectLength(frame, SESSION_CLOSE_BYTES, 'SessionClose');
      return { type: FrameType.SessionClose, channelId: readChannel(frame), sessionId: readSession(frame) };
    case FrameType.SetRecipients:
      return readSetRecipients(frame);
    case FrameType.Barrier:
      expectLength(frame, BARRIER_BYTES, 'Barrier');
      return { type: FrameType.Barrier, token: readU32(frame, 4) };
    case FrameType.LinkAck:
    case FrameType.LinkResume:
      expectLength(frame, BARRIER_BYTES, frame[0] === FrameType.LinkAck ? 'LinkAck' : 'LinkResume');
      return { type: frame[0] as typeof FrameType.LinkAck | typeof FrameType.LinkResume, count: readU32(frame, 4) };
    case FrameType.Batch:
      throw new FrameError('BadBatch', 'a Batch is split (readBatch) before its frames are decoded');
    default:
      throw new FrameError('UnknownType', `unknown client frame type 0x${frame[0]!.toString(16)}`);
  }
}

/** Frames a client accepts. Throws {@link FrameError} for anything else; never throws another error. */
export function decodeServerFrame(frame: Uint8Array): ServerFrame {
  if (frame.byteLength < 1) throw new FrameError('Truncated', 'empty frame');
  switch (frame[0]) {
    case FrameType.Deliver: {
      const header = readDataHeader(frame);
      return { type: FrameType.Deliver, ...header, senderEndpointId: readU32(frame, 12), payload: frame.subarray(DATA_HEADER_BYTES) };
    }
    case FrameType.SessionClosed:
      expectLength(frame, SESSION_CLOSED_BYTES, 'SessionClosed');
      return {
        type: FrameType.SessionClosed,
        channelId: readChannel(frame),
        sessionId: readSession(frame),
        senderEndpointId: readU32(frame, 8),
      };
    case FrameType.Notice: {
      expectLength(frame, NOTICE_BYTES, 'Notice');
      const reason = frame[1]!;
      if (!isDropReason(reason)) throw new FrameError('BadFlags', `unknown notice reason ${reason}`);
      return {
        type: FrameType.Notice,
        reason,
        channelId: readChannel(frame),
        sessionId: readSession(frame),
        sequenceNumber: readU32(frame, 8),
      };
    }
    case FrameType.EndpointLeft:
      expectLength(frame, ENDPOINT_LEFT_BYTES, 'EndpointLeft');
      return { type: FrameType.EndpointLeft, endpointId: readU32(frame, 4) };
    case FrameType.BarrierAck:
      expectLength(frame, BARRIER_BYTES, 'BarrierAck');
      return { type: FrameType.BarrierAck, token: readU32(frame, 4) };
    case FrameType.ServerLinkAck:
    case FrameType.ServerLinkResume:
    case FrameType.ServerLinkCommit:
      return decodeLinkFrame(frame);
    case FrameType.ServerBatch:
      throw new FrameError('BadBatch', 'a ServerBatch is split (readBatch) before its frames are decoded');
    case FrameType.SlowRecipient: {
      expectLength(frame, SLOW_RECIPIENT_BYTES, 'SlowRecipient');
      const reason = frame[1]!;
      if (!SLOW_RECIPIENT_REASONS.has(reason)) throw new FrameError('BadFlags', `unknown slow-recipient reason ${reason}`);
      return {
        type: FrameType.SlowRecipient,
        reason: reason as SlowRecipientReason,
        channelId: readChannel(frame),
        sessionId: readSession(frame),
        recipientEndpointId: readU32(frame, 8),
        droppedCount: readU32(frame, 12),
      };
    }
    case FrameType.CopiesDropped:
      expectLength(frame, COPIES_DROPPED_BYTES, 'CopiesDropped');
      if (frame[1] !== 0) throw new FrameError('BadFlags', `CopiesDropped byte 1 must be 0, got ${frame[1]}`);
      return {
        type: FrameType.CopiesDropped,
        channelId: readChannel(frame),
        sessionId: readSession(frame),
        senderEndpointId: readU32(frame, 8),
        count: readU32(frame, 12),
      };
    case FrameType.Receipt:
      expectLength(frame, RECEIPT_BYTES, 'Receipt');
      if (frame[1] !== RECEIPT_VERSION) throw new FrameError('BadFlags', `Receipt version ${frame[1]} is not ${RECEIPT_VERSION}`);
      return {
        type: FrameType.Receipt,
        channelId: readChannel(frame),
        sessionId: readSession(frame),
        recipientEndpointId: readU32(frame, 8),
        sequenceNumber: readU32(frame, 12),
      };
    default:
      throw new FrameError('UnknownType', `unknown server frame type 0x${frame[0]!.toString(16)}`);
  }
}

function readDataHeader(frame: Uint8Array): DataFrameHeader {
  if (frame.byteLength < DATA_HEADER_BYTES) {
    throw new FrameError('Truncated', `data frame of ${frame.byteLength} bytes is shorter than its ${DATA_HEADER_BYTES}-byte header`);
  }
  const flags = frame[1]!;
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new FrameError('BadFlags', `unknown flag bits 0x${flags.toString(16)}`);
  return { flags, channelId: readChannel(frame), sessionId: readSession(frame), sequenceNumber: readU32(frame, 8) };
}

function readSetRecipients(frame: Uint8Array): SetRecipientsFrame {
  if (frame.byteLength < SET_RECIPIENTS_HEADER_BYTES) throw new FrameError('Truncated', 'SetRecipients header truncated');
  const count = frame[1]!;
  const recipients: string[] = [];
  let at = SET_RECIPIENTS_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at >= frame.byteLength) throw new FrameError('Truncated', `recipient list truncated at entry ${i}`);
    const length = frame[at++]!;
    if (length === 0) throw new FrameError('BadRecipients', `recipient ${i} is empty`);
    if (at + length > frame.byteLength) throw new FrameError('Truncated', `recipient ${i} truncated`);
    try {
      recipients.push(utf8Decoder.decode(frame.subarray(at, at + length)));
    } catch {
      throw new FrameError('BadRecipients', `recipient ${i} is not valid UTF-8`);
    }
    at += length;
  }
  if (at !== frame.byteLength) throw new FrameError('BadRecipients', `${frame.byteLength - at} trailing bytes after recipient list`);
  return {
    type: FrameType.SetRecipients,
    channelId: readChannel(frame),
    sessionId: readSession(frame),
    generation: readU32(frame, 8),
    recipients,
  };
}

function readChannel(frame: Uint8Array): number {
  const channelId = readU16(frame, 2);
  if (channelId < MIN_CHANNEL_ID || channelId > MAX_CHANNEL_ID) throw new FrameError('BadChannel', `channel id ${channelId} out of range`);
  return channelId;
}

function readSession(frame: Uint8Array): number {
  const sessionId = readU32(frame, 4);
  if (sessionId === 0) throw new FrameError('BadSession', 'session id 0 is reserved');
  return sessionId;
}

function expectLength(frame: Uint8Array, length: number, name: string): void {
  if (frame.byteLength !== length) throw new FrameError('Truncated', `${name} frame must be ${length} bytes, got ${frame.byteLength}`);
}
