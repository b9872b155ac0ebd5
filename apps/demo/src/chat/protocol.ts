/**
 * The demo's message protocol on MESSAGE_CHANNEL: one UTF-8 JSON object per data-channel message.
 *
 *   { "type": "chat", "text": "hi", "to": "everyone" }           a chat line to everyone
 *   { "type": "chat", "text": "hi", "to": ["8:backchannel:…"] }  a chat line to chosen identities
 *   { "type": "file-cancel", "transferId": "…" }                 "stop sending me that file"
 *
 * `to` only tells the reader how the line was addressed; the recipient list of the sender (setParticipants)
 * decides who gets it, and the server stamps who sent it. Pure code: the Node client in test/e2e uses it too.
 */
export type DemoMessage =
  | { type: 'chat'; text: string; to: 'everyone' | string[] }
  | { type: 'file-cancel'; transferId: string };

/** Longest chat line, in characters; a line always fits one message (32 KiB) with room to spare. */
export const MAX_CHAT_LENGTH = 4000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeDemoMessage(message: DemoMessage): Uint8Array {
  return encoder.encode(JSON.stringify(message));
}

/** The message, or undefined for anything that is not one (another application on the channel, say). */
export function decodeDemoMessage(data: Uint8Array): DemoMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Record<string, unknown>;
  if (m.type === 'chat' && typeof m.text === 'string' && (m.to === 'everyone' || isStringArray(m.to))) {
    return { type: 'chat', text: m.text.slice(0, MAX_CHAT_LENGTH), to: m.to };
  }
  if (m.type === 'file-cancel' && typeof m.transferId === 'string') return { type: 'file-cancel', transferId: m.transferId };
  return undefined;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
