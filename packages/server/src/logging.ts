/**
 * Structured logs (pino): JSON lines, one per call and endpoint lifecycle event. Tokens and secrets are
 * never logged: the fields that could carry them are redacted as a second line of defence. Other outputs
 * are pino transports chosen by the caller: the CLI's `serve --log-format pretty` passes pino-pretty's, so
 * that the server itself depends on no log printer.
 */
import { pino, type Logger, type TransportSingleOptions } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** pino's level name; 'info' by default. */
  level?: string;
  /** Where the lines go instead of stdout as JSON: a pino transport (target module and its options). */
  transport?: TransportSingleOptions;
}

const REDACT = ['token', 'accessKey', 'tokenSecret', '*.token', '*.accessKey', '*.tokenSecret', 'req.headers.authorization'];

export function createLogger(options: LoggerOptions = {}): Logger {
  const base = { level: options.level ?? 'info', redact: REDACT, base: { service: 'backchannel' } };
  return options.transport ? pino({ ...base, transport: options.transport }) : pino(base);
}

/** The logger of a server started without one: says nothing. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
