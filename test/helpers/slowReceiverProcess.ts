/**
 * A participant in its own process, so a test can freeze it (SIGSTOP) and play a receiver that stops
 * reading. Joins `groupId` with `token` on `serverUrl` and prints "ready" once connected.
 *
 *   node --import tsx test/helpers/slowReceiverProcess.ts <serverUrl> <token> <groupId>
 */
import { CallClient, CommunicationTokenCredential } from '@backchannel/client';

const [serverUrl, token, groupId] = process.argv.slice(2);
if (!serverUrl || !token || !groupId) throw new Error('usage: slowReceiverProcess <serverUrl> <token> <groupId>');

const agent = await new CallClient({ serverUrl }).createCallAgent(new CommunicationTokenCredential(token), { displayName: 'slow' });
const call = agent.join({ groupId });
call.on('stateChanged', () => {
  if (call.state === 'Connected') process.stdout.write('ready\n');
  if (call.state === 'Disconnected') process.exit(0);
});
