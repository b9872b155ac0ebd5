/** The identity API (shaped like the reference product's) and token checks at connect. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CallClient, CallError, CommunicationTokenCredential } from '@backchannel/client';

import { startHarness, type Harness } from '../helpers/backchannel.js';

describe('identity API', () => {
  let h: Harness;
  const api = (path: string, init: RequestInit & { key?: string | null } = {}) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (init.key !== null) headers.authorization = `Bearer ${init.key ?? h.server.accessKey}`;
    return fetch(`${h.server.url}${path}`, { ...init, headers });
  };
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  it('answers /healthz without a key', async () => {
    const response = await fetch(`${h.server.url}/healthz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ok' });
  });

  it('refuses every identity call without the access key, or with a wrong one (401)', async () => {
    for (const key of [null, 'wrong-key']) {
      const response = await api('/identities', { method: 'POST', body: '{}', key });
      assert.equal(response.status, 401);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'Unauthorized');
    }
  });

  it('creates an identity, with a voip token when asked (201)', async () => {
    const bare = await api('/identities', { method: 'POST', body: '{}' });
    assert.equal(bare.status, 201);
    const bareBody = (await bare.json()) as { identity: { id: string }; accessToken?: unknown };
    assert.match(bareBody.identity.id, /^8:backchannel:/);
    assert.equal(bareBody.accessToken, undefined);

    const withToken = await api('/identities', { method: 'POST', body: JSON.stringify({ createTokenWithScopes: ['voip'] }) });
    const body = (await withToken.json()) as { identity: { id: string }; accessToken: { token: string; expiresOn: string } };
    assert.equal(withToken.status, 201);
    assert.equal(body.accessToken.token.split('.').length, 3, 'a JWT');
    const hoursLeft = (Date.parse(body.accessToken.expiresOn) - Date.now()) / 3_600_000;
    assert.ok(hoursLeft > 23 && hoursLeft <= 24, `default lifetime is 24 h, got ${hoursLeft}`);
  });

  it('issues a token for an existing identity, with the lifetime asked for', async () => {
    const { identity } = await h.createUser();
    const response = await api(`/identities/${encodeURIComponent(identity)}/:issueAccessToken`, {
      method: 'POST',
      body: JSON.stringify({ scopes: ['voip'], expiresInMinutes: 60 }),
    });
    assert.equal(response.status, 200);
    const { token, expiresOn } = (await response.json()) as { token: string; expiresOn: string };
    const minutesLeft = (Date.parse(expiresOn) - Date.now()) / 60_000;
    assert.ok(minutesLeft > 59 && minutesLeft <= 60);
    const agent = await new CallClient({ serverUrl: h.server.url }).createCallAgent(new CommunicationTokenCredential(token));
    assert.equal(agent.identifier.communicationUserId, identity);
    await agent.dispose();
  });

  it('refuses bad bodies with 400 and unknown identities with 404', async () => {
    const badScope = await api('/identities', { method: 'POST', body: JSON.stringify({ createTokenWithScopes: ['admin'] }) });
    assert.equal(badScope.status, 400);
    assert.equal(((await badScope.json()) as { error: { code: string } }).error.code, 'InvalidRequest');
    const unknownField = await api('/identities', { method: 'POST', body: JSON.stringify({ surprise: true }) });
    assert.equal(unknownField.status, 400);
    const missing = await api('/identities/8%3Abackchannel%3Anobody/:issueAccessToken', { method: 'POST', body: JSON.stringify({ scopes: ['voip'] }) });
    assert.equal(missing.status, 404);
    assert.equal((await api('/identities/8%3Abackchannel%3Anobody', { method: 'DELETE' })).status, 404);
  });

  it('deletes an identity (204); its tokens are refused from then on with InvalidToken', async () => {
    const { identity, token } = await h.createUser();
    assert.equal((await api(`/identities/${encodeURIComponent(identity)}`, { method: 'DELETE' })).status, 204);
    await assert.rejects(
      new CallClient({ serverUrl: h.server.url }).createCallAgent(new CommunicationTokenCredential(token)),
      (error: unknown) => error instanceof CallError && error.code === 'InvalidToken',
    );
  });

  it('refuses a token signed by another server with InvalidToken, at createCallAgent', async () => {
    const other = await startHarness();
    try {
      const { token } = await other.createUser();
      await assert.rejects(
        new CallClient({ serverUrl: h.server.url }).createCallAgent(new CommunicationTokenCredential(token)),
        (error: unknown) => error instanceof CallError && error.code === 'InvalidToken' && /signature/.test(error.message),
      );
    } finally {
      await other.close();
    }
  });
});
