/** @backchannel/server — run a Backchannel call server in-process (the CLI's `serve` uses this). */
export { startServer, type ClusterSnapshot, type RunningServer, type StartOptions } from './BackchannelServer.js';
export { ConfigError, DEFAULT_CONFIG, redactConfig, resolveConfig, type ServerConfig, type ServerOptions } from './config.js';
export { DeploymentMismatchError, IdentityStoreUnavailableError, RedisUnreachableError } from './errors.js';
export { createLogger, type Logger, type LoggerOptions } from './logging.js';
export type { ServerStats } from './stats.js';
