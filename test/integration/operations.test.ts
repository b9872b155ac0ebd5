/** Running the server: configuration errors, metrics, graceful shutdown (the `backchannel serve` process). */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createSocket } from 'node:dgram';
import { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { CallClient, CommunicationTokenCredential, type CallAgent } from '@backchannel/client';

import { generateRtcCertificate } from '../../packages/server/src/rtc/certificate.js';
import { readMessages, receiversOf, rosterSettled, startHarness, utf8 } from '../helpers/backchannel.js';
import { until, within } from '../helpers/events.js';

const CLI = fileURLToPath(new URL('../../packages/cli/bin/backchannel.js', import.meta.url));
const ACCESS_KEY = 'operations-test-access-key';

function serve(args: string[], env: Record<string, string> = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [CLI, 'serve', '--log-format', 'json', ...args], { env: { ...process.env, ...env } });
}

/** Everything a process prints on stderr until it exits, and its exit code. */
async function failure(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await within(once(child, 'exit'), 'the process to exit')) as [number | null];
  return { code, stderr };
}

/** An agent of a new identity on the server at `url` (one the tests started with ACCESS_KEY). */
async function agentOf(url: string): Promise<CallAgent> {
  const response = await fetch(`${url}/identities`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ACCESS_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ createTokenWithScopes: ['voip'] }),
  });
  const { accessToken } = (await response.json()) as { accessToken: { token: string } };
  return new CallClient({ serverUrl: url }).createCallAgent(new CommunicationTokenCredential(accessToken.token));
}

/** Resolves with the first stdout line matching `pattern`. */
function lineMatching(child: ChildProcessWithoutNullStreams, pattern: RegExp): Promise<RegExpExecArray> {
  const lines = createInterface({ input: child.stdout });
  return within(
    new Promise((resolve) => {
      lines.on('line', (line) => {
        const match = pattern.exec(line);
        if (match) resolve(match);
      });
    }),
    `a line matching ${pattern}`,
  );
}

describe('configuration', () => {
  it('refuses a bad flag value, naming the key and the value, with exit code 1', async () => {
    const { code, stderr } = await failure(serve(['--port', '0', '--durable-max-kbps', '-5']));
    assert.equal(code, 1);
    assert.match(stderr, /invalid configuration: limits\.durableMaxKbps = -5/);
  });

  it('refuses a bad environment value and a bad config-file key the same way', async () => {
    const env = await failure(serve(['--port', '0'], { BACKCHANNEL_MAX_RECIPIENTS: '300' }));
    assert.equal(env.code, 1);
    assert.match(env.stderr, /limits\.maxRecipients = 300/);

    const dir = mkdtempSync(join(tmpdir(), 'backchannel-config-'));
    try {
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ port: 0, limits: { lossyMaxKbs: 100 } }));
      const file = await failure(serve(['--config', join(dir, 'config.json')]));
      assert.equal(file.code, 1);
      assert.match(file.stderr, /limits\.lossyMaxKbs = 100: unknown key/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes values from the config file, overridden by the environment, overridden by flags', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'backchannel-config-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ maxParticipantsPerCall: 7, limits: { durableMaxKbps: 100, lossyMaxKbps: 100 } }));
    const child = serve(['--port', '0', '--config', join(dir, 'config.json'), '--lossy-max-kbps', '300'], {
      BACKCHANNEL_DURABLE_MAX_KBPS: '200',
      BACKCHANNEL_LOSSY_MAX_KBPS: '250',
    });
    try {
      const [, config] = await lineMatching(child, /"config":(\{.*\}),"msg":"configuration"/);
      const effective = JSON.parse(config!) as { maxParticipantsPerCall: number; limits: { durableMaxKbps: number; lossyMaxKbps: number }; accessKey?: string };
      assert.deepEqual([effective.maxParticipantsPerCall, effective.limits.durableMaxKbps, effective.limits.lossyMaxKbps], [7, 200, 300]);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('logs the effective configuration with its secrets redacted', async () => {
    const child = serve(['--port', '0', '--access-key', ACCESS_KEY, '--token-secret', 'x'.repeat(40)]);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await lineMatching(child, /"msg":"configuration"/);
      assert.ok(!output.includes(ACCESS_KEY), 'the access key must not be logged');
      assert.ok(!output.includes('x'.repeat(40)), 'the token secret must not be logged');
      assert.match(output, /"accessKey":"\[Redacted\]"/);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });
});

describe('the start-up banner', () => {
  it("prints the connection string of a generated access key: the reference identity client's endpoint and the key in base64", async () => {
    const child = serve(['--port', '0']);
    try {
      const [[, url], [, key], [, endpoint, encoded]] = await Promise.all([
        lineMatching(child, /^Backchannel listening on (\S+)$/),
        lineMatching(child, /^ {2}access key: (\S+) \(generated/),
        lineMatching(child, /^ {2}connection string: endpoint=(\S+);accesskey=(\S+)$/),
      ]);
      assert.equal(endpoint, `${url}/`);
      assert.equal(Buffer.from(encoded!, 'base64').toString('utf8'), key);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });

  it('prints no connection string for a configured key, only its form: the key stays out of the output', async () => {
    const child = serve(['--port', '0', '--access-key', ACCESS_KEY]);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const [, line] = await lineMatching(child, /^ {2}connection string: (.*)$/);
      assert.match(line!, /^endpoint=http:\/\/127\.0\.0\.1:\d+\/;accesskey=<the access key in base64>$/);
      assert.ok(!output.includes(Buffer.from(ACCESS_KEY).toString('base64')), 'the key in base64 must not be printed');
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });
});

describe('the WebRTC flags', () => {
  /** A free UDP port on this host just now. */
  async function freeUdpPort(): Promise<number> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, resolve));
    const { port } = socket.address();
    await new Promise<void>((resolve) => socket.close(resolve));
    return port;
  }

  it('puts every peer connection on the --rtc-port (mux on by default), or each on its own with --rtc-udp-mux false', async () => {
    const port = await freeUdpPort();
    const fixed = serve(['--port', '0', '--rtc-port', String(port)]);
    try {
      const [, line] = await lineMatching(fixed, /^ {2}WebRTC: +(.*)$/);
      assert.equal(line, `UDP port ${port} for every peer connection`);
    } finally {
      fixed.kill('SIGKILL');
      await once(fixed, 'exit');
    }
    const own = serve(['--port', '0'], { BACKCHANNEL_RTC_UDP_MUX: 'false' });
    try {
      const [, line] = await lineMatching(own, /^ {2}WebRTC: +(.*)$/);
      assert.equal(line, 'a UDP port per peer connection');
    } finally {
      own.kill('SIGKILL');
      await once(own, 'exit');
    }
  });

  it('refuses a mux port without the mux, and a DTLS key that is not the certificate’s, naming the key', async () => {
    const noMux = await failure(serve(['--port', '0', '--rtc-port', '40000', '--rtc-udp-mux', 'false']));
    assert.equal(noMux.code, 1);
    assert.match(noMux.stderr, /invalid configuration: rtcPort = 40000: .*needs rtcUdpMux/);

    const dir = mkdtempSync(join(tmpdir(), 'backchannel-rtc-cert-'));
    try {
      const [a, b] = [generateRtcCertificate(), generateRtcCertificate()];
      writeFileSync(join(dir, 'a.crt'), a.certPem);
      writeFileSync(join(dir, 'b.key'), b.keyPem);
      const mismatch = await failure(serve(['--port', '0', '--rtc-cert-file', join(dir, 'a.crt'), '--rtc-key-file', join(dir, 'b.key')]));
      assert.equal(mismatch.code, 1);
      assert.match(mismatch.stderr, /invalid configuration: rtcKeyFile = ".*b\.key": is not the key of the certificate/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('serve --demo', () => {
  it("serves the built page of the @backchannel/demo package when --demo-dir is not given, and gives demo tokens", async () => {
    const demoDist = dirname(fileURLToPath(import.meta.resolve('@backchannel/demo/dist/index.html')));
    assert.ok(existsSync(join(demoDist, 'index.html')), `the demo is not built (${demoDist}): run \`npm run build\` first`);
    const child = serve(['--port', '0', '--demo']);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const [, config] = await lineMatching(child, /"config":(\{.*\}),"msg":"configuration"/);
      assert.equal((JSON.parse(config!) as { demoStaticDir?: string }).demoStaticDir, demoDist);
      // Logged before the configuration, on the same stream.
      const url = /"url":"([^"]+)","demo":true,"msg":"listening"/.exec(output)?.[1];
      assert.ok(url, `no listening line in:\n${output}`);
      const page = await fetch(`${url}/`);
      assert.equal(page.status, 200);
      assert.equal(await page.text(), readFileSync(join(demoDist, 'index.html'), 'utf8'));
      assert.equal((await fetch(`${url}/demo/token`, { method: 'POST' })).status, 201);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });
});

describe('metrics', () => {
  it('counts what a scripted call did: messages and bytes by reliability and priority, deliveries, latency samples', async () => {
    const h = await startHarness();
    try {
      const [a, b] = [await h.join('metrics'), await h.join('metrics')];
      await rosterSettled([a, b]);
      const to = [{ communicationUserId: b.identity }];
      await a.dataChannel.createDataChannelSender({ channelId: 1, participants: to }).sendMessage(new Uint8Array(100));
      await a.dataChannel.createDataChannelSender({ channelId: 2, participants: to, priority: 'High' }).sendMessage(new Uint8Array(200));
      const lossy = a.dataChannel.createDataChannelSender({ channelId: 3, participants: to, reliability: 'Lossy' });
      await lossy.sendMessage(new Uint8Array(300));
      const receivers = await receiversOf(b, 3);
      await Promise.all(receivers.map((r) => readMessages(r, 1)));
      const body = await (await fetch(`${h.server.url}/metrics`)).text();
      const value = (metric: string): number => Number(new RegExp(`^${metric.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(body)?.[1]);
      assert.equal(value('backchannel_messages_routed_total{reliability="durable",priority="normal"}'), 1);
      assert.equal(value('backchannel_messages_routed_total{reliability="durable",priority="high"}'), 1);
      assert.equal(value('backchannel_messages_routed_total{reliability="lossy",priority="normal"}'), 1);
      assert.equal(value('backchannel_bytes_routed_total{reliability="durable",priority="high"}'), 200);
      assert.equal(value('backchannel_bytes_routed_total{reliability="lossy",priority="normal"}'), 300);
      assert.equal(value('backchannel_deliveries_total'), 3);
      assert.equal(value('backchannel_calls'), 1);
      assert.equal(value('backchannel_endpoints{state="connected"}'), 2);
      assert.equal(value('backchannel_routing_latency_seconds_count'), 3);
      assert.equal(value('backchannel_drops_total{reason="StaleSession"}'), 0, 'nothing was dropped');
    } finally {
      await h.close();
    }
  });

  it('counts drops by reason', async () => {
    const h = await startHarness({ maxSendersPerEndpoint: 1 });
    try {
      const [a, b] = [await h.join('drops'), await h.join('drops')];
      await rosterSettled([a, b]);
      const to = [{ communicationUserId: b.identity }];
      await a.dataChannel.createDataChannelSender({ channelId: 1, participants: to }).sendMessage(utf8.encode('first'));
      const second = a.dataChannel.createDataChannelSender({ channelId: 2, participants: to });
      const dropped = new Promise<void>((resolve) => second.on('messageDropped', () => resolve()));
      await second.sendMessage(utf8.encode('one sender too many'));
      await within(dropped, 'the server to report the drop');
      const body = await (await fetch(`${h.server.url}/metrics`)).text();
      assert.match(body, /^backchannel_drops_total\{reason="TooManySenders"\} 1$/m);
    } finally {
      await h.close();
    }
  });
});

describe('readiness', () => {
  it('GET /readyz is 200 for a node in memory, and it stops being ready as soon as it starts shutting down; /healthz stays 200', async () => {
    const h = await startHarness();
    try {
      const ready = await fetch(`${h.server.url}/readyz`);
      assert.deepEqual([ready.status, await ready.json()], [200, { status: 'ready' }]);
      const health = await fetch(`${h.server.url}/healthz`);
      assert.deepEqual([health.status, await health.json()], [200, { status: 'ok' }]);
      assert.deepEqual(h.server.notReadyReasons(), []);
    } finally {
      const closing = h.server.close(); // close() is idempotent: h.close() below awaits the same one
      assert.deepEqual(h.server.notReadyReasons(), ['shutting down']);
      await closing;
      await h.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('on SIGTERM with --shutdown-ends-calls ends calls on the clients with ServerShutdown and exits 0', async () => {
    const child = serve(['--port', '0', '--access-key', ACCESS_KEY, '--shutdown-ends-calls']);
    try {
      const [, url] = await lineMatching(child, /^Backchannel listening on (\S+)$/);
      const agent = await agentOf(url!);
      const call = agent.join({ groupId: 'shutdown' });
      await until(call, 'stateChanged', () => call.state === 'Connected');
      const ended = until(call, 'stateChanged', () => call.state === 'Disconnected');
      child.kill('SIGTERM');
      await ended;
      assert.equal(call.callEndReason?.name, 'ServerShutdown');
      const [code] = (await within(once(child, 'exit'), 'the server to exit')) as [number | null];
      assert.equal(code, 0);
      await agent.dispose();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('on SIGTERM exits 0 within its close deadline while a client never answers the WebSocket close (ws would wait 30 s)', async () => {
    const child = serve(['--port', '0', '--access-key', ACCESS_KEY, '--shutdown-drain-ms', '0', '--shutdown-close-ms', '500']);
    const stuck = new Socket();
    try {
      const [, url] = await lineMatching(child, /^Backchannel listening on (\S+)$/);
      const { hostname, port } = new URL(url!);
      // A WebSocket opened by hand that, once upgraded, neither reads nor answers anything: the server's
      // close frame is never acknowledged, as with a frozen or vanished client.
      const upgraded = new Promise<void>((resolve, reject) => {
        stuck.once('data', (data) => (String(data).startsWith('HTTP/1.1 101') ? resolve() : reject(new Error(String(data)))));
        stuck.once('error', reject);
      });
      stuck.connect(Number(port), hostname, () =>
        stuck.write(
          'GET /signaling HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        ),
      );
      await within(upgraded, 'the hand-made WebSocket upgrade');
      stuck.pause();
      child.kill('SIGTERM');
      const [code] = (await within(once(child, 'exit'), 'the server to exit despite the stuck client', 15_000)) as [number | null];
      assert.equal(code, 0);
    } finally {
      stuck.destroy();
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('a server that crashes and comes back', () => {
  it('its agents reconnect by themselves; a restarted in-memory server has lost the identity, and the call ends saying so (InvalidToken)', async () => {
    const secret = 'a-token-secret-shared-by-both-runs-0123456789';
    const first = serve(['--port', '0', '--access-key', ACCESS_KEY, '--token-secret', secret]);
    let second: ChildProcessWithoutNullStreams | undefined;
    try {
      const [, url] = await lineMatching(first, /^Backchannel listening on (\S+)$/);
      const agent = await agentOf(url!);
      const states: string[] = [];
      agent.on('connectionStateChanged', ({ newValue, reason }) => states.push(`${newValue}${reason ? `:${reason}` : ''}`));
      const call = agent.join({ groupId: 'crash' });
      await until(call, 'stateChanged', () => call.state === 'Connected');
      const ended = until(call, 'stateChanged', () => call.state === 'Disconnected', 30_000);
      first.kill('SIGKILL'); // no shutdown: the signaling socket just dies
      await within(once(first, 'exit'), 'the first server to die');
      // The same port, the same token secret (the token's signature still checks), but nothing in memory.
      second = serve(['--port', new URL(url!).port, '--access-key', ACCESS_KEY, '--token-secret', secret]);
      await lineMatching(second, /^Backchannel listening on /);
      await ended;
      assert.equal(call.callEndReason?.name, 'InvalidToken');
      assert.match(call.callEndReason?.message ?? '', /no longer exists/);
      assert.deepEqual(states, ['Disconnected:connectionIssue'], 'lost once, then refused while reconnecting');
      assert.equal(agent.connectionState, 'Disconnected');
      await agent.dispose();
    } finally {
      if (first.exitCode === null) first.kill('SIGKILL');
      if (second && second.exitCode === null) {
        second.kill('SIGTERM');
        await within(once(second, 'exit'), 'the second server to exit');
      }
    }
  });
});
