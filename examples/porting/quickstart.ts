/**
 * The reference product's two Data Channel quickstarts (the web one verbatim, the Windows one's steps in
 * the web API), written against the reference SDK's typings and nothing else: `@azure/communication-calling`
 * for the calling API, `@azure/communication-common` for the credential and the identifiers.
 *
 * Two copies, one port: examples/porting/reference/quickstart.ts imports the calling API from
 * `@azure/communication-calling` (the "before"); examples/porting/quickstart.ts is the same file with that
 * one import switched to `@backchannel/client` (the "after", made by scripts/port-examples.ts). Tests check
 * that the two differ in that import only, typecheck the "before" against the reference's typings when they
 * are at hand, and run the "after" with three participants against a real server.
 *
 * The quickstarts start from "your existing calling app": obtaining the call is `joinCall()` below, the
 * reference's own way (a credential, an agent, `join({ groupId })`). Only the `CallClient` comes from the
 * caller, since that is where the two products differ (Backchannel's needs the server's URL).
 */
import { AzureCommunicationTokenCredential, type CommunicationIdentifier, type CommunicationIdentifierKind } from '@azure/communication-common';
import {
  Features,
  type Call,
  type CallAgent,
  type CallClient,
  type DataChannelCallFeature,
  type DataChannelMessage,
  type DataChannelReceiver,
  type DataChannelSender,
  type DataChannelSenderOpenOptions,
  type PropertyChangedEvent,
} from '@backchannel/client';

/** The existing calling app: an agent for `token`, joined to group call `groupId`, resolved once Connected. */
export async function joinCall(callClient: CallClient, token: string, groupId: string, displayName: string): Promise<{ callAgent: CallAgent; call: Call }> {
  const callAgent = await callClient.createCallAgent(new AzureCommunicationTokenCredential(token), { displayName });
  const call = callAgent.join({ groupId });
  await new Promise<void>((resolve, reject) => {
    const onStateChanged: PropertyChangedEvent = () => {
      if (call.state === 'Connected') resolve();
      if (call.state === 'Disconnected') reject(new Error(`the call ended: ${call.callEndReason?.code}/${call.callEndReason?.subCode}`));
    };
    call.on('stateChanged', onStateChanged);
  });
  return { callAgent, call };
}

// ---------------------------------------------------------------------------------- the web quickstart

/** "Create a DataChannelSender object". */
export function createMessageSender(call: Call): DataChannelSender {
  const dataChannel = call.feature(Features.DataChannel);
  const messageSender = dataChannel.createDataChannelSender({
    channelId: 10000,
  });
  return messageSender;
}

/**
 * "Receive and decode the message", with "Handle messageReady and close event": logs as the quickstart
 * does, and resolves with the texts once `count` have arrived.
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
          if (!message) return; // typed `DataChannelMessage | undefined`
          const text = textDecoder.decode(message.data);
          console.log(`from ${JSON.stringify(receiver.senderParticipantIdentifier)}:${text}`);
          texts.push(text);
          if (texts.length === count) resolve(texts);
        });
      }
    });
  });
}

/** "Set participants": the first participant in the remoteParticipants list. Returns who it is. */
export function setFirstParticipant(call: Call, messageSender: DataChannelSender): CommunicationIdentifierKind {
  const user = call.remoteParticipants[0]; // assume the user wants to send a message to the first participant in the remoteParticipants list
  if (!user) throw new Error('nobody else is in the call');
  messageSender.setParticipants([user.identifier]);
  return user.identifier;
}

/** "Send and receive messages": 'abc', then a JSON object, each serialized to bytes first. */
export async function sendTextAndObject(sender: DataChannelSender, obj: object): Promise<void> {
  const data = new TextEncoder().encode('abc');
  await sender.sendMessage(data);
  const objectData = new TextEncoder().encode(JSON.stringify(obj));
  await sender.sendMessage(objectData);
}

// ------------------------------------------------------------------------------ the Windows quickstart

/** A message as the Windows quickstart's MessageReceived handler reads it. */
export interface ReceivedMessage {
  channelId: number;
  senderId: CommunicationIdentifierKind;
  sequence: number;
  data: Uint8Array;
}

/** "Receiving data message", steps 1–5: every message of every receiver, in arrival order, until `count`. */
export function receiveDataMessages(call: Call, count: number): Promise<ReceivedMessage[]> {
  const dataChannelCallFeature: DataChannelCallFeature = call.feature(Features.DataChannel);
  const received: ReceivedMessage[] = [];
  return new Promise((resolve) => {
    const messageReceivedHandler = (receiver: DataChannelReceiver): void => {
      const message: DataChannelMessage | undefined = receiver.readMessage(); // read the data message from the receiver
      if (!message) return;
      received.push({ channelId: receiver.channelId, senderId: receiver.senderParticipantIdentifier, sequence: message.sequenceNumber, data: message.data });
      if (received.length === count) resolve(received);
    };
    dataChannelCallFeature.on('dataChannelReceiverCreated', (receiver) => {
      receiver.on('messageReady', () => messageReceivedHandler(receiver));
    });
  });
}

/** "Sending data message", step 1: the quickstart's DataChannelSenderOptions. */
export function configureSenderOptions(participants: CommunicationIdentifier[]): DataChannelSenderOpenOptions {
  const options: DataChannelSenderOpenOptions = {};
  options.channelId = 1000;
  options.bitrateInKbps = 32;
  options.priority = 'Normal';
  options.reliability = 'Lossy';
  options.participants = participants;
  return options;
}

/** "Sending data message", step 2: send `first` to the options' participants, then `second` to everyone. */
export async function sendThenBroadcast(call: Call, options: DataChannelSenderOpenOptions, first: Uint8Array, second: Uint8Array): Promise<DataChannelSender> {
  const sender = call.feature(Features.DataChannel).createDataChannelSender(options);
  await sender.sendMessage(first);
  sender.setParticipants([]); // change participants in the channel if needed
  await sender.sendMessage(second);
  return sender;
}
