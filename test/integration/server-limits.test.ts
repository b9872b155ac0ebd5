/**
 * SPEC §4 limits as the server enforces them "whatever a client claims": a raw client speaks the wire
 * protocol itself (no SDK checks), the server drops the offending frame, counts it by reason and tells the
 * sender why in a Notice frame, while well-behaved participants of the same call keep receiving.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import {
  CallClient,
  CallError,
  CommunicationTokenCredential,
  DataChannelError,
  DataChannelErrorCode,
  type DataChannelMessage,
  type DataChannelSenderEvents,
} from '@backchannel/client';
import {
  DATA_HEADER_BYTES,
  DEFAULT_LIMITS,
  DropReason,
  FrameFlag,
  FrameType,
  encodeSend,
  encodeSessionClose,
  encodeSetRecipients,
  encodeSignaling,
  type NoticeFrame,
  type ServerFrame,
  type ServerMessage,
} from '@backchannel/protocol';
import { WebSocket } from 'ws';

import { readMessages, receiversOf, rosterSettled, startHarness, utf8, type Harness, type Participant } from '../helpers/backchannel.js';
import { until, within } from '../helpers/events.js';
import { RawClients, RawEndpoint } from '../helpers/rawClient.js';

/** Bitrate limits raised out of the way, for tests of the other limits. */
const FAST = { durableMaxKbps: 1_000_000, lossyMaxKbps: 1_000_000, highPriorityLossyMaxKbps: 1_000_000 };

interface Header {
  channelId: number;
  sessionId: number;
  sequenceNumber: number;
  /** The recipient-list generation the frame is sent under (0: broadcast). */
  generation?: number;
  flags?: number;
}

/** Sends one Send frame, exactly as given. */
function sendFrame(raw: RawEndpoint, kind: 'durable' | 'lossy', header: Header, payload: Uint8Array): void {
  const { channelId, sessionId, sequenceNumber, generation = 0, flags = 0 } = header;
  raw.send(kind, encodeSend({ flags, channelId, sessionId, sequenceNumber }, generation, payload));
}

const isNotice = (frame: ServerFrame): frame is NoticeFrame => frame.type === FrameType.Notice;

/** Waits until `raw` holds `count` Notice frames; returns every notice it holds, in arrival order. */
async function noticesOf(raw: RawEndpoint, count: number): Promise<NoticeFrame[]> {
  await raw.nextFrame(() => raw.frames.filter(isNotice).length >= count);
  return raw.frames.filter(isNotice);
}

function notice(reason: DropReason, channelId: number, sessionId: number, sequenceNumber: number): NoticeFrame {
  return { type: FrameType.Notice, reason, channelId, sessionId, sequenceNumber };
}

/** The server's drop counters that are not zero, by reason name. */
function countedDrops(h: Harness): Record<string, number> {
  return Object.fromEntries(Object.entries(h.server.stats.drops).filter(([, count]) => count > 0));
}

const asPairs = (messages: DataChannelMessage[]): [number, string][] => messages.map((m) => [m.sequenceNumber, utf8.decode(m.data)]);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const ascending = (numbers: number[]): number[] => [...numbers].sort((x, y) => x - y);

describe('server-side limits, with the SDK bypassed', () => {
  let h: Harness | undefined;
  const rawClients = new RawClients();
  afterEach(async () => {
    rawClients.closeAll();
    await h?.close();
    h = undefined;
  });

  /** A raw endpoint of a new identity joined to `groupId`, closed after the test. */
  const rawJoin = (harness: Harness, groupId: string): Promise<RawEndpoint> => rawClients.join(harness, groupId);

  /** The first receiver `participant` announced, with every message it has buffered so far. */
  async function firstReceiverOf(participant: Participant, count: number): Promise<DataChannelMessage[]> {
    const [receiver] = await receiversOf(participant, 1);
    return readMessages(receiver!, count);
  }

  it('drops a message over maxMessageSizeBytes as MessageTooLarge and tells the sender; one of exactly the limit passes', async () => {
    h = await startHarness();
    const bystander = await h.join('size');
    const raw = await rawJoin(h, 'size');
    // 32 KiB + 1 stays below the SCTP max-message-size the server advertises (32 KiB + 1024).
    sendFrame(raw, 'durable', { channelId: 1, sessionId: 1, sequenceNumber: 1 }, new Uint8Array(32 * 1024).fill(0x61));
    sendFrame(raw, 'durable', { channelId: 1, sessionId: 1, sequenceNumber: 2 }, new Uint8Array(32 * 1024 + 1).fill(0x62));
    sendFrame(raw, 'durable', { channelId: 1, sessionId: 1, sequenceNumber: 3 }, utf8.encode('after'));

    assert.deepEqual(await noticesOf(raw, 1), [notice(DropReason.MessageTooLarge, 1, 1, 2)]);
    const [receiver] = await receiversOf(bystander, 1);
    assert.deepEqual(receiver!.senderParticipantIdentifier, { kind: 'communicationUser', communicationUserId: raw.identity, rawId: raw.identity });
    const messages = await readMessages(receiver!, 2);
    assert.deepEqual(
      messages.map((m) => [m.sequenceNumber, m.data.byteLength]),
      [
        [1, 32 * 1024],
        [3, 5],
      ],
    );
    assert.deepEqual(countedDrops(h), { MessageTooLarge: 1 });
    assert.equal(h.server.stats.messagesRouted.durable, 2);
  });

  it('drops every message sent under a recipient list of 65 identities as TooManyRecipients; a list of 64 delivers', async () => {
    h = await startHarness();
    const bystander = await h.join('recipients');
    const raw = await rawJoin(h, 'recipients');
    const strangers = Array.from({ length: 64 }, (_, i) => `8:backchannel:nobody-${i}`);
    raw.send('durable', encodeSetRecipients(2, 1, 1, [bystander.identity, ...strangers]));
    sendFrame(raw, 'durable', { channelId: 2, sessionId: 1, sequenceNumber: 1, generation: 1 }, utf8.encode('to 65'));
    raw.send('durable', encodeSetRecipients(2, 1, 2, [bystander.identity, ...strangers.slice(0, 63)]));
    sendFrame(raw, 'durable', { channelId: 2, sessionId: 1, sequenceNumber: 2, generation: 2 }, utf8.encode('to 64'));

    assert.deepEqual(await noticesOf(raw, 1), [notice(DropReason.TooManyRecipients, 2, 1, 1)]);
    assert.deepEqual(asPairs(await firstReceiverOf(bystander, 1)), [[2, 'to 64']]);
    assert.deepEqual(countedDrops(h), { TooManyRecipients: 1 });
    assert.equal(h.server.stats.recipientListsSet, 2);
  });

  it('counts every endpoint of a named identity toward maxRecipients (TooManyRecipients)', async () => {
    h = await startHarness({ limits: { maxRecipients: 2 } });
    const user = await h.createUser();
    const devices = [await h.join('endpoints', { as: user }), await h.join('endpoints', { as: user }), await h.join('endpoints', { as: user })];
    const other = await h.join('endpoints');
    const raw = await rawJoin(h, 'endpoints');
    raw.send('durable', encodeSetRecipients(3, 1, 1, [user.identity])); // one identity, three endpoints
    sendFrame(raw, 'durable', { channelId: 3, sessionId: 1, sequenceNumber: 1, generation: 1 }, utf8.encode('to 3 endpoints'));
    raw.send('durable', encodeSetRecipients(3, 1, 2, [other.identity]));
    sendFrame(raw, 'durable', { channelId: 3, sessionId: 1, sequenceNumber: 2, generation: 2 }, utf8.encode('to 1 endpoint'));

    assert.deepEqual(await noticesOf(raw, 1), [notice(DropReason.TooManyRecipients, 3, 1, 1)]);
    assert.deepEqual(asPairs(await firstReceiverOf(other, 1)), [[2, 'to 1 endpoint']]);
    // The frames were handled in order: by now the dropped one would have been handed out already.
    assert.equal(h.server.stats.deliveries, 1, 'only the copy to the other identity left the server');
    assert.deepEqual(
      devices.map((d) => d.receivers.length),
      [0, 0, 0],
    );
    assert.deepEqual(countedDrops(h), { TooManyRecipients: 1 });
  });

  it('applies maxRecipients to named recipients only: a broadcast reaches every endpoint of a larger call', async () => {
    h = await startHarness({ limits: { maxRecipients: 2 } });
    const participants = [await h.join('big-call'), await h.join('big-call'), await h.join('big-call'), await h.join('big-call')];
    await rosterSettled(participants);
    const [sender, first, ...rest] = participants;
    // SPEC §4: "An empty list broadcasts to everyone else in the call"; the SDK lets this broadcast go.
    await sender!.dataChannel.createDataChannelSender({ channelId: 4 }).sendMessage(utf8.encode('to everyone'));
    // A targeted marker on the same ordered path: once it arrives, the server has handled the broadcast.
    const marker = sender!.dataChannel.createDataChannelSender({ channelId: 5, participants: [{ communicationUserId: first!.identity }] });
    await marker.sendMessage(utf8.encode('marker'));
    await until(first!.dataChannel, 'dataChannelReceiverCreated', () => first!.receivers.some((r) => r.channelId === 5));
    assert.deepEqual(countedDrops(h), {}, 'the broadcast must not be dropped');
    assert.deepEqual(
      first!.receivers.map((r) => r.channelId),
      [4, 5],
      'the broadcast arrives before the marker',
    );
    for (const p of [first!, ...rest]) assert.deepEqual(asPairs(await firstReceiverOf(p, 1)), [[1, 'to everyone']]);
  });

  it('drops a raw Durable sender far above 64 kbps as Bandwidth once its second of slack is spent', async () => {
    h = await startHarness();
    const bystander = await h.join('bandwidth');
    const raw = await rawJoin(h, 'bandwidth');
    // Targeted, so that only the sender's pace applies (no broadcast rules).
    raw.send('durable', encodeSetRecipients(5, 1, 1, [bystander.identity]));
    const payload = new Uint8Array(8 * 1024);
    const start = performance.now();
    // The frames claim to be Lossy (512 kbps): the channel they arrive on decides their class, Durable.
    for (const sequenceNumber of range(1, 40)) {
      sendFrame(raw, 'durable', { channelId: 5, sessionId: 1, sequenceNumber, generation: 1, flags: FrameFlag.Lossy }, payload);
    }
    // A marker in a session of its own (its own pace), after the 40 on the same ordered channel.
    sendFrame(raw, 'durable', { channelId: 6, sessionId: 2, sequenceNumber: 1 }, utf8.encode('marker'));

    const [flood, marker] = await receiversOf(bystander, 2);
    assert.deepEqual(asPairs(await readMessages(marker!, 1)), [[1, 'marker']]);
    const elapsedMs = performance.now() - start;
    // The marker went out after every one of the 40: the bystander holds all of them that were delivered.
    const delivered = (await readMessages(flood!, 0)).map((m) => m.sequenceNumber);
    const dropped = h.server.stats.drops.Bandwidth;
    assert.ok(dropped > 0, 'some of the 40 must be dropped for bandwidth');
    assert.equal(delivered.length + dropped, 40);
    assert.deepEqual(countedDrops(h), { Bandwidth: dropped });
    // 64 kbps = 8 B/ms. The server's bucket holds one second of that plus a largest message (40 784 bytes)
    // and lets a frame pass while it is not in debt: the first five 8 KiB frames always pass, and no more
    // than the bucket refilled while the test ran can follow.
    const bytesPerMs = DEFAULT_LIMITS.durableMaxKbps / 8;
    const capacity = bytesPerMs * 1000 + DEFAULT_LIMITS.maxMessageSizeBytes + DATA_HEADER_BYTES;
    const cost = payload.byteLength + DATA_HEADER_BYTES;
    assert.deepEqual(delivered.slice(0, Math.ceil(capacity / cost)), range(1, 5));
    assert.ok(delivered.length * cost <= capacity + bytesPerMs * elapsedMs + cost, `${delivered.length} delivered in ${elapsedMs} ms`);

    const notices = await noticesOf(raw, dropped);
    assert.equal(notices.length, dropped);
    for (const n of notices) assert.deepEqual({ ...n, sequenceNumber: 0 }, notice(DropReason.Bandwidth, 5, 1, 0));
    const noticed = notices.map((n) => n.sequenceNumber);
    assert.deepEqual(ascending([...delivered, ...noticed]), range(1, 40), 'each frame is either delivered or noticed, once');
  });

  it('drops broadcasts over 80 packets/s (with one second of slack) as TrafficLimit', async () => {
    h = await startHarness({ limits: FAST });
    const bystander = await h.join('packet-rate');
    const raw = await rawJoin(h, 'packet-rate');
    const start = performance.now();
    for (const sequenceNumber of range(1, 300)) sendFrame(raw, 'durable', { channelId: 7, sessionId: 1, sequenceNumber }, Uint8Array.of(sequenceNumber % 256));
    // A targeted marker: the packet rate applies to broadcasts only.
    raw.send('durable', encodeSetRecipients(8, 2, 1, [bystander.identity]));
    sendFrame(raw, 'durable', { channelId: 8, sessionId: 2, sequenceNumber: 1, generation: 1 }, utf8.encode('marker'));

    const [broadcast, marker] = await receiversOf(bystander, 2);
    assert.equal(broadcast!.channelId, 7);
    assert.deepEqual(asPairs(await readMessages(marker!, 1)), [[1, 'marker']]);
    const elapsedMs = performance.now() - start;
    const delivered = (await readMessages(broadcast!, 0)).map((m) => m.sequenceNumber);
    const dropped = h.server.stats.drops.TrafficLimit;
    assert.equal(delivered.length + dropped, 300);
    assert.deepEqual(countedDrops(h), { TrafficLimit: dropped });
    // The bucket starts with 2 × 80 packets and refills at 80/s, never faster.
    assert.deepEqual(delivered.slice(0, 160), range(1, 160));
    assert.ok(delivered.length <= 160 + (80 * elapsedMs) / 1000 + 1, `${delivered.length} delivered in ${elapsedMs} ms`);
    assert.ok(dropped > 0);

    const notices = await noticesOf(raw, dropped);
    assert.equal(notices.length, dropped);
    for (const n of notices) assert.deepEqual({ ...n, sequenceNumber: 0 }, notice(DropReason.TrafficLimit, 7, 1, 0));
    assert.deepEqual(ascending([...delivered, ...notices.map((n) => n.sequenceNumber)]), range(1, 300));
  });

  it('drops the Durable broadcast of an endpoint that receives a flood as TrafficLimit; its targeted messages still go', async () => {
    h = await startHarness({ limits: { lossyMaxKbps: 1_000_000 } });
    const flooder = await h.join('receive-share');
    const raw = await rawJoin(h, 'receive-share');
    await until(flooder.call, 'remoteParticipantsUpdated', () => flooder.call.remoteParticipants.length === 1);
    const flood = flooder.dataChannel.createDataChannelSender({ channelId: 40, reliability: 'Lossy', participants: [{ communicationUserId: raw.identity }] });
    await Promise.all(Array.from({ length: 50 }, () => flood.sendMessage(new Uint8Array(4000))));
    // 20 × 4000 B within the last second is 640 kbps received: 80% of it is far above the 64 kbps budget.
    await raw.nextFrame(() => raw.frames.filter((f) => f.type === FrameType.Deliver && f.channelId === 40).length >= 20);
    sendFrame(raw, 'durable', { channelId: 41, sessionId: 1, sequenceNumber: 1 }, utf8.encode('to everyone'));
    raw.send('durable', encodeSetRecipients(41, 1, 1, [flooder.identity]));
    sendFrame(raw, 'durable', { channelId: 41, sessionId: 1, sequenceNumber: 2, generation: 1 }, utf8.encode('to the flooder'));

    assert.deepEqual(await noticesOf(raw, 1), [notice(DropReason.TrafficLimit, 41, 1, 1)]);
    assert.deepEqual(asPairs(await firstReceiverOf(flooder, 1)), [[2, 'to the flooder']]);
    assert.deepEqual(countedDrops(h), { TrafficLimit: 1 });
  });

  it('drops frames of a session past maxSendersPerEndpoint as TooManySenders; closing a session frees its slot', async () => {
    h = await startHarness({ maxSendersPerEndpoint: 2 });
    const bystander = await h.join('senders');
    const raw = await rawJoin(h, 'senders');
    sendFrame(raw, 'durable', { channelId: 10, sessionId: 1, sequenceNumber: 1 }, utf8.encode('ten'));
    sendFrame(raw, 'durable', { channelId: 11, sessionId: 2, sequenceNumber: 1 }, utf8.encode('eleven'));
    sendFrame(raw, 'durable', { channelId: 12, sessionId: 3, sequenceNumber: 1 }, utf8.encode('twelve, refused'));
    assert.deepEqual(await noticesOf(raw, 1), [notice(DropReason.TooManySenders, 12, 3, 1)]);

    raw.send('durable', encodeSessionClose(10, 1));
    sendFrame(raw, 'durable', { channelId: 12, sessionId: 3, sequenceNumber: 2 }, utf8.encode('twelve'));
    // A newer session on an open channel replaces the old one: it needs no free slot.
    sendFrame(raw, 'durable', { channelId: 11, sessionId: 4, sequenceNumber: 1 }, utf8.encode('eleven again'));

    const receivers = await receiversOf(bystander, 4);
    assert.deepEqual(
      receivers.map((r) => r.channelId),
      [10, 11, 12, 11],
    );
    const received = [];
    for (const receiver of receivers) received.push(asPairs(await readMessages(receiver, 1)));
    assert.deepEqual(received, [[[1, 'ten']], [[1, 'eleven']], [[2, 'twelve']], [[1, 'eleven again']]]);
    await until(receivers[0]!, 'close', () => receivers[0]!.closed);
    assert.deepEqual(countedDrops(h), { TooManySenders: 1 });
    assert.equal(h.server.stats.sessionsClosed, 1);
    assert.equal(raw.frames.filter(isNotice).length, 1);
  });

  it('drops frames of a replaced or closed session as StaleSession', async () => {
    h = await startHarness();
    const bystander = await h.join('stale');
    const raw = await rawJoin(h, 'stale');
    sendFrame(raw, 'durable', { channelId: 13, sessionId: 1, sequenceNumber: 1 }, utf8.encode('s1 #1'));
    sendFrame(raw, 'durable', { channelId: 13, sessionId: 2, sequenceNumber: 1 }, utf8.encode('s2 #1'));
    sendFrame(raw, 'durable', { channelId: 13, sessionId: 1, sequenceNumber: 2 }, utf8.encode('s1 #2, replaced'));
    raw.send('durable', encodeSessionClose(13, 2));
    sendFrame(raw, 'durable', { channelId: 13, sessionId: 2, sequenceNumber: 2 }, utf8.encode('s2 #2, closed'));
    sendFrame(raw, 'durable', { channelId: 13, sessionId: 3, sequenceNumber: 1 }, utf8.encode('s3 #1'));

    assert.deepEqual(await noticesOf(raw, 2), [notice(DropReason.StaleSession, 13, 1, 2), notice(DropReason.StaleSession, 13, 2, 2)]);
    const receivers = await receiversOf(bystander, 3);
    const received = [];
    for (const receiver of receivers) received.push(asPairs(await readMessages(receiver, 1)));
    assert.deepEqual(received, [[[1, 's1 #1']], [[1, 's2 #1']], [[1, 's3 #1']]]);
    assert.deepEqual(countedDrops(h), { StaleSession: 2 });
    assert.equal(h.server.stats.messagesRouted.durable, 3);
  });

  it('drops a Durable frame naming a recipient list the server does not hold (not yet sent, or 9 lists old) as UnknownRecipients', async () => {
    h = await startHarness();
    const bystander = await h.join('lists');
    const raw = await rawJoin(h, 'lists');
    for (const generation of range(1, 10)) raw.send('durable', encodeSetRecipients(20, 1, generation, [bystander.identity]));
    // The server keeps the current list and the 8 before it: generations 2–10.
    sendFrame(raw, 'durable', { channelId: 20, sessionId: 1, sequenceNumber: 1, generation: 11 }, utf8.encode('list 11, never sent'));
    sendFrame(raw, 'durable', { channelId: 20, sessionId: 1, sequenceNumber: 2, generation: 1 }, utf8.encode('list 1, forgotten'));
    sendFrame(raw, 'durable', { channelId: 20, sessionId: 1, sequenceNumber: 3, generation: 2 }, utf8.encode('list 2'));
    sendFrame(raw, 'durable', { channelId: 20, sessionId: 1, sequenceNumber: 4, generation: 10 }, utf8.encode('list 10'));

    assert.deepEqual(await noticesOf(raw, 2), [notice(DropReason.UnknownRecipients, 20, 1, 1), notice(DropReason.UnknownRecipients, 20, 1, 2)]);
    assert.deepEqual(asPairs(await firstReceiverOf(bystander, 2)), [
      [3, 'list 2'],
      [4, 'list 10'],
    ]);
    assert.deepEqual(countedDrops(h), { UnknownRecipients: 2 });
  });

  it('holds at most 64 Lossy frames that outran their recipient list; the oldest are dropped as UnknownRecipients', async () => {
    h = await startHarness();
    const bystander = await h.join('held');
    const raw = await rawJoin(h, 'held');
    // 70 Lossy frames name recipient list 1, which the server has not received.
    for (const sequenceNumber of range(1, 70)) {
      sendFrame(raw, 'lossy', { channelId: 14, sessionId: 1, sequenceNumber, generation: 1, flags: FrameFlag.Lossy }, utf8.encode(`#${sequenceNumber}`));
    }
    // Six notices mean all 70 were handled: 64 held, 6 pushed out.
    const notices = await noticesOf(raw, 6);
    assert.equal(notices.length, 6);
    for (const n of notices) assert.deepEqual({ ...n, sequenceNumber: 0 }, notice(DropReason.UnknownRecipients, 14, 1, 0));
    raw.send('durable', encodeSetRecipients(14, 1, 1, [bystander.identity]));

    const delivered = (await firstReceiverOf(bystander, 64)).map((m) => m.sequenceNumber);
    assert.equal(delivered.length, 64);
    assert.deepEqual(ascending([...delivered, ...notices.map((n) => n.sequenceNumber)]), range(1, 70));
    assert.deepEqual(countedDrops(h), { UnknownRecipients: 6 });
    assert.equal(h.server.stats.messagesRouted.lossy, 64);
  });

  it('refuses a join past maxParticipantsPerCall with CallFull, over raw signaling and in the SDK', async () => {
    h = await startHarness({ maxParticipantsPerCall: 2 });
    const [a, b] = [await h.join('full'), await h.join('full')];
    await rosterSettled([a, b]);

    const { token } = await h.createUser();
    const { ws, next } = await RawEndpoint.connect(h.server.url, token);
    rawClients.track(ws);
    ws.send(encodeSignaling({ type: 'join', ref: 7, groupId: 'full' }));
    const refused = await next((m) => m.type === 'error' && m.ref === 7);
    assert.equal(refused.type === 'error' && refused.code, 'CallFull');
    // The limit is per call: the same connection may join another one.
    ws.send(encodeSignaling({ type: 'join', ref: 8, groupId: 'not-full' }));
    const joined = await next((m) => (m.type === 'joined' || m.type === 'error') && m.ref === 8);
    assert.equal(joined.type, 'joined');

    const user = await h.createUser();
    const agent = await new CallClient({ serverUrl: h.server.url }).createCallAgent(new CommunicationTokenCredential(user.token));
    try {
      const call = agent.join({ groupId: 'full' });
      await until(call, 'stateChanged', () => call.state === 'Disconnected');
      assert.equal(call.callEndReason?.name, 'CallFull');
    } finally {
      await agent.dispose();
    }

    await a.dataChannel.createDataChannelSender({ channelId: 15 }).sendMessage(utf8.encode('still here'));
    assert.deepEqual(asPairs(await firstReceiverOf(b, 1)), [[1, 'still here']]);
    assert.deepEqual([a.call.state, a.call.remoteParticipants.length], ['Connected', 1]);
    assert.equal(h.server.stats.limitHits.callFull, 2);
  });

  it('refuses a connection past maxConnectionsPerIdentity with TooManyConnections; the identity’s other connections go on', async () => {
    h = await startHarness({ maxConnectionsPerIdentity: 2 });
    const user = await h.createUser();
    const a = await h.join('connections', { as: user }); // connection 1
    const b = await h.join('connections');
    await rosterSettled([a, b]);
    const second = await RawEndpoint.connect(h.server.url, user.token); // connection 2
    rawClients.track(second.ws);

    await assert.rejects(
      new CallClient({ serverUrl: h.server.url }).createCallAgent(new CommunicationTokenCredential(user.token)),
      (error: unknown) => error instanceof CallError && error.code === 'TooManyConnections',
    );
    await assert.rejects(RawEndpoint.connect(h.server.url, user.token), /TooManyConnections/);

    second.ws.send(encodeSignaling({ type: 'join', ref: 1, groupId: 'elsewhere' }));
    const joined: ServerMessage = await second.next((m) => m.type === 'joined' || m.type === 'error');
    assert.equal(joined.type, 'joined');
    await a.dataChannel.createDataChannelSender({ channelId: 16 }).sendMessage(utf8.encode('still here'));
    assert.deepEqual(asPairs(await firstReceiverOf(b, 1)), [[1, 'still here']]);
    assert.equal(h.server.stats.limitHits.connectionsPerIdentity, 2);
  });

  it('drops a copy that would queue more than receiverBufferBytes toward a receiver, counted per receiver, and tells the sender once (RecipientSlow)', async () => {
    h = await startHarness({ receiverBufferBytes: { durable: 40 } });
    const [b, c] = [await h.join('receiver-buffer'), await h.join('receiver-buffer')];
    const raw = await rawJoin(h, 'receiver-buffer');
    // 16 + 30 bytes cannot fit in 40 bytes of room; 16 + 5 can.
    sendFrame(raw, 'durable', { channelId: 19, sessionId: 1, sequenceNumber: 1 }, utf8.encode('thirty bytes of broadcast data'));
    sendFrame(raw, 'durable', { channelId: 19, sessionId: 1, sequenceNumber: 2 }, utf8.encode('short'));
    for (const p of [b, c]) assert.deepEqual(asPairs(await firstReceiverOf(p, 1)), [[2, 'short']]);
    // Each dropped copy is counted; the message, once, and its sender is told (Durable: delivered or told).
    assert.deepEqual(countedDrops(h), { RecipientSlow: 1, SlowReceiverDurable: 2 });
    assert.deepEqual(await noticesOf(raw, 1), [notice(DropReason.RecipientSlow, 19, 1, 1)]);
    assert.deepEqual([h.server.stats.messagesRouted.durable, h.server.stats.deliveries], [2, 2]);
  });

  it('closes a signaling connection that does not say hello within helloTimeoutMs (4001 InvalidToken)', async () => {
    h = await startHarness({ helloTimeoutMs: 200 });
    const ws = new WebSocket(`${h.server.url.replace(/^http/, 'ws')}/signaling`);
    rawClients.track(ws);
    ws.on('error', () => {
      // 'close' follows.
    });
    const closed = new Promise<[number, string]>((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve([code, reason.toString()])));
    assert.deepEqual(await within(closed, 'the close'), [4001, 'InvalidToken: no hello within the time allowed']);
  });

  it('ends an endpoint whose data transport is not up within joinTimeoutMs with TransportFailed, and forgets its call', async () => {
    // No SDK participant here: a real join may itself take longer than so short a timeout.
    h = await startHarness({ joinTimeoutMs: 300 });
    const { token } = await h.createUser();
    const { ws, next } = await RawEndpoint.connect(h.server.url, token);
    rawClients.track(ws);
    ws.send(encodeSignaling({ type: 'join', ref: 1, groupId: 'join-timeout' }));
    const joined = await next((m) => m.type === 'joined');
    assert.deepEqual(h.server.snapshot(), { calls: 1, endpoints: 1, connections: 1 });
    // No offer follows.
    const ended = await next((m) => m.type === 'callEnded');
    assert.deepEqual(
      ended.type === 'callEnded' && [ended.endpointId, ended.code],
      [joined.type === 'joined' && joined.endpointId, 'TransportFailed'],
    );
    assert.deepEqual(h.server.snapshot(), { calls: 0, endpoints: 0, connections: 1 });
    // The connection itself goes on: it may join again.
    ws.send(encodeSignaling({ type: 'join', ref: 2, groupId: 'join-timeout' }));
    const again = await next((m) => (m.type === 'joined' || m.type === 'error') && m.ref === 2);
    assert.equal(again.type, 'joined');
  });

  it("reports a server-side drop the SDK could not foresee as the sender's messageDropped event", async () => {
    // maxSendersPerEndpoint is not advertised: the SDK lets the second sender's message go.
    h = await startHarness({ maxSendersPerEndpoint: 1 });
    const [a, b] = [await h.join('dropped'), await h.join('dropped')];
    await rosterSettled([a, b]);
    const first = a.dataChannel.createDataChannelSender({ channelId: 17 });
    await first.sendMessage(utf8.encode('one'));
    const second = a.dataChannel.createDataChannelSender({ channelId: 18 });
    const dropped = new Promise<DataChannelSenderEvents['messageDropped'][0]>((resolve) => second.once('messageDropped', resolve));
    await second.sendMessage(utf8.encode('refused by the server')); // resolves: handed to the transport
    const event = await within(dropped, 'messageDropped');
    assert.equal(event.sequenceNumber, 1);
    assert.ok(event.error instanceof DataChannelError);
    assert.equal(event.error.code, DataChannelErrorCode.MessageFailureForTrafficLimit);

    await first.sendMessage(utf8.encode('two'));
    assert.deepEqual(asPairs(await firstReceiverOf(b, 2)), [
      [1, 'one'],
      [2, 'two'],
    ]);
    assert.equal(b.receivers.length, 1, 'nothing of channel 18 reached b');
    assert.deepEqual(countedDrops(h), { TooManySenders: 1 });
  });
});
