/**
 * Fails `createCallAgent` in every way it can fail, in a process of its own, then simply returns: the
 * process exits by itself only if no failure left a socket or a timer behind. Prints one JSON line per
 * attempt, `[name, error name, code, message]`.
 *
 *   node --import tsx test/helpers/failedAgentProcess.ts <serverUrl> <valid token> <unreachable url> [--then-leak]
 *
 * With `--then-leak` it ends by creating an agent it never disposes, and prints "leaking": the control
 * case, a process that must not exit by itself.
 */
import { AzureCommunicationTokenCredential } from '@azure/communication-common';
import { CallClient, CommunicationTokenCredential, type TokenCredential } from '@backchannel/client';

const [serverUrl, token, unreachableUrl, leak] = process.argv.slice(2);
if (!serverUrl || !token || !unreachableUrl) throw new Error('usage: failedAgentProcess <serverUrl> <token> <unreachable url>');

const disposed = new AzureCommunicationTokenCredential(token);
disposed.dispose();

const attempts: [string, () => Promise<unknown>][] = [
  // The socket is open when these fail: the server refuses the hello.
  ['refused by the server', () => new CallClient({ serverUrl }).createCallAgent(new AzureCommunicationTokenCredential('an-opaque-token-of-another-service'))],
  ['hello refused', () => new CallClient({ serverUrl }).createCallAgent(new CommunicationTokenCredential(token), { displayName: 'x'.repeat(300) })],
  // Nothing is open yet when these fail.
  ['getToken rejects', () => new CallClient({ serverUrl }).createCallAgent(disposed)],
  ['getToken resolves no AccessToken', () => new CallClient({ serverUrl }).createCallAgent({ getToken: async () => ({ token: '' }), dispose: () => undefined } as never)],
  ['not a credential', () => new CallClient({ serverUrl }).createCallAgent({} as TokenCredential)],
  ['server unreachable', () => new CallClient({ serverUrl: unreachableUrl }).createCallAgent(new CommunicationTokenCredential(token))],
];

for (const [name, attempt] of attempts) {
  try {
    await attempt();
    process.stdout.write(`${JSON.stringify([name, 'resolved'])}\n`);
  } catch (error) {
    const { name: errorName, code, message } = error as { name: string; code?: string; message: string };
    process.stdout.write(`${JSON.stringify([name, errorName, code ?? null, message])}\n`);
  }
}

if (leak === '--then-leak') {
  await new CallClient({ serverUrl }).createCallAgent(new CommunicationTokenCredential(token));
  process.stdout.write('leaking\n');
}
