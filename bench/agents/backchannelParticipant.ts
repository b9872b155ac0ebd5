/**
 * A Backchannel participant: the public SDK exactly as an application uses it (CallClient, a token from the
 * identity API, join, Durable senders, receivers read on messageReady).
 */
import {
  CallClient,
  CommunicationTokenCredential,
  Features,
  type Call,
  type DataChannelSender,
} from '@backchannel/client';

import { JOIN_TIMEOUT_MS, withTimeout, type Participant, type ParticipantHooks } from './participant.js';

export interface BackchannelCredentials {
  identity: string;
  token: string;
}

const clients = new Map<string, CallClient>();

/** Creates an identity with a `voip` token (before any timing starts: it is not part of a join). */
export async function backchannelCredentials(url: string, accessKey: string): Promise<BackchannelCredentials> {
  const response = await fetch(`${url}/identities`, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ createTokenWithScopes: ['voip'] }),
  });
  if (response.status !== 201) throw new Error(`POST /identities answered ${response.status}`);
  const body = (await response.json()) as { identity: { id: string }; accessToken: { token: string } };
  return { identity: body.identity.id, token: body.accessToken.token };
}

export async function joinBackchannel(
  url: string,
  credentials: BackchannelCredentials,
  room: string,
  key: string,
  hooks: ParticipantHooks,
): Promise<Participant> {
  let client = clients.get(url);
  if (!client) clients.set(url, (client = new CallClient({ serverUrl: url, connectTimeoutMs: JOIN_TIMEOUT_MS })));
  const agent = await client.createCallAgent(new CommunicationTokenCredential(credentials.token), { displayName: key });
  try {
    const call = agent.join({ groupId: room });
    const dataChannel = call.feature(Features.DataChannel);
    dataChannel.on('dataChannelReceiverCreated', (receiver) => {
      receiver.on('messageReady', () => {
        for (let message = receiver.readMessage(); message; message = receiver.readMessage()) hooks.onPayload(message.data);
      });
    });
    await withTimeout(connected(call), JOIN_TIMEOUT_MS, `Backchannel join of ${key}`);
    const senders = new Map<string, DataChannelSender>();
    const senderFor = (to: readonly string[] | undefined): DataChannelSender => {
      const id = to?.join('\n') ?? '';
      let sender = senders.get(id);
      if (!sender) {
        sender = dataChannel.createDataChannelSender({ participants: (to ?? []).map((communicationUserId) => ({ communicationUserId })) });
        senders.set(id, sender);
      }
      return sender;
    };
    let closed = false;
    return {
      key,
      address: credentials.identity,
      send(payload, to) {
        try {
          senderFor(to).sendMessage(payload).catch(() => hooks.onRefused());
        } catch {
          hooks.onRefused();
        }
      },
      async close() {
        if (closed) return;
        closed = true;
        await agent.dispose();
      },
    };
  } catch (error) {
    await agent.dispose();
    throw error;
  }
}

/** Resolves when the call is Connected; rejects if it ends first. */
function connected(call: Call): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (call.state === 'Connected') resolve();
      else if (call.state === 'Disconnected') reject(new Error(`join failed: ${JSON.stringify(call.callEndReason)}`));
    };
    call.on('stateChanged', check);
    check();
  });
}
