/**
 * Joining a group call from the command line: a token (given, or created through the identity API with the
 * access key), a call agent, the call, and a wait until it is Connected. Used by chat, send-file and
 * receive-file, which then only deal with the call.
 */
import {
  CallClient,
  CommunicationTokenCredential,
  type Call,
  type CallAgent,
} from '@backchannel/client';

import { CliError, ExitCode } from './common.js';
import { createIdentityWithToken, issueAccessToken } from './serverApi.js';

export interface JoinFlags {
  server: string;
  group: string;
  name: string;
  token?: string;
  accessKey?: string;
}

export interface CallSession {
  readonly agent: CallAgent;
  readonly call: Call;
  /** Hangs up and disconnects from the server. Idempotent. */
  leave(): Promise<void>;
}

/** Time from join() to Connected before the tool gives up (the SDK's default is the same). */
const CONNECT_TIMEOUT_MS = 20_000;

export async function joinGroupCall(flags: JoinFlags): Promise<CallSession> {
  const credential = await credentialFor(flags);
  const client = new CallClient({ serverUrl: flags.server, connectTimeoutMs: CONNECT_TIMEOUT_MS });
  const agent = await client.createCallAgent(credential, { displayName: flags.name });
  const call = agent.join({ groupId: flags.group });
  let left: Promise<void> | undefined;
  // hangUp (in dispose) delivers everything already sent before leaving: nothing to wait for here.
  const leave = (): Promise<void> => (left ??= agent.dispose());
  try {
    await connected(call);
  } catch (error) {
    await leave();
    throw error;
  }
  return { agent, call, leave };
}

/**
 * The credential to join with. A token from the command line is used as it is; with the access key the
 * tool creates its own identity and renews the token for it during long sessions.
 */
async function credentialFor(flags: JoinFlags): Promise<CommunicationTokenCredential> {
  if (flags.token) return new CommunicationTokenCredential(flags.token);
  if (!flags.accessKey) throw new CliError(ExitCode.Usage, 'joining a call needs --token (or BACKCHANNEL_TOKEN), or the access key to get one: --access-key or BACKCHANNEL_ACCESS_KEY');
  const access = { url: flags.server, accessKey: flags.accessKey };
  const created = await createIdentityWithToken(access);
  return new CommunicationTokenCredential({
    token: created.accessToken.token,
    tokenRefresher: async () => (await issueAccessToken(access, created.identity.id)).token,
    refreshProactively: true,
  });
}

function connected(call: Call): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (call.state === 'Connected') {
        call.off('stateChanged', check);
        resolve();
      } else if (call.state === 'Disconnected') {
        call.off('stateChanged', check);
        const reason = call.callEndReason;
        reject(new CliError(ExitCode.Connection, `could not join the call: ${reason?.name ?? 'unknown'}: ${reason?.message ?? ''}`));
      }
    };
    call.on('stateChanged', check);
    check();
  });
}

/**
 * Resolves when `call` ends (Disconnected), with its reason by Backchannel's name for it (`HungUp`,
 * `ServerShutdown`, …); for tools that must stop when the server ends the call or the connection is lost.
 */
export function ended(call: Call): Promise<{ code: string; message: string }> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (call.state !== 'Disconnected') return;
      call.off('stateChanged', check);
      const reason = call.callEndReason;
      resolve(reason ? { code: reason.name, message: reason.message } : { code: 'unknown', message: 'the call ended' });
    };
    call.on('stateChanged', check);
    check();
  });
}
