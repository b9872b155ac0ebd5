/**
 * Graceful shutdown on SIGTERM/SIGINT: the server stops taking joins, tells every client the call ends for
 * `ServerShutdown`, lets queued Durable data leave (bounded), then the process exits 0. A second signal
 * exits at once.
 */
import type { Logger, RunningServer } from '@backchannel/server';

export function installShutdown(server: RunningServer, logger: Logger): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.close().then(
      () => {
        logger.info('stopped');
        logger.flush?.();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
