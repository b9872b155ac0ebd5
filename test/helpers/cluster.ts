/**
 * Nodes of one deployment sharing a Redis, in this process: real servers on free loopback ports and real
 * SDK agents over loopback WebRTC, with the harness's leak check when the test is done.
 *
 *   const redis = await RedisServer.start();
 *   const nodes = new Nodes(redis.url);
 *   const [a, b] = [await nodes.start(), await nodes.start()];
 *   const user = await createUser(a);                      // an identity and a token, through node A
 *   const call = await nodes.join(await nodes.agent(b, user), 'room');
 *   await nodes.close();                                    // agents, then servers; asserts nothing leaked
 */
import assert from 'node:assert/strict';

import { CallClient, CommunicationTokenCredential, Features, type Call, type CallAgent, type DataChannelReceiver } from '@backchannel/client';
import { rtcRuntimeReferences } from '@backchannel/node-rtc';
import { startServer, type RunningServer, type StartOptions } from '@backchannel/server';

import { connected } from './backchannel.js';

/** What every node of the test deployment shares. */
export const SHARED = Object.freeze({ tokenSecret: 'a-cluster-token-secret-0123456789abcdef', accessKey: 'cluster-test-access-key' });

export class Nodes {
  readonly #redisUrl: string;
  readonly #servers: RunningServer[] = [];
  readonly #agents: CallAgent[] = [];

  constructor(redisUrl: string) {
    this.#redisUrl = redisUrl;
  }

  /** A node of the deployment on a free port (options override the shared settings). */
  async start(options: StartOptions = {}): Promise<RunningServer> {
    const server = await startServer({ port: 0, redisUrl: this.#redisUrl, ...SHARED, ...options });
    this.#servers.push(server);
    return server;
  }

  /** An agent on `server` with `user`'s token. */
  async agent(server: RunningServer, user: { token: string }, displayName?: string): Promise<CallAgent> {
    const agent = await new CallClient({ serverUrl: server.url }).createCallAgent(new CommunicationTokenCredential(user.token), { displayName });
    this.#agents.push(agent);
    return agent;
  }

  /** `agent` joined to `groupId` and Connected, with every receiver it is given recorded. */
  async join(agent: CallAgent, groupId: string): Promise<{ call: Call; receivers: DataChannelReceiver[] }> {
    const call = agent.join({ groupId });
    const receivers: DataChannelReceiver[] = [];
    call.feature(Features.DataChannel).on('dataChannelReceiverCreated', (receiver) => receivers.push(receiver));
    await connected(call);
    return { call, receivers };
  }

  /** Disposes every agent, closes every server, and asserts that nothing was left behind. */
  async close(): Promise<void> {
    await Promise.all(this.#agents.map((agent) => agent.dispose()));
    for (const server of this.#servers) {
      await server.close();
      assert.deepEqual(server.snapshot(), { calls: 0, endpoints: 0, connections: 0 }, 'server state left behind');
    }
    assert.equal(rtcRuntimeReferences(), 0, 'peer connections left open');
  }
}

/** A request to `server`'s identity API with the shared access key; the status and the parsed body. */
export async function identityApi(server: { url: string }, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${SHARED.accessKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

/** A new identity and a `voip` token for it, through the identity API of the node at `server.url`. */
export async function newUser(server: { url: string }): Promise<{ identity: string; token: string }> {
  const { status, body } = await identityApi(server, 'POST', '/identities', { createTokenWithScopes: ['voip'] });
  assert.equal(status, 201);
  const created = body as { identity: { id: string }; accessToken: { token: string } };
  return { identity: created.identity.id, token: created.accessToken.token };
}

/** `/identities/{id}/:revokeAccessTokens` and friends, by name. */
export const identityPath = {
  revoke: (id: string): string => `/identities/${encodeURIComponent(id)}/:revokeAccessTokens`,
  issue: (id: string): string => `/identities/${encodeURIComponent(id)}/:issueAccessToken`,
  identity: (id: string): string => `/identities/${encodeURIComponent(id)}`,
};
