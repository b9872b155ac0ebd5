/** Demo mode: the page at `/` and tokens for anyone, only when asked for. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { CallClient, CommunicationTokenCredential } from '@backchannel/client';
import { startServer } from '@backchannel/server';

describe('demo mode', () => {
  it('serves the demo page at / and gives a working token to anyone at POST /demo/token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'backchannel-demo-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>demo</title>');
    const server = await startServer({ port: 0, demo: true, demoStaticDir: dir });
    try {
      const page = await fetch(`${server.url}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<title>demo<\/title>/);
      const response = await fetch(`${server.url}/demo/token`, { method: 'POST' });
      assert.equal(response.status, 201);
      const { identity, accessToken } = (await response.json()) as { identity: { id: string }; accessToken: { token: string } };
      const agent = await new CallClient({ serverUrl: server.url }).createCallAgent(new CommunicationTokenCredential(accessToken.token));
      assert.equal(agent.identifier.communicationUserId, identity.id);
      await agent.dispose();
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has no token endpoint and no page outside demo mode', async () => {
    const server = await startServer({ port: 0 });
    try {
      assert.equal((await fetch(`${server.url}/demo/token`, { method: 'POST' })).status, 404);
      assert.equal((await fetch(`${server.url}/`)).status, 404);
    } finally {
      await server.close();
    }
  });
});
