/**
 * The logger `backchannel serve` hands the server: the server's JSON lines (its `createLogger`, with its
 * redaction of tokens and secrets), or the same lines made readable for a terminal by pino-pretty. Pretty
 * printing is a command-line concern, so pino-pretty is a dependency of this package only.
 */
import { fileURLToPath } from 'node:url';

import { createLogger, type Logger } from '@backchannel/server';

export type LogFormat = 'json' | 'pretty';

export function serveLogger(level: string, format: LogFormat): Logger {
  if (format === 'json') return createLogger({ level });
  // pino resolves a transport given by package name from the file that calls pino(), the server's, where
  // this package's dependency need not be found; an absolute path resolved here always is.
  const target = fileURLToPath(import.meta.resolve('pino-pretty'));
  return createLogger({ level, transport: { target, options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } } });
}
