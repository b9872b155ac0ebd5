/**
 * The Backchannel server: one HTTP port with the identity API, health, metrics and WebSocket signaling;
 * one WebRTC peer connection per call endpoint; routing of data between them.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';

import { CallErrorCode, systemClock, type Clock } from '@backchannel/protocol';
import Fastify, { type FastifyInstance } from 'fastify';

import { CallManager } from './calls/CallManager.js';
import { registerClusterMetrics } from './cluster/clusterMetrics.js';
import { ClusterNode } from './cluster/ClusterNode.js';
import { ClusterPeerCalls } from './cluster/ClusterPeerCalls.js';
import { PeerCallManager, type PeerParty } from './calls/PeerCallManager.js';
import { ConfigError, resolveConfig, type ServerConfig, type ServerOptions } from './config.js';
import { registerBodyParsers } from './http/bodies.js';
import { registerDemoRoutes } from './http/demoRoutes.js';
import { registerHealthRoutes } from './http/healthRoutes.js';
import { connectionString } from './http/hmacAuth.js';
import { registerIdentityRoutes, requireAccessKey } from './http/identityRoutes.js';
import type { IdentityStore } from './identity/IdentityStore.js';
import { openIdentityStore } from './identity/openIdentityStore.js';
import { RedisIdentityStore } from './identity/RedisIdentityStore.js';
import { registerRedisMetrics } from './identity/redisMetrics.js';
import { revalidate } from './identity/revalidate.js';
import { TokenService } from './identity/TokenService.js';
import { silentLogger, type Logger } from './logging.js';
import { createMetrics } from './metrics.js';
import { Router } from './routing/Router.js';
import { SignalingServer } from './signaling/SignalingServer.js';
import { SharedRtc } from './rtc/SharedRtc.js';
import { createStats, type ServerStats } from './stats.js';

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:8080 — what clients pass as `serverUrl`. */
  readonly url: string;
  readonly port: number;
  /** The access key guarding the identity API (generated if none was configured). */
  readonly accessKey: string;
  /**
   * `endpoint=<url>/;accesskey=<the access key's UTF-8 bytes, base64>`: what the reference's
   * `CommunicationIdentityClient` is built from (it signs its requests with the key, HMAC-SHA256).
   */
  readonly connectionString: string;
  readonly config: ServerConfig;
  /**
   * What the server's peer connections share: the UDP port of the ICE mux (undefined with `rtcUdpMux`
   * off) and the SHA-256 fingerprint of the DTLS certificate, as every answer's `a=fingerprint` carries it.
   */
  readonly rtc: { readonly udpPort: number | undefined; readonly fingerprint: string };
  readonly stats: ServerStats;
  /** Why the server should get no new clients now (what `GET /readyz` answers); empty when ready. */
  notReadyReasons(): string[];
  /** Live numbers: calls, endpoints, signaling connections. */
  snapshot(): { calls: number; endpoints: number; connections: number };
  /**
   * Graceful stop: refuses new joins, lets queued Durable data leave (up to `shutdownDrainMs`), ends every
   * call, closes connections (close code ServerShutdown), stops listening. Idempotent. Group calls end on
   * the clients only with `shutdownEndsCalls`; by default their SDKs keep them and join them again when the
   * server is back. 1:1 calls end with `ServerShutdown`.
   */
  close(): Promise<void>;
}

/** Options of {@link startServer}: the configuration, and what is not configuration (where to log, what time it is). */
export type StartOptions = ServerOptions & {
  /** Where the server logs (pino). Default: nowhere. */
  logger?: Logger;
  /**
   * The server's time: token issue, verification and expiry, pacing and limits, the join, hello and ring
   * timeouts. Default: the system clock. Tests pass a manual clock to run time-driven behaviour without
   * waiting for it.
   */
  clock?: Clock;
};

/**
 * Starts a server: validates the configuration (throws ConfigError), opens the identity store (with
 * `redisUrl`: rejects with RedisUnreachableError or DeploymentMismatchError), listens, and resolves once it
 * does. A start that fails leaves nothing open.
 */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const { logger = silentLogger(), clock = systemClock, ...configOptions } = options;
  const config = resolveConfig(configOptions);
  if (config.demo && config.demoStaticDir === undefined) {
    // The server knows no repository layout: the caller (the CLI) resolves the built demo app's directory.
    throw new ConfigError('demoStaticDir', undefined, 'demo mode needs the directory of the built demo app');
  }
  const rtc = await SharedRtc.open(config);
  let identities: IdentityStore;
  try {
    identities = await openIdentityStore(config, logger);
  } catch (error) {
    rtc.close();
    throw error;
  }
  try {
    return await listen(config, rtc, identities, logger, clock);
  } catch (error) {
    await identities.close();
    rtc.close();
    throw error;
  }
}

async function listen(config: ServerConfig, rtc: SharedRtc, identities: IdentityStore, logger: Logger, clock: Clock): Promise<RunningServer> {
  const accessKey = config.accessKey ?? randomBytes(24).toString('base64url');
  const stats = createStats();
  const tokens = new TokenService(config.tokenSecret, config.tokenIssuer, config.tokenLeewaySeconds, clock);
  // The gauges read the calls and connections when scraped, after both exist.
  const metrics = createMetrics(stats, () => calls, () => signaling.connectionCount);
  const router = new Router({ limits: config.limits, clock, observeRouting: metrics.observeRouting }, stats);
  // With Redis the server is a node of a cluster: its calls may span nodes, and 1:1 calls ring agents on
  // any node. Only this composition root knows; calls/ and routing/ see the CallDirectory and CallSpans.
  const cluster =
    identities instanceof RedisIdentityStore
      ? new ClusterNode({
          redis: () => identities.redis,
          redisUp: () => identities.health.up,
          tokenSecret: config.tokenSecret!,
          certificate: rtc.certificate,
          listenHost: config.clusterHost ?? config.host,
          listenPort: config.clusterPort,
          advertise: config.clusterAddress,
          url: () => url,
          stats,
          logger,
          clock,
        })
      : undefined;
  const calls = new CallManager(config, rtc, router, stats, logger, clock, cluster);
  const peerCalls = new PeerCallManager({
    limits: config.limits,
    ringTimeoutMs: config.ringTimeoutMs,
    resumeWindowMs: config.resumeWindowMs,
    agentsOf: (identity): PeerParty[] => [...signaling.agentsOf(identity), ...(clusterPeers?.remoteAgentsOf(identity) ?? [])],
    logger,
    clock,
  });
  const clusterPeers: ClusterPeerCalls | undefined = cluster ? new ClusterPeerCalls(peerCalls, cluster, (): PeerParty[] => signaling.authenticated(), clock) : undefined;
  let url = '';
  const tls = await readTls(config);
  let serverRun = randomUUID();

  const app = (tls ? Fastify({ logger: false, bodyLimit: 64 * 1024, https: tls }) : Fastify({ logger: false, bodyLimit: 64 * 1024 })) as FastifyInstance;
  registerBodyParsers(app);
  let closing: Promise<void> | undefined;
  const notReadyReasons = (): string[] => [
    ...(closing ? ['shutting down'] : []),
    ...(identities.health.up ? [] : [`identity store (${identities.kind}) unreachable: ${identities.health.reason ?? 'unknown'}`]),
  ];
  registerHealthRoutes(app, { notReadyReasons });
  const signaling = new SignalingServer(app.server, {
    calls,
    peerCalls: clusterPeers ?? peerCalls,
    onAuthenticated: clusterPeers ? (connection): void => clusterPeers.authenticated(connection) : undefined,
    tokens,
    identities,
    stats,
    logger,
    clock,
    iceServers: config.iceServers,
    serverRun: () => serverRun,
    linkCommits: cluster !== undefined,
    helloTimeoutMs: config.helloTimeoutMs,
    signalingMessagesPerSecond: config.signalingMessagesPerSecond,
    maxConnectionsPerIdentity: config.maxConnectionsPerIdentity,
  });
  const snapshot = (): { calls: number; endpoints: number; connections: number } => {
    let endpoints = 0;
    for (const call of calls.calls.values()) endpoints += call.size;
    return { calls: calls.calls.size, endpoints, connections: signaling.connectionCount };
  };
  // Revoked or deleted on any node: the identity's connections here end. Back after an outage: what was
  // missed meanwhile is found by checking every live connection again.
  identities.on('tokensRevoked', (identity) => signaling.revokeIdentity(identity));
  identities.on('up', () => {
    revalidate(signaling.authenticated(), identities, logger).catch((error: unknown) => logger.error({ err: error }, 'revalidation of live connections failed'));
    cluster?.resync().catch((error: unknown) => logger.warn({ err: error }, 'could not resynchronise this node’s calls with Redis'));
  });
  // Declared lost by the other nodes (it froze, or was cut off) and back: its group call endpoints end
  // quietly, its agents are cut off and reconnect, find their endpoints gone in a new run of the server,
  // and join their calls again (docs/cluster.md, "A node lost"). 1:1 calls between its own agents resume.
  // One turn: no agent can ask for its endpoint between its end and the new run.
  cluster?.on('declaredLost', () => {
    serverRun = randomUUID();
    calls.endAll({ code: CallErrorCode.ConnectionLost, message: 'this server node was declared lost by its cluster', agentRejoins: true });
    signaling.dropAll();
  });
  if (identities instanceof RedisIdentityStore) registerRedisMetrics(metrics.registry, identities);
  if (cluster && clusterPeers) registerClusterMetrics(metrics.registry, cluster, clusterPeers, stats);
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  app.get('/stats', { preHandler: requireAccessKey(accessKey, clock) }, async () => ({
    ...snapshot(),
    ...stats,
    ...(cluster ? { cluster: clusterSnapshot(cluster, clusterPeers!) } : {}),
  }));
  registerIdentityRoutes(app, {
    accessKey,
    identities,
    tokens,
    defaultTtlMinutes: config.tokenTtlMinutes,
    clock,
  });
  if (config.demo && config.demoStaticDir !== undefined) {
    await registerDemoRoutes(app, { identities, tokens, ttlMinutes: config.tokenTtlMinutes, staticDir: config.demoStaticDir });
  }

  await app.listen({ host: config.host, port: config.port });
  const { port } = app.server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  url = `${tls ? 'https' : 'http'}://${host}:${port}`;
  if (cluster) {
    try {
      await cluster.start(calls);
    } catch (error) {
      await cluster.close();
      await app.close();
      throw error;
    }
  }
  // url and demo stay last, in that order: log consumers match them.
  logger.info(
    {
      identityStore: identities.kind,
      rtcUdpPort: rtc.udpPort ?? null,
      rtcFingerprint: rtc.certificate.fingerprint,
      ...(cluster ? { node: cluster.id, clusterAddress: cluster.address } : {}),
      url,
      demo: config.demo,
    },
    'listening',
  );

  return {
    url,
    port,
    accessKey,
    connectionString: connectionString(url, accessKey),
    config,
    rtc: { udpPort: rtc.udpPort, fingerprint: rtc.certificate.fingerprint },
    stats,
    snapshot,
    notReadyReasons,
    close: () =>
      (closing ??= (async () => {
        signaling.stopAccepting();
        await calls.drain(config.shutdownDrainMs);
        // By default the clients are not told their group calls ended: they keep them and join them again
        // once the server is back (agentRejoins). 1:1 calls end: their parties have nothing to rejoin.
        calls.endAll({ code: CallErrorCode.ServerShutdown, message: 'the server is shutting down', agentRejoins: !config.shutdownEndsCalls });
        peerCalls.endAll(CallErrorCode.ServerShutdown, 'the server is shutting down');
        rtc.close(); // every peer connection is closed: the mux port goes back
        await signaling.close(CallErrorCode.ServerShutdown, 'the server is shutting down', config.shutdownCloseMs);
        // HTTP keep-alive connections would hold app.close() up: idle ones go now, busy ones at the deadline.
        app.server.closeIdleConnections();
        const cut = setTimeout(() => app.server.closeAllConnections(), config.shutdownCloseMs);
        await app.close();
        clearTimeout(cut);
        await cluster?.close();
        await identities.close();
        logger.info('closed');
      })()),
  };
}

/** What `GET /stats` says of the cluster on a cluster node: this node, and every node the registry holds. */
export interface ClusterSnapshot {
  /** This node's id. */
  node: string;
  /** host:port of its node-to-node listener. */
  address: string;
  nodes: { id: string; url: string; address: string; alive: boolean; startedAt: string; linked: boolean }[];
  remoteEndpoints: number;
  remoteAgents: number;
  /** 1:1 calls held by other nodes that agents here are rung for or in. */
  peerCallsHeldElsewhere: number;
  /** Replicas kept here of 1:1 calls other nodes hold, taken over should their holder be lost. */
  peerReplicas: number;
  nodesLost: number;
  /** Times this node was declared lost by the others (it froze, or was cut off) and rejoined under a new id. */
  rejoins: number;
  /** Links this node took down because the other node went silent (frozen, or gone without a reset). */
  silentLinks: number;
}

function clusterSnapshot(cluster: ClusterNode, peers: ClusterPeerCalls): ClusterSnapshot {
  return {
    node: cluster.id,
    address: cluster.address,
    nodes: cluster.nodes.map((n) => ({ id: n.id, url: n.url, address: n.address, alive: n.alive, startedAt: new Date(n.startedAt).toISOString(), linked: n.id === cluster.id || (cluster.links.get(n.id)?.open ?? false) })),
    remoteEndpoints: cluster.spans.size,
    remoteAgents: peers.remoteAgentCount,
    peerCallsHeldElsewhere: peers.callsHeldElsewhere,
    peerReplicas: peers.replicas,
    nodesLost: cluster.nodesLost,
    rejoins: cluster.rejoins,
    silentLinks: cluster.silentLinks,
  };
}

/** The certificate and key to serve HTTPS/WSS with, if configured (both or neither). */
async function readTls(config: ServerConfig): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  if (!config.tlsCertFile || !config.tlsKeyFile) return undefined;
  const [cert, key] = await Promise.all([readFile(config.tlsCertFile), readFile(config.tlsKeyFile)]);
  return { cert, key };
}
