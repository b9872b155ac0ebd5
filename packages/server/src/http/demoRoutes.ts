/**
 * Demo mode: the browser demo page at `/` and an unauthenticated token endpoint for it.
 *
 *   POST /demo/token { displayName? } → 201 { identity: { id }, accessToken: { token, expiresOn } }
 *
 * Anyone who can reach the server can get a token in demo mode: it is for trying Backchannel on a laptop
 * or a private network, never for a deployment. Outside demo mode neither route exists.
 */
import { existsSync } from 'node:fs';

import fastifyStatic from '@fastify/static';
import { ServerErrorCode } from '@backchannel/protocol';
import type { FastifyInstance } from 'fastify';

import type { IdentityStore } from '../identity/IdentityStore.js';
import { VOIP_SCOPE, type TokenService } from '../identity/TokenService.js';
import { withStore } from './identityRoutes.js';

/** The code of the 404 at `/` when the demo directory holds no built app. */
const DEMO_NOT_BUILT = ServerErrorCode.DemoNotBuilt;

export interface DemoRoutesOptions {
  identities: IdentityStore;
  tokens: TokenService;
  /** Lifetime of demo tokens, minutes. */
  ttlMinutes: number;
  /** The built demo app (index.html and assets), served at `/` when it exists. */
  staticDir: string;
}

export async function registerDemoRoutes(app: FastifyInstance, options: DemoRoutesOptions): Promise<void> {
  const { identities, tokens } = options;
  app.post('/demo/token', async (_request, reply) =>
    withStore(reply, async () => {
      const id = await identities.create();
      const accessToken = await tokens.issue(id, [VOIP_SCOPE], options.ttlMinutes, 0); // a new identity is at generation 0
      return reply.code(201).send({ identity: { id }, accessToken });
    }),
  );
  if (existsSync(options.staticDir)) {
    await app.register(fastifyStatic, { root: options.staticDir, prefix: '/' });
  } else {
    app.get('/', async (_request, reply) =>
      reply.code(404).send({ error: { code: DEMO_NOT_BUILT, message: 'the demo app is not built: run `npm run build` (or `npm start`) at the repository root' } }),
    );
  }
}
