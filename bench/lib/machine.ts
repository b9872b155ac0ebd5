/** What the numbers were measured on: CPU, cores, memory, Node, library versions, and how busy the machine was. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  openssl: string;
  versions: Record<string, string>;
  /** The commit measured, and how many files under packages/ differed from it (uncommitted work). */
  git: { commit: string; uncommittedPackageFiles: number };
}

/** Load averages (1, 5, 15 min) and the `uptime` line at one moment. */
export interface LoadSample {
  at: string;
  loadAverage: [number, number, number];
  uptime: string;
}

const LIBRARIES = ['node-datachannel', 'socket.io', 'socket.io-client', 'ws', '@backchannel/server', '@backchannel/client'];

export function machineInfo(): MachineInfo {
  const require = createRequire(import.meta.url);
  const versions: Record<string, string> = {};
  for (const name of LIBRARIES) {
    try {
      const manifest = require.resolve(`${name}/package.json`, { paths: [process.cwd()] });
      versions[name] = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
    } catch {
      versions[name] = versionFromNodeModules(name);
    }
  }
  return {
    cpuModel: cpuModel(),
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    openssl: tryRun('openssl', ['version']) ?? `${process.versions.openssl} (Node's)`,
    versions,
    git: {
      commit: tryRun('git', ['rev-parse', '--short', 'HEAD']) ?? 'unknown',
      uncommittedPackageFiles: (tryRun('git', ['status', '--porcelain', '--', 'packages']) ?? '').split('\n').filter(Boolean).length,
    },
  };
}

export function loadSample(): LoadSample {
  const [one, five, fifteen] = loadavg() as [number, number, number];
  return { at: new Date().toISOString(), loadAverage: [one, five, fifteen], uptime: tryRun('uptime', []) ?? '' };
}

function cpuModel(): string {
  const fromCpuinfo = /^model name\s*:\s*(.+)$/m.exec(safeRead('/proc/cpuinfo'))?.[1];
  return (fromCpuinfo ?? cpus()[0]?.model ?? 'unknown').trim();
}

/** Packages whose exports hide package.json: read it from node_modules directly. */
function versionFromNodeModules(name: string): string {
  const text = safeRead(`${process.cwd()}/node_modules/${name}/package.json`);
  return text ? (JSON.parse(text) as { version: string }).version : 'not installed';
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function tryRun(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}
