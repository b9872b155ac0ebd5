/**
 * The identity API, shaped like the reference product's REST identity API and guarded by the access key:
 *
 *   POST   /identities                       { createTokenWithScopes?: ["voip"] } → 201 { identity: { id }, accessToken? }
 *   POST   /identities/{id}/:issueAccessToken { scopes: ["voip"], expiresInMinutes? } → 200 { token, expiresOn }
 *   POST   /identities/{id}/:revokeAccessTokens → 204   (every token issued so far is refused; live endpoints disconnected)
 *   DELETE /identities/{id}                   → 204   (tokens refused, live endpoints disconnected)
 */
import { createHash, timingSafeEqual } from 'node:crypto';

import { IdentityApiErrorCode } from '@backchannel/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

import type { IdentityStore } from '../identity/IdentityStore.js';
import { VOIP_SCOPE, type TokenService } from '../identity/TokenService.js';

const scopes = z.array(z.enum([VOIP_SCOPE])).max(4);
const expiresInMinutes = z.number().positive().max(24 * 60);
const createBody = z.object({ createTokenWithScopes: scopes.optional(), expiresInMinutes: expiresInMinutes.optional() }).strict();
const issueBody = z.object({ scopes: scopes.min(1), expiresInMinutes: expiresInMinutes.optional() }).strict();

export interface IdentityRoutesOptions {
  accessKey: string;
  identities: IdentityStore;
  tokens: TokenService;
  defaultTtlMinutes: number;
  /** The identity's tokens no longer hold (revoked or identity deleted): end its live connections. */
  onTokensRevoked(identity: string): void;
}

export function registerIdentityRoutes(app: FastifyInstance, options: IdentityRoutesOptions): void {
  const { identities, tokens, defaultTtlMinutes } = options;
  const authorize = requireAccessKey(options.accessKey);

  app.post('/identities', { preHandler: authorize }, async (request, reply) => {
    const body = parseBody(createBody, request.body ?? {}, reply);
    if (!body) return reply;
    const id = identities.create();
    const requested = body.createTokenWithScopes ?? [];
    const accessToken =
      requested.length > 0 ? await tokens.issue(id, requested, body.expiresInMinutes ?? defaultTtlMinutes, identities.tokenGeneration(id)!) : undefined;
    return reply.code(201).send(accessToken ? { identity: { id }, accessToken } : { identity: { id } });
  });

  // '::' is fastify's escape for a literal ':' in a path.
  app.post<{ Params: { id: string } }>('/identities/:id/::issueAccessToken', { preHandler: authorize }, async (request, reply) => {
    const body = parseBody(issueBody, request.body ?? {}, reply);
    if (!body) return reply;
    const generation = identities.tokenGeneration(request.params.id);
    if (generation === undefined) return reply.code(404).send(problem(IdentityApiErrorCode.IdentityNotFound, `no identity ${request.params.id}`));
    return reply.send(await tokens.issue(request.params.id, body.scopes, body.expiresInMinutes ?? defaultTtlMinutes, generation));
  });

  app.post<{ Params: { id: string } }>('/identities/:id/::revokeAccessTokens', { preHandler: authorize }, async (request, reply) => {
    if (!identities.revokeTokens(request.params.id)) return reply.code(404).send(problem(IdentityApiErrorCode.IdentityNotFound, `no identity ${request.params.id}`));
    options.onTokensRevoked(request.params.id);
    return reply.code(204).send();
  });

  app.delete<{ Params: { id: string } }>('/identities/:id', { preHandler: authorize }, async (request, reply) => {
    if (!identities.delete(request.params.id)) return reply.code(404).send(problem(IdentityApiErrorCode.IdentityNotFound, `no identity ${request.params.id}`));
    options.onTokensRevoked(request.params.id);
    return reply.code(204).send();
  });
}

/** A pre-handler refusing requests without `Authorization: Bearer <accessKey>` (compared in constant time). */
export function requireAccessKey(accessKey: string): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const expectedKey = digest(accessKey);
  return async (request, reply) => {
    const header = request.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    if (!timingSafeEqual(digest(presented), expectedKey)) {
      await reply.code(401).send(problem(IdentityApiErrorCode.Unauthorized, 'a valid access key is required: Authorization: Bearer <key>'));
    }
  };
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
