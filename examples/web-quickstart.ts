/**
 * The reference product's web quickstart "Add messaging to your web calling app" (a simple chat on
 * channelId 10000), ported to Backchannel. Each exported function is one snippet of the quickstart, in its
 * order, with the quickstart's names and calls; only the imports changed. What the quickstart leaves as a
 * comment (keeping receivers, processing messages, "some object") is done here in the plainest way, and each
 * function returns what a caller (or test) needs to observe.
 *
 * Run by hand against a running server (`backchannel serve`):
 *
 *   BACKCHANNEL_ACCESS_KEY=<key> [BACKCHANNEL_URL=http://127.0.0.1:8080] npx tsx examples/web-quickstart.ts
 */
import { pathToFileURL } from 'node:url';

import { Features, type Call, type DataChannelMessage, type DataChannelReceiver, type DataChannelSender } from '@backchannel/client';

import { disposeUsers, joinTwoUsers, withTimeout } from './shared.js';

/** "Create a DataChannelSender object": the chat's sender, on channelId 10000. */
export function createMessageSender(call: Call): DataChannelSender {
  const dataChannel = call.feature(Features.DataChannel);
  const messageSender = dataChannel.createDataChannelSender({
    channelId: 10000,
  });
  return messageSender;
}

/**
 * "Register a listener to obtain the DataChannelReceiver object". The SDK announces each receiver once, so
 * the listener keeps the references; the returned array fills as receivers are created.
 */
export function registerReceiverListener(call: Call): DataChannelReceiver[] {
  const dataChannel = call.feature(Features.DataChannel);
  const receivers: DataChannelReceiver[] = [];
  dataChannel.on('dataChannelReceiverCreated', (receiver) => {
    // receiver.channelId
    // receiver.senderParticipantIdentifier, which shows the sender id
    receivers.push(receiver);
  });
  return receivers;
}

/**
 * "Handle messageReady and close event of DataChannelReceiver object": every message of channel 10000 is
 * read in the `messageReady` listener and handed to `processMessage`.
 */
export function handleReceiverEvents(call: Call, processMessage: (message: DataChannelMessage) => void): void {
  const dataChannel = call.feature(Features.DataChannel);
  dataChannel.on('dataChannelReceiverCreated', (receiver) => {
    if (receiver.channelId === 10000) {
      receiver.on('close', () => {
        console.log(`data channel id = ${receiver.channelId} from ${JSON.stringify(receiver.senderParticipantIdentifier)} is closed`);
      });
      receiver.on('messageReady', () => {
        const message = receiver.readMessage();
        // process the message (readMessage() is typed `| undefined`: it returns undefined when nothing waits)
        if (message !== undefined) processMessage(message);
      });
    }
  });
}

/** "Set participants": send only to the first participant in the remoteParticipants list. */
export function setFirstParticipant(call: Call, messageSender: DataChannelSender): void {
  const user = call.remoteParticipants[0]; // assume the user wants to send a message to the first participant in the remoteParticipants list
  if (user === undefined) throw new Error('the call has no remote participant yet');
  messageSender.setParticipants([user.identifier]);
}

/** "Send and receive messages": a string, serialized to a byte buffer first. */
export async function sendText(sender: DataChannelSender): Promise<void> {
  const data = new TextEncoder().encode('abc');
  await sender.sendMessage(data);
}

/** "Here's another example for sending a JSON object." */
export async function sendObject(sender: DataChannelSender, obj: unknown): Promise<void> {
  const data = new TextEncoder().encode(JSON.stringify(obj));
  await sender.sendMessage(data);
}

/**
 * "Receive and decode the message": decodes every message of channel 10000 with a TextDecoder and logs it.
 * Resolves with the texts once `count` have arrived.
 */
export function receiveAndDecode(call: Call, count: number): Promise<string[]> {
  const dataChannel = call.feature(Features.DataChannel);
  const texts: string[] = [];
  return new Promise((resolve) => {
    dataChannel.on('dataChannelReceiverCreated', (receiver) => {
      if (receiver.channelId === 10000) {
        const textDecoder = new TextDecoder();
        receiver.on('close', () => {
          console.log(`data channel id = ${receiver.channelId} from ${JSON.stringify(receiver.senderParticipantIdentifier)} is closed`);
        });
        receiver.on('messageReady', () => {
          const message = receiver.readMessage();
          if (message === undefined) return; // typed `| undefined`: nothing was waiting
          const text = textDecoder.decode(message.data);
          console.log(`from ${JSON.stringify(receiver.senderParticipantIdentifier)}:${text}`);
          texts.push(text);
          if (texts.length === count) resolve([...texts]);
        });
      }
    });
  });
}

/** Alice chats to Bob (her first remote participant) on channel 10000 through a running server. */
async function main(): Promise<void> {
  const [alice, bob] = await joinTwoUsers();
  try {
    const receivers = registerReceiverListener(bob.call);
    const received = receiveAndDecode(bob.call, 2);

    const messageSender = createMessageSender(alice.call);
    setFirstParticipant(alice.call, messageSender);
    await sendText(messageSender);
    await sendObject(messageSender, { type: 'chat', from: alice.displayName, text: 'hello from the web quickstart' });

    const texts = await withTimeout(received, 'two messages on channel 10000');
    console.log(`${bob.displayName} received ${texts.length} messages on ${receivers.length} receiver(s): ${JSON.stringify(texts)}`);
  } finally {
    await disposeUsers([alice, bob]);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
