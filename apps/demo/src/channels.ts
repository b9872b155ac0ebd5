/**
 * The demo's data channels (any application picks its own ids, SPEC §4). Both are Durable senders; the
 * Node client in test/e2e speaks the same protocol on the same ids.
 */
/** Chat and control messages: one JSON object per message (chat/protocol.ts). */
export const MESSAGE_CHANNEL = 1000;
/** Files: the SDK's stream helper (sendStream / receiveStreams), one stream per file. */
export const FILE_CHANNEL = 1001;
