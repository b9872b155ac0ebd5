/**
 * A Node SDK client in the demo's call: it speaks the demo's app messages (@backchannel/protocol,
 * appMessages.ts) on the demo's channels, as a bot written against @backchannel/client would.
 */
import { EventEmitter } from 'node:events';

import {
  CallClient,
  CommunicationTokenCredential,
  Features,
  receiveStreams,
  type Call,
  type CallAgent,
  type DataChannelSender,
  type IncomingStream,
} from '@backchannel/client';
import { APP_FILE_CHANNEL, APP_MESSAGE_CHANNEL, AppMessageError, decodeAppMessage, encodeAppMessage, type AppMessage } from '@backchannel/protocol';

import { until } from '../../helpers/events.js';
import { connected, userIdOf } from '../../helpers/backchannel.js';

export interface ReceivedChat {
  from: string;
  message: AppMessage;
}

export class NodeParticipant {
  readonly identity: string;
  readonly agent: CallAgent;
  readonly call: Call;
  readonly chats: ReceivedChat[] = [];
  readonly streams: IncomingStream[] = [];
  /** Created once the call is Connected (senders cannot be created before). */
  #sender: DataChannelSender | undefined;
  /** 'chat' and 'stream' as they arrive, for waiting on them. */
  readonly #arrivals = new EventEmitter();

  private constructor(identity: string, agent: CallAgent, call: Call) {
    this.identity = identity;
    this.agent = agent;
    this.call = call;
    const dataChannel = call.feature(Features.DataChannel);
    dataChannel.on('dataChannelReceiverCreated', (receiver) => {
      if (receiver.channelId === APP_FILE_CHANNEL) {
        receiveStreams(receiver, (stream) => {
          this.streams.push(stream);
          this.#arrivals.emit('stream');
        });
        return;
      }
      if (receiver.channelId !== APP_MESSAGE_CHANNEL) return;
      const from = userIdOf(receiver.senderParticipantIdentifier);
      const drain = (): void => {
        for (let m = receiver.readMessage(); m; m = receiver.readMessage()) {
          try {
            this.chats.push({ from, message: decodeAppMessage(m.data) });
          } catch (error) {
            if (!(error instanceof AppMessageError)) throw error;
          }
        }
        this.#arrivals.emit('chat');
      };
      receiver.on('messageReady', drain);
    });
  }

  /** Gets a demo token, connects with `displayName` and joins `room`; resolves once Connected. */
  static async join(serverUrl: string, room: string, displayName: string): Promise<NodeParticipant> {
    const response = await fetch(`${serverUrl}/demo/token`, { method: 'POST' });
    if (response.status !== 201) throw new Error(`POST /demo/token answered ${response.status}`);
    const { identity, accessToken } = (await response.json()) as { identity: { id: string }; accessToken: { token: string } };
    const agent = await new CallClient({ serverUrl }).createCallAgent(new CommunicationTokenCredential(accessToken.token), { displayName });
    const call = agent.join({ groupId: room });
    const participant = new NodeParticipant(identity.id, agent, call);
    await connected(call);
    participant.#sender = call.feature(Features.DataChannel).createDataChannelSender({ channelId: APP_MESSAGE_CHANNEL });
    return participant;
  }

  /** Sends a chat line as the demo does: the recipient list first, then the message. */
  async say(text: string, to: 'everyone' | string[]): Promise<void> {
    const sender = this.#sender!;
    sender.setParticipants(to === 'everyone' ? [] : to.map((communicationUserId) => ({ communicationUserId })));
    await sender.sendMessage(encodeAppMessage({ type: 'chat', text, to }));
  }

  /** Chat texts received so far. */
  get texts(): string[] {
    return this.chats.flatMap(({ message }) => (message.type === 'chat' ? [message.text] : []));
  }

  /** Resolves once a chat line with `text` has arrived. */
  async waitForText(text: string): Promise<ReceivedChat> {
    const find = (): ReceivedChat | undefined => this.chats.find(({ message }) => message.type === 'chat' && message.text === text);
    await until(this.#arrivals, 'chat', () => find() !== undefined);
    return find()!;
  }

  /** Resolves with the first file stream that arrives (or has arrived). */
  async nextStream(): Promise<IncomingStream> {
    await until(this.#arrivals, 'stream', () => this.streams.length > 0);
    return this.streams[0]!;
  }

  async dispose(): Promise<void> {
    await this.agent.dispose();
  }
}
