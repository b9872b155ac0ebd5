import { CallErrorCode, DataChannelErrorCode, PeerCallEndCode } from '@backchannel/protocol';

export { CallErrorCode, DataChannelErrorCode, PeerCallEndCode };

/**
 * Every failure of the data-channel API. `code` is one of {@link DataChannelErrorCode}: the reference
 * SDK's codes, plus `InvalidArgument` for arguments refused at the call.
 */
export class DataChannelError extends Error {
  override readonly name: string = 'DataChannelError';
  constructor(
    readonly code: DataChannelErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A failure of a call or of the agent's connection (bad token, server unreachable, call ended by the server). */
export class CallError extends Error {
  override readonly name: string = 'CallError';
  constructor(
    readonly code: CallErrorCode | string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function invalidArgument(message: string): DataChannelError {
  return new DataChannelError(DataChannelErrorCode.InvalidArgument, message);
}
