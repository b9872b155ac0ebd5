/**
 * The systems under test as a user would deploy them on this machine: each server in its own process on
 * loopback, over TLS with the run's certificate. Raw node-datachannel has no server: its participants
 * connect to each other; the node-datachannel relay is the ws relay with its data on WebRTC.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { SystemEndpoint, SystemName } from '../agents/messages.js';
import { spawnServer, type ServerProcess } from '../lib/processes.js';
import type { CertificateFiles } from '../lib/tls.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The `backchannel` command, found through the CLI package as any dependant would find it. */
const BACKCHANNEL_BIN = fileURLToPath(import.meta.resolve('@backchannel/cli/bin/backchannel.js'));
const SERVERS_DIR = fileURLToPath(new URL('../servers/', import.meta.url));

export const SYSTEMS: readonly SystemName[] = ['backchannel', 'raw', 'relay', 'socketio', 'ws'];

export const SYSTEM_LABELS: Readonly<Record<SystemName, string>> = {
  backchannel: 'Backchannel',
  raw: 'raw node-datachannel (P2P)',
  relay: 'node-datachannel relay (floor)',
  socketio: 'Socket.IO rooms (TLS)',
  ws: 'ws broadcast (TLS)',
};

/**
 * The Backchannel server's configuration for the benchmark: the reference product's per-sender limits
 * (SPEC §4) would cap a sender at 64 kbps and 80 broadcast packets/s, far below what a throughput test
 * asks, so they are raised through the normal configuration file (`serve --config`). Everything not listed
 * keeps its default.
 */
export const BACKCHANNEL_BENCH_CONFIG = {
  limits: {
    durableMaxKbps: 10_000_000,
    lossyMaxKbps: 10_000_000,
    highPriorityLossyMaxKbps: 10_000_000,
    broadcastPacketsPerSecond: 1_000_000,
    // A broadcast counts against the recipient limit; 255 is the most the configuration schema allows.
    maxRecipients: 255,
  },
  maxParticipantsPerCall: 1000,
  maxConnectionsPerIdentity: 32,
} as const;

/** The benchmark's own peer servers (bench/servers/), each run through tsx in its own process. */
const SERVER_SCRIPTS = { relay: 'relayServer.ts', socketio: 'socketioServer.ts', ws: 'wsServer.ts' } as const;

export interface Deployment {
  readonly system: SystemName;
  readonly endpoint: SystemEndpoint;
  /** The server process, whose CPU and memory are "the server's"; undefined for raw peers. */
  readonly server: ServerProcess | undefined;
  close(): Promise<void>;
}

export interface DeploymentContext {
  certificate: CertificateFiles;
  /** Scratch directory of the run (config files). */
  scratchDir: string;
  /** When set, servers run with --cpu-prof and write their profiles here. */
  profileDir?: string;
}

export async function deploy(system: SystemName, context: DeploymentContext): Promise<Deployment> {
  // One directory per server: a process run through tsx has a second (loader) thread with its own profile,
  // so the files keep Node's default names and the directory says whose they are.
  const profile = context.profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(context.profileDir, `${system}-server`)] : [];
  switch (system) {
    case 'backchannel': {
      const config = join(context.scratchDir, 'backchannel.json');
      const { cert, key } = context.certificate;
      writeFileSync(config, JSON.stringify({ ...BACKCHANNEL_BENCH_CONFIG, tlsCertFile: cert, tlsKeyFile: key }));
      const accessKey = randomBytes(24).toString('base64url');
      const server = await spawnServer({
        command: process.execPath,
        args: [...profile, BACKCHANNEL_BIN, 'serve', '--port', '0', '--config', config, '--access-key', accessKey, '--log-level', 'warn', '--log-format', 'json'],
        ready: /^Backchannel listening on (\S+)/,
        cwd: REPO_ROOT,
      });
      return { system, endpoint: { system, url: server.url, accessKey }, server, close: () => server.stop() };
    }
    case 'relay':
    case 'socketio':
    case 'ws': {
      const script = join(SERVERS_DIR, SERVER_SCRIPTS[system]);
      const server = await spawnServer({
        command: process.execPath,
        args: ['--import', import.meta.resolve('tsx'), ...profile, script, '--cert', context.certificate.cert, '--key', context.certificate.key],
        ready: /listening on (https:\/\/\S+)/,
        cwd: REPO_ROOT,
      });
      return { system, endpoint: { system, url: server.url }, server, close: () => server.stop() };
    }
    case 'raw':
      return { system, endpoint: { system }, server: undefined, close: () => Promise.resolve() };
  }
}
