/**
 * After the identity store was unreachable: the live connections are checked again. Revocations and
 * deletions announced while this node could not hear them (Redis down, or this node cut off from it) were
 * missed; the store now tells the truth, and every connection whose token generation is no longer its
 * identity's current one, or whose identity is gone, is ended as a revoked one would have been.
 */
import { IdentityStoreUnavailableError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { IdentityStore } from './IdentityStore.js';

/** Identities read at once. */
const BATCH = 64;

/** What revalidation needs of a live, authenticated connection. */
export interface LiveConnection {
  readonly identity: string;
  /** The generation its token carried when it was accepted (or last refreshed). */
  readonly tokenGeneration: number;
  /** Ends it as revoked. */
  revoke(): void;
}

/**
 * Checks every connection in `connections` against `store` (one read per identity). Resolves with the
 * number of connections ended. If the store goes down again meanwhile, it stops: the next `up` runs it again.
 */
export async function revalidate(connections: Iterable<LiveConnection>, store: IdentityStore, logger: Logger): Promise<number> {
  const byIdentity = new Map<string, LiveConnection[]>();
  for (const connection of connections) {
    if (!connection.identity) continue;
    const list = byIdentity.get(connection.identity);
    if (list) list.push(connection);
    else byIdentity.set(connection.identity, [connection]);
  }
  let ended = 0;
  const identities = [...byIdentity];
  try {
    // A batch of reads at a time: quick for many identities, and never more than a batch in flight.
    for (let start = 0; start < identities.length; start += BATCH) {
      const batch = identities.slice(start, start + BATCH);
      const current = await Promise.all(batch.map(([identity]) => store.tokenGeneration(identity)));
      batch.forEach(([, list], i) => {
        for (const connection of list) {
          if (connection.tokenGeneration === current[i]) continue;
          connection.revoke();
          ended++;
        }
      });
    }
  } catch (error) {
    if (!(error instanceof IdentityStoreUnavailableError)) throw error;
    logger.warn({ reason: error.message }, 'revalidation of live connections interrupted: the identity store went down again');
  }
  logger.info({ identities: byIdentity.size, ended }, 'live connections revalidated against the identity store');
  return ended;
}
