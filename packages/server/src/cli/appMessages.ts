/**
 * The application protocol the CLI tools speak, the demo page's (apps/demo/src/channels.ts and
 * chat/protocol.ts), so that a terminal and a browser can chat and swap files in one call:
 *
 *   channel 1000 (MESSAGE_CHANNEL), one UTF-8 JSON object per message:
 *     { "type": "chat", "text": "hi", "to": "everyone" | ["8:backchannel:…"] }
 *     { "type": "file-cancel", "transferId": "…" }                    receiver → sender: stop sending it
 *     { "type": "file-received", "transferId": "…", "digest": "…" }    receiver → sender: arrived intact (CLI addition)
 *     { "type": "file-failed", "transferId": "…", "code": "…", "message": "…" }  receiver → sender (CLI addition)
 *   channel 1001 (FILE_CHANNEL): the SDK's stream helper, one stream per file, announced with the metadata
 *     { "transferId": "…", "name": "report.pdf", "type": "application/pdf" }
 *
 * The two receipts are additions of the CLI: send-file waits for one before it reports success. The demo
 * ignores message types it does not know, as does this decoder.
 */
import { randomBytes } from 'node:crypto';

export const MESSAGE_CHANNEL = 1000;
export const FILE_CHANNEL = 1001;

export type AppMessage =
  | { type: 'chat'; text: string; to: 'everyone' | string[] }
  | { type: 'file-cancel'; transferId: string }
  | { type: 'file-received'; transferId: string; digest: string }
  | { type: 'file-failed'; transferId: string; code: string; message: string };

export interface FileMetadata {
  transferId: string;
  name: string;
  type: string;
  [key: string]: unknown;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeAppMessage(message: AppMessage): Uint8Array {
  return encoder.encode(JSON.stringify(message));
}

/** The message, or undefined for anything else (plain text from another application, say). */
export function decodeAppMessage(data: Uint8Array): AppMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Record<string, unknown>;
  if (m.type === 'chat' && typeof m.text === 'string' && (m.to === 'everyone' || isStringArray(m.to))) return { type: 'chat', text: m.text, to: m.to };
  if (typeof m.transferId !== 'string') return undefined;
  if (m.type === 'file-cancel') return { type: 'file-cancel', transferId: m.transferId };
  if (m.type === 'file-received' && typeof m.digest === 'string') return { type: 'file-received', transferId: m.transferId, digest: m.digest };
  if (m.type === 'file-failed' && typeof m.code === 'string' && typeof m.message === 'string') {
    return { type: 'file-failed', transferId: m.transferId, code: m.code, message: m.message };
  }
  return undefined;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** A transfer id as the demo makes them: 24 hex digits. */
export function newTransferId(): string {
  return randomBytes(12).toString('hex');
}

/** The metadata announced with a file stream, read defensively: it comes from another participant. */
export function readFileMetadata(metadata: Record<string, unknown> | undefined, fallbackId: string): FileMetadata {
  return {
    transferId: typeof metadata?.transferId === 'string' ? metadata.transferId.slice(0, 64) : fallbackId,
    name: typeof metadata?.name === 'string' ? metadata.name : '',
    type: typeof metadata?.type === 'string' ? metadata.type : 'application/octet-stream',
  };
}
