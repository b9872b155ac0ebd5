/**
 * How the client-side CLI tools (token, chat, send-file, receive-file, stats) end: one set of exit codes,
 * one error type carrying its code, and one wrapper that turns an action's outcome into an exit.
 *
 * Results go to stdout, everything else (errors, notes, progress) to stderr, so that `TOKEN=$(backchannel
 * token)` and pipes see only results.
 */
import { CallError, CallErrorCode } from '@backchannel/client';

/** Exit codes of the client tools; docs/operations.md lists them. */
export const ExitCode = {
  Ok: 0,
  /** Bad flags, a missing option, a file that cannot be read: fix the command line. */
  Usage: 1,
  /** The server cannot be reached, refused the access key or token, or ended the call. */
  Connection: 2,
  /** A file transfer failed: cancelled, interrupted, or it did not arrive intact. */
  TransferFailed: 3,
  /** Stopped by SIGINT/SIGTERM before the work was done (128 + SIGINT, as shells report it). */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the user can act on: its message is printed as is, and the process exits with `exitCode`. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** CallError codes that mean the server could not be reached or would not have us. */
const CONNECTION_CODES: ReadonlySet<string> = new Set([
  CallErrorCode.ConnectionLost,
  CallErrorCode.InvalidToken,
  CallErrorCode.TooManyConnections,
  CallErrorCode.UnsupportedProtocol,
]);

/**
 * Once an action has settled, how long the process may take to wind down by itself (agents disposed, the
 * WebRTC runtime cleaned up ~50 ms later) before it is made to exit. Exiting at once could tear down
 * libdatachannel while a peer connection is still closing.
 */
const EXIT_GRACE_MS = 2000;

/**
 * Wraps a command's action: the action returns its exit code (or throws), the wrapper prints a thrown
 * error on stderr and ends the process with the matching code. main.ts's own catch would exit 1 for
 * everything, so tool actions never let an error reach it.
 */
export function runAction<Args extends unknown[]>(command: string, action: (...args: Args) => Promise<ExitCode | void>): (...args: Args) => Promise<void> {
  return async (...args) => {
    let code: ExitCode;
    try {
      code = (await action(...args)) ?? ExitCode.Ok;
    } catch (error) {
      code = exitCodeOf(error);
      printError(command, error);
    }
    process.exitCode = code;
    setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
  };
}

export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof CallError && CONNECTION_CODES.has(error.code)) return ExitCode.Connection;
  return ExitCode.Usage;
}

export function printError(command: string, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof CallError ? ` (${error.code})` : '';
  process.stderr.write(`backchannel ${command}: ${message}${code}\n`);
}

/** A note for the user (not a result): on stderr. */
export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** A result: one line on stdout. */
export function result(text: string): void {
  process.stdout.write(`${text}\n`);
}

/**
 * Calls `handler` on the first SIGINT or SIGTERM, instead of the default of dying on the spot, so that a
 * tool can leave its call and say what happened. `dispose()` restores the default.
 */
export function onInterrupt(handler: (signal: NodeJS.Signals) => void): { dispose(): void } {
  const listener = (signal: NodeJS.Signals): void => handler(signal);
  process.once('SIGINT', listener);
  process.once('SIGTERM', listener);
  return {
    dispose() {
      process.off('SIGINT', listener);
      process.off('SIGTERM', listener);
    },
  };
}
