/**
 * Server configuration: one schema, with the defaults a first run needs (in-memory, loopback, limits of the
 * reference product). The CLI fills it from a config file, environment variables and flags, in that order
 * of precedence (flags win); everything passes one schema.
 */
import { DEFAULT_LIMITS, iceServerSchema, limitsSchema, type DataChannelLimits, type IceServerConfig } from '@backchannel/protocol';
import { z } from 'zod';

import { ConfigError } from './errors.js';
import { redactRedisUrl } from './identity/redisKeys.js';

export { ConfigError } from './errors.js';

export interface ServerConfig {
  /** Address to listen on. Loopback by default: put a TLS proxy in front to expose it. */
  host: string;
  /** HTTP/WebSocket port; 0 picks a free one. */
  port: number;
  /** Guards the identity API (`Authorization: Bearer <accessKey>`, or requests signed with it, HMAC-SHA256). Generated when absent. */
  accessKey: string | undefined;
  /** HMAC secret tokens are signed with (HS256). Generated per process when absent. */
  tokenSecret: string | undefined;
  /** Lifetime of issued tokens when the request names none, minutes. */
  tokenTtlMinutes: number;
  /** `iss` and `aud` of issued tokens; tokens with others are refused. */
  tokenIssuer: string;
  /** Data-channel limits, enforced here and advertised to clients at join. */
  limits: DataChannelLimits;
  /** STUN/TURN servers advertised to clients. */
  iceServers: IceServerConfig[];
  /** Address the server's ICE agent binds to (undefined: all interfaces). */
  rtcBindAddress: string | undefined;
  /**
   * UDP port range for peer connections (0: any). With `rtcUdpMux` and no `rtcPort`, the mux port is the
   * first free one in it; without the mux, each connection takes its own port from it.
   */
  rtcPortRangeBegin: number;
  rtcPortRangeEnd: number;
  /**
   * All peer connections on one UDP port (libjuice's ICE mux), held for the server's life: one socket and
   * one thread for every endpoint, and one firewall rule. Off: a port and a thread per connection.
   */
  rtcUdpMux: boolean;
  /** The mux's UDP port (0: a free one, chosen at start). Needs `rtcUdpMux`. */
  rtcPort: number;
  /**
   * PEM certificate and key every peer connection presents in its DTLS handshake (the key must be the
   * certificate's, unencrypted). Neither: an ECDSA P-256 certificate is made at start, once for all
   * connections.
   */
  rtcCertFile: string | undefined;
  rtcKeyFile: string | undefined;
  /** Endpoints one group call may hold. */
  maxParticipantsPerCall: number;
  /** Time from join to a connected data transport before the server gives up on an endpoint. */
  joinTimeoutMs: number;
  /**
   * How long an endpoint whose signaling connection or data transport is lost is kept, suspended, for its
   * SDK to resume it, ms (docs/reliability.md). 0: never kept; a lost endpoint ends at once.
   */
  resumeWindowMs: number;
  /** Time a new signaling connection has to authenticate. */
  helloTimeoutMs: number;
  /** How long a 1:1 call rings before it ends with NoAnswer. */
  ringTimeoutMs: number;
  /** Clock skew allowed when checking a token's `exp` and `nbf`, seconds. */
  tokenLeewaySeconds: number;
  /** Signaling connections one identity may hold at once. */
  maxConnectionsPerIdentity: number;
  /** Signaling messages a connection may send per second (sustained; twice that in a burst). */
  signalingMessagesPerSecond: number;
  /** Sender sessions one endpoint may have open at once. */
  maxSendersPerEndpoint: number;
  /**
   * Bytes the server lets queue toward one receiver before it drops instead: Lossy early (late Lossy data
   * is worthless), Durable only when the receiver is far behind.
   */
  receiverBufferBytes: { durable: number; lossy: number };
  /**
   * How long Durable data toward one live receiver may wait, ms, at the rate its acknowledgements show its
   * path drains (docs/reliability.md, "Bounded latency"): past it the receiver is slow and new copies for
   * it are dropped and reported to their senders (`messageDropped`, RecipientSlow).
   */
  recipientBacklogMs: number;
  /**
   * Bytes one group call may keep of retained messages (state for late joiners, an extension: senders with
   * `retain: 'last'`); past it a session's newest message is not kept, nor the one before it.
   */
  maxRetainedBytesPerCall: number;
  /**
   * Demo mode: serve the demo page at `/` and hand out tokens to anyone at `POST /demo/token`. For trying
   * Backchannel locally only.
   */
  demo: boolean;
  /**
   * Where the built demo app is (its index.html and assets). Required by `startServer` with `demo`: the
   * server knows no repository layout. It may be left out of `resolveConfig` so that a caller (the CLI)
   * can fill it in afterwards from the demo package.
   */
  demoStaticDir: string | undefined;
  /** On shutdown, how long to wait for queued Durable data to reach clients before closing, ms. */
  shutdownDrainMs: number;
  /**
   * On shutdown, end group calls on the clients (`callEnded` ServerShutdown): for a server that is going away
   * for good. By default (false) a shutdown is taken as a restart: the clients are not told their calls
   * ended, keep them for their resume window and join them again by themselves when the server is back
   * (docs/reliability.md, "Server restarts"), or end them with ServerShutdown when it is not.
   */
  shutdownEndsCalls: boolean;
  /**
   * On shutdown, after the drain, how long connections have to close cleanly (a WebSocket close answered,
   * HTTP requests done) before they are cut, ms.
   */
  shutdownCloseMs: number;
  /** PEM certificate and key files: serve HTTPS and WSS on the same port. */
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  /**
   * Redis (`redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS) holding the identities,
   * token generations and revocations every node of the deployment shares (docs/cluster.md). Needs
   * `tokenSecret` and `accessKey`, the same on every node. Undefined: identities live in this process.
   */
  redisUrl: string | undefined;
  /**
   * With `redisUrl`, the node-to-node listener (docs/cluster.md): the address it binds to (default: `host`)
   * and its TCP port (0: any free one). Other nodes connect to it to carry calls that span nodes; it only
   * accepts nodes that prove they hold `tokenSecret`.
   */
  clusterHost: string | undefined;
  clusterPort: number;
  /** host:port the other nodes reach this node's listener at (default: `clusterHost` and the bound port). */
  clusterAddress: string | undefined;
}

export const DEFAULT_CONFIG: ServerConfig = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  accessKey: undefined,
  tokenSecret: undefined,
  tokenTtlMinutes: 24 * 60,
  tokenIssuer: 'backchannel',
  limits: DEFAULT_LIMITS,
  iceServers: [],
  rtcBindAddress: undefined,
  rtcPortRangeBegin: 0,
  rtcPortRangeEnd: 0,
  rtcUdpMux: true,
  rtcPort: 0,
  rtcCertFile: undefined,
  rtcKeyFile: undefined,
  maxParticipantsPerCall: 1000,
  joinTimeoutMs: 20_000,
  resumeWindowMs: 30_000,
  helloTimeoutMs: 10_000,
  ringTimeoutMs: 30_000,
  tokenLeewaySeconds: 30,
  maxConnectionsPerIdentity: 32,
  signalingMessagesPerSecond: 50,
  maxSendersPerEndpoint: 4096,
  receiverBufferBytes: { durable: 16 * 1024 * 1024, lossy: 1024 * 1024 },
  recipientBacklogMs: 5000,
  maxRetainedBytesPerCall: 4 * 1024 * 1024,
  shutdownDrainMs: 5000,
  shutdownCloseMs: 3000,
  shutdownEndsCalls: false,
  demo: false,
  demoStaticDir: undefined,
  tlsCertFile: undefined,
  tlsKeyFile: undefined,
  redisUrl: undefined,
  clusterHost: undefined,
  clusterPort: 0,
  clusterAddress: undefined,
});

/** Options of `startServer`: any part of the configuration, limits included, may be given. */
export type ServerOptions = Partial<Omit<ServerConfig, 'limits' | 'receiverBufferBytes'>> & {
  limits?: Partial<DataChannelLimits>;
  receiverBufferBytes?: Partial<ServerConfig['receiverBufferBytes']>;
};

const positive = z.number().positive();
const positiveInt = z.number().int().positive();

/**
 * The limits as the protocol defines them, strict here (an unknown key in a configuration is a mistake),
 * with the two upper bounds the server can serve: a message must fit its peer connections' SCTP message
 * size, and a recipient list one SetRecipients frame (a count byte).
 */
const strictLimitsSchema = z.strictObject({
  ...limitsSchema.shape,
  maxMessageSizeBytes: z.number().int().min(1).max(256 * 1024),
  maxRecipients: z.number().int().min(1).max(255),
});

/**
 * The schema every configuration passes, whatever its source (flags, environment, config file, code):
 * unknown keys are refused, and each value is checked, so a mistake is reported by name, not discovered
 * in production.
 */
const configSchema = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(0).max(65535),
    accessKey: z.string().min(16, 'must be at least 16 characters').optional(),
    tokenSecret: z.string().min(32, 'must be at least 32 characters').optional(),
    tokenTtlMinutes: z.number().positive().max(24 * 60),
    tokenIssuer: z.string().min(1),
    limits: strictLimitsSchema,
    iceServers: z.array(iceServerSchema),
    rtcBindAddress: z.string().min(1).optional(),
    rtcPortRangeBegin: z.number().int().min(0).max(65535),
    rtcPortRangeEnd: z.number().int().min(0).max(65535),
    rtcUdpMux: z.boolean(),
    rtcPort: z.number().int().min(0).max(65535),
    rtcCertFile: z.string().min(1).optional(),
    rtcKeyFile: z.string().min(1).optional(),
    maxParticipantsPerCall: positiveInt,
    joinTimeoutMs: positiveInt,
    resumeWindowMs: z.number().int().min(0),
    helloTimeoutMs: positiveInt,
    ringTimeoutMs: positiveInt,
    tokenLeewaySeconds: z.number().int().min(0).max(3600),
    maxConnectionsPerIdentity: positiveInt,
    signalingMessagesPerSecond: positive,
    maxSendersPerEndpoint: z.number().int().min(1).max(65535),
    receiverBufferBytes: z.object({ durable: positiveInt, lossy: positiveInt }).strict(),
    recipientBacklogMs: positiveInt,
    maxRetainedBytesPerCall: z.number().int().min(0),
    shutdownDrainMs: z.number().int().min(0),
    shutdownCloseMs: z.number().int().min(0),
    shutdownEndsCalls: z.boolean(),
    demo: z.boolean(),
    demoStaticDir: z.string().min(1).optional(),
    tlsCertFile: z.string().min(1).optional(),
    tlsKeyFile: z.string().min(1).optional(),
    redisUrl: z
      .string()
      .refine((url) => URL.canParse(url) && ['redis:', 'rediss:'].includes(new URL(url).protocol), 'must be a redis:// or rediss:// URL')
      .optional(),
    clusterHost: z.string().min(1).optional(),
    clusterPort: z.number().int().min(0).max(65535),
    clusterAddress: z
      .string()
      .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):[0-9]{1,5}$/, 'must be host:port')
      .optional(),
  })
  .strict()
  .refine((c) => c.rtcPortRangeBegin <= c.rtcPortRangeEnd, { message: 'rtcPortRangeBegin must not exceed rtcPortRangeEnd', path: ['rtcPortRangeBegin'] })
  .refine((c) => !c.rtcPort || c.rtcUdpMux, { message: 'rtcPort is the UDP mux port: it needs rtcUdpMux (use rtcPortRangeBegin/End without the mux)', path: ['rtcPort'] })
  .refine((c) => !c.rtcCertFile === !c.rtcKeyFile, { message: 'the DTLS certificate needs both rtcCertFile and rtcKeyFile', path: ['rtcCertFile'] })
  .refine((c) => !c.tlsCertFile === !c.tlsKeyFile, { message: 'TLS needs both tlsCertFile and tlsKeyFile', path: ['tlsCertFile'] })
  // Nodes sharing a Redis verify each other's tokens and serve one identity API: a secret or key made up
  // per process would make every other node refuse them (docs/cluster.md).
  .refine((c) => !c.redisUrl || c.tokenSecret, { message: 'required with redisUrl: every node sharing a Redis must sign tokens with the same secret', path: ['tokenSecret'] })
  .refine((c) => !c.redisUrl || c.accessKey, { message: 'required with redisUrl: every node sharing a Redis must guard the identity API with the same key', path: ['accessKey'] });

/** Fills in defaults and validates; throws {@link ConfigError} naming the first bad key and its value. */
export function resolveConfig(options: ServerOptions = {}): ServerConfig {
  const defined = <T extends object>(o: T | undefined): Partial<T> =>
    Object.fromEntries(Object.entries(o ?? {}).filter(([, value]) => value !== undefined)) as Partial<T>;
  const merged = {
    ...DEFAULT_CONFIG,
    ...defined(options),
    limits: { ...DEFAULT_LIMITS, ...defined(options.limits) },
    receiverBufferBytes: { ...DEFAULT_CONFIG.receiverBufferBytes, ...defined(options.receiverBufferBytes) },
  };
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
    const found = path.reduce<unknown>((at, part) => (at as Record<PropertyKey, unknown> | undefined)?.[part as PropertyKey], merged);
    // A Redis URL may carry a password: the message shows it hidden.
    const value = path.join('.') === 'redisUrl' && typeof found === 'string' ? redactRedisUrl(found) : found;
    throw new ConfigError(path.join('.') || '(root)', value, issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message);
  }
  return merged as ServerConfig;
}

/** The configuration with secrets replaced, for logs. */
export function redactConfig(config: ServerConfig): Record<string, unknown> {
  return {
    ...config,
    accessKey: config.accessKey ? '[redacted]' : undefined,
    tokenSecret: config.tokenSecret ? '[redacted]' : undefined,
    redisUrl: config.redisUrl ? redactRedisUrl(config.redisUrl) : undefined,
  };
}
