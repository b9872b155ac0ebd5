/**
 * A participant in its own process, so that a test can freeze it (SIGSTOP) and thaw it (SIGCONT), or start
 * it with NODE_EXTRA_CA_CERTS so that the SDK trusts a test certificate: joins
 * `groupId`, reads every Durable message it receives (each payload starts with a uint32 index), and
 * prints one line per event on stdout:
 *
 *   ready                      connected
 *   network <Bad|Good>         networkReconnect changed
 *   received <json array>      once <expected> messages have arrived, or on "report" from stdin: the
 *                              indexes read so far, in arrival order
 *   dropped <n>                after each "report": its receivers' droppedMessageCount, summed
 *   ended <code>               the call ended
 *
 *   node --import tsx test/helpers/frozenParticipantProcess.ts <serverUrl> <token> <groupId> <expected>
 */
import { createInterface } from 'node:readline';

import { CallClient, CommunicationTokenCredential, DiagnosticQuality, Features } from '@backchannel/client';

const [serverUrl, token, groupId, expectedText] = process.argv.slice(2);
if (!serverUrl || !token || !groupId || !expectedText) throw new Error('usage: frozenParticipantProcess <serverUrl> <token> <groupId> <expected>');
const expected = Number(expectedText);

const say = (line: string): boolean => process.stdout.write(`${line}\n`);
const received: number[] = [];
const receivers: { droppedMessageCount: number }[] = [];
const agent = await new CallClient({ serverUrl }).createCallAgent(new CommunicationTokenCredential(token), { displayName: 'frozen' });
const call = agent.join({ groupId });
call.feature(Features.DataChannel).on('dataChannelReceiverCreated', (receiver) => {
  receivers.push(receiver);
  receiver.on('messageReady', () => {
    const before = received.length;
    for (let m = receiver.readMessage(); m; m = receiver.readMessage()) received.push(new DataView(m.data.buffer, m.data.byteOffset).getUint32(0));
    if (before < expected && received.length >= expected) say(`received ${JSON.stringify(received)}`);
  });
});
call.feature(Features.UserFacingDiagnostics).network.on('diagnosticChanged', ({ value }) => say(`network ${value === DiagnosticQuality.Good ? 'Good' : 'Bad'}`));
call.on('stateChanged', () => {
  if (call.state === 'Connected') say('ready');
  if (call.state === 'Disconnected') {
    say(`ended ${call.callEndReason?.name ?? ''}`);
    void agent.dispose().then(() => process.exit(0));
  }
});
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'report') {
    say(`received ${JSON.stringify(received)}`);
    say(`dropped ${receivers.reduce((sum, r) => sum + r.droppedMessageCount, 0)}`);
  }
  if (line === 'quit') void agent.dispose().then(() => process.exit(0));
});
