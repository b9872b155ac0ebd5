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

/**
 * The identity store is unreachable just now (Redis down, or not answering): nothing was read or changed.
 * Agents are told `IdentityStoreUnavailable` and may retry; the identity API answers 503 with the same code.
 */
export class IdentityStoreUnavailableError extends BackchannelError {
  override readonly name: string = 'IdentityStoreUnavailableError';
  declare readonly code: typeof CallErrorCode.IdentityStoreUnavailable;

  constructor(message: string, options?: { cause?: unknown }) {
    super(CallErrorCode.IdentityStoreUnavailable, message, options);
  }
}

/** `startServer` with `redisUrl` could not reach Redis at start; `url` is the address with any password hidden. */
export class RedisUnreachableError extends BackchannelError {
  override readonly name: string = 'RedisUnreachableError';
  declare readonly code: typeof ServerErrorCode.RedisUnreachable;

  constructor(
    readonly url: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(ServerErrorCode.RedisUnreachable, `cannot reach Redis at ${url}: ${reason}`, options);
  }
}

/**
 * A setting every node of a deployment must share differs from what the deployment already holds in Redis:
 * `setting` names it (never its value).
 */
export class DeploymentMismatchError extends BackchannelError {
  override readonly name: string = 'DeploymentMismatchError';
  declare readonly code: typeof ServerErrorCode.DeploymentMismatch;

  constructor(
    readonly setting: 'tokenSecret' | 'accessKey' | 'tokenIssuer',
    message: string,
  ) {
    super(ServerErrorCode.DeploymentMismatch, message);
  }
}
