/**
 * The server's log lines, as events: how a test waits for something only the server sees (a party that is
 * away, then back). Pass `log.logger` to `startHarness({ logger })`.
 */
import { EventEmitter } from 'node:events';

import { pino } from 'pino';

import { until } from './events.js';

export interface LogLine {
  msg: string;
  [field: string]: unknown;
}

export class ServerLog extends EventEmitter<{ line: [] }> {
  readonly lines: LogLine[] = [];
  readonly logger = pino({ level: 'info' }, {
    write: (line: string): void => {
      this.lines.push(JSON.parse(line) as LogLine);
      this.emit('line');
    },
  });

  /** Lines with message `msg` (and the given fields), so far. */
  matching(msg: string, fields: Record<string, unknown> = {}): LogLine[] {
    return this.lines.filter((line) => line.msg === msg && Object.entries(fields).every(([key, value]) => line[key] === value));
  }

  /** Resolves once `count` lines with message `msg` (and the given fields) have been logged. */
  async logged(msg: string, count: number, fields: Record<string, unknown> = {}, timeoutMs?: number): Promise<LogLine[]> {
    await until(this as ServerLog, 'line', () => this.matching(msg, fields).length >= count, timeoutMs);
    return this.matching(msg, fields);
  }
}
