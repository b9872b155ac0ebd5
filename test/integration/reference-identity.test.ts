/**
 * The reference's identity client works unmodified (issue #12, item 1): `CommunicationIdentityClient` from
 * @azure/communication-identity, built from the connection string the server gives, over HTTPS, signing
 * each request with HMAC-SHA256. Then the signature checks, on requests the test signs itself.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import { isRestError } from '@azure/communication-common';
import { CommunicationIdentityClient, type TokenScope } from '@azure/communication-identity';
import { CHANNELS_CLAIM, PROTOCOL_VERSION, SignalingCloseCode, encodeSignaling, parseCloseReason, parseServerMessage } from '@backchannel/protocol';
import { WebSocket } from 'ws';

import { selfSignedCertificate } from '../../bench/lib/tls.js';
import { startHarness, type Harness } from '../helpers/backchannel.js';
import { ManualClock } from '../helpers/clock.js';
import { within } from '../helpers/events.js';
import { hmacHeaders } from '../helpers/hmac.js';

/** What the signaling server answers a hello with: a welcome, or the socket closed with a reason. */
type HelloAnswer = { welcome: string } | { closed: number; code: string; message: string };

/** Says hello over WSS (trusting `ca`) with `token` and reports the server's answer. */
async function hello(serverUrl: string, ca: Buffer, token: string): Promise<HelloAnswer> {
  const ws = new WebSocket(`${serverUrl.replace(/^https/, 'wss')}/signaling`, { ca });
  try {
    return await within(
      new Promise<HelloAnswer>((resolve, reject) => {
        ws.once('error', reject);
        ws.once('open', () => ws.send(encodeSignaling({ type: 'hello', protocolVersion: PROTOCOL_VERSION, token })));
        ws.once('message', (data) => {
          const message = parseServerMessage(String(data));
          if (message.type === 'welcome') resolve({ welcome: message.identity });
        });
        ws.once('close', (closed: number, reason: Buffer) => {
          const parsed = parseCloseReason(reason.toString());
          resolve({ closed, code: parsed?.code ?? '', message: parsed?.message ?? '' });
        });
      }),
      'the answer to hello',
    );
  } finally {
    if (ws.readyState !== ws.CLOSED) {
      ws.close();
      await once(ws, 'close');
    }
  }
}

/**
 * A Backchannel SDK participant in its own process (test/helpers/frozenParticipantProcess.ts), because
 * only a process started with NODE_EXTRA_CA_CERTS makes the SDK's WebSocket trust the test certificate.
 */
function participantProcess(serverUrl: string, token: string, groupId: string, caFile: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../helpers/frozenParticipantProcess.ts', import.meta.url)), serverUrl, token, groupId, '0'], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile },
  });
  const exited = once(child, 'exit');
  // The process may exit by itself (its call ended) just before it is told to quit: no EPIPE then.
  child.stdin.on('error', () => {});
  const seen: string[] = [];
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => seen.push(line));
  return {
    /** Resolves with the first line (already printed or to come) starting with `prefix`. */
    line: (prefix: string, what: string): Promise<string> =>
      within(
        new Promise<string>((resolve) => {
          const check = (): boolean => {
            const found = seen.find((line) => line.startsWith(prefix));
            if (found !== undefined) resolve(found);
            return found !== undefined;
          };
          const listener = (): void => void (check() && lines.off('line', listener));
          if (!check()) lines.on('line', listener);
        }),
        what,
      ),
    /** Ends the participant (its agent disposed) and waits for the process to exit. */
    async stop(): Promise<void> {
      if (child.exitCode === null) child.stdin.end('quit\n');
      await within(exited, 'the participant process to exit').catch(() => child.kill('SIGKILL'));
    },
  };
}

describe('the reference CommunicationIdentityClient, over HTTPS', () => {
  let dir: string;
  let caFile: string;
  let ca: Buffer;
  let h: Harness;
  let agent: Agent;
  let client: CommunicationIdentityClient;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'backchannel-reference-identity-'));
    const { cert, key } = selfSignedCertificate(dir);
    caFile = cert;
    ca = readFileSync(cert);
    h = await startHarness({ tlsCertFile: cert, tlsKeyFile: key });
    // The Azure pipeline's own option for an https.Agent: the test CA is trusted in this process only.
    agent = new Agent({ ca });
    client = new CommunicationIdentityClient(h.server.connectionString, { agent, retryOptions: { maxRetries: 0 } });
  });
  after(async () => {
    agent.destroy();
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is built from the connection string the server gives: its https endpoint and the access key in base64', () => {
    assert.equal(h.server.connectionString, `endpoint=${h.server.url}/;accesskey=${Buffer.from(h.server.accessKey).toString('base64')}`);
    assert.match(h.server.connectionString, /^endpoint=https:\/\/127\.0\.0\.1:\d+\/;accesskey=/);
  });

  it('createUser creates an identity', async () => {
    const user = await client.createUser();
    assert.deepEqual(Object.keys(user), ['communicationUserId']);
    assert.match(user.communicationUserId, /^8:backchannel:[0-9a-f-]{36}$/);
  });

  it("createUserAndToken(['voip']) gives an identity and a 24-hour token with which the Backchannel SDK joins a call", async () => {
    const { user, token, expiresOn } = await client.createUserAndToken(['voip']);
    assert.ok(expiresOn instanceof Date, 'the client parsed expiresOn as a date');
    const hoursLeft = (expiresOn.getTime() - Date.now()) / 3_600_000;
    assert.ok(hoursLeft > 23 && hoursLeft <= 24, `default lifetime is 24 h, got ${hoursLeft}`);
    assert.deepEqual(await hello(h.server.url, ca, token), { welcome: user.communicationUserId });
    const participant = participantProcess(h.server.url, token, 'reference-identity', caFile);
    try {
      await participant.line('ready', 'the participant to be Connected');
      const { calls, endpoints } = h.server.snapshot();
      assert.deepEqual({ calls, endpoints }, { calls: 1, endpoints: 1 }, 'the server holds its endpoint in the call');
    } finally {
      await participant.stop();
    }
  });

  it("getToken(user, ['voip']) issues a token for an existing identity, for tokenExpiresInMinutes", async () => {
    const user = await client.createUser();
    const { token, expiresOn } = await client.getToken(user, ['voip'], { tokenExpiresInMinutes: 60 });
    const minutesLeft = (expiresOn.getTime() - Date.now()) / 60_000;
    assert.ok(minutesLeft > 59 && minutesLeft <= 60, `asked for 60 minutes, got ${minutesLeft}`);
    assert.deepEqual(await hello(h.server.url, ca, token), { welcome: user.communicationUserId });
  });

  it('createUserAndToken and getToken take the channel-permission scopes (an extension), carried signed in the token', async () => {
    // The reference types its scopes as a closed union; the strings pass through its client unchanged.
    const scopes = ['voip', 'channels.send:1-9', 'channels.receive:100-199'] as unknown as TokenScope[];
    const claimsOf = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const { user, token } = await client.createUserAndToken(scopes);
    assert.deepEqual(claimsOf(token)[CHANNELS_CLAIM], { send: [[1, 9]], receive: [[100, 199]] });
    const renewed = await client.getToken(user, ['voip', 'channels.send:none'] as unknown as TokenScope[]);
    assert.deepEqual(claimsOf(renewed.token)[CHANNELS_CLAIM], { send: [] });
  });

  it('revokeTokens ends the call joined with the old token (InvalidToken), and the server refuses that token from then on', async () => {
    const { user, token } = await client.createUserAndToken(['voip']);
    const participant = participantProcess(h.server.url, token, 'revoked', caFile);
    try {
      await participant.line('ready', 'the participant to be Connected');
      await client.revokeTokens(user);
      assert.equal(await participant.line('ended', 'the call to end'), 'ended InvalidToken');
    } finally {
      await participant.stop();
    }
    assert.deepEqual(await hello(h.server.url, ca, token), { closed: SignalingCloseCode.Unauthorized, code: 'InvalidToken', message: 'the token was revoked' });
    const renewed = await client.getToken(user, ['voip']);
    assert.deepEqual(await hello(h.server.url, ca, renewed.token), { welcome: user.communicationUserId }, 'a token issued after the revocation holds');
  });

  it('deleteUser forgets the identity: its token is refused, and getToken fails with 404 IdentityNotFound', async () => {
    const { user, token } = await client.createUserAndToken(['voip']);
    await client.deleteUser(user);
    assert.deepEqual(await hello(h.server.url, ca, token), { closed: SignalingCloseCode.Unauthorized, code: 'InvalidToken', message: 'the identity no longer exists' });
    await assert.rejects(client.getToken(user, ['voip']), (error: unknown) => {
      assert.ok(isRestError(error), `expected a RestError, got ${String(error)}`);
      assert.equal(error.statusCode, 404);
      assert.equal(error.code, 'IdentityNotFound');
      return true;
    });
  });

  it('is refused with the access key of another server, as a wrong key is (401 Unauthorized)', async () => {
    const other = new CommunicationIdentityClient(`endpoint=${h.server.url}/;accesskey=${Buffer.from('another-access-key-0123').toString('base64')}`, {
      agent,
      retryOptions: { maxRetries: 0 },
    });
    await assert.rejects(other.createUser(), (error: unknown) => {
      assert.ok(isRestError(error), `expected a RestError, got ${String(error)}`);
      assert.equal(error.statusCode, 401);
      assert.equal(error.code, 'Unauthorized');
      return true;
    });
  });
});

describe('HMAC-SHA256 signed requests to the identity API', () => {
  const ACCESS_KEY = 'hmac-test-access-key-0123';
  /** Whole seconds, as x-ms-date carries them, so that "15 minutes later" is exact. */
  const clock = new ManualClock({ wallNow: Math.floor(Date.now() / 1000) * 1000 });
  let h: Harness;
  before(async () => {
    h = await startHarness({ accessKey: ACCESS_KEY, clock });
  });
  after(() => h.close());

  const BODY = JSON.stringify({ createTokenWithScopes: ['voip'] });
  /** POST /identities as the reference client would send it, signed now (by the server's clock) unless told otherwise. */
  const signed = (options: { key?: string; body?: string; date?: Date } = {}) => ({
    'content-type': 'application/json',
    ...hmacHeaders({ method: 'POST', url: `${h.server.url}/identities?api-version=2023-10-01`, body: options.body ?? BODY, key: options.key ?? ACCESS_KEY, date: options.date ?? new Date(clock.wallNow()) }),
  });
  const send = async (headers: Record<string, string>, body = BODY, path = '/identities?api-version=2023-10-01', method = 'POST'): Promise<{ status: number; body: unknown }> => {
    const response = await fetch(`${h.server.url}${path}`, { method, headers, body: method === 'GET' ? undefined : body });
    return { status: response.status, body: await response.json() };
  };
  const unauthorized = (message: string) => ({ status: 401, body: { error: { code: 'Unauthorized', message } } });
  const WRONG_KEY = unauthorized('a valid access key is required: Authorization: Bearer <key>, or a request signed with it (HMAC-SHA256)');
  const MALFORMED = unauthorized('malformed Authorization: expected HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<base64 HMAC-SHA256>');

  it('accepts a request signed with the access key (the control case)', async () => {
    const answer = await send(signed());
    assert.equal(answer.status, 201);
    assert.match((answer.body as { identity: { id: string } }).identity.id, /^8:backchannel:/);
  });

  it('answers a signature made with another key exactly as a wrong Bearer key: 401', async () => {
    assert.deepEqual(await send(signed({ key: 'another-access-key-0123' })), WRONG_KEY);
    assert.deepEqual(await send({ 'content-type': 'application/json', authorization: 'Bearer another-access-key-0123' }), WRONG_KEY);
  });

  it('refuses a body changed after signing (x-ms-content-sha256 no longer matches): 401', async () => {
    const headers = signed();
    assert.deepEqual(await send(headers, BODY.replace('[', '[ ')), unauthorized('x-ms-content-sha256 is not the SHA-256 of the body'));
  });

  it('refuses a signature over another request, the body hash being right, as a wrong key: 401', async () => {
    // Signed for DELETE /identities/x, sent as POST /identities with its (correct) body hash.
    const other = hmacHeaders({ method: 'DELETE', url: `${h.server.url}/identities/x`, body: BODY, key: ACCESS_KEY, date: new Date(clock.wallNow()) });
    const headers = { ...signed(), authorization: other.authorization };
    assert.equal(headers['x-ms-content-sha256'], other['x-ms-content-sha256']);
    assert.deepEqual(await send(headers), WRONG_KEY);
  });

  it("refuses a request signed more than 15 minutes before or after the server's clock: 401", async () => {
    const now = clock.wallNow();
    const stale = unauthorized("x-ms-date is more than 15 minutes from the server's time");
    assert.deepEqual(await send(signed({ date: new Date(now - 15 * 60_000 - 1000) })), stale);
    assert.deepEqual(await send(signed({ date: new Date(now + 15 * 60_000 + 1000) })), stale);
    const signedNow = signed();
    clock.advance(15 * 60_000);
    assert.equal((await send(signedNow)).status, 201, 'exactly 15 minutes old: still accepted');
    clock.advance(1000);
    assert.deepEqual(await send(signedNow), stale);
  });

  it('refuses a request without x-ms-date or x-ms-content-sha256, naming it: 401', async () => {
    for (const name of ['x-ms-date', 'x-ms-content-sha256'] as const) {
      const headers: Record<string, string> = signed();
      delete headers[name];
      assert.deepEqual(await send(headers), unauthorized(`the signed header ${name} is missing`), name);
    }
  });

  it('refuses a malformed Authorization: 401 naming the expected form', async () => {
    const { authorization } = signed();
    const signature = authorization.slice(authorization.indexOf('Signature='));
    for (const malformed of [
      'HMAC-SHA256 garbage',
      `HMAC-SHA256 ${signature}`,
      'HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256',
      `HMAC-SHA256 SignedHeaders=x-ms-date;x-ms-content-sha256&${signature}`,
      'HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=not-base64',
    ]) {
      assert.deepEqual(await send({ ...signed(), authorization: malformed }), MALFORMED, malformed);
    }
    assert.deepEqual(await send({ ...signed(), authorization: 'HMAC-SHA256' }), WRONG_KEY, 'no parameters at all: no scheme this server knows');
  });

  it('signs bodiless requests too: the hash of no bytes, on DELETE and GET /stats', async () => {
    const created = (await send(signed())).body as { identity: { id: string } };
    const path = `/identities/${encodeURIComponent(created.identity.id)}?api-version=2023-10-01`;
    const deleteHeaders = { 'content-type': 'application/json', ...hmacHeaders({ method: 'DELETE', url: `${h.server.url}${path}`, key: ACCESS_KEY, date: new Date(clock.wallNow()) }) };
    const deleted = await fetch(`${h.server.url}${path}`, { method: 'DELETE', headers: deleteHeaders });
    assert.equal(deleted.status, 204);
    const stats = await send({ ...hmacHeaders({ method: 'GET', url: `${h.server.url}/stats`, key: ACCESS_KEY, date: new Date(clock.wallNow()) }) }, '', '/stats', 'GET');
    assert.equal(stats.status, 200);
    assert.equal(typeof (stats.body as { calls: number }).calls, 'number');
  });
});
