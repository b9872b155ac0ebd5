/** @backchannel/server — run a Backchannel call server in-process (the CLI's `serve` uses this). */
export { startServer, type RunningServer } from './BackchannelServer.js';
export { DEFAULT_CONFIG, resolveConfig, type ServerConfig, type ServerOptions } from './config.js';
export type { ServerStats } from './stats.js';
