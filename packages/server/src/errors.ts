/**
 * The server's errors. Each extends the protocol's {@link BackchannelError} with a stable code from one of
 * the protocol's tables, so a caller (the CLI, a test, an embedding application) tells them apart by `code`.
 */
import { BackchannelError, CallErrorCode, ServerErrorCode } from '@backchannel/protocol';

/**
 * A join, offer or other call request was refused; `code` is what the agent is told over signaling
 * (`{ type: 'error', code, message }`).
 */
export class JoinError extends BackchannelError {
  override readonly name: string = 'JoinError';
  declare readonly code: CallErrorCode;

  constructor(code: CallErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A token was refused: malformed, badly signed, expired, without the `voip` scope, or revoked. */
export class TokenError extends BackchannelError {
  override readonly name: string = 'TokenError';
  declare readonly code: typeof CallErrorCode.InvalidToken;

  constructor(message: string, options?: { cause?: unknown }) {
    super(CallErrorCode.InvalidToken, message, options);
  }
}

/** A configuration value was refused: `key` is its dotted path, `value` what was given. */
export class ConfigError extends BackchannelError {
  override readonly name: string = 'ConfigError';
  declare readonly code: typeof ServerErrorCode.InvalidConfiguration;

  constructor(
    readonly key: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(ServerErrorCode.InvalidConfiguration, `invalid configuration: ${key} = ${JSON.stringify(value) ?? String(value)}: ${reason}`);
  }
}
