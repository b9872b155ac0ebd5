/**
 * What both quickstart examples need to run by hand, and what the quickstarts leave to "your existing calling
 * app": two identities from the server's identity API, each with a call agent, joined to one group call and
 * seeing each other. This is the only part of the examples that differs from the reference product (how a
 * `call` is obtained).
 *
 * The server is the one given by BACKCHANNEL_URL (default http://127.0.0.1:8080); its identity API needs
 * BACKCHANNEL_ACCESS_KEY (printed by `backchannel serve`).
 */
import { randomUUID } from 'node:crypto';

import { CallClient, CommunicationTokenCredential, type Call, type CallAgent } from '@backchannel/client';

/** One side of the example: an identity, its agent, and its call. */
export interface ExampleUser {
  identity: string;
  displayName: string;
  agent: CallAgent;
  call: Call;
}

export interface ExampleServer {
  url: string;
  accessKey: string;
}

/** How long `main()` waits for anything (joining, the other participant, messages) before giving up. */
export const EXAMPLE_TIMEOUT_MS = 20_000;

/** The server named by the environment. */
export function serverFromEnv(env: NodeJS.ProcessEnv = process.env): ExampleServer {
  const accessKey = env.BACKCHANNEL_ACCESS_KEY;
  if (!accessKey) {
    throw new Error('set BACKCHANNEL_ACCESS_KEY to the access key of the server (backchannel serve prints it, or set it with --access-key)');
  }
  return { url: env.BACKCHANNEL_URL ?? 'http://127.0.0.1:8080', accessKey };
}

/** `POST /identities` with a `voip` token, as the reference product's identity REST API. */
export async function createIdentity(server: ExampleServer): Promise<{ identity: string; token: string }> {
  const response = await fetch(new URL('/identities', server.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${server.accessKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ createTokenWithScopes: ['voip'] }),
  });
  if (response.status !== 201) {
    throw new Error(`POST /identities failed: ${response.status} ${await response.text()}`);
  }
  const body = (await response.json()) as { identity: { id: string }; accessToken: { token: string; expiresOn: string } };
  return { identity: body.identity.id, token: body.accessToken.token };
}

/**
 * Two new identities joined to one new group call, both Connected and each listing the other as a remote
 * participant. Dispose them with {@link disposeUsers}.
 */
export async function joinTwoUsers(server: ExampleServer = serverFromEnv()): Promise<[ExampleUser, ExampleUser]> {
  const callClient = new CallClient({ serverUrl: server.url });
  const groupId = randomUUID();
  const join = async (displayName: string): Promise<ExampleUser> => {
    const { identity, token } = await createIdentity(server);
    const agent = await callClient.createCallAgent(new CommunicationTokenCredential(token), { displayName });
    return { identity, displayName, agent, call: agent.join({ groupId }) };
  };
  const users = await Promise.all([join('Alice'), join('Bob')]);
  try {
    await Promise.all(users.map((user) => whenCall(user.call, () => user.call.remoteParticipants.length >= 1, 'the other participant')));
  } catch (error) {
    await disposeUsers(users);
    throw error;
  }
  return users;
}

/** Hangs up and closes every user's agent. */
export async function disposeUsers(users: readonly ExampleUser[]): Promise<void> {
  await Promise.all(users.map((user) => user.agent.dispose()));
}

/** Rejects with a clear message if `promise` has not settled within {@link EXAMPLE_TIMEOUT_MS}. */
export function withTimeout<T>(promise: Promise<T>, what: string, timeoutMs = EXAMPLE_TIMEOUT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Resolves once `call` is Connected and `condition()` holds, checked on every state or roster change;
 * rejects if the call ends first.
 */
function whenCall(call: Call, condition: () => boolean, what: string): Promise<void> {
  const settled = new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (call.state === 'Disconnected') {
        stop();
        reject(new Error(`the call ended while waiting for ${what}: ${JSON.stringify(call.callEndReason)}`));
      } else if (call.state === 'Connected' && condition()) {
        stop();
        resolve();
      }
    };
    const stop = (): void => {
      call.off('stateChanged', check);
      call.off('remoteParticipantsUpdated', check);
    };
    call.on('stateChanged', check);
    call.on('remoteParticipantsUpdated', check);
    check();
  });
  return withTimeout(settled, what);
}
