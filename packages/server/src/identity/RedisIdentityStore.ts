/**
 * Identities in Redis, shared by every node of a deployment (`serve --redis`, docs/cluster.md): a token
 * issued by one node holds on all of them and outlives any of them, and a revocation or deletion on one
 * ends the identity's connections on every node.
 *
 * Each change and its announcement are one Lua script, so they are applied together or not at all: no
 * node can see a revoked generation without the announcement having been published, nor the other way
 * round. A node applies its own changes at once (`tokensRevoked` before the call resolves) and ignores its
 * own announcements when they come back.
 *
 * While Redis is unreachable every method rejects at once with IdentityStoreUnavailableError: nothing is
 * changed locally only (a revocation only one node knew of would be lost to the others). How the server
 * answers then is in docs/cluster.md ("While Redis is down").
 */
import { randomUUID } from 'node:crypto';

import type { Redis } from 'ioredis';

import { DeploymentMismatchError, IdentityStoreUnavailableError } from '../errors.js';
import { Emitter } from '../events.js';
import type { Logger } from '../logging.js';
import { mismatchMessage, mismatchedSetting, newDeploymentRecord, parseDeploymentRecord, type DeploymentSettings } from './deployment.js';
import { newIdentityId, type IdentityStore, type IdentityStoreEvents, type StoreHealth } from './IdentityStore.js';
import { RecentRevocations } from './RecentRevocations.js';
import { RedisLink } from './RedisLink.js';
import { isIdentityId, parseRevocation, redactRedisUrl, redisKeys } from './redisKeys.js';

/** KEYS[1] the identity; ARGV channel, node, identity. → the new generation, or -1 for no such identity. */
const REVOKE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local generation = redis.call('HINCRBY', KEYS[1], 'generation', 1)
redis.call('PUBLISH', ARGV[1], cjson.encode({ v = 1, node = ARGV[2], identity = ARGV[3], generation = generation }))
return generation`;

/** KEYS[1] the identity; ARGV channel, node, identity. → 1 deleted, 0 no such identity. */
const DELETE = `
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('PUBLISH', ARGV[1], cjson.encode({ v = 1, node = ARGV[2], identity = ARGV[3], deleted = true }))
return 1`;

export interface RedisIdentityStoreOptions {
  /** The Redis URL (`--redis`). */
  url: string;
  /** What every node of the deployment shares; checked against the deployment record at every connection. */
  settings: DeploymentSettings;
  logger: Logger;
  /** Passed to RedisLink: command timeout and PING interval, ms. */
  commandTimeoutMs?: number;
  pingIntervalMs?: number;
}

/** Identities in Redis (see the module comment). */
export class RedisIdentityStore extends Emitter<IdentityStoreEvents> implements IdentityStore {
  readonly kind = 'redis';
  /** This node, in the announcements it publishes: what it hears from itself it has already applied. */
  readonly #node = randomUUID();
  readonly #options: RedisIdentityStoreOptions;
  readonly #recent = new RecentRevocations();
  #link: RedisLink | undefined;

  private constructor(options: RedisIdentityStoreOptions) {
    super();
    this.#options = options;
  }

  /**
   * Connects to Redis and joins the deployment there (or starts it: the first node writes its record).
   * Rejects with RedisUnreachableError or DeploymentMismatchError, leaving nothing open.
   */
  static async open(options: RedisIdentityStoreOptions): Promise<RedisIdentityStore> {
    const store = new RedisIdentityStore(options);
    store.#link = await RedisLink.open({
      url: options.url,
      channel: redisKeys.revocations,
      logger: options.logger,
      commandTimeoutMs: options.commandTimeoutMs,
      pingIntervalMs: options.pingIntervalMs,
      onMessage: (message) => store.#heard(message),
      onConnected: (client) => store.#joinDeployment(client),
    });
    store.#link.on('down', (reason) => store.safeEmit('down', reason));
    store.#link.on('up', () => store.safeEmit('up'));
    return store;
  }

  get health(): StoreHealth {
    return this.#link?.health ?? { up: false, reason: 'closed' };
  }

  /**
   * The commands client, for the cluster's own keys (cluster/ClusterNode.ts): one connection to Redis per
   * node, one health. Use it only while {@link health} is up.
   */
  get redis(): Redis {
    if (!this.#link) throw new Error('the store is not open');
    return this.#link.commands;
  }

  /** The round trip of the last PING, ms (undefined before one was answered). */
  get lastRoundTripMs(): number | undefined {
    return this.#link?.lastRoundTripMs;
  }

  /** Times the connection to Redis was re-established since start. */
  get reconnects(): number {
    return this.#link?.reconnects ?? 0;
  }

  async create(): Promise<string> {
    const id = newIdentityId();
    await this.#command((redis) => redis.hset(redisKeys.identity(id), 'generation', 0, 'createdAt', Date.now()));
    return id;
  }

  async tokenGeneration(id: string): Promise<number | undefined> {
    if (!isIdentityId(id)) return undefined;
    const read = await this.#command((redis) => redis.hget(redisKeys.identity(id), 'generation'));
    return this.#recent.correct(id, read === null ? undefined : Number(read));
  }

  async revokeTokens(id: string): Promise<boolean> {
    if (!isIdentityId(id)) return false;
    const generation = Number(await this.#command((redis) => redis.eval(REVOKE, 1, redisKeys.identity(id), redisKeys.revocations, this.#node, id)));
    if (generation < 0) return false;
    this.#recent.revoked(id, generation);
    this.safeEmit('tokensRevoked', id);
    return true;
  }

  async delete(id: string): Promise<boolean> {
    if (!isIdentityId(id)) return false;
    const deleted = Number(await this.#command((redis) => redis.eval(DELETE, 1, redisKeys.identity(id), redisKeys.revocations, this.#node, id)));
    if (deleted !== 1) return false;
    this.#recent.deleted(id);
    this.safeEmit('tokensRevoked', id);
    return true;
  }

  async close(): Promise<void> {
    this.#link?.close();
  }

  /** Runs one command, or fails at once with IdentityStoreUnavailableError while Redis is unreachable. */
  async #command<T>(run: (redis: Redis) => Promise<T>): Promise<T> {
    const link = this.#link;
    if (!link?.health.up) throw new IdentityStoreUnavailableError(`the identity store (Redis) is unreachable: ${link?.health.reason ?? 'closed'}`);
    try {
      return await run(link.commands);
    } catch (error) {
      throw new IdentityStoreUnavailableError(`the identity store (Redis) failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /** An announcement from a node (this one's are already applied). */
  #heard(message: string): void {
    const revocation = parseRevocation(message);
    if (!revocation) {
      this.#options.logger.warn({ message: message.slice(0, 200) }, 'ignored a malformed revocation message');
      return;
    }
    if (revocation.node === this.#node) return;
    if ('deleted' in revocation) this.#recent.deleted(revocation.identity);
    else this.#recent.revoked(revocation.identity, revocation.generation);
    this.safeEmit('tokensRevoked', revocation.identity);
  }

  /**
   * On every connection to Redis: this node's settings must be the deployment's. The first node of a
   * deployment (or the first after Redis lost its data) writes the record; SET NX makes one winner when
   * several start at once, and the others compare with what it wrote.
   */
  async #joinDeployment(redis: Redis): Promise<void> {
    const { settings, logger, url } = this.#options;
    let stored = await redis.get(redisKeys.deployment);
    if (stored === null) {
      const record = JSON.stringify(await newDeploymentRecord(settings));
      if ((await redis.set(redisKeys.deployment, record, 'NX')) === 'OK') {
        // On a restart of this node or another, an empty Redis means its data was lost (no persistence):
        // identities issued before are gone. Said once, by the node that notices.
        if (this.#link) logger.warn('Redis came back without the deployment record: its data was lost, and every identity with it');
        else logger.info('started a new deployment in Redis');
        return;
      }
      stored = await redis.get(redisKeys.deployment);
    }
    const record = stored === null ? undefined : parseDeploymentRecord(stored);
    if (!record) {
      throw new DeploymentMismatchError('tokenSecret', `the deployment record in Redis at ${redactRedisUrl(url)} (key ${redisKeys.deployment}) is not one this version reads`);
    }
    const setting = await mismatchedSetting(record, settings);
    if (setting) throw new DeploymentMismatchError(setting, mismatchMessage(setting, record, redactRedisUrl(url)));
  }
}
