/**
 * Test harness: a real server on a free loopback port and real SDK clients over loopback WebRTC.
 *
 *   const h = await startHarness({ limits: { durableMaxKbps: 100_000 } });
 *   const alice = await h.join('room');            // connected participant
 *   ...
 *   await h.close();                               // hangs up everyone, stops the server, checks for leaks
 */
import assert from 'node:assert/strict';

import {
  CallClient,
  CommunicationTokenCredential,
  Features,
  type Call,
  type CallAgent,
  type CommunicationIdentifierKind,
  type DataChannelCallFeature,
  type DataChannelMessage,
  type DataChannelReceiver,
  type DataChannelSender,
} from '@backchannel/client';
import { rtcRuntimeReferences } from '@backchannel/node-rtc';
import { startServer, type RunningServer, type StartOptions } from '@backchannel/server';

import { until, waitForEvent } from './events.js';

export interface Participant {
  identity: string;
  displayName: string;
  agent: CallAgent;
  call: Call;
  dataChannel: DataChannelCallFeature;
  /** Every receiver this participant's SDK announced, in order. */
  receivers: DataChannelReceiver[];
}

export interface Harness {
  server: RunningServer;
  /** Creates an identity and a `voip` token through the identity API. */
  createUser(): Promise<{ identity: string; token: string }>;
  /** A new identity (or `as` an existing one, for a second endpoint) joined to `groupId` and Connected. */
  join(groupId: string, options?: { displayName?: string; as?: { identity: string; token: string } }): Promise<Participant>;
  /** Hangs up every participant, stops the server, and asserts nothing leaked. */
  close(): Promise<void>;
}

/** A new identity and a `voip` token for it, through `server`'s identity API. */
export async function createUser(server: RunningServer): Promise<{ identity: string; token: string }> {
  const response = await fetch(`${server.url}/identities`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.accessKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ createTokenWithScopes: ['voip'] }),
  });
  assert.equal(response.status, 201);
  const body = (await response.json()) as { identity: { id: string }; accessToken: { token: string } };
  return { identity: body.identity.id, token: body.accessToken.token };
}

/** Waits until `call` is Connected; fails with its end reason if it ends first. */
export async function connected(call: Call, timeoutMs?: number): Promise<void> {
  await until(call, 'stateChanged', () => call.state === 'Connected' || call.state === 'Disconnected', timeoutMs);
  assert.equal(call.state, 'Connected', `the call ended before it connected: ${JSON.stringify(call.callEndReason)}`);
}

export async function startHarness(options: StartOptions = {}): Promise<Harness> {
  // The server's recipient backlog bound is by time at the rate each receiver drains: on a loaded machine a
  // receiver process starved of CPU drains slowly and would see copies dropped (reported, RecipientSlow) in
  // tests about something else. Tests of that bound set it (impairment.test.ts); the others get ten minutes.
  const server = await startServer({ port: 0, recipientBacklogMs: 10 * 60_000, ...options });
  const agents: CallAgent[] = [];
  const client = new CallClient({ serverUrl: server.url });
  const createUserHere = (): Promise<{ identity: string; token: string }> => createUser(server);

  let joined = 0;
  const join: Harness['join'] = async (groupId, joinOptions = {}) => {
    const user = joinOptions.as ?? (await createUserHere());
    const displayName = joinOptions.displayName ?? `user-${++joined}`;
    const agent = await client.createCallAgent(new CommunicationTokenCredential(user.token), { displayName });
    agents.push(agent);
    const call = agent.join({ groupId });
    const dataChannel = call.feature(Features.DataChannel);
    const receivers: DataChannelReceiver[] = [];
    dataChannel.on('dataChannelReceiverCreated', (receiver) => receivers.push(receiver));
    await connected(call);
    return { identity: user.identity, displayName, agent, call, dataChannel, receivers };
  };

  return {
    server,
    createUser: createUserHere,
    join,
    async close() {
      await Promise.all(agents.map((agent) => agent.dispose()));
      await server.close();
      assert.deepEqual(server.snapshot(), { calls: 0, endpoints: 0, connections: 0 }, 'server state left behind');
      assert.equal(rtcRuntimeReferences(), 0, 'peer connections left open');
    },
  };
}

/** Waits until every participant in `participants` sees all the others in its roster. */
export async function rosterSettled(participants: Participant[]): Promise<void> {
  for (const p of participants) {
    await until(p.call, 'remoteParticipantsUpdated', () => p.call.remoteParticipants.length === participants.length - 1);
  }
}

/** Waits for `count` receivers on `participant` (already announced ones count). */
export async function receiversOf(participant: Participant, count: number): Promise<DataChannelReceiver[]> {
  await until(participant.dataChannel, 'dataChannelReceiverCreated', () => participant.receivers.length >= count);
  return participant.receivers.slice(0, count);
}

/** Reads messages from `receiver` until `count` have arrived (counting those already buffered). */
export async function readMessages(receiver: DataChannelReceiver, count: number): Promise<DataChannelMessage[]> {
  const messages: DataChannelMessage[] = [];
  const drain = (): void => {
    for (let m = receiver.readMessage(); m; m = receiver.readMessage()) messages.push(m);
  };
  drain();
  if (messages.length < count) {
    await waitForEvent(receiver, 'messageReady', () => (drain(), messages.length >= count));
  }
  return messages;
}

/** The identity of a participant the SDK reported: Backchannel's are Communication users (asserted). */
export function userIdOf(identifier: CommunicationIdentifierKind): string {
  assert.equal(identifier.kind, 'communicationUser', `a communicationUser identifier, got ${JSON.stringify(identifier)}`);
  return (identifier as { communicationUserId: string }).communicationUserId;
}

export const utf8 = {
  encode: (text: string): Uint8Array => new TextEncoder().encode(text),
  decode: (bytes: Uint8Array): string => new TextDecoder().decode(bytes),
};

/**
 * Sends `count` messages `<tag>:<n>`, one at a time (each awaited); `halfway` resolves once half have been
 * handed over, `done` once every one has. `expected` is what a recipient must read, in order.
 */
export function numberedStream(sender: DataChannelSender, tag: string, count: number): { done: Promise<void>; halfway: Promise<void>; expected: string[] } {
  let reached!: () => void;
  const halfway = new Promise<void>((resolve) => (reached = resolve));
  const done = (async () => {
    for (let n = 0; n < count; n++) {
      await sender.sendMessage(utf8.encode(`${tag}:${n}`));
      if (n === Math.floor(count / 2)) reached();
    }
  })();
  return { done, halfway, expected: Array.from({ length: count }, (_, n) => `${tag}:${n}`) };
}
