/**
 * The lines `backchannel chat` prints: one event per line, so that a program reading its stdout can match
 * them. What remote participants send (text, display names) is shown escaped: a newline cannot split an
 * event over two lines, and no escape sequence reaches the terminal to move the cursor or rewrite the screen.
 */
const decoder = new TextDecoder('utf-8', { fatal: true });

export const chatView = {
  joined: (group: string, name: string, callId: string): string => `joined group ${printable(group)} as ${printable(name)} (call ${callId})`,
  participants: (names: string): string => `participants: ${printable(names)}`,
  arrived: (name: string): string => `${printable(name)} joined`,
  departed: (name: string): string => `${printable(name)} left`,
  /** An incoming message: `[channel 1000 #3] Bob: hello`; `Bob (direct)` when it was addressed to chosen participants. */
  message: (channelId: number, sequenceNumber: number, from: string, text: string, direct = false): string =>
    `[channel ${channelId} #${sequenceNumber}] ${printable(from)}${direct ? ' (direct)' : ''}: ${printable(text)}`,
  ended: (code: string, message: string): string => `call ended: ${code}: ${printable(message)}`,
};

/** The payload as text if it is UTF-8, else a note of its size. */
export function textOf(data: Uint8Array): string {
  try {
    return decoder.decode(data);
  } catch {
    return `(${data.byteLength} bytes, not UTF-8 text)`;
  }
}

/** `text` with control characters (C0, DEL, C1) written as escapes: \n, \r, \t, \x1b… */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}
