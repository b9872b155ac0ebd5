/**
 * The HMAC-SHA256 request verifier on its own: a request's parts and a time in, the exact verdict out. The
 * known answer was computed with openssl; the reference's own signing policy (@azure/communication-common)
 * signs requests that the verifier must accept.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { describe, it } from 'node:test';

import { createCommunicationAccessKeyCredentialPolicy, parseConnectionString } from '@azure/communication-common';

import {
  HmacRefusal,
  MAX_DATE_SKEW_MS,
  connectionString,
  isHmacAuthorization,
  verifyHmacRequest,
  type SignedRequest,
} from '../../packages/server/src/http/hmacAuth.js';
import { hmacHeaders } from '../helpers/hmac.js';

const ACCESS_KEY = 'unit-test-access-key-0123';
const KEY = Buffer.from(ACCESS_KEY, 'utf8');
const DATE = 'Mon, 01 Dec 2025 12:00:00 GMT';
const NOW = Date.parse(DATE);
const BODY = '{"createTokenWithScopes":["voip"]}';
/** openssl dgst -sha256 -binary | base64, of BODY. */
const BODY_HASH = 'k4k9IoKBLYipoiXK3LctfBcfghISSb6AI45ji7ILZfg=';
/** openssl dgst -sha256 -hmac KEY -binary | base64, of "POST\n/identities?api-version=2023-10-01\nDATE;backchannel.example:8443;BODY_HASH". */
const SIGNATURE = 'Qk687oc4SMF3/rFzRh6TNsvvdOGhg0G/bDQLnDCxZlc=';
const SIGNED_HEADERS = 'SignedHeaders=x-ms-date;host;x-ms-content-sha256';

/** The known-answer request, with `changes` applied (a header set to undefined is left out). */
function request(changes: Partial<Omit<SignedRequest, 'headers'>> & { headers?: Partial<SignedRequest['headers']> } = {}): SignedRequest {
  return {
    method: 'POST',
    target: '/identities?api-version=2023-10-01',
    body: new TextEncoder().encode(BODY),
    ...changes,
    headers: {
      authorization: `HMAC-SHA256 ${SIGNED_HEADERS}&Signature=${SIGNATURE}`,
      host: 'backchannel.example:8443',
      'x-ms-date': DATE,
      'x-ms-content-sha256': BODY_HASH,
      ...changes.headers,
    },
  };
}

/** A request to `url` signed by the tests' own signer (test/helpers/hmac.ts), as the server would receive it. */
function signedTo(url: string, method = 'GET', body = ''): SignedRequest {
  const sent = new URL(url);
  const headers = hmacHeaders({ method, url, body, key: ACCESS_KEY, date: new Date(NOW) });
  return { method, target: `${sent.pathname}${sent.search}`, body: new TextEncoder().encode(body), headers: { ...headers, host: sent.host } };
}

const MALFORMED = {
  ok: false,
  refusal: HmacRefusal.MalformedAuthorization,
  message: 'malformed Authorization: expected HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<base64 HMAC-SHA256>',
};
const BAD_SIGNATURE = { ok: false, refusal: HmacRefusal.BadSignature, message: 'the signature does not match' };
const HASH_MISMATCH = { ok: false, refusal: HmacRefusal.ContentHashMismatch, message: 'x-ms-content-sha256 is not the SHA-256 of the body' };
const STALE = { ok: false, refusal: HmacRefusal.StaleDate, message: "x-ms-date is more than 15 minutes from the server's time" };

describe('verifyHmacRequest', () => {
  it('accepts the known-answer request (signature computed with openssl)', () => {
    assert.deepEqual(verifyHmacRequest(request(), KEY, NOW), { ok: true });
  });

  it('accepts what the reference client signs, from the connection string connectionString() makes', async () => {
    const { endpoint, credential } = parseConnectionString(connectionString('https://backchannel.example:8443', ACCESS_KEY));
    assert.equal(endpoint, 'https://backchannel.example:8443/');
    const policy = createCommunicationAccessKeyCredentialPolicy(credential);
    type PipelineRequest = Parameters<typeof policy.sendRequest>[0];
    for (const [method, url, body] of [
      ['POST', `${endpoint}identities?api-version=2023-10-01`, BODY],
      ['POST', `${endpoint}identities/8%3Abackchannel%3Aabc/:revokeAccessTokens?api-version=2023-10-01`, undefined],
      ['DELETE', `${endpoint}identities/8%3Abackchannel%3Aabc?api-version=2023-10-01&x=a%20b`, undefined],
    ] as const) {
      const headers = new Map<string, string>();
      const pipelineRequest = { method, url, body, headers: { set: (name: string, value: string) => headers.set(name.toLowerCase(), value) } };
      await policy.sendRequest(pipelineRequest as unknown as PipelineRequest, async () => ({}) as Awaited<ReturnType<typeof policy.sendRequest>>);
      const sent = new URL(url);
      const received: SignedRequest = {
        method,
        target: `${sent.pathname}${sent.search}`,
        body: new TextEncoder().encode(body ?? ''),
        headers: { authorization: headers.get('authorization'), host: headers.get('host'), 'x-ms-date': headers.get('x-ms-date'), 'x-ms-content-sha256': headers.get('x-ms-content-sha256') },
      };
      assert.deepEqual(verifyHmacRequest(received, KEY, Date.parse(headers.get('x-ms-date')!)), { ok: true }, `${method} ${url}`);
    }
  });

  it('accepts the signed headers in another order, signed in that order, and the scheme in any case', () => {
    const body = new TextEncoder().encode(BODY);
    const toSign = `POST\n/identities\n${BODY_HASH};${DATE};backchannel.example:8443`;
    const signature = createHmac('sha256', KEY).update(toSign).digest('base64');
    const reordered = request({
      target: '/identities',
      body,
      headers: { authorization: `hmac-sha256 SignedHeaders=x-ms-content-sha256;x-ms-date;host&Signature=${signature}` },
    });
    assert.deepEqual(verifyHmacRequest(reordered, KEY, NOW), { ok: true });
  });

  it('verifies the query as the reference signs it: re-serialized by URLSearchParams', () => {
    // The reference signs `a=b+c&d=%7E` for `?a=b%20c&d=~`, which it sends as such.
    assert.deepEqual(verifyHmacRequest(signedTo('http://h:1/stats?a=b%20c&d=~'), KEY, NOW), { ok: true });
    const bare = signedTo('http://h:1/stats');
    assert.deepEqual(verifyHmacRequest({ ...bare, target: '/stats?' }, KEY, NOW), { ok: true }, 'an empty query is signed without its "?"');
    assert.deepEqual(verifyHmacRequest(signedTo('http://h:1/identities/8%3Abackchannel%3Aabc', 'DELETE'), KEY, NOW), { ok: true }, 'the path as sent, escapes kept');
  });

  it('refuses another key with BadSignature', () => {
    assert.deepEqual(verifyHmacRequest(request(), Buffer.from('another-access-key-of-16+'), NOW), BAD_SIGNATURE);
  });

  it('refuses with BadSignature whatever signed part was changed after signing: method, path, query, host, date', () => {
    for (const changed of [
      request({ method: 'DELETE' }),
      request({ target: '/identities/8%3Abackchannel%3Aabc?api-version=2023-10-01' }),
      request({ target: '/identities?api-version=2024-01-01' }),
      request({ target: '/identities' }),
      request({ headers: { host: 'elsewhere.example:8443' } }),
      request({ headers: { 'x-ms-date': 'Mon, 01 Dec 2025 12:00:01 GMT' } }),
    ]) {
      assert.deepEqual(verifyHmacRequest(changed, KEY, NOW), BAD_SIGNATURE, `${changed.method} ${changed.target} ${changed.headers.host} ${changed.headers['x-ms-date']}`);
    }
  });

  it('refuses a signature over the right body hash but the wrong bytes with BadSignature', () => {
    const flipped = Buffer.from(SIGNATURE, 'base64');
    flipped[31]! ^= 1;
    assert.deepEqual(verifyHmacRequest(request({ headers: { authorization: `HMAC-SHA256 ${SIGNED_HEADERS}&Signature=${flipped.toString('base64')}` } }), KEY, NOW), BAD_SIGNATURE);
  });

  it('refuses a body that is not the one hashed with ContentHashMismatch, before looking at the signature', () => {
    assert.deepEqual(verifyHmacRequest(request({ body: new TextEncoder().encode(BODY.replace('voip', 'VOIP')) }), KEY, NOW), HASH_MISMATCH);
    assert.deepEqual(verifyHmacRequest(request({ body: new TextEncoder().encode(`${BODY} `) }), KEY, NOW), HASH_MISMATCH, 'one more byte');
    assert.deepEqual(verifyHmacRequest(request({ body: new Uint8Array(0) }), KEY, NOW), HASH_MISMATCH, 'no body');
    for (const hash of ['k4k9IoKBLYipoiXK3LctfBcfghISSb6AI45ji7ILZfg', 'not base64 at all', createHash('sha1').update(BODY).digest('base64')]) {
      assert.deepEqual(verifyHmacRequest(request({ headers: { 'x-ms-content-sha256': hash } }), KEY, NOW), HASH_MISMATCH, hash);
    }
  });

  it('accepts a date up to 15 minutes from the server time either way, and refuses one a millisecond further with StaleDate', () => {
    assert.equal(MAX_DATE_SKEW_MS, 15 * 60_000);
    assert.deepEqual(verifyHmacRequest(request(), KEY, NOW + MAX_DATE_SKEW_MS), { ok: true });
    assert.deepEqual(verifyHmacRequest(request(), KEY, NOW - MAX_DATE_SKEW_MS), { ok: true });
    assert.deepEqual(verifyHmacRequest(request(), KEY, NOW + MAX_DATE_SKEW_MS + 1), STALE, 'signed too long ago');
    assert.deepEqual(verifyHmacRequest(request(), KEY, NOW - MAX_DATE_SKEW_MS - 1), STALE, 'signed in the future');
  });

  it('refuses an x-ms-date that is not a date with BadDate', () => {
    assert.deepEqual(verifyHmacRequest(request({ headers: { 'x-ms-date': 'yesterday' } }), KEY, NOW), { ok: false, refusal: HmacRefusal.BadDate, message: 'x-ms-date is not a date' });
  });

  it('refuses a request without one of the signed headers with MissingHeader, naming it', () => {
    for (const name of ['x-ms-date', 'host', 'x-ms-content-sha256'] as const) {
      for (const value of [undefined, '']) {
        assert.deepEqual(verifyHmacRequest(request({ headers: { [name]: value } }), KEY, NOW), {
          ok: false,
          refusal: HmacRefusal.MissingHeader,
          message: `the signed header ${name} is missing`,
        });
      }
    }
  });

  it('refuses every malformed Authorization with MalformedAuthorization', () => {
    for (const authorization of [
      undefined,
      '',
      'HMAC-SHA256',
      'HMAC-SHA256 ',
      'HMAC-SHA256 garbage',
      `HMAC-SHA256 ${SIGNED_HEADERS}`,
      `HMAC-SHA256 Signature=${SIGNATURE}`,
      `HMAC-SHA256 ${SIGNED_HEADERS}&Signature=`,
      `HMAC-SHA256 ${SIGNED_HEADERS}&Signature=${SIGNATURE}&Extra=1`,
      `HMAC-SHA256 ${SIGNED_HEADERS}&${SIGNED_HEADERS}&Signature=${SIGNATURE}`,
      `HMAC-SHA256 SignedHeaders=x-ms-date;x-ms-content-sha256&Signature=${SIGNATURE}`,
      `HMAC-SHA256 SignedHeaders=x-ms-date;host;host;x-ms-content-sha256&Signature=${SIGNATURE}`,
      `HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256;content-type&Signature=${SIGNATURE}`,
      `HMAC-SHA256 SignedHeaders=date;host;x-ms-content-sha256&Signature=${SIGNATURE}`,
      `HMAC-SHA256 ${SIGNED_HEADERS}&Signature=${SIGNATURE.slice(0, -1)}`,
      `HMAC-SHA256 ${SIGNED_HEADERS}&Signature=${createHmac('sha1', KEY).update('x').digest('base64')}`,
      `HMAC-SHA512 ${SIGNED_HEADERS}&Signature=${SIGNATURE}`,
      `Bearer ${ACCESS_KEY}`,
    ]) {
      assert.deepEqual(verifyHmacRequest(request({ headers: { authorization } }), KEY, NOW), MALFORMED, String(authorization));
    }
  });
});

describe('isHmacAuthorization', () => {
  it('is true for the HMAC-SHA256 scheme in any case, false for any other', () => {
    assert.deepEqual(
      ['HMAC-SHA256 x', 'hmac-sha256 x', 'HMAC-SHA256', 'HMAC-SHA2567 x', 'Bearer x', '', undefined].map(isHmacAuthorization),
      [true, true, false, false, false, false, false],
    );
  });
});

describe('connectionString', () => {
  it("is the endpoint with one trailing slash and the access key's UTF-8 bytes in base64", () => {
    assert.equal(connectionString('https://127.0.0.1:8443', ACCESS_KEY), 'endpoint=https://127.0.0.1:8443/;accesskey=dW5pdC10ZXN0LWFjY2Vzcy1rZXktMDEyMw==');
    assert.equal(connectionString('http://[::1]:8080/', 'é-key-0123456789'), `endpoint=http://[::1]:8080/;accesskey=${Buffer.from('é-key-0123456789').toString('base64')}`);
  });
});
