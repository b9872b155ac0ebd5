/**
 * How long Backchannel joins take, one after another into a quiet call, as a distribution: the evidence
 * behind the join tail in docs/benchmarks.md (joins cluster at a few ms, at about 50 ms — one ICE check
 * pacing interval — and at about 1 s — one DTLS retransmission timeout). Compares raw node-datachannel
 * connections made the same way.
 *
 *   node --import tsx bench/profile/joinTimeline.ts [joins per system, default 100]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { SystemName } from '../agents/messages.js';
import { Session } from '../fleet/Session.js';
import { Workers } from '../fleet/Workers.js';
import { killAllChildren } from '../lib/processes.js';
import { selfSignedCertificate } from '../lib/tls.js';
import { deploy } from '../systems/deployments.js';

const BANDS: readonly [string, number][] = [
  ['< 20 ms', 20],
  ['20–200 ms', 200],
  ['200–900 ms', 900],
  ['≥ 900 ms', Infinity],
];

async function joinTimes(workers: Workers, system: SystemName, count: number, scratchDir: string, certificate: ReturnType<typeof selfSignedCertificate>): Promise<number[]> {
  const deployment = await deploy(system, { certificate, scratchDir });
  const session = new Session(workers, deployment);
  const [hostWorker, joinWorker] = [workers.all[0]!, workers.all[1]!];
  try {
    const anchor = await session.joinOne(hostWorker, 'timeline');
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const key = session.newKey();
      await session.prepare(joinWorker, key);
      const member = await session.joinOne(joinWorker, 'timeline', key, system === 'raw' ? { links: [anchor.key] } : {});
      times.push(member.readyMs);
      await session.leave([member]);
    }
    await session.leave([anchor]);
    return times.sort((a, b) => a - b);
  } finally {
    await deployment.close();
  }
}

const count = Number(process.argv[2] ?? 100);
const scratchDir = mkdtempSync(join(tmpdir(), 'backchannel-join-timeline-'));
const certificate = selfSignedCertificate(scratchDir);
const workers = await Workers.start(2, { env: { ...process.env, NODE_EXTRA_CA_CERTS: certificate.cert } });
try {
  for (const system of ['backchannel', 'raw'] as const) {
    const times = await joinTimes(workers, system, count, scratchDir, certificate);
    let from = 0;
    const bands = BANDS.map(([label, below]) => {
      const n = times.filter((t) => t >= from && t < below).length;
      from = below;
      return `${label}: ${n}`;
    });
    const at = (q: number): string => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(1);
    console.log(`${system.padEnd(12)} ${count} joins to ready: p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, p99 ${at(0.99)} ms; ${bands.join(', ')}`);
  }
} finally {
  await workers.stop();
  killAllChildren();
  rmSync(scratchDir, { recursive: true, force: true });
}
