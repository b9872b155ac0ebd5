/**
 * Request bodies: the two content types the server accepts, parsed, with the bytes they came in kept.
 * The reference's HMAC scheme (hmacAuth.ts) signs a hash of the body's bytes, which a re-serialized
 * parsed value would not reproduce (key order, spacing, escapes), so the check needs the bytes themselves.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

const EMPTY = new Uint8Array(0);
/** Each parsed request's body bytes; dropped with the request. */
const rawBodies = new WeakMap<FastifyRequest, Buffer>();

/**
 * Replaces fastify's JSON and plain-text parsers (the only two it has, so every accepted body is kept):
 * the same values as before, and the bytes recorded for {@link rawBodyOf}. Any other content type is
 * refused by fastify (415) before a route or its authentication runs.
 */
export function registerBodyParsers(app: FastifyInstance): void {
  // Clients often send `Content-Type: application/json` on bodiless requests (DELETE): take that as no body.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    rawBodies.set(request, body);
    if (body.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(body.toString('utf8')));
    } catch {
      done(Object.assign(new Error('the body is not valid JSON'), { statusCode: 400 }), undefined);
    }
  });
  app.addContentTypeParser('text/plain', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    rawBodies.set(request, body);
    done(null, body.toString('utf8'));
  });
}

/** The bytes of `request`'s body as received; empty when it had none. */
export function rawBodyOf(request: FastifyRequest): Uint8Array {
  return rawBodies.get(request) ?? EMPTY;
}
