/**
 * The identity API, shaped like the reference product's REST identity API (so its `CommunicationIdentityClient`
 * works unmodified) and guarded by the access key, presented either way the reference allows:
 * `Authorization: Bearer <access key>`, or a request signed with it (HMAC-SHA256, hmacAuth.ts).
 *
 *   POST   /identities                       { createTokenWithScopes?: ["voip"] } → 201 { identity: { id }, accessToken? }
 *   POST   /identities/{id}/:issueAccessToken { scopes: ["voip"], expiresInMinutes? } → 200 { token, expiresOn }
 *
 * Scopes may add channel permissions (an extension): "channels.send:1-99", "channels.receive:1000-1999".
 *   POST   /identities/{id}/:revokeAccessTokens → 204   (every token issued so far is refused; live endpoints disconnected)
 *   DELETE /identities/{id}                   → 204   (tokens refused, live endpoints disconnected)
 *
 * Revocation and deletion end the identity's live connections through the store's `tokensRevoked` event
 * (on every node, for a shared store), not here. While the store is unreachable every route answers 503
 * `IdentityStoreUnavailable` and changes nothing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

import { IdentityApiErrorCode, channelPermissionsOfScopes, isChannelScope, type Clock } from '@backchannel/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

import { IdentityStoreUnavailableError } from '../errors.js';
import type { IdentityStore } from '../identity/IdentityStore.js';
import { VOIP_SCOPE, type TokenService } from '../identity/TokenService.js';
import { rawBodyOf } from './bodies.js';
import { HmacRefusal, isHmacAuthorization, verifyHmacRequest } from './hmacAuth.js';

/**
 * `voip`, and the channel-permission extension's `channels.send:<ranges>` / `channels.receive:<ranges>`
 * (protocol/src/permissions.ts): each checked for its syntax, at most one of each side.
 */
const scope = z.union([z.literal(VOIP_SCOPE), z.string().max(512).refine(isChannelScope, { message: `a scope is '${VOIP_SCOPE}', 'channels.send:<ranges>' or 'channels.receive:<ranges>'` })]);
const scopes = (min: number) =>
  z
    .array(scope)
    .min(min)
    .max(4)
    .superRefine((list, context) => {
      try {
        channelPermissionsOfScopes(list);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
      }
    });
const expiresInMinutes = z.number().positive().max(24 * 60);
const createBody = z.object({ createTokenWithScopes: scopes(0).optional(), expiresInMinutes: expiresInMinutes.optional() }).strict();
const issueBody = z.object({ scopes: scopes(1), expiresInMinutes: expiresInMinutes.optional() }).strict();

export interface IdentityRoutesOptions {
  accessKey: string;
  identities: IdentityStore;
  tokens: TokenService;
  defaultTtlMinutes: number;
  /** The server's clock: signed requests' `x-ms-date` is checked against its wall time. */
  clock: Clock;
}

export function registerIdentityRoutes(app: FastifyInstance, options: IdentityRoutesOptions): void {
  const { identities, tokens, defaultTtlMinutes } = options;
  const authorize = requireAccessKey(options.accessKey, options.clock);

  app.post('/identities', { preHandler: authorize }, async (request, reply) => {
    const body = parseBody(createBody, request.body ?? {}, reply);
    if (!body) return reply;
    return withStore(reply, async () => {
      const id = await identities.create();
      const requested = body.createTokenWithScopes ?? [];
      // A new identity is at generation 0: no second read of the store.
      const accessToken = requested.length > 0 ? await tokens.issue(id, requested, body.expiresInMinutes ?? defaultTtlMinutes, 0) : undefined;
      return reply.code(201).send(accessToken ? { identity: { id }, accessToken } : { identity: { id } });
    });
  });

  // '::' is fastify's escape for a literal ':' in a path.
  app.post<{ Params: { id: string } }>('/identities/:id/::issueAccessToken', { preHandler: authorize }, async (request, reply) => {
    const body = parseBody(issueBody, request.body ?? {}, reply);
    if (!body) return reply;
    return withStore(reply, async () => {
      const generation = await identities.tokenGeneration(request.params.id);
      if (generation === undefined) return reply.code(404).send(problem(IdentityApiErrorCode.IdentityNotFound, `no identity ${request.params.id}`));
      return reply.send(await tokens.issue(request.params.id, body.scopes, body.expiresInMinutes ?? defaultTtlMinutes, generation));
    });
  });

  app.post<{ Params: { id: string } }>('/identities/:id/::revokeAccessTokens', { preHandler: authorize }, async (request, reply) =>
    withStore(reply, async () => {
      if (!(await identities.revokeTokens(request.params.id))) return reply.code(404).send(problem(IdentityApiErrorCode.IdentityNotFound, `no identity ${request.params.id}`));
      return reply.code(204).send();
    }),
  );

  app.delete<{ Params: { id: string } }>('/identities/:id', { preHandler: authorize }, async (request, reply) =>
    withStore(reply, async () => {
      if (!(await identities.delete(request.params.id))) return reply.code(404).send(problem(IdentityApiErrorCode.IdentityNotFound, `no identity ${request.params.id}`));
      return reply.code(204).send();
    }),
  );
}

/**
 * Runs a route's work on the identity store; while the store is unreachable the answer is 503
 * `IdentityStoreUnavailable` with a `Retry-After`, and nothing was changed.
 */
export async function withStore(reply: FastifyReply, work: () => Promise<FastifyReply>): Promise<FastifyReply> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof IdentityStoreUnavailableError)) throw error;
    return reply.code(503).header('retry-after', '1').send(problem(IdentityApiErrorCode.IdentityStoreUnavailable, error.message));
  }
}

/** The one 401 for a wrong or missing key, and for a signature the key did not make: neither says which. */
const KEY_REFUSED = 'a valid access key is required: Authorization: Bearer <key>, or a request signed with it (HMAC-SHA256)';

/**
 * A pre-handler refusing requests that do not prove the access key: either `Authorization: Bearer <key>`
 * (compared in constant time) or an HMAC-SHA256 signature made with the key (verified by hmacAuth.ts
 * against the body's bytes, with `x-ms-date` checked against `clock`'s wall time). Every refusal is a 401
 * `Unauthorized`; a wrong signature gets the very answer a wrong key does.
 */
export function requireAccessKey(accessKey: string, clock: Clock): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const expectedKey = digest(accessKey);
  // The connection string carries the key's UTF-8 bytes in base64; the reference client signs with them.
  const hmacKey = Buffer.from(accessKey, 'utf8');
  return async (request, reply) => {
    const header = request.headers.authorization;
    if (isHmacAuthorization(header)) {
      const verdict = verifyHmacRequest(
        {
          method: request.method,
          target: request.url,
          headers: {
            authorization: header,
            host: single(request.headers.host),
            'x-ms-date': single(request.headers['x-ms-date']),
            'x-ms-content-sha256': single(request.headers['x-ms-content-sha256']),
          },
          body: rawBodyOf(request),
        },
        hmacKey,
        clock.wallNow(),
      );
      if (!verdict.ok) {
        await reply.code(401).send(problem(IdentityApiErrorCode.Unauthorized, verdict.refusal === HmacRefusal.BadSignature ? KEY_REFUSED : verdict.message));
      }
      return;
    }
    const presented = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    if (!timingSafeEqual(digest(presented), expectedKey)) {
      await reply.code(401).send(problem(IdentityApiErrorCode.Unauthorized, KEY_REFUSED));
    }
  };
}

/** A header's one value. Node types a few headers (set-cookie) as arrays; a repeated x-ms-* header arrives joined with ', ' and fails its check. */
function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown, reply: FastifyReply): T | undefined {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  void reply.code(400).send(problem(IdentityApiErrorCode.InvalidRequest, `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`));
  return undefined;
}

/** Error body in the reference API's shape: `{ error: { code, message } }`, `code` from the protocol's table. */
export function problem(code: IdentityApiErrorCode, message: string): { error: { code: IdentityApiErrorCode; message: string } } {
  return { error: { code, message } };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
