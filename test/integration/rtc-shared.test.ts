/**
 * What the server's peer connections share: one DTLS certificate (made at start or configured) instead of
 * a key pair per connection, and one UDP port (the ICE mux, the default) held for the server's life.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';

import type { ServerMessage } from '@backchannel/protocol';

import { generateRtcCertificate } from '../../packages/server/src/rtc/certificate.js';
import { startHarness, type Harness } from '../helpers/backchannel.js';
import { parseCandidate } from '../helpers/impairment/candidates.js';
import { RawClients, type RawEndpoint } from '../helpers/rawClient.js';

const raw = new RawClients();
let harness: Harness | undefined;
afterEach(async () => {
  raw.closeAll();
  await harness?.close();
  harness = undefined;
});

/** The `a=fingerprint` of the server's answer to `endpoint`'s offer. */
function answerFingerprint(endpoint: RawEndpoint): string {
  const answer = endpoint.messages.find((m): m is Extract<ServerMessage, { type: 'answer' }> => m.type === 'answer' && m.endpointId === endpoint.endpointId);
  assert.ok(answer, 'the server answered');
  const match = /^a=fingerprint:sha-256 (\S+)$/im.exec(answer.sdp);
  assert.ok(match, `the answer carries a SHA-256 fingerprint:\n${answer.sdp}`);
  return match[1]!.toUpperCase();
}

/** The ports of every UDP candidate the server gave `endpoint`, in its answer or trickled. */
function serverCandidatePorts(endpoint: RawEndpoint): number[] {
  const lines: string[] = [];
  for (const m of endpoint.messages) {
    if (m.type === 'answer' && m.endpointId === endpoint.endpointId) lines.push(...m.sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:')));
    if (m.type === 'candidate' && m.endpointId === endpoint.endpointId) lines.push(m.candidate);
  }
  return lines.map((l) => parseCandidate(l)).filter((c) => c?.transport === 'udp').map((c) => c!.port);
}

/** Whether a UDP socket can bind `port` on loopback just now. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => (socket.close(), resolve(false)));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

describe('one certificate for every peer connection', () => {
  it('presents the same fingerprint, the server’s, in every answer: no key pair is made per connection', async () => {
    harness = await startHarness({ rtcBindAddress: '127.0.0.1' });
    const endpoints = [await raw.join(harness, 'cert'), await raw.join(harness, 'cert'), await raw.join(harness, 'other')];
    const fingerprints = endpoints.map(answerFingerprint);
    assert.match(harness.server.rtc.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.deepEqual(fingerprints, endpoints.map(() => harness!.server.rtc.fingerprint));
  });

  it('presents the configured certificate when one is given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'backchannel-rtc-'));
    try {
      const certificate = generateRtcCertificate();
      writeFileSync(join(dir, 'rtc.crt'), certificate.certPem);
      writeFileSync(join(dir, 'rtc.key'), certificate.keyPem);
      harness = await startHarness({ rtcBindAddress: '127.0.0.1', rtcCertFile: join(dir, 'rtc.crt'), rtcKeyFile: join(dir, 'rtc.key') });
      assert.equal(harness.server.rtc.fingerprint, certificate.fingerprint);
      const endpoint = await raw.join(harness, 'configured');
      assert.equal(answerFingerprint(endpoint), certificate.fingerprint);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('one UDP port', () => {
  it('puts every endpoint on the mux port by default, and holds it while no endpoint is there', async () => {
    harness = await startHarness({ rtcBindAddress: '127.0.0.1', resumeWindowMs: 0 });
    const port = harness.server.rtc.udpPort;
    assert.ok(port !== undefined && port > 0, 'the mux is on by default');
    const endpoints = [await raw.join(harness, 'mux'), await raw.join(harness, 'mux'), await raw.join(harness, 'mux')];
    for (const endpoint of endpoints) {
      const ports = serverCandidatePorts(endpoint);
      assert.ok(ports.length > 0, 'the server sent UDP candidates');
      assert.deepEqual(new Set(ports), new Set([port]));
    }
    raw.closeAll();
    // Without a resume window each endpoint ends as its connection goes, and its agent leaves the mux.
    for (let i = 0; i < 400 && harness.server.snapshot().endpoints > 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    assert.equal(harness.server.snapshot().endpoints, 0);
    assert.equal(await canBind(port), false, 'the mux port stays the server’s');
    await harness.close();
    harness = undefined;
    assert.equal(await canBind(port), true, 'a closed server gives the port back');
  });

  it('uses the configured port, and a port per connection with the mux off', async () => {
    const probe = createSocket('udp4');
    await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
    const free = probe.address().port;
    await new Promise<void>((resolve) => probe.close(resolve));
    harness = await startHarness({ rtcBindAddress: '127.0.0.1', rtcPort: free });
    assert.equal(harness.server.rtc.udpPort, free);
    assert.deepEqual(new Set(serverCandidatePorts(await raw.join(harness, 'fixed'))), new Set([free]));
    raw.closeAll();
    await harness.close();

    harness = await startHarness({ rtcBindAddress: '127.0.0.1', rtcUdpMux: false });
    assert.equal(harness.server.rtc.udpPort, undefined);
    const [a, b] = [await raw.join(harness, 'own'), await raw.join(harness, 'own')];
    const [portsA, portsB] = [serverCandidatePorts(a), serverCandidatePorts(b)];
    assert.ok(portsA.length > 0 && portsB.length > 0);
    assert.ok(portsA.every((p) => !portsB.includes(p)), `each connection has its own port: ${portsA} / ${portsB}`);
  });
});
