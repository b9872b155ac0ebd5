/** The demo's app messages (@backchannel/protocol, appMessages.ts) as the tools read them. */
import { AppMessageError, decodeAppMessage, type AppMessage } from '@backchannel/protocol';

/** The message in `data`, or undefined for anything else (plain text from another application, a newer type). */
export function readAppMessage(data: Uint8Array): AppMessage | undefined {
  try {
    return decodeAppMessage(data);
  } catch (error) {
    if (error instanceof AppMessageError) return undefined;
    throw error;
  }
}
