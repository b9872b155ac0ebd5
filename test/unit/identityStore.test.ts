/**
 * The identity store's pure parts, with no Redis: key naming, the revocation messages, the deployment
 * record and its fingerprints, the correction of racing reads, the reconnection backoff, the configuration
 * rules of `redisUrl`; and the token checks of a connection while the store is unreachable, and the
 * revalidation of live connections after, against a store that answers what the test says.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { CallErrorCode, ServerErrorCode } from '@backchannel/protocol';

import { redactConfig, resolveConfig } from '../../packages/server/src/config.js';
import { ConfigError, DeploymentMismatchError, IdentityStoreUnavailableError, RedisUnreachableError, TokenError } from '../../packages/server/src/errors.js';
import { Emitter } from '../../packages/server/src/events.js';
import {
  fingerprint,
  mismatchMessage,
  mismatchedSetting,
  newDeploymentRecord,
  parseDeploymentRecord,
  type DeploymentSettings,
} from '../../packages/server/src/identity/deployment.js';
import { newIdentityId, type IdentityStore, type IdentityStoreEvents, type StoreHealth } from '../../packages/server/src/identity/IdentityStore.js';
import { MemoryIdentityStore } from '../../packages/server/src/identity/MemoryIdentityStore.js';
import { RecentRevocations } from '../../packages/server/src/identity/RecentRevocations.js';
import { reconnectDelayMs } from '../../packages/server/src/identity/RedisLink.js';
import { KEY_PREFIX, encodeRevocation, isIdentityId, parseRevocation, redactRedisUrl, redisKeys } from '../../packages/server/src/identity/redisKeys.js';
import { revalidate, type LiveConnection } from '../../packages/server/src/identity/revalidate.js';
import { TokenService } from '../../packages/server/src/identity/TokenService.js';
import { silentLogger } from '../../packages/server/src/logging.js';
import { ConnectionToken } from '../../packages/server/src/signaling/ConnectionToken.js';
import { ManualClock } from '../helpers/clock.js';

const SETTINGS: DeploymentSettings = { tokenSecret: 'a-token-secret-of-at-least-32-characters', accessKey: 'an-access-key-16+', tokenIssuer: 'backchannel' };

describe('Redis key naming', () => {
  it('puts every key and the channel under backchannel:v1:', () => {
    const id = newIdentityId();
    assert.equal(redisKeys.identity(id), `backchannel:v1:identity:${id}`);
    assert.equal(redisKeys.deployment, 'backchannel:v1:deployment');
    assert.equal(redisKeys.revocations, 'backchannel:v1:revocations');
    assert.equal(KEY_PREFIX, 'backchannel:v1:');
  });

  it('takes as identity ids only those the server issues, so that no other string reaches a key', () => {
    assert.equal(isIdentityId(newIdentityId()), true);
    for (const id of ['', '8:backchannel:', '8:backchannel:nobody', `8:backchannel:${'a'.repeat(36)}`, `${newIdentityId()}x`, `x${newIdentityId()}`, '8:backchannel:*', newIdentityId().toUpperCase()]) {
      assert.equal(isIdentityId(id), false, id);
    }
  });
});

describe('revocation messages', () => {
  const identity = newIdentityId();

  it('round-trip a revocation and a deletion', () => {
    for (const revocation of [{ node: 'n1', identity, generation: 3 }, { node: 'n2', identity, deleted: true as const }]) {
      assert.deepEqual(parseRevocation(encodeRevocation(revocation)), revocation);
    }
    assert.equal(encodeRevocation({ node: 'n1', identity, generation: 3 }), `{"v":1,"node":"n1","identity":"${identity}","generation":3}`);
  });

  it('reads the shape the Lua scripts publish (cjson: keys in any order)', () => {
    assert.deepEqual(parseRevocation(`{"generation":7,"identity":"${identity}","node":"x","v":1}`), { node: 'x', identity, generation: 7 });
    assert.deepEqual(parseRevocation(`{"deleted":true,"identity":"${identity}","node":"x","v":1}`), { node: 'x', identity, deleted: true });
  });

  it('ignores anything else: junk, another version, a bad generation, a string that is no identity', () => {
    for (const text of [
      'not json',
      'null',
      '[]',
      `{"v":2,"node":"n","identity":"${identity}","generation":1}`,
      `{"v":1,"identity":"${identity}","generation":1}`,
      `{"v":1,"node":"n","identity":"${identity}","generation":-1}`,
      `{"v":1,"node":"n","identity":"${identity}","generation":1.5}`,
      `{"v":1,"node":"n","identity":"${identity}","generation":"1"}`,
      `{"v":1,"node":"n","identity":"${identity}","deleted":false}`,
      `{"v":1,"node":"n","identity":"someone","generation":1}`,
    ]) {
      assert.equal(parseRevocation(text), undefined, text);
    }
  });
});

describe('redactRedisUrl', () => {
  it('hides a password and a user, and keeps the address and database', () => {
    assert.equal(redactRedisUrl('redis://:hunter2@redis.internal:6380/2'), 'redis://:***@redis.internal:6380/2');
    assert.equal(redactRedisUrl('rediss://app:hunter2@redis.internal'), 'rediss://***:***@redis.internal');
    assert.equal(redactRedisUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
    assert.equal(redactRedisUrl('::not a url'), '(an unparsable URL)');
  });
});

describe('the deployment record', () => {
  it('holds fingerprints of the secrets, never the secrets', async () => {
    const record = await newDeploymentRecord(SETTINGS, new Date('2026-01-01T00:00:00Z'));
    const text = JSON.stringify(record);
    assert.ok(!text.includes(SETTINGS.tokenSecret) && !text.includes(SETTINGS.accessKey));
    assert.ok(!text.includes(Buffer.from(SETTINGS.tokenSecret).toString('base64')) && !text.includes(Buffer.from(SETTINGS.accessKey).toString('hex')));
    assert.match(record.tokenSecret, /^[0-9a-f]{64}$/);
    assert.notEqual(record.tokenSecret, record.accessKey);
    assert.equal(record.tokenIssuer, 'backchannel');
    assert.equal(record.createdAt, '2026-01-01T00:00:00.000Z');
    assert.deepEqual(parseDeploymentRecord(text), record);
  });

  it('fingerprints differ with the salt and with the setting, for the same secret', async () => {
    const salt = Buffer.alloc(16, 1);
    const a = await fingerprint('same secret', salt, 'tokenSecret');
    assert.deepEqual(await fingerprint('same secret', salt, 'tokenSecret'), a);
    assert.notDeepEqual(await fingerprint('same secret', Buffer.alloc(16, 2), 'tokenSecret'), a);
    assert.notDeepEqual(await fingerprint('same secret', salt, 'accessKey'), a);
  });

  it('names the first setting that differs, and none when all match', async () => {
    const record = await newDeploymentRecord(SETTINGS);
    assert.equal(await mismatchedSetting(record, SETTINGS), undefined);
    assert.equal(await mismatchedSetting(record, { ...SETTINGS, tokenSecret: `${SETTINGS.tokenSecret}!` }), 'tokenSecret');
    assert.equal(await mismatchedSetting(record, { ...SETTINGS, accessKey: 'another-access-key' }), 'accessKey');
    assert.equal(await mismatchedSetting(record, { ...SETTINGS, tokenIssuer: 'elsewhere' }), 'tokenIssuer');
  });

  it('says which flag differs, in a message that carries no secret', async () => {
    const record = await newDeploymentRecord(SETTINGS);
    const message = mismatchMessage('tokenSecret', record, 'redis://:***@r:6379');
    assert.match(message, /tokenSecret \(--token-secret\) differs from the one of the deployment already in Redis at redis:\/\/:\*\*\*@r:6379/);
    assert.ok(!message.includes(SETTINGS.tokenSecret));
  });

  it('refuses a stored record this version does not read', () => {
    for (const text of ['', 'junk', '{}', '{"v":2}', JSON.stringify({ v: 1, salt: 'x', tokenSecret: 'short', accessKey: 'a'.repeat(64), tokenIssuer: 'b', createdAt: 'c' })]) {
      assert.equal(parseDeploymentRecord(text), undefined, text);
    }
  });
});

describe('RecentRevocations', () => {
  it('corrects a read that raced a revocation or a deletion, and leaves others alone', () => {
    const recent = new RecentRevocations();
    recent.revoked('a', 3);
    recent.deleted('b');
    assert.equal(recent.correct('a', 2), 3, 'a read older than the revocation heard');
    assert.equal(recent.correct('a', 5), 5, 'a read newer than it');
    assert.equal(recent.correct('a', undefined), undefined, 'deleted since');
    assert.equal(recent.correct('b', 4), undefined, 'deleted: never comes back');
    assert.equal(recent.correct('c', 1), 1, 'nothing heard');
    recent.revoked('a', 2);
    assert.equal(recent.correct('a', 0), 3, 'a generation only grows');
    recent.revoked('b', 9);
    assert.equal(recent.correct('b', 9), undefined, 'a deletion is not undone');
  });

  it('keeps at most its capacity, forgetting the oldest first', () => {
    const recent = new RecentRevocations(2);
    recent.revoked('a', 1);
    recent.revoked('b', 1);
    recent.revoked('a', 2); // refreshed: now the newest
    recent.revoked('c', 1);
    assert.equal(recent.size, 2);
    assert.equal(recent.correct('b', 0), 0, 'b was the oldest');
    assert.equal(recent.correct('a', 0), 2);
  });
});

describe('reconnectDelayMs', () => {
  it('doubles from 100 ms and stays at 2 s', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 50].map(reconnectDelayMs), [100, 200, 400, 800, 1600, 2000, 2000, 2000]);
  });
});

describe('configuration of redisUrl', () => {
  const shared = { tokenSecret: SETTINGS.tokenSecret, accessKey: SETTINGS.accessKey };

  it('needs the token secret and the access key, every node must share them', () => {
    assert.throws(() => resolveConfig({ redisUrl: 'redis://127.0.0.1:6379', accessKey: SETTINGS.accessKey }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.key, 'tokenSecret');
      assert.match(e.message, /required with redisUrl/);
      return true;
    });
    assert.throws(() => resolveConfig({ redisUrl: 'redis://127.0.0.1:6379', tokenSecret: SETTINGS.tokenSecret }), (e: unknown) => e instanceof ConfigError && e.key === 'accessKey');
    assert.equal(resolveConfig({ redisUrl: 'redis://127.0.0.1:6379', ...shared }).redisUrl, 'redis://127.0.0.1:6379');
    assert.equal(resolveConfig({}).redisUrl, undefined);
  });

  it('takes only redis:// and rediss:// URLs, and never shows a password', () => {
    assert.equal(resolveConfig({ redisUrl: 'rediss://:pw@r.internal:6380/1', ...shared }).redisUrl, 'rediss://:pw@r.internal:6380/1');
    for (const url of ['http://127.0.0.1:6379', 'localhost:6379', '127.0.0.1']) {
      assert.throws(() => resolveConfig({ redisUrl: url, ...shared }), (e: unknown) => e instanceof ConfigError && e.key === 'redisUrl' && /redis:\/\/ or rediss:\/\//.test(e.message), url);
    }
    assert.throws(() => resolveConfig({ redisUrl: 'http://:hunter2@r:6379', ...shared }), (e: unknown) => e instanceof ConfigError && !e.message.includes('hunter2'));
    assert.equal(redactConfig(resolveConfig({ redisUrl: 'redis://:hunter2@r:6379', ...shared })).redisUrl, 'redis://:***@r:6379');
  });
});

describe('the errors of the identity store', () => {
  it('carry stable codes', () => {
    assert.equal(new IdentityStoreUnavailableError('down').code, CallErrorCode.IdentityStoreUnavailable);
    assert.equal(new RedisUnreachableError('redis://r', 'ECONNREFUSED').code, ServerErrorCode.RedisUnreachable);
    assert.equal(new RedisUnreachableError('redis://r', 'ECONNREFUSED').message, 'cannot reach Redis at redis://r: ECONNREFUSED');
    assert.equal(new DeploymentMismatchError('accessKey', 'm').code, ServerErrorCode.DeploymentMismatch);
  });
});

/** A store whose answers the test sets: a generation per identity, or down. */
class ScriptedStore extends Emitter<IdentityStoreEvents> implements IdentityStore {
  readonly kind = 'memory';
  readonly generations = new Map<string, number>();
  down = false;
  reads = 0;

  get health(): StoreHealth {
    return { up: !this.down, reason: this.down ? 'scripted' : undefined };
  }

  async create(): Promise<string> {
    throw new Error('not used');
  }

  async tokenGeneration(id: string): Promise<number | undefined> {
    this.reads++;
    if (this.down) throw new IdentityStoreUnavailableError('the identity store (Redis) is unreachable: scripted');
    return this.generations.get(id);
  }

  async revokeTokens(): Promise<boolean> {
    throw new Error('not used');
  }

  async delete(): Promise<boolean> {
    throw new Error('not used');
  }

  async close(): Promise<void> {}
}

describe('a connection’s token checks while the store is unreachable', () => {
  const clock = new ManualClock();
  const tokens = new TokenService(SETTINGS.tokenSecret, 'backchannel', 0, clock);
  const identity = newIdentityId();

  it('refuses a new connection with IdentityStoreUnavailable (it may retry), not InvalidToken', async () => {
    const store = new ScriptedStore();
    store.down = true;
    const connection = new ConnectionToken({ tokens, identities: store, clock }, () => undefined);
    const token = (await tokens.issue(identity, ['voip'], 10, 0)).token;
    await assert.rejects(connection.verify(token), (e: unknown) => e instanceof IdentityStoreUnavailableError && e.code === 'IdentityStoreUnavailable');
  });

  it('lets a live connection refresh under the generation it was accepted with, and refuses another generation as revoked', async () => {
    const store = new ScriptedStore();
    store.generations.set(identity, 2);
    const connection = new ConnectionToken({ tokens, identities: store, clock }, () => undefined);
    connection.accept(await connection.verify((await tokens.issue(identity, ['voip'], 10, 2)).token));
    assert.equal(connection.generation, 2);
    store.down = true;
    const refreshed = await connection.verify((await tokens.issue(identity, ['voip'], 20, 2)).token);
    connection.refresh(refreshed);
    assert.equal(connection.expiresAt, refreshed.expiresAt);
    // A token of a later generation means the identity was revoked elsewhere: this connection must end.
    await assert.rejects(connection.verify((await tokens.issue(identity, ['voip'], 20, 3)).token), (e: unknown) => e instanceof TokenError && /revoked/.test(e.message));
    // Another identity's token has no known state on this connection.
    await assert.rejects(connection.verify((await tokens.issue(newIdentityId(), ['voip'], 20, 0)).token), IdentityStoreUnavailableError);
    connection.stop();
  });
});

describe('revalidate', () => {
  const connection = (identity: string, tokenGeneration: number): LiveConnection & { revoked: boolean } => {
    const c = { identity, tokenGeneration, revoked: false, revoke: () => void (c.revoked = true) };
    return c;
  };

  it('ends the connections whose generation is no longer current or whose identity is gone, reading each identity once', async () => {
    const store = new ScriptedStore();
    const [kept, revoked, gone] = [newIdentityId(), newIdentityId(), newIdentityId()];
    store.generations.set(kept, 1).set(revoked, 2);
    const live = [connection(kept, 1), connection(kept, 1), connection(revoked, 1), connection(gone, 0), connection('', -1)];
    assert.equal(await revalidate(live, store, silentLogger()), 2);
    assert.deepEqual(live.map((c) => c.revoked), [false, false, true, true, false]);
    assert.equal(store.reads, 3);
  });

  it('stops without ending anything more when the store goes down again', async () => {
    const store = new ScriptedStore();
    store.down = true;
    const live = [connection(newIdentityId(), 0)];
    assert.equal(await revalidate(live, store, silentLogger()), 0);
    assert.equal(live[0]!.revoked, false);
  });
});

describe('MemoryIdentityStore', () => {
  it('tells of revocations and deletions, and is always up', async () => {
    const store = new MemoryIdentityStore();
    const heard: string[] = [];
    store.on('tokensRevoked', (identity) => heard.push(identity));
    const id = await store.create();
    assert.equal(await store.tokenGeneration(id), 0);
    assert.equal(await store.revokeTokens(id), true);
    assert.equal(await store.tokenGeneration(id), 1);
    assert.equal(await store.delete(id), true);
    assert.equal(await store.tokenGeneration(id), undefined);
    assert.equal(await store.revokeTokens(id), false);
    assert.deepEqual(heard, [id, id]);
    assert.deepEqual(store.health, { up: true, reason: undefined });
  });
});
