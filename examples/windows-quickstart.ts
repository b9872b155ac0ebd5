/**
 * The reference product's Windows (C#) quickstart "Add data channel messaging to a calling app", transcribed
 * to Backchannel's TypeScript API. Each exported function is one step of the quickstart, in its order and
 * with its names; the C# names map to the TypeScript API as:
 *
 *   call.Features.DataChannel    → call.feature(Features.DataChannel)
 *   GetDataChannelSender(options) → createDataChannelSender(options)
 *   ReceiverCreated += handler   → on('dataChannelReceiverCreated', handler)
 *   MessageReceived += handler   → receiver.on('messageReady', …)
 *   Closed += handler            → receiver.on('close', …)
 *   ReceiveMessage()             → readMessage()
 *   SenderIdentifier             → senderParticipantIdentifier
 *   SendMessage / SetParticipants → sendMessage / setParticipants
 *
 * C# event handlers get the receiver as `sender`; TypeScript listeners take no arguments, so the handlers
 * here take the receiver explicitly.
 *
 * Run by hand against a running server (`backchannel serve`):
 *
 *   BACKCHANNEL_ACCESS_KEY=<key> [BACKCHANNEL_URL=http://127.0.0.1:8080] npx tsx examples/windows-quickstart.ts
 */
import { pathToFileURL } from 'node:url';

import {
  Features,
  type Call,
  type CommunicationIdentifier,
  type CommunicationIdentifierKind,
  type DataChannelCallFeature,
  type DataChannelReceiver,
  type DataChannelSender,
  type DataChannelSenderOpenOptions,
} from '@backchannel/client';

import { disposeUsers, joinTwoUsers, withTimeout } from './shared.js';

/** A data message as the quickstart's handlers see it, with the receiver it arrived on. */
export interface ReceivedDataMessage {
  channelId: number;
  senderId: CommunicationIdentifierKind;
  sequence: number;
  data: Uint8Array;
}

/**
 * How the log lines name a sender. The reference types identifiers as a union of kinds (C#: `CallIdentifier`
 * and its subclasses); Backchannel's senders are all Communication users.
 */
function identityOf(identifier: CommunicationIdentifierKind): string {
  return identifier.kind === 'communicationUser' ? identifier.communicationUserId : identifier.kind;
}

/** "Enable Data Channel feature": the Data Channel feature object of the ongoing call. */
export function getDataChannelCallFeature(call: Call): DataChannelCallFeature {
  const dataChannelCallFeature = call.feature(Features.DataChannel);
  return dataChannelCallFeature;
}

/**
 * "Receiving data message", steps 1–5: handlers for new receivers, their messages and their closing.
 * Resolves with the first `count` messages received, in arrival order.
 */
export function receiveDataMessages(call: Call, count: number): Promise<ReceivedDataMessage[]> {
  const dataChannelCallFeature = getDataChannelCallFeature(call);
  const received: ReceivedDataMessage[] = [];
  return new Promise((resolve) => {
    // 3. Define the MessageReceived event handler.
    function messageReceivedHandler(receiver: DataChannelReceiver): void {
      const message = receiver.readMessage(); // read the data message from the receiver
      if (message === undefined) return; // nothing waiting (C# would hand back null)
      const sequence = message.sequenceNumber; // get the message sequence number
      const data = message.data; // get the data content
      console.log(`channel ${receiver.channelId}: message ${sequence} from ${identityOf(receiver.senderParticipantIdentifier)}: ${new TextDecoder().decode(data)}`);
      received.push({ channelId: receiver.channelId, senderId: receiver.senderParticipantIdentifier, sequence, data });
      if (received.length === count) resolve([...received]);
    }

    // 4. Define the Closed event handler.
    function receiverClosedHandler(receiver: DataChannelReceiver): void {
      console.log(`channel ${receiver.channelId}: receiver from ${identityOf(receiver.senderParticipantIdentifier)} closed`);
    }

    // 1. Define the DataChannelReceiverCreated event handler.
    function dataChannelReceiverCreatedHandler(receiver: DataChannelReceiver): void {
      const channelId = receiver.channelId; // get the channel id
      const senderId = receiver.senderParticipantIdentifier; // get the message sender id
      console.log(`channel ${channelId}: receiver created for sender ${identityOf(senderId)}`);

      // 5. Attach the MessageReceivedHandler and ReceiverClosedHandler.
      receiver.on('messageReady', () => messageReceivedHandler(receiver));
      receiver.on('close', () => receiverClosedHandler(receiver));
    }

    // 2. Attach the DataChannelReceiverCreatedHandler.
    dataChannelCallFeature.on('dataChannelReceiverCreated', dataChannelReceiverCreatedHandler);
  });
}

/** "Sending data message", step 1: configure the DataChannelSenderOptions for `identifiers`. */
export function configureSenderOptions(identifiers: readonly CommunicationIdentifier[]): DataChannelSenderOpenOptions {
  const options: DataChannelSenderOpenOptions = {};
  options.channelId = 1000;
  options.bitrateInKbps = 32;
  options.priority = 'Normal';
  options.reliability = 'Lossy';
  const participants: CommunicationIdentifier[] = [...identifiers]; // identifier1, identifier2, ...
  options.participants = participants;
  return options;
}

/**
 * "Sending data message", step 2: get the sender, send `msgData`, then set an empty participant list (from
 * then on the sender broadcasts to everyone else in the call). Returns the sender.
 */
export async function sendDataMessage(call: Call, options: DataChannelSenderOpenOptions, msgData: Uint8Array): Promise<DataChannelSender> {
  const dataChannelCallFeature = getDataChannelCallFeature(call);
  const sender = dataChannelCallFeature.createDataChannelSender(options);
  // msgData contains the bytes to be sent
  await sender.sendMessage(msgData);
  // change participants in the channel if needed
  sender.setParticipants([]);
  return sender;
}

/** Alice sends to Bob on a Lossy channel 1000, then broadcasts, through a running server. */
async function main(): Promise<void> {
  const [alice, bob] = await joinTwoUsers();
  try {
    const received = receiveDataMessages(bob.call, 2);

    const options = configureSenderOptions([{ communicationUserId: bob.identity }]);
    const sender = await sendDataMessage(alice.call, options, new TextEncoder().encode(`hello ${bob.displayName}`));
    // After SetParticipants with an empty list, this one goes to everyone else in the call.
    await sender.sendMessage(new TextEncoder().encode('hello everyone'));

    const messages = await withTimeout(received, 'two messages on channel 1000');
    const summary = messages.map((m) => `#${m.sequence} ${new TextDecoder().decode(m.data)}`).join(', ');
    console.log(`${bob.displayName} received on channel ${sender.channelId} (${sender.reliability}, ${sender.bitrateInKbps} kbps): ${summary}`);
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
