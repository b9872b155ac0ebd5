/**
 * Server configuration: one schema, with the defaults a first run needs (in-memory, loopback, limits of the
 * reference product). The CLI fills it from flags and environment variables.
 */
import { DEFAULT_LIMITS, type DataChannelLimits, type IceServerConfig } from '@backchannel/protocol';

export interface ServerConfig {
  /** Address to listen on. Loopback by default: put a TLS proxy in front to expose it. */
  host: string;
  /** HTTP/WebSocket port; 0 picks a free one. */
  port: number;
  /** Guards the identity API (`Authorization: Bearer <accessKey>`). Generated when absent. */
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
  /** UDP port range for peer connections (0: any). */
  rtcPortRangeBegin: number;
  rtcPortRangeEnd: number;
  /** Endpoints one group call may hold. */
  maxParticipantsPerCall: number;
  /** Time from join to a connected data transport before the server gives up on an endpoint. */
  joinTimeoutMs: number;
  /** Time a new signaling connection has to authenticate. */
  helloTimeoutMs: number;
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
   * Demo mode: serve the demo page at `/` and hand out tokens to anyone at `POST /demo/token`. For trying
   * Backchannel locally only.
   */
  demo: boolean;
  /** Where the built demo app is (default: apps/demo/dist of this repository). */
  demoStaticDir: string | undefined;
  /** PEM certificate and key files: serve HTTPS and WSS on the same port. */
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
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
  maxParticipantsPerCall: 1000,
  joinTimeoutMs: 20_000,
  helloTimeoutMs: 10_000,
  tokenLeewaySeconds: 30,
  maxConnectionsPerIdentity: 32,
  signalingMessagesPerSecond: 50,
  maxSendersPerEndpoint: 4096,
  receiverBufferBytes: { durable: 16 * 1024 * 1024, lossy: 1024 * 1024 },
  demo: false,
  demoStaticDir: undefined,
  tlsCertFile: undefined,
  tlsKeyFile: undefined,
});

/** Options of `startServer`: any part of the configuration, limits included, may be given. */
export type ServerOptions = Partial<Omit<ServerConfig, 'limits'>> & { limits?: Partial<DataChannelLimits> };

export function resolveConfig(options: ServerOptions = {}): ServerConfig {
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  return { ...DEFAULT_CONFIG, ...defined, limits: { ...DEFAULT_LIMITS, ...options.limits } } as ServerConfig;
}
