/**
 * The reference product's two Data Channel quickstarts, as ported in examples/, run against a real server
 * between two real clients: what the quickstarts send must arrive exactly as they describe.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it, mock, type Mock } from 'node:test';

import { DataChannelErrorCode, type DataChannelMessage } from '@backchannel/client';

import {
  createMessageSender,
  handleReceiverEvents,
  receiveAndDecode,
  registerReceiverListener,
  sendObject,
  sendText,
  setFirstParticipant,
} from '../../examples/web-quickstart.js';
import { configureSenderOptions, receiveDataMessages, sendDataMessage } from '../../examples/windows-quickstart.js';
import { receiversOf, rosterSettled, startHarness, utf8, type Harness, type Participant } from '../helpers/backchannel.js';
import { until, waitForEvent, within } from '../helpers/events.js';

/** The quickstarts log what they receive: console.log is captured (and silenced) to assert the exact lines. */
let logged: Mock<typeof console.log>;
const loggedLines = (): string[] => logged.mock.calls.map((call) => String(call.arguments[0]));

/**
 * Starts a harness for the enclosing describe and captures console.log until it is closed (receivers still
 * open when it closes log their closing too). Each test starts with no captured lines.
 */
function harnessCapturingLog(): () => Harness {
  let harness: Harness | undefined;
  before(async () => {
    logged = mock.method(console, 'log', () => undefined);
    harness = await startHarness();
  });
  after(async () => {
    try {
      await harness?.close();
    } finally {
      mock.restoreAll();
    }
  });
  beforeEach(() => logged.mock.resetCalls());
  return () => {
    assert.ok(harness, 'the harness is started by the before() hook');
    return harness;
  };
}

const kindOf = (p: Participant): { kind: 'communicationUser'; communicationUserId: string; rawId: string } => ({
  kind: 'communicationUser',
  communicationUserId: p.identity,
  rawId: p.identity,
});

async function twoParticipants(h: Harness, groupId: string): Promise<[Participant, Participant]> {
  const alice = await h.join(groupId, { displayName: 'Alice' });
  const bob = await h.join(groupId, { displayName: 'Bob' });
  await rosterSettled([alice, bob]);
  return [alice, bob];
}

describe('web quickstart (examples/web-quickstart.ts)', () => {
  const harness = harnessCapturingLog();

  const chatObject = { type: 'chat', text: 'hello from the web quickstart', mentions: ['Bob'], urgent: false };

  it("delivers 'abc' and a JSON object to the first remote participant on channel 10000, decoded with TextDecoder", async () => {
    const [alice, bob] = await twoParticipants(harness(), 'web-chat');
    const receivers = registerReceiverListener(bob.call);
    const received = receiveAndDecode(bob.call, 2);

    const messageSender = createMessageSender(alice.call);
    assert.equal(messageSender.channelId, 10000);
    setFirstParticipant(alice.call, messageSender);
    await sendText(messageSender);
    await sendObject(messageSender, chatObject);

    const texts = await within(received, 'two decoded texts on channel 10000');
    assert.deepEqual(texts, ['abc', JSON.stringify(chatObject)]);
    assert.deepEqual(JSON.parse(texts[1]!), chatObject);
    assert.equal(receivers.length, 1, 'one sender session, one receiver');
    assert.equal(receivers[0]!.channelId, 10000);
    assert.deepEqual(receivers[0]!.senderParticipantIdentifier, kindOf(alice));
    const from = JSON.stringify(kindOf(alice));
    assert.deepEqual(loggedLines(), [`from ${from}:abc`, `from ${from}:${JSON.stringify(chatObject)}`]);
  });

  it('hands each message to the messageReady handler with sequence numbers 1, 2 and logs when the sender closes', async () => {
    const [alice, bob] = await twoParticipants(harness(), 'web-events');
    const messages: DataChannelMessage[] = [];
    handleReceiverEvents(bob.call, (message) => messages.push(message));

    const messageSender = createMessageSender(alice.call);
    setFirstParticipant(alice.call, messageSender);
    await sendText(messageSender);
    await sendObject(messageSender, chatObject);

    const [receiver] = await receiversOf(bob, 1);
    await until(receiver!, 'messageReady', () => messages.length === 2);
    assert.deepEqual(
      messages.map((m) => ({ sequenceNumber: m.sequenceNumber, text: utf8.decode(m.data) })),
      [
        { sequenceNumber: 1, text: 'abc' },
        { sequenceNumber: 2, text: JSON.stringify(chatObject) },
      ],
    );

    const closed = waitForEvent(receiver!, 'close');
    messageSender.close();
    await closed;
    assert.deepEqual(loggedLines(), [`data channel id = 10000 from ${JSON.stringify(kindOf(alice))} is closed`]);
  });

  it('refuses a string in sendMessage, as the quickstart warns: data must be a Uint8Array', async () => {
    const [alice] = await twoParticipants(harness(), 'web-string');
    const messageSender = createMessageSender(alice.call);
    await assert.rejects(messageSender.sendMessage('abc' as unknown as Uint8Array), {
      name: 'DataChannelError',
      code: DataChannelErrorCode.InvalidArgument,
      message: 'sendMessage takes a Uint8Array; encode strings with TextEncoder first',
    });
  });
});

describe('Windows quickstart (examples/windows-quickstart.ts)', () => {
  const harness = harnessCapturingLog();

  it('opens a Lossy, Normal-priority sender on channel 1000 paced at 32 kbps', async () => {
    const [alice, bob] = await twoParticipants(harness(), 'windows-options');
    const options = configureSenderOptions([{ communicationUserId: bob.identity }]);
    assert.deepEqual(options, {
      channelId: 1000,
      bitrateInKbps: 32,
      priority: 'Normal',
      reliability: 'Lossy',
      participants: [{ communicationUserId: bob.identity }],
    });
    const sender = await sendDataMessage(alice.call, options, utf8.encode('options'));
    assert.equal(sender.channelId, 1000);
    assert.equal(sender.reliability, 'Lossy');
    assert.equal(sender.bitrateInKbps, 32);
    assert.equal(sender.priority, 'Normal');
  });

  it("delivers to the listed participant, then to everyone after SetParticipants([]), with the sender's identity and sequence numbers 1, 2", async () => {
    const [alice, bob] = await twoParticipants(harness(), 'windows-messages');
    const received = receiveDataMessages(bob.call, 2);

    const options = configureSenderOptions([{ communicationUserId: bob.identity }]);
    const sender = await sendDataMessage(alice.call, options, utf8.encode('to Bob'));
    await sender.sendMessage(utf8.encode('to everyone'));

    // Lossy promises no order, so the messages are compared by sequence number.
    const messages = (await within(received, 'two messages on channel 1000')).sort((a, b) => a.sequence - b.sequence);
    assert.deepEqual(
      messages.map((m) => ({ channelId: m.channelId, senderId: m.senderId, sequence: m.sequence, text: utf8.decode(m.data) })),
      [
        { channelId: 1000, senderId: kindOf(alice), sequence: 1, text: 'to Bob' },
        { channelId: 1000, senderId: kindOf(alice), sequence: 2, text: 'to everyone' },
      ],
    );
    assert.equal(bob.receivers.length, 1, 'one sender session, one receiver');

    const [receiver] = await receiversOf(bob, 1);
    const closed = waitForEvent(receiver!, 'close');
    sender.close();
    await closed;
    const lines = loggedLines();
    assert.equal(lines[0], `channel 1000: receiver created for sender ${alice.identity}`);
    assert.deepEqual(lines.slice(1, 3).sort(), [`channel 1000: message 1 from ${alice.identity}: to Bob`, `channel 1000: message 2 from ${alice.identity}: to everyone`]);
    assert.deepEqual(lines.slice(3), [`channel 1000: receiver from ${alice.identity} closed`]);
  });
});
