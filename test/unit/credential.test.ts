/**
 * CommunicationTokenCredential takes what the reference's AzureCommunicationTokenCredential takes: a token
 * string or an AccessToken, or refresh options whose refresher returns either and is handed an AbortSignal.
 * Time is a ManualClock: renewals happen in the clock's time, not real seconds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { CallError, CommunicationTokenCredential, type AbortSignalLike, type AccessToken } from '@backchannel/client';

import { ManualClock } from '../helpers/clock.js';

/** An unsigned JWT with `claims` (the credential decodes tokens, it never verifies them). */
function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub: '8:backchannel:someone', ...claims })}.signature`;
}

/** A JWT expiring `seconds` after the clock's wall time. */
const expiringIn = (clock: ManualClock, seconds: number): string => jwt({ exp: Math.floor(clock.wallNow() / 1000) + seconds });

function isCallError(code: string, message: RegExp): (error: unknown) => true {
  return (error) => {
    assert.ok(error instanceof CallError, `a CallError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  };
}

describe('CommunicationTokenCredential', () => {
  it('takes an AccessToken as it is: its explicit expiry, its token undecoded', async () => {
    const token: AccessToken = { token: 'opaque-but-explicit', expiresOnTimestamp: 1_900_000_000_000 };
    const credential = new CommunicationTokenCredential(token);
    assert.deepEqual(await credential.getToken(), token);
  });

  it('reads the expiry of a JWT string from its exp claim', async () => {
    const clock = new ManualClock({ wallNow: 1_800_000_000_000 });
    const token = expiringIn(clock, 3600);
    assert.deepEqual(await new CommunicationTokenCredential(token, { clock }).getToken(), { token, expiresOnTimestamp: 1_800_003_600_000 });
  });

  it('refuses what is not a token with InvalidToken, and options of the wrong shape with BadRequest', () => {
    assert.throws(() => new CommunicationTokenCredential('not-a-jwt'), isCallError('InvalidToken', /not a JWT/));
    assert.throws(() => new CommunicationTokenCredential({ token: '', expiresOnTimestamp: 1 } as AccessToken), isCallError('InvalidToken', /AccessToken needs/));
    assert.throws(() => new CommunicationTokenCredential({ token: 'x', expiresOnTimestamp: Number.NaN }), isCallError('InvalidToken', /AccessToken needs/));
    assert.throws(() => new CommunicationTokenCredential(42 as never), isCallError('BadRequest', /a credential takes/));
    assert.throws(() => new CommunicationTokenCredential({ tokenRefresher: 'soon' } as never), isCallError('BadRequest', /tokenRefresher must be a function/));
    assert.throws(
      () => new CommunicationTokenCredential({ tokenRefresher: async () => 'x', undecodableTokenExpiryIntervalInSeconds: 0 }),
      isCallError('BadRequest', /undecodableTokenExpiryIntervalInSeconds/),
    );
  });

  it('starts from an AccessToken given as token, and takes AccessTokens from its refresher', async () => {
    const clock = new ManualClock({ wallNow: 1_800_000_000_000 });
    const first: AccessToken = { token: 'first', expiresOnTimestamp: clock.wallNow() + 60_000 };
    const second: AccessToken = { token: 'second', expiresOnTimestamp: clock.wallNow() + 600_000 };
    const credential = new CommunicationTokenCredential({ token: first, tokenRefresher: async () => second }, { clock });
    assert.deepEqual(await credential.getToken(), first);
    clock.advance(58_000); // within 5 s of expiry: getToken() renews
    assert.deepEqual(await credential.getToken(), second);
  });

  it("hands the refresher the abortSignal of the getToken() call that needed it", async () => {
    const clock = new ManualClock();
    const seen: (AbortSignalLike | undefined)[] = [];
    const credential = new CommunicationTokenCredential(
      {
        tokenRefresher: async (abortSignal) => {
          seen.push(abortSignal);
          return expiringIn(clock, 3600);
        },
      },
      { clock },
    );
    const controller = new AbortController();
    await credential.getToken({ abortSignal: controller.signal });
    assert.deepEqual(seen, [controller.signal]);
  });

  it('renews proactively, ahead of expiry, with refreshProactively, and gives a JWT without exp the configured lifetime', async () => {
    const clock = new ManualClock({ wallNow: 1_800_000_000_000 });
    let calls = 0;
    new CommunicationTokenCredential(
      {
        token: jwt({}), // no exp: it lasts undecodableTokenExpiryIntervalInSeconds
        tokenRefresher: async () => {
          calls++;
          return expiringIn(clock, 3600);
        },
        refreshProactively: true,
        undecodableTokenExpiryIntervalInSeconds: 120,
      },
      { clock },
    );
    clock.advance(59_000);
    assert.equal(calls, 0, 'a 120 s token is renewed half-way, not sooner');
    clock.advance(1_000);
    await Promise.resolve();
    assert.equal(calls, 1);
  });

  it('rejects getToken() with InvalidToken when the refresher returns an expired token, as the reference does', async () => {
    const clock = new ManualClock();
    const credential = new CommunicationTokenCredential({ tokenRefresher: async () => expiringIn(clock, -10) }, { clock });
    await assert.rejects(credential.getToken(), isCallError('InvalidToken', /returned an expired token/));
  });
});
