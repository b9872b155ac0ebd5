/**
 * The application messages of the demo page (apps/demo) and the `backchannel` CLI tools, defined once so
 * that a terminal and a browser can chat and swap files in one call. They are an application of the
 * data-channel API, not part of Backchannel's own wire format: the server routes them as opaque payloads.
 * Any application picks its own channel ids (SPEC §4); these are the demo's.
 *
 * Version 1 (APP_MESSAGES_VERSION), on two Durable channels:
 *
 *   channel 1000 (APP_MESSAGE_CHANNEL): one UTF-8 JSON object per data-channel message
 *     { "type": "chat", "text": "hi", "to": "everyone" }                         a chat line to everyone
 *     { "type": "chat", "text": "hi", "to": ["8:backchannel:…"] }                a chat line to chosen identities
 *     { "type": "file-cancel", "transferId": "…" }                               receiver → sender: stop sending me that file
 *     { "type": "file-received", "transferId": "…", "digest": "…" }              receiver → sender: it arrived intact
 *     { "type": "file-failed", "transferId": "…", "code": "…", "message": "…" }  receiver → sender: it did not arrive
 *   channel 1001 (APP_FILE_CHANNEL): the SDK's stream helper (sendStream / receiveStreams), one stream per
 *     file, announced with the metadata { "transferId": "…", "name": "report.pdf", "type": "application/pdf" }
 *
 * `to` only tells the reader how a line was addressed: the sender's recipient list (setParticipants)
 * decides who gets it, and the server stamps who sent it. `transferId` ties a reply to the transfer whose
 * metadata carried it. The receipts (`file-received`, `file-failed`) came with the CLI: send-file waits for
 * one before it reports success; the demo page sends only `file-cancel`.
 *
 * How the version evolves: the version is not written on the wire. Version 1 grows only by additions (a new
 * type, a new optional field); readers skip types they do not know (`AppMessageUnknownType`) and fields
 * they do not read, so an older reader and a newer writer still talk. A change that old readers would
 * misread takes new channel ids and a new version. A retired type name is never reused.
 *
 * Pure code with no I/O, for browsers and Node alike. The decoder throws only {@link AppMessageError}.
 */
import { BackchannelError } from './errors.js';

/** The version of this message set (see the module comment for how it evolves). */
export const APP_MESSAGES_VERSION = 1;

/** Chat lines and file replies: one JSON object per message. */
export const APP_MESSAGE_CHANNEL = 1000;
/** Files: the SDK's stream helper, one stream per file. */
export const APP_FILE_CHANNEL = 1001;

/**
 * Longest chat line the demo page sends, in UTF-16 code units: a line always fits one message (32 KiB)
 * with room to spare. The decoder does not cut longer lines; a reader that needs the bound applies it.
 */
export const MAX_CHAT_LENGTH = 4000;

export interface ChatMessage {
  type: 'chat';
  text: string;
  /** How the line was addressed: everyone, or these identities. */
  to: 'everyone' | string[];
}

/** Receiver → sender: stop sending me this file. */
export interface FileCancelMessage {
  type: 'file-cancel';
  transferId: string;
}

/** Receiver → sender: the file arrived intact; `digest` is the stream's hex SHA-256 hash list. */
export interface FileReceivedMessage {
  type: 'file-received';
  transferId: string;
  digest: string;
}

/** Receiver → sender: the file did not arrive; `code` is a StreamErrorCode or the receiver's own. */
export interface FileFailedMessage {
  type: 'file-failed';
  transferId: string;
  code: string;
  message: string;
}

export type AppMessage = ChatMessage | FileCancelMessage | FileReceivedMessage | FileFailedMessage;
/** The messages about a file transfer: a receiver's answers to its sender. */
export type FileReplyMessage = Exclude<AppMessage, ChatMessage>;

/** What the file channel's stream metadata carries. */
export interface FileMetadata {
  /** Ties the receiver's replies (file-cancel, file-received, file-failed) to the transfer. */
  transferId: string;
  /** The file's name as the sender announced it; readers make it safe for their own use. */
  name: string;
  /** A MIME type. */
  type: string;
}

/** Codes of {@link AppMessageError}. Stable strings: never renamed or reused. */
export const AppMessageErrorCode = {
  /** Not UTF-8 JSON text holding one object, or a known type with a missing or mistyped field. */
  Malformed: 'AppMessageMalformed',
  /** A JSON object whose `type` this version does not define (a newer writer's, or another application's). */
  UnknownType: 'AppMessageUnknownType',
} as const;
export type AppMessageErrorCode = (typeof AppMessageErrorCode)[keyof typeof AppMessageErrorCode];

/** The only error {@link decodeAppMessage} throws. */
export class AppMessageError extends BackchannelError {
  override readonly name: string = 'AppMessageError';
  declare readonly code: AppMessageErrorCode;
  constructor(code: AppMessageErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** One message as UTF-8 JSON, its fields in the documented order and nothing else. */
export function encodeAppMessage(message: AppMessage): Uint8Array {
  return encoder.encode(JSON.stringify(canonical(message)));
}

function canonical(message: AppMessage): AppMessage {
  switch (message.type) {
    case 'chat':
      return { type: 'chat', text: message.text, to: message.to };
    case 'file-cancel':
      return { type: 'file-cancel', transferId: message.transferId };
    case 'file-received':
      return { type: 'file-received', transferId: message.transferId, digest: message.digest };
    case 'file-failed':
      return { type: 'file-failed', transferId: message.transferId, code: message.code, message: message.message };
  }
}

/**
 * The message in `data`, with only its documented fields. Throws {@link AppMessageError}: `UnknownType` for
 * an object of a type this version does not define (skip it), `Malformed` for anything else that is not a
 * message (plain text from another application, say). Never throws another error.
 */
export function decodeAppMessage(data: Uint8Array): AppMessage {
  let text: string;
  try {
    text = decoder.decode(data);
  } catch (error) {
    throw new AppMessageError(AppMessageErrorCode.Malformed, 'an app message is UTF-8 text, and this is not', { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AppMessageError(AppMessageErrorCode.Malformed, 'an app message is one JSON object, and this is not JSON', { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AppMessageError(AppMessageErrorCode.Malformed, 'an app message is one JSON object, and this is another JSON value');
  }
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case 'chat': {
      const text = stringField(m, 'text');
      const to = m.to;
      if (to !== 'everyone' && !isStringArray(to)) throw malformed('chat', 'to', '"everyone" or an array of identity strings');
      return { type: 'chat', text, to };
    }
    case 'file-cancel':
      return { type: 'file-cancel', transferId: stringField(m, 'transferId') };
    case 'file-received':
      return { type: 'file-received', transferId: stringField(m, 'transferId'), digest: stringField(m, 'digest') };
    case 'file-failed':
      return { type: 'file-failed', transferId: stringField(m, 'transferId'), code: stringField(m, 'code'), message: stringField(m, 'message') };
  }
  if (typeof m.type !== 'string') throw new AppMessageError(AppMessageErrorCode.Malformed, 'an app message needs "type" to be a string');
  throw new AppMessageError(AppMessageErrorCode.UnknownType, `unknown app message type ${JSON.stringify(m.type.slice(0, 64))}`);
}

function stringField(m: Record<string, unknown>, field: string): string {
  const value = m[field];
  if (typeof value !== 'string') throw malformed(m.type as string, field, 'a string');
  return value;
}

function malformed(type: string, field: string, expected: string): AppMessageError {
  return new AppMessageError(AppMessageErrorCode.Malformed, `a ${type} message needs "${field}" to be ${expected}`);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** Longest transferId kept from announced metadata. */
const MAX_TRANSFER_ID_LENGTH = 64;
/** `type/subtype`, nothing more: no parameters, no spaces. */
const MIME_TYPE = /^[\w.+-]+\/[\w.+-]+$/;

/**
 * The metadata announced with a file stream, read defensively (it comes from another participant), never
 * throwing: a missing or mistyped `transferId` becomes `fallbackId` (a longer one is cut to 64 characters),
 * a missing `name` becomes '', and a `type` that is not a plain MIME type becomes application/octet-stream.
 */
export function readFileMetadata(metadata: Record<string, unknown> | undefined, fallbackId: string): FileMetadata {
  const transferId = typeof metadata?.transferId === 'string' ? metadata.transferId.slice(0, MAX_TRANSFER_ID_LENGTH) : fallbackId;
  const name = typeof metadata?.name === 'string' ? metadata.name : '';
  const type = typeof metadata?.type === 'string' && MIME_TYPE.test(metadata.type) ? metadata.type : 'application/octet-stream';
  return { transferId, name, type };
}

/** A new transfer id: 24 hex digits from `crypto.getRandomValues` (also on plain-http pages, unlike randomUUID). */
export function newTransferId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
}
