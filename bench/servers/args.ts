/** Command-line arguments of the peer servers: `--cert FILE --key FILE [--port N]`. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

export interface TlsServerArgs {
  cert: Buffer;
  key: Buffer;
  port: number;
}

export function tlsServerArgs(): TlsServerArgs {
  const { values } = parseArgs({ options: { cert: { type: 'string' }, key: { type: 'string' }, port: { type: 'string', default: '0' } } });
  if (!values.cert || !values.key) throw new Error('usage: --cert FILE --key FILE [--port N]');
  return { cert: readFileSync(values.cert), key: readFileSync(values.key), port: Number(values.port) };
}

/** Prints the ready line the orchestrator waits for, and exits cleanly on SIGTERM/SIGINT. */
export function announce(name: string, port: number, close: () => void): void {
  console.log(`${name} listening on https://127.0.0.1:${port}`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    close();
    setTimeout(() => process.exit(0), 100).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // The orchestrator holds our stdin open: when it goes away (even killed), so do we.
  process.stdin.once('end', stop).once('error', stop).resume();
}
