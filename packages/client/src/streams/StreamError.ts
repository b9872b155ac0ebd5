/**
 * Failures of the stream helper (a Backchannel extension). Codes are stable strings, like the SDK's
 * DataChannelErrorCode; failures of the data channel underneath keep their own DataChannelError.
 */
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

/** A failure of `sendStream` or of an incoming stream; `code` is a {@link StreamErrorCode}. */
export class StreamError extends Error {
  override readonly name: string = 'StreamError';
  constructor(
    readonly code: StreamErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
