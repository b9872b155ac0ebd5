/**
 * What the Redis identity store writes, named and shaped in one place (pure; unit-tested): the keys, the
 * revocation messages nodes publish to each other, and the Redis URL as it may be shown.
 *
 * Every key starts with `backchannel:v1:`: a Redis shared with other applications keeps them apart, and a
 * later layout can move to `v2:` beside this one instead of reinterpreting it.
 */

/** The prefix of every key and channel. `v1` is this layout's version: never change what it means. */
export const KEY_PREFIX = 'backchannel:v1:';

export const redisKeys = {
  /** A hash per identity: `generation` (its token generation), `createdAt` (ms since the epoch). */
  identity: (id: string): string => `${KEY_PREFIX}identity:${id}`,
  /** A string: the deployment's record (deployment.ts), written once by the first node. */
  deployment: `${KEY_PREFIX}deployment`,
  /** The pub/sub channel revocations and deletions are announced on, to every node. */
  revocations: `${KEY_PREFIX}revocations`,
} as const;

/** The identity ids this server issues (`newIdentityId`); anything else names no identity. */
const IDENTITY_ID = /^8:backchannel:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Whether `id` could be an identity of this server. The store answers "no such identity" for anything
 * else without asking Redis, so that ids from requests (a path parameter, a token's `sub`) never reach a key
 * unchecked, whatever their length or bytes.
 */
export function isIdentityId(id: string): boolean {
  return IDENTITY_ID.test(id);
}

/** What one node tells the others: an identity's tokens stopped holding. */
export type Revocation =
  /** Revoked: tokens must carry `generation` from now on. */
  | { node: string; identity: string; generation: number }
  /** Deleted: no token holds any more. */
  | { node: string; identity: string; deleted: true };

/**
 * The wire form of a {@link Revocation} (JSON, version 1). The Lua scripts of RedisIdentityStore build the
 * same shape with cjson, in the same transaction as the change itself; this is the reference for tests.
 */
export function encodeRevocation(revocation: Revocation): string {
  return JSON.stringify({ v: 1, ...revocation });
}

/** Reads a revocation message; undefined for anything that is not one (another version, junk). */
export function parseRevocation(text: string): Revocation | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { v, node, identity, generation, deleted } = value as Record<string, unknown>;
  if (v !== 1 || typeof node !== 'string' || typeof identity !== 'string' || !isIdentityId(identity)) return undefined;
  if (deleted === true) return { node, identity, deleted: true };
  if (typeof generation === 'number' && Number.isSafeInteger(generation) && generation >= 0) return { node, identity, generation };
  return undefined;
}

/**
 * `url` with its password (and user) replaced by `***`, for messages and logs: a Redis URL may carry
 * credentials (`redis://:password@host:6379`).
 */
export function redactRedisUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(an unparsable URL)';
  }
  if (parsed.password) parsed.password = '***';
  if (parsed.username) parsed.username = '***';
  return parsed.toString();
}
