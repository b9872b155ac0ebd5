/**
 * Structured logs (pino): JSON lines by default, human-readable with `format: 'pretty'`. One line per call
 * and endpoint lifecycle event. Tokens and secrets are never logged: the fields that could carry them are
 * redacted as a second line of defence.
 */
import { pino, type Logger } from 'pino';

export type { Logger };
export type LogFormat = 'json' | 'pretty';

const REDACT = ['token', 'accessKey', 'tokenSecret', '*.token', '*.accessKey', '*.tokenSecret', 'req.headers.authorization'];

export function createLogger(options: { level?: string; format?: LogFormat } = {}): Logger {
  const base = { level: options.level ?? 'info', redact: REDACT, base: { service: 'backchannel' } };
  if (options.format === 'pretty') {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } } });
  }
  return pino(base);
}

/** The logger of a server started without one: says nothing. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
