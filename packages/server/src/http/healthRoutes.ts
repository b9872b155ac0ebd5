/**
 * Liveness and readiness, unauthenticated, for load balancers and orchestrators:
 *
 *   GET /healthz → 200 { status: 'ok' }                    the process answers (restart it if not)
 *   GET /readyz  → 200 { status: 'ready' }                 send it new clients
 *                → 503 { status: 'not ready', reasons }    do not: it is shutting down, or cut off from
 *                                                          the identity store its deployment shares
 *
 * A node that is not ready still serves the clients it has (docs/cluster.md, "While Redis is down"):
 * readiness is about new ones.
 */
import type { FastifyInstance } from 'fastify';

export interface HealthRoutesOptions {
  /** Why the node should get no new clients now; empty when ready. */
  notReadyReasons(): string[];
}

export function registerHealthRoutes(app: FastifyInstance, options: HealthRoutesOptions): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const reasons = options.notReadyReasons();
    if (reasons.length === 0) return { status: 'ready' };
    return reply.code(503).send({ status: 'not ready', reasons });
  });
}
