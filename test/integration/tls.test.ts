/** `--tls-cert/--tls-key`: HTTPS and WSS on the same port. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { PROTOCOL_VERSION, encodeSignaling, parseServerMessage } from '@backchannel/protocol';
import { startServer, type RunningServer } from '@backchannel/server';
import { WebSocket } from 'ws';

import { selfSignedCertificate } from '../../bench/lib/tls.js';

function httpsJson(url: string, ca: Buffer, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers, ca }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('TLS', () => {
  let dir: string;
  let server: RunningServer;
  let ca: Buffer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'backchannel-tls-'));
    const { cert, key } = selfSignedCertificate(dir);
    ca = readFileSync(cert);
    server = await startServer({ port: 0, tlsCertFile: cert, tlsKeyFile: key });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the HTTP API over HTTPS', async () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(await httpsJson(`${server.url}/healthz`, ca), { status: 200, body: { status: 'ok' } });
  });

  it('serves signaling over WSS on the same port', async () => {
    const created = await httpsJson(`${server.url}/identities`, ca, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.accessKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ createTokenWithScopes: ['voip'] }),
    });
    assert.equal(created.status, 201);
    const { identity, accessToken } = created.body as { identity: { id: string }; accessToken: { token: string } };
    const ws = new WebSocket(`${server.url.replace(/^https/, 'wss')}/signaling`, { ca });
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.send(encodeSignaling({ type: 'hello', protocolVersion: PROTOCOL_VERSION, token: accessToken.token }));
      const data = await new Promise<string>((resolve) => ws.once('message', (message) => resolve(String(message))));
      const welcome = parseServerMessage(data);
      assert.equal(welcome.type, 'welcome');
      assert.equal(welcome.type === 'welcome' && welcome.identity, identity.id);
    } finally {
      ws.close();
    }
  });

  it('refuses plain HTTP on a TLS port', async () => {
    await assert.rejects(fetch(server.url.replace(/^https/, 'http') + '/healthz'));
  });
});
