/**
 * `backchannel serve`. Every option is a flag, an environment variable (BACKCHANNEL_<NAME>) and a key of
 * the optional JSON config file (`--config`); flags beat the environment, which beats the file, which beats
 * the defaults. The merged result passes the server's one configuration schema.
 */
import { readFileSync } from 'node:fs';

import { Command, InvalidArgumentError, Option } from 'commander';

import { ConfigError, DEFAULT_CONFIG, redactConfig, resolveConfig, startServer, type ServerOptions } from '@backchannel/server';

import { demoStaticDir } from './demoPage.js';
import { serveLogger, type LogFormat } from './logging.js';
import { installShutdown } from './shutdown.js';

type Parse = (value: string) => unknown;

const number: Parse = (value) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got '${value}'`);
  return n;
};
const text: Parse = (value) => value;
const list: Parse = (value) => value.split(',').map((s) => s.trim()).filter(Boolean);
const flag: Parse = (value) => value !== 'false' && value !== '0';

/**
 * One row per option: its flag, the config key it sets (dotted for nested), how to parse it, its help, and
 * its environment variable when it is not BACKCHANNEL_<FLAG NAME>.
 */
const OPTIONS: { flags: string; key: string; parse: Parse; help: string; boolean?: boolean; env?: string }[] = [
  { flags: '--host <address>', key: 'host', parse: text, help: 'address to listen on' },
  { flags: '--port <port>', key: 'port', parse: number, help: 'HTTP and WebSocket port (0: any free port)' },
  { flags: '--access-key <key>', key: 'accessKey', parse: text, help: 'key guarding the identity API, 16+ characters (default: generated and printed)' },
  { flags: '--token-secret <secret>', key: 'tokenSecret', parse: text, help: 'HMAC secret for tokens, 32+ characters (default: random per process)' },
  { flags: '--token-ttl-minutes <n>', key: 'tokenTtlMinutes', parse: number, help: 'default token lifetime (at most 1440)' },
  { flags: '--token-leeway-seconds <s>', key: 'tokenLeewaySeconds', parse: number, help: 'clock skew allowed on token exp/nbf' },
  { flags: '--max-message-size <bytes>', key: 'limits.maxMessageSizeBytes', parse: number, help: 'largest data message' },
  { flags: '--max-recipients <n>', key: 'limits.maxRecipients', parse: number, help: 'recipient endpoints per sender' },
  { flags: '--durable-max-kbps <kbps>', key: 'limits.durableMaxKbps', parse: number, help: 'Durable sender bitrate limit' },
  { flags: '--lossy-max-kbps <kbps>', key: 'limits.lossyMaxKbps', parse: number, help: 'Lossy sender bitrate limit' },
  { flags: '--high-priority-lossy-max-kbps <kbps>', key: 'limits.highPriorityLossyMaxKbps', parse: number, help: 'High-priority Lossy sender bitrate limit' },
  { flags: '--broadcast-packets-per-second <n>', key: 'limits.broadcastPacketsPerSecond', parse: number, help: 'broadcast packet rate per endpoint' },
  { flags: '--receiver-idle-close-ms <ms>', key: 'limits.receiverIdleCloseMs', parse: number, help: 'close receivers idle this long' },
  { flags: '--max-participants-per-call <n>', key: 'maxParticipantsPerCall', parse: number, help: 'endpoints per group call' },
  { flags: '--max-connections-per-identity <n>', key: 'maxConnectionsPerIdentity', parse: number, help: 'signaling connections one identity may hold' },
  { flags: '--max-senders-per-endpoint <n>', key: 'maxSendersPerEndpoint', parse: number, help: 'open sender sessions per endpoint' },
  { flags: '--signaling-messages-per-second <n>', key: 'signalingMessagesPerSecond', parse: number, help: 'signaling messages per connection per second' },
  { flags: '--ice-servers <urls>', key: 'iceServers', parse: (v) => (list(v) as string[]).map((urls) => ({ urls })), help: 'STUN/TURN URLs advertised to clients, comma-separated' },
  { flags: '--rtc-bind-address <address>', key: 'rtcBindAddress', parse: text, help: 'address the WebRTC ICE agent binds to' },
  { flags: '--rtc-port-range-begin <port>', key: 'rtcPortRangeBegin', parse: number, help: 'lowest UDP port for peer connections (0: any)' },
  { flags: '--rtc-port-range-end <port>', key: 'rtcPortRangeEnd', parse: number, help: 'highest UDP port for peer connections (0: any)' },
  { flags: '--rtc-udp-mux [on]', key: 'rtcUdpMux', parse: flag, help: "every peer connection on one UDP port (default on; 'false': a port per connection, from --rtc-port-range-*)", boolean: true },
  { flags: '--rtc-port <port>', key: 'rtcPort', parse: number, help: 'the UDP port of the mux (0: a free one, chosen at start)' },
  { flags: '--rtc-cert-file <file>', key: 'rtcCertFile', parse: text, help: 'PEM certificate every peer connection presents in DTLS (default: an ECDSA P-256 one made at start)' },
  { flags: '--rtc-key-file <file>', key: 'rtcKeyFile', parse: text, help: 'PEM private key of --rtc-cert-file (unencrypted)' },
  { flags: '--resume-window-ms <ms>', key: 'resumeWindowMs', parse: number, help: 'how long an endpoint that lost its connection is kept for its SDK to resume it (0: not kept)' },
  { flags: '--max-retained-bytes-per-call <bytes>', key: 'maxRetainedBytesPerCall', parse: number, help: "bytes of retained messages (senders with retain: 'last') one call may keep" },
  { flags: '--recipient-backlog-ms <ms>', key: 'recipientBacklogMs', parse: number, help: 'how long Durable data toward one receiver may wait at the rate its path drains before its copies are dropped as slow' },
  { flags: '--ring-timeout-ms <ms>', key: 'ringTimeoutMs', parse: number, help: 'how long a 1:1 call rings before NoAnswer' },
  { flags: '--shutdown-drain-ms <ms>', key: 'shutdownDrainMs', parse: number, help: 'on SIGTERM, time allowed for queued Durable data to leave' },
  { flags: '--shutdown-close-ms <ms>', key: 'shutdownCloseMs', parse: number, help: 'on SIGTERM, after the drain, time connections have to close before they are cut' },
  { flags: '--shutdown-ends-calls [on]', key: 'shutdownEndsCalls', parse: flag, help: 'on SIGTERM, end group calls on the clients (ServerShutdown) instead of letting them rejoin when the server is back', boolean: true },
  { flags: '--demo [on]', key: 'demo', parse: flag, help: 'serve the demo page at / and give tokens to anyone (local trials only)', boolean: true },
  { flags: '--demo-dir <dir>', key: 'demoStaticDir', parse: text, help: "the built demo app (default: the dist/ of the repository's @backchannel/demo, apps/demo/dist)" },
  { flags: '--tls-cert <file>', key: 'tlsCertFile', parse: text, help: 'PEM certificate: serve HTTPS and WSS on the same port' },
  { flags: '--tls-key <file>', key: 'tlsKeyFile', parse: text, help: 'PEM private key of --tls-cert' },
  {
    flags: '--redis <url>',
    key: 'redisUrl',
    parse: text,
    env: 'BACKCHANNEL_REDIS_URL',
    help: 'keep identities, token generations and revocations in Redis (redis:// or rediss://), shared by every node started with it; needs --token-secret and --access-key, the same on every node (docs/cluster.md)',
  },
  { flags: '--cluster-host <address>', key: 'clusterHost', parse: text, help: 'with --redis: address the node-to-node listener binds to (default: --host)' },
  { flags: '--cluster-port <port>', key: 'clusterPort', parse: number, help: 'with --redis: TCP port of the node-to-node listener, TLS (0: any free port)' },
  { flags: '--cluster-address <host:port>', key: 'clusterAddress', parse: text, help: 'with --redis: where the other nodes reach this node (default: --cluster-host and the bound port)' },
];

/** The flag's long name without dashes or argument, e.g. 'durable-max-kbps'. */
function longName(flags: string): string {
  return /--([a-z0-9-]+)/.exec(flags)![1]!;
}

function envName(flags: string): string {
  return `BACKCHANNEL_${longName(flags).toUpperCase().replace(/-/g, '_')}`;
}

function attributeName(flags: string): string {
  return longName(flags).replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function defaultOf(key: string): unknown {
  return key.split('.').reduce<unknown>((at, part) => (at as Record<string, unknown> | undefined)?.[part], DEFAULT_CONFIG);
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let at = target;
  for (const part of parts.slice(0, -1)) at = (at[part] ??= {}) as Record<string, unknown>;
  at[parts.at(-1)!] = value;
}

/** Reads the JSON config file; its keys are the server's configuration keys (see docs/operations.md). */
function readConfigFile(path: string): ServerOptions {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('--config', path, `cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  try {
    return JSON.parse(text) as ServerOptions;
  } catch (error) {
    throw new ConfigError('--config', path, `not valid JSON (${(error as Error).message})`);
  }
}

export function serveCommand(): Command {
  const command = new Command('serve').description('start the call server (identity API, signaling, data routing); identities in memory, or shared in Redis with --redis');
  command.addOption(new Option('--config <file>', 'JSON file with configuration keys (see docs/operations.md)').env('BACKCHANNEL_CONFIG'));
  for (const row of OPTIONS) {
    const option = new Option(row.flags, row.help).env(row.env ?? envName(row.flags)).argParser((value) => row.parse(value));
    const fallback = defaultOf(row.key);
    if (fallback !== undefined && !row.boolean) option.default(fallback, JSON.stringify(fallback));
    command.addOption(option);
  }
  command
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').env('BACKCHANNEL_LOG_LEVEL'))
    .addOption(new Option('--log-format <format>', 'json lines, or pretty for terminals').choices(['json', 'pretty']).default(process.stdout.isTTY ? 'pretty' : 'json').env('BACKCHANNEL_LOG_FORMAT'))
    .action(async (flags: Record<string, unknown>) => {
      const options: Record<string, unknown> = flags.config ? { ...readConfigFile(flags.config as string) } : {};
      for (const row of OPTIONS) {
        const name = attributeName(row.flags);
        const source = command.getOptionValueSource(name);
        if (source === 'cli' || source === 'env') setPath(options, row.key, flags[name] === undefined && row.boolean ? true : flags[name]);
      }
      const logger = serveLogger(flags.logLevel as string, flags.logFormat as LogFormat);
      const config = resolveConfig(options as ServerOptions);
      const demoDir = config.demoStaticDir ?? (config.demo ? demoStaticDir() : undefined);
      const server = await startServer({ ...config, demoStaticDir: demoDir, limits: config.limits, logger });
      logger.info({ config: redactConfig(server.config) }, 'configuration');
      const generated = config.accessKey === undefined;
      console.log(`Backchannel listening on ${server.url}`);
      if (server.config.demo) console.log(`  demo page: ${server.url}/  (demo mode: anyone reaching the server gets a token)`);
      console.log(`  signaling: ${server.url.replace(/^http/, 'ws')}/signaling`);
      console.log(`  WebRTC:    ${server.rtc.udpPort !== undefined ? `UDP port ${server.rtc.udpPort} for every peer connection` : 'a UDP port per peer connection'}`);
      console.log(`  metrics:   ${server.url}/metrics   readiness: ${server.url}/readyz`);
      console.log(`  identities: ${server.config.redisUrl ? `in Redis at ${String(redactConfig(server.config).redisUrl)}, shared with every node started with it` : 'in memory (gone when the process ends; --redis keeps them)'}`);
      console.log(`  access key: ${generated ? `${server.accessKey} (generated; set --access-key or BACKCHANNEL_ACCESS_KEY to fix it)` : '(as configured)'}`);
      // The reference's CommunicationIdentityClient takes this and signs with the key (HMAC-SHA256). It holds
      // the key (in base64), so a configured key stays out of the output here too.
      console.log(`  connection string: ${generated ? server.connectionString : `endpoint=${server.url}/;accesskey=<the access key in base64>`}`);
      console.log(`  get a token: curl -s -X POST -H 'Authorization: Bearer <access key>' -H 'Content-Type: application/json' \\`);
      console.log(`               -d '{"createTokenWithScopes":["voip"]}' ${server.url}/identities`);
      installShutdown(server, logger);
    });
  return command;
}
