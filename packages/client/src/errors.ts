/**
 * The SDK's errors. Each extends the protocol's `BackchannelError` (a stable `code`, a message, a `cause`);
 * docs/errors.md lists every code.
 */
import { BackchannelError, CallErrorCode, DataChannelErrorCode, PeerCallEndCode, StreamErrorCode } from '@backchannel/protocol';

export { BackchannelError, CallErrorCode, DataChannelErrorCode, PeerCallEndCode, StreamErrorCode };

/**
 * Every failure of the data-channel API. `code` is one of {@link DataChannelErrorCode}: the reference
 * SDK's codes, plus `InvalidArgument` for arguments refused at the call.
 */
export class DataChannelError extends BackchannelError {
  override readonly name: string = 'DataChannelError';
  declare readonly code: DataChannelErrorCode;

  constructor(code: DataChannelErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * A failure of a call, of the agent's connection or of a call-level argument (bad token, server
 * unreachable, call ended by the server, a bad `groupId`). `code` is a {@link CallErrorCode} or, for the end
 * of a 1:1 call, a {@link PeerCallEndCode}.
 */
export class CallError extends BackchannelError {
  override readonly name: string = 'CallError';
  declare readonly code: CallErrorCode | PeerCallEndCode;

  constructor(code: CallErrorCode | PeerCallEndCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A failure of `sendStream` or of an incoming stream; `code` is a {@link StreamErrorCode}. */
export class StreamError extends BackchannelError {
  override readonly name: string = 'StreamError';
  declare readonly code: StreamErrorCode;

  constructor(code: StreamErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** @internal */
export function invalidArgument(message: string): DataChannelError {
  return new DataChannelError(DataChannelErrorCode.InvalidArgument, message);
}

/**
 * @internal A call or connection failure from a code that came over the network: one this SDK knows keeps
 * it; an unknown one (a newer server's) is reported as it came, so nothing is lost for the application.
 */
export function callErrorFromWire(code: string, message: string): CallError {
  return new CallError(code as CallErrorCode, message);
}
