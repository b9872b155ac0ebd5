/** Token security (issue: "Security and hostile input"): every bad token variant, refresh, revocation. */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';

import { CallClient, CallError, CommunicationTokenCredential, type Call } from '@backchannel/client';
import { CallErrorCode, PROTOCOL_VERSION, SignalingCloseCode, encodeSignaling, parseCloseReason, type ServerMessage } from '@backchannel/protocol';
import { startServer, type RunningServer } from '@backchannel/server';
import { SignJWT, type JWTPayload } from 'jose';
import type { WebSocket } from 'ws';

import { readMessages, receiversOf, rosterSettled, startHarness, utf8, type Harness } from '../helpers/backchannel.js';
import { ManualClock } from '../helpers/clock.js';
import { until, waitForEvent, within } from '../helpers/events.js';
import { RawEndpoint } from '../helpers/rawClient.js';

const SECRET = 'a-test-secret-of-reasonable-length';
const ISSUER = 'backchannel';
const now = (): number => Math.floor(Date.now() / 1000);

/** A token signed with the server's own secret, with the claims given (overriding sane defaults). */
async function craft(identity: string, claims: JWTPayload & { scope?: string; gen?: number } = {}, alg = 'HS256'): Promise<string> {
  const payload = { sub: identity, iss: ISSUER, aud: ISSUER, iat: now(), exp: now() + 600, scope: 'voip', gen: 0, ...claims };
  for (const [key, value] of Object.entries(payload)) if (value === undefined) delete (payload as Record<string, unknown>)[key];
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(new TextEncoder().encode(SECRET));
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

async function refused(h: Harness, token: string): Promise<CallError> {
  const error = await new CallClient({ serverUrl: h.server.url }).createCallAgent(new CommunicationTokenCredential(token)).then(
    () => assert.fail('the token was accepted'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof CallError, `expected a CallError, got ${String(error)}`);
  assert.equal(error.code, 'InvalidToken');
  return error;
}

function ended(call: Call): Promise<void> {
  return until(call, 'stateChanged', () => call.state === 'Disconnected');
}

describe('tokens', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('accepts a well-formed token signed with the server secret (the control case)', async () => {
    h = await startHarness({ tokenSecret: SECRET, tokenLeewaySeconds: 0 });
    const { identity } = await h.createUser();
    const agent = await new CallClient({ serverUrl: h.server.url }).createCallAgent(new CommunicationTokenCredential(await craft(identity)));
    assert.equal(agent.identifier.communicationUserId, identity);
    await agent.dispose();
  });

  it('refuses every bad variant with InvalidToken at createCallAgent', async () => {
    h = await startHarness({ tokenSecret: SECRET, tokenLeewaySeconds: 0 });
    const { identity } = await h.createUser();
    const valid = await craft(identity);
    const [header, payload] = valid.split('.');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const variants: [string, string, RegExp][] = [
      ['alg none', `${base64url({ alg: 'none', typ: 'JWT' })}.${payload}.`, /refused/],
      ['HS512 with the same secret (algorithm not pinned)', await craft(identity, {}, 'HS512'), /refused/],
      ['RS256 with another key (algorithm confusion)', await new SignJWT({ sub: identity, iss: ISSUER, aud: ISSUER, exp: now() + 600, scope: 'voip', gen: 0 }).setProtectedHeader({ alg: 'RS256' }).sign(privateKey), /refused/],
      ['bad signature', `${header}.${base64url({ sub: 'someone-else', iss: ISSUER, aud: ISSUER, exp: now() + 600, scope: 'voip', gen: 0 })}.${valid.split('.')[2]}`, /signature/],
      ['no exp', await craft(identity, { exp: undefined }), /exp/],
      ['past exp', await craft(identity, { exp: now() - 5 }), /expired/],
      ['future nbf', await craft(identity, { nbf: now() + 300 }), /nbf/],
      ['wrong issuer', await craft(identity, { iss: 'someone-else' }), /iss/],
      ['wrong audience', await craft(identity, { aud: 'someone-else' }), /aud/],
      ['no voip scope', await craft(identity, { scope: 'chat' }), /voip/],
      ['unknown identity', await craft('8:backchannel:nobody'), /no longer exists/],
      ['revoked generation', await craft(identity, { gen: -1 }), /revoked/],
    ];
    for (const [name, token, message] of variants) {
      const error = await refused(h, token);
      assert.match(error.message, message, name);
    }
  });

  it('keeps a call alive past its first token with a refresher, and ends one without (in the clock’s time, not real seconds)', async () => {
    // One clock drives the server's token lifetimes and the SDK's renewals: a minute passes in no time.
    const clock = new ManualClock();
    h = await startHarness({ tokenLeewaySeconds: 0, clock });
    const issue = async (identity: string): Promise<string> => {
      const response = await fetch(`${h!.server.url}/identities/${encodeURIComponent(identity)}/:issueAccessToken`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h!.server.accessKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ scopes: ['voip'], expiresInMinutes: 1 }), // 60 s of the clock's time
      });
      return ((await response.json()) as { token: string }).token;
    };
    const refreshed = await h.createUser();
    const stale = await h.createUser();
    const client = new CallClient({ serverUrl: h.server.url, clock });
    const firstToken = await issue(refreshed.identity);
    const firstExpiresAt = JSON.parse(Buffer.from(firstToken.split('.')[1]!, 'base64url').toString()).exp * 1000;
    const renewals: string[] = [];
    let renewed: () => void = () => undefined;
    const credential = new CommunicationTokenCredential(
      {
        token: firstToken,
        tokenRefresher: async () => {
          const token = await issue(refreshed.identity);
          renewals.push(token);
          renewed();
          return token;
        },
      },
      { clock },
    );
    const agent = await client.createCallAgent(credential);
    const staleAgent = await client.createCallAgent(new CommunicationTokenCredential(await issue(stale.identity), { clock }));
    const call = agent.join({ groupId: 'refresh' });
    const staleCall = staleAgent.join({ groupId: 'refresh' });
    await until(call, 'stateChanged', () => call.state === 'Connected');
    await until(staleCall, 'stateChanged', () => staleCall.state === 'Connected');

    // Half-way to expiry the SDK renews the token (a 60 s token is renewed after 30 s) and hands it to the
    // server; a second join behind it on the same connection proves the server has taken the refresh.
    const firstRenewal = new Promise<void>((resolve) => (renewed = resolve));
    clock.advance(30_000);
    await within(firstRenewal, 'the first renewal');
    const second = agent.join({ groupId: 'refresh-2' });
    await until(second, 'stateChanged', () => second.state === 'Connected');

    // Past the first token's expiry: the agent without a refresher is cut off, the renewed one stays.
    clock.advance(firstExpiresAt - clock.wallNow() + 1_000);
    await ended(staleCall);
    assert.equal(staleCall.callEndReason?.name, 'InvalidToken');
    assert.match(staleCall.callEndReason?.message ?? '', /expired/);
    assert.ok(renewals.length >= 1);
    assert.ok(clock.wallNow() > firstExpiresAt);
    assert.equal(call.state, 'Connected', `ended: ${JSON.stringify(call.callEndReason)}`);
    assert.equal(agent.connectionState, 'Connected');
    await agent.dispose();
    await staleAgent.dispose();
    credential.dispose();
  });

  it('revoking an identity’s tokens disconnects its live endpoints and refuses its old tokens', async () => {
    h = await startHarness();
    const bUser = await h.createUser();
    const [a, b] = [await h.join('revoke'), await h.join('revoke', { as: bUser })];
    await rosterSettled([a, b]);
    const bLeft = waitForEvent(a.call, 'remoteParticipantsUpdated');
    const bEnded = ended(b.call);
    assert.equal((await identityApi(h, `/identities/${encodeURIComponent(b.identity)}/:revokeAccessTokens`, 'POST')).status, 204);
    await bEnded;
    assert.equal(b.call.callEndReason?.name, 'InvalidToken');
    assert.match(b.call.callEndReason?.message ?? '', /revoked/);
    await bLeft;
    assert.equal(a.call.remoteParticipants.length, 0);
    await refused(h, bUser.token);
    // A token issued after the revocation works.
    const fresh = (await (await identityApi(h, `/identities/${encodeURIComponent(b.identity)}/:issueAccessToken`, 'POST', { scopes: ['voip'] })).json()) as {
      token: string;
    };
    const again = await h.join('revoke', { as: { identity: b.identity, token: fresh.token } });
    await again.dataChannel.createDataChannelSender({ channelId: 1 }).sendMessage(utf8.encode('back'));
    assert.equal(utf8.decode((await readMessages((await receiversOf(a, 1))[0]!, 1))[0]!.data), 'back');
  });

  it('deleting an identity disconnects its live endpoints', async () => {
    h = await startHarness();
    const a = await h.join('delete');
    const aEnded = ended(a.call);
    assert.equal((await identityApi(h, `/identities/${encodeURIComponent(a.identity)}`, 'DELETE')).status, 204);
    await aEnded;
    assert.equal(a.call.callEndReason?.name, 'InvalidToken');
  });
});

describe('token lifetimes in the server clock’s time', () => {
  let server: RunningServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** An identity with a `voip` token valid `minutes` from the server clock's now, through the identity API. */
  async function userWithToken(minutes: number): Promise<{ identity: string; token: string }> {
    const response = await fetch(`${server!.url}/identities`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server!.accessKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ createTokenWithScopes: ['voip'], expiresInMinutes: minutes }),
    });
    const body = (await response.json()) as { identity: { id: string }; accessToken: { token: string } };
    return { identity: body.identity.id, token: body.accessToken.token };
  }

  async function tokenFor(identity: string, minutes: number): Promise<string> {
    const response = await fetch(`${server!.url}/identities/${encodeURIComponent(identity)}/:issueAccessToken`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server!.accessKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scopes: ['voip'], expiresInMinutes: minutes }),
    });
    return ((await response.json()) as { token: string }).token;
  }

  function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
    return new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
  }

  /** The connection still handles messages: a second hello gets its BadRequest answer. */
  async function stillServed(ws: WebSocket, next: (predicate: (m: ServerMessage) => boolean) => Promise<ServerMessage>, messages: ServerMessage[]): Promise<void> {
    const before = messages.length;
    ws.send(encodeSignaling({ type: 'hello', protocolVersion: PROTOCOL_VERSION, token: 'x' }));
    const answer = await next((m) => messages.indexOf(m) >= before && m.type === 'error');
    assert.deepEqual(answer, { type: 'error', code: CallErrorCode.BadRequest, message: 'already authenticated' });
  }

  it('ends a connection whose token expires unrefreshed, when the clock passes its expiry (4001, InvalidToken)', async () => {
    const clock = new ManualClock();
    server = await startServer({ port: 0, clock, tokenLeewaySeconds: 0 });
    const user = await userWithToken(1);
    const { ws, messages, next } = await RawEndpoint.connect(server.url, user.token);
    const closed = closeOf(ws);
    clock.advance(58_000); // the token is valid for 60 s of the server clock's time
    await stillServed(ws, next, messages);
    clock.advance(2_000);
    const { code, reason } = await within(closed, 'the close of the expired connection');
    assert.equal(code, SignalingCloseCode.Unauthorized);
    assert.deepEqual(parseCloseReason(reason), { code: CallErrorCode.InvalidToken, message: 'token expired' });
    assert.ok(messages.some((m) => m.type === 'error' && m.code === CallErrorCode.InvalidToken && m.message === 'token expired'));
  });

  it('keeps a connection past its first token’s expiry once refreshed, until the refreshed token expires', async () => {
    const clock = new ManualClock();
    server = await startServer({ port: 0, clock, tokenLeewaySeconds: 0 });
    const user = await userWithToken(1);
    const { ws, messages, next } = await RawEndpoint.connect(server.url, user.token);
    const closed = closeOf(ws);
    clock.advance(50_000);
    ws.send(encodeSignaling({ type: 'refreshToken', token: await tokenFor(user.identity, 1) })); // valid to 110 s
    await stillServed(ws, next, messages); // the refresh was handled: messages are handled in order
    clock.advance(30_000); // 80 s: past the first token's expiry
    await stillServed(ws, next, messages);
    clock.advance(31_000); // 111 s: past the refreshed one's
    const { code, reason } = await within(closed, 'the close of the expired connection');
    assert.equal(code, SignalingCloseCode.Unauthorized);
    assert.equal(parseCloseReason(reason)?.message, 'token expired');
  });

  it('refuses at hello a token that has expired in the server clock’s time', async () => {
    const clock = new ManualClock();
    server = await startServer({ port: 0, clock, tokenLeewaySeconds: 0 });
    const user = await userWithToken(1);
    clock.advance(61_000);
    await assert.rejects(RawEndpoint.connect(server.url, user.token), /InvalidToken.*token expired/);
  });
});

function identityApi(h: Harness, path: string, method: string, body?: unknown): Promise<Response> {
  return fetch(`${h.server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${h.server.accessKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}
