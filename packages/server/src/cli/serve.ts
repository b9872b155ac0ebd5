/** `backchannel serve`: every option is also an environment variable (BACKCHANNEL_<NAME>). */
import { Command, InvalidArgumentError, Option } from 'commander';

import { startServer } from '../BackchannelServer.js';
import { DEFAULT_CONFIG, type ServerOptions } from '../config.js';

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got '${value}'`);
    return n;
  };
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got '${value}'`);
  return n;
}

function portRange(value: string): [number, number] {
  const match = /^(\d+)-(\d+)$/.exec(value);
  const [begin, end] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN];
  if (!(begin >= 1024 && end <= 65535 && begin <= end)) throw new InvalidArgumentError(`expected BEGIN-END within 1024-65535, got '${value}'`);
  return [begin, end];
}

function option(flags: string, env: string, description: string): Option {
  return new Option(flags, description).env(`BACKCHANNEL_${env}`);
}

export function serveCommand(): Command {
  const d = DEFAULT_CONFIG;
  return new Command('serve')
    .description('start the call server (identity API, signaling, data routing) with in-memory state')
    .addOption(option('--host <address>', 'HOST', 'address to listen on').default(d.host))
    .addOption(option('--port <port>', 'PORT', 'HTTP and WebSocket port (0: any free port)').argParser(integer(0, 65535)).default(d.port))
    .addOption(option('--access-key <key>', 'ACCESS_KEY', 'key guarding the identity API (default: generated and printed)'))
    .addOption(option('--token-secret <secret>', 'TOKEN_SECRET', 'HMAC secret for tokens (default: random per process)'))
    .addOption(option('--token-ttl-minutes <n>', 'TOKEN_TTL_MINUTES', 'default token lifetime (at most 1440)').argParser(integer(1, 1440)).default(d.tokenTtlMinutes))
    .addOption(option('--max-message-size <bytes>', 'MAX_MESSAGE_SIZE', 'largest data message').argParser(integer(1, 256 * 1024)).default(d.limits.maxMessageSizeBytes))
    .addOption(option('--max-recipients <n>', 'MAX_RECIPIENTS', 'recipient endpoints per sender').argParser(integer(1, 255)).default(d.limits.maxRecipients))
    .addOption(option('--durable-max-kbps <kbps>', 'DURABLE_MAX_KBPS', 'Durable sender bitrate limit').argParser(positive).default(d.limits.durableMaxKbps))
    .addOption(option('--lossy-max-kbps <kbps>', 'LOSSY_MAX_KBPS', 'Lossy sender bitrate limit').argParser(positive).default(d.limits.lossyMaxKbps))
    .addOption(
      option('--high-priority-lossy-max-kbps <kbps>', 'HIGH_PRIORITY_LOSSY_MAX_KBPS', 'High-priority Lossy sender bitrate limit')
        .argParser(positive)
        .default(d.limits.highPriorityLossyMaxKbps),
    )
    .addOption(
      option('--broadcast-packets-per-second <n>', 'BROADCAST_PACKETS_PER_SECOND', 'broadcast packet rate per endpoint')
        .argParser(positive)
        .default(d.limits.broadcastPacketsPerSecond),
    )
    .addOption(
      option('--receiver-idle-close-ms <ms>', 'RECEIVER_IDLE_CLOSE_MS', 'close receivers idle this long')
        .argParser(integer(1, 24 * 3600 * 1000))
        .default(d.limits.receiverIdleCloseMs),
    )
    .addOption(option('--ice-server <url...>', 'ICE_SERVERS', 'STUN/TURN URL advertised to clients (repeatable)'))
    .addOption(option('--rtc-bind-address <address>', 'RTC_BIND_ADDRESS', 'address the WebRTC ICE agent binds to'))
    .addOption(option('--rtc-port-range <begin-end>', 'RTC_PORT_RANGE', 'UDP ports for peer connections').argParser(portRange))
    .addOption(
      option('--max-participants-per-call <n>', 'MAX_PARTICIPANTS_PER_CALL', 'endpoints per group call')
        .argParser(integer(1, 100_000))
        .default(d.maxParticipantsPerCall),
    )
    .addOption(option('--demo', 'DEMO', 'serve the demo page at / and give tokens to anyone (local trials only)'))
    .addOption(option('--demo-dir <dir>', 'DEMO_DIR', 'the built demo app (default: apps/demo/dist of the repository)'))
    .addOption(option('--tls-cert <file>', 'TLS_CERT', 'PEM certificate: serve HTTPS and WSS on the same port'))
    .addOption(option('--tls-key <file>', 'TLS_KEY', 'PEM private key of --tls-cert'))
    .addOption(
      option('--max-connections-per-identity <n>', 'MAX_CONNECTIONS_PER_IDENTITY', 'signaling connections one identity may hold')
        .argParser(integer(1, 100_000))
        .default(d.maxConnectionsPerIdentity),
    )
    .addOption(
      option('--max-senders-per-endpoint <n>', 'MAX_SENDERS_PER_ENDPOINT', 'open sender sessions per endpoint')
        .argParser(integer(1, 65535))
        .default(d.maxSendersPerEndpoint),
    )
    .addOption(
      option('--token-leeway-seconds <s>', 'TOKEN_LEEWAY_SECONDS', 'clock skew allowed on token exp/nbf')
        .argParser(integer(0, 3600))
        .default(d.tokenLeewaySeconds),
    )
    .action(async (flags: Record<string, unknown>) => {
      const iceServers = ([] as string[]).concat((flags.iceServer as string[] | string | undefined) ?? []).flatMap((s) => s.split(','));
      const range = flags.rtcPortRange as [number, number] | undefined;
      const options: ServerOptions = {
        host: flags.host as string,
        port: flags.port as number,
        accessKey: flags.accessKey as string | undefined,
        tokenSecret: flags.tokenSecret as string | undefined,
        tokenTtlMinutes: flags.tokenTtlMinutes as number,
        iceServers: iceServers.filter(Boolean).map((urls) => ({ urls })),
        rtcBindAddress: flags.rtcBindAddress as string | undefined,
        rtcPortRangeBegin: range?.[0],
        rtcPortRangeEnd: range?.[1],
        maxParticipantsPerCall: flags.maxParticipantsPerCall as number,
        maxConnectionsPerIdentity: flags.maxConnectionsPerIdentity as number,
        maxSendersPerEndpoint: flags.maxSendersPerEndpoint as number,
        tokenLeewaySeconds: flags.tokenLeewaySeconds as number,
        demo: flags.demo === true || flags.demo === 'true' || flags.demo === '1',
        demoStaticDir: flags.demoDir as string | undefined,
        tlsCertFile: flags.tlsCert as string | undefined,
        tlsKeyFile: flags.tlsKey as string | undefined,
        limits: {
          maxMessageSizeBytes: flags.maxMessageSize as number,
          maxRecipients: flags.maxRecipients as number,
          durableMaxKbps: flags.durableMaxKbps as number,
          lossyMaxKbps: flags.lossyMaxKbps as number,
          highPriorityLossyMaxKbps: flags.highPriorityLossyMaxKbps as number,
          broadcastPacketsPerSecond: flags.broadcastPacketsPerSecond as number,
          receiverIdleCloseMs: flags.receiverIdleCloseMs as number,
        },
      };
      const server = await startServer(options);
      const generated = options.accessKey === undefined;
      console.log(`Backchannel listening on ${server.url}`);
      if (server.config.demo) console.log(`  demo page: ${server.url}/  (demo mode: anyone reaching the server gets a token)`);
      console.log(`  signaling: ${server.url.replace(/^http/, 'ws')}/signaling`);
      console.log(`  access key: ${generated ? `${server.accessKey} (generated; set --access-key or BACKCHANNEL_ACCESS_KEY to fix it)` : '(as configured)'}`);
      console.log(`  get a token: curl -s -X POST -H 'Authorization: Bearer <access key>' -H 'Content-Type: application/json' \\`);
      console.log(`               -d '{"createTokenWithScopes":["voip"]}' ${server.url}/identities`);
      const stop = (signal: string): void => {
        console.log(`${signal}: shutting down`);
        server.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
}
