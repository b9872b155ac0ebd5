/**
 * Shutdown on SIGTERM/SIGINT: the server stops taking joins, lets queued Durable data leave (bounded by
 * its drain time), ends its calls (on the clients only with `shutdownEndsCalls`: by default the SDKs keep
 * them and join them again when the server is back), closes every connection
 * (cutting those that do not close within its close deadline), then the WebRTC runtime goes down and the
 * process exits 0. A second signal exits at once (1).
 *
 * Whatever happens in between, the process ends: a hard deadline past the server's own forces the
 * runtime down and exits 1. (Seen on a loaded machine before this deadline existed: a server that had
 * closed its HTTP port but never exited, its libdatachannel threads alive.)
 */
import { shutdownRtcRuntime } from '@backchannel/node-rtc';
import type { Logger, RunningServer } from '@backchannel/server';

/** Time past the server's drain and close deadlines before the process exits regardless. */
const HARD_DEADLINE_SLACK_MS = 5000;

export function installShutdown(server: RunningServer, logger: Logger): void {
  let stopping = false;
  const exit = (code: number): void => {
    logger.flush?.();
    process.exit(code);
  };
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const hardDeadlineMs = server.config.shutdownDrainMs + server.config.shutdownCloseMs + HARD_DEADLINE_SLACK_MS;
    setTimeout(() => {
      logger.error({ afterMs: hardDeadlineMs }, 'shutdown deadline passed: forcing the WebRTC runtime down and exiting');
      void shutdownRtcRuntime({ force: true }).finally(() => exit(1));
    }, hardDeadlineMs);
    server
      .close()
      .then(() => shutdownRtcRuntime())
      .then(
        () => {
          logger.info('stopped');
          exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          exit(1);
        },
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
