/** The identity store a configuration asks for: in memory, or shared in Redis (`redisUrl`). */
import type { ServerConfig } from '../config.js';
import type { Logger } from '../logging.js';
import type { IdentityStore } from './IdentityStore.js';
import { MemoryIdentityStore } from './MemoryIdentityStore.js';
import { RedisIdentityStore } from './RedisIdentityStore.js';

/**
 * Opens the store. With `redisUrl`, connects and joins the deployment (rejects with RedisUnreachableError
 * or DeploymentMismatchError); `resolveConfig` has made sure the token secret and access key are set then.
 */
export async function openIdentityStore(config: ServerConfig, logger: Logger): Promise<IdentityStore> {
  if (config.redisUrl === undefined) return new MemoryIdentityStore();
  return RedisIdentityStore.open({
    url: config.redisUrl,
    settings: { tokenSecret: config.tokenSecret!, accessKey: config.accessKey!, tokenIssuer: config.tokenIssuer },
    logger,
  });
}
