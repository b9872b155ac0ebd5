/** SPEC §4 limits and §5 error codes, raised where the spec says, over the real server. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import { CommunicationTokenCredential, CallClient, DataChannelError, DataChannelErrorCode, Features, type CommunicationIdentifierKind } from '@backchannel/client';

import { readMessages, receiversOf, rosterSettled, startHarness, utf8, type Harness } from '../helpers/backchannel.js';

function isError(code: DataChannelErrorCode): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof DataChannelError, `expected a DataChannelError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

/** Settles every promise; returns which resolved and the errors of those that rejected. */
async function settle(promises: Promise<void>[]): Promise<{ resolved: number; errors: unknown[] }> {
  const results = await Promise.allSettled(promises);
  return {
    resolved: results.filter((r) => r.status === 'fulfilled').length,
    errors: results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : [])),
  };
}

const FAST = { durableMaxKbps: 1_000_000, lossyMaxKbps: 1_000_000, highPriorityLossyMaxKbps: 1_000_000 };

describe('limits and errors', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('accepts a message of exactly maxMessageSize (32 KiB) and refuses one byte more with DataChannelMessageSizeOverLimit', async () => {
    h = await startHarness();
    const [a, b] = [await h.join('size'), await h.join('size')];
    await rosterSettled([a, b]);
    const sender = a.dataChannel.createDataChannelSender({ channelId: 30 });
    assert.equal(sender.maxMessageSize, 32 * 1024);
    const payload = new Uint8Array(32 * 1024).map((_, i) => i % 251);
    await sender.sendMessage(payload);
    await assert.rejects(sender.sendMessage(new Uint8Array(32 * 1024 + 1)), isError(DataChannelErrorCode.MessageSizeOverLimit));
    const [message] = await readMessages((await receiversOf(b, 1))[0]!, 1);
    assert.deepEqual(message!.data, payload);
  });

  it('uses the limits the server advertises at join', async () => {
    h = await startHarness({ limits: { maxMessageSizeBytes: 1000 } });
    const a = await h.join('advertised');
    const sender = a.dataChannel.createDataChannelSender({ channelId: 31 });
    assert.equal(sender.maxMessageSize, 1000);
    await sender.sendMessage(new Uint8Array(1000));
    await assert.rejects(sender.sendMessage(new Uint8Array(1001)), isError(DataChannelErrorCode.MessageSizeOverLimit));
  });

  it('refuses 65 recipients with InvalidArgument and accepts 64', async () => {
    h = await startHarness();
    const a = await h.join('recipients');
    const ids = (n: number) => Array.from({ length: n }, (_, i) => ({ communicationUserId: `8:backchannel:user-${i}` }));
    const sender = a.dataChannel.createDataChannelSender({ channelId: 32, participants: ids(64) });
    assert.throws(() => sender.setParticipants(ids(65)), isError(DataChannelErrorCode.InvalidArgument));
    assert.throws(() => a.dataChannel.createDataChannelSender({ channelId: 33, participants: ids(65) }), isError(DataChannelErrorCode.InvalidArgument));
    sender.setParticipants(ids(64));
    await sender.sendMessage(utf8.encode('to 64 absent users'));
  });

  it('refuses recipients of identifier kinds Backchannel has no users of with InvalidArgument naming the kind', async () => {
    h = await startHarness();
    const a = await h.join('kinds');
    const sender = a.dataChannel.createDataChannelSender({ channelId: 34 });
    const foreign: [object, string][] = [
      [{ phoneNumber: '+14255550123' }, 'phoneNumber'],
      [{ kind: 'phoneNumber', phoneNumber: '+14255550123', rawId: '4:+14255550123' }, 'phoneNumber'],
      [{ microsoftTeamsUserId: '45ab2481-1c1c-4005-be24-0ffb879b1130', isAnonymous: false }, 'microsoftTeamsUser'],
      [{ teamsAppId: '45ab2481-1c1c-4005-be24-0ffb879b1130' }, 'microsoftTeamsApp'],
      [{ botId: '45ab2481-1c1c-4005-be24-0ffb879b1130' }, 'microsoftBot'],
      [{ userId: 'u', tenantId: 't', resourceId: 'r' }, 'teamsExtensionUser'],
      [{ id: '28:orgid:45ab2481' }, 'unknown'],
      [{ kind: 'unknown', id: '28:orgid:45ab2481' }, 'unknown'],
    ];
    for (const [identifier, kind] of foreign) {
      const participants = [{ communicationUserId: a.identity }, identifier] as never;
      const message = `a ${kind} identifier cannot be a recipient: Backchannel serves communicationUser identifiers ({ communicationUserId }) only`;
      assert.throws(() => sender.setParticipants(participants), { name: 'DataChannelError', code: DataChannelErrorCode.InvalidArgument, message });
      assert.throws(() => a.dataChannel.createDataChannelSender({ channelId: 35, participants }), { code: DataChannelErrorCode.InvalidArgument, message });
    }
    // What the SDK reports (a kind object, with rawId) and the plain identifier are both accepted.
    const reported: CommunicationIdentifierKind = { kind: 'communicationUser', communicationUserId: a.identity, rawId: a.identity };
    sender.setParticipants([reported, { communicationUserId: 'someone' }]);
    await sender.sendMessage(utf8.encode('to Communication users'));
  });

  it('counts each endpoint of a recipient identity toward the recipient limit', async () => {
    h = await startHarness({ limits: { maxRecipients: 2 } });
    const a = await h.join('endpoints');
    const bUser = await h.createUser();
    const b1 = await h.join('endpoints', { as: bUser });
    const b2 = await h.join('endpoints', { as: { identity: bUser.identity, token: bUser.token } });
    const c = await h.join('endpoints');
    await rosterSettled([a, b1, b2, c]);
    const sender = a.dataChannel.createDataChannelSender({ channelId: 34 });
    sender.setParticipants([{ communicationUserId: bUser.identity }]); // 2 endpoints: at the limit
    assert.throws(
      () => sender.setParticipants([{ communicationUserId: bUser.identity }, { communicationUserId: c.identity }]),
      isError(DataChannelErrorCode.InvalidArgument),
    );
  });

  it('refuses channelIds that are not integers from 0 to 65535 with InvalidArgument', async () => {
    h = await startHarness();
    const a = await h.join('channel-ids');
    for (const channelId of [-1, 65536, 1.5, Number.NaN, Infinity, '5' as unknown as number]) {
      assert.throws(() => a.dataChannel.createDataChannelSender({ channelId }), isError(DataChannelErrorCode.InvalidArgument), String(channelId));
    }
    assert.equal(a.dataChannel.createDataChannelSender({ channelId: 65535 }).channelId, 65535);
    assert.equal(a.dataChannel.createDataChannelSender({ channelId: 1 }).channelId, 1);
  });

  it('assigns unique channelIds in 1–65535 when none is given, and DataChannelRandomIdNotAvailable when all are taken', async () => {
    h = await startHarness();
    const a = await h.join('auto-ids');
    const assigned = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const { channelId } = a.dataChannel.createDataChannelSender(i % 2 ? {} : { channelId: 0 });
      assert.ok(Number.isInteger(channelId) && channelId >= 1 && channelId <= 65535, `channelId ${channelId} out of range`);
      assigned.add(channelId);
    }
    assert.equal(assigned.size, 1000, 'auto-assigned ids must not collide with open senders');
    for (let id = 1; id <= 65535; id++) if (!assigned.has(id)) a.dataChannel.createDataChannelSender({ channelId: id });
    assert.throws(() => a.dataChannel.createDataChannelSender(), isError(DataChannelErrorCode.RandomIdNotAvailable));
  });

  it('takes a sender made while the call is still Connecting: Durable messages sent then arrive once it connects, in order; Lossy ones are dropped', async () => {
    h = await startHarness();
    const b = await h.join('early-sender');
    const user = await h.createUser();
    const agent = await new CallClient({ serverUrl: h.server.url }).createCallAgent(new CommunicationTokenCredential(user.token));
    try {
      const call = agent.join({ groupId: 'early-sender' });
      assert.equal(call.state, 'Connecting');
      const dataChannel = call.feature(Features.DataChannel);
      const to = [{ communicationUserId: b.identity }];
      const durable = dataChannel.createDataChannelSender({ channelId: 1, participants: to });
      const lossy = dataChannel.createDataChannelSender({ channelId: 2, reliability: 'Lossy', participants: to });
      const sent = [1, 2, 3].map((i) => durable.sendMessage(Uint8Array.of(i)));
      const lossySent = lossy.sendMessage(Uint8Array.of(9));
      assert.equal(call.state, 'Connecting');
      await Promise.all([...sent, lossySent]);
      assert.equal(call.state, 'Connected', 'Durable messages resolve once handed over, after the call connected');
      const [receiver] = await receiversOf(b, 1);
      const messages = await readMessages(receiver!, 3);
      assert.deepEqual(messages.map((m) => [m.sequenceNumber, m.data[0]]), [[1, 1], [2, 2], [3, 3]]);
      assert.equal(receiver!.channelId, 1);
      assert.deepEqual(b.receivers.map((r) => r.channelId), [1], 'the Lossy message sent before Connected was dropped');
    } finally {
      await agent.dispose();
    }
  });

  it('rejects with DataChannelFailedToStart what a sender made while Connecting still holds when the call ends before it connects', async () => {
    h = await startHarness();
    const user = await h.createUser();
    const agent = await new CallClient({ serverUrl: h.server.url }).createCallAgent(new CommunicationTokenCredential(user.token));
    try {
      const call = agent.join({ groupId: 'never-connected' });
      const sender = call.feature(Features.DataChannel).createDataChannelSender({ channelId: 1 });
      const waiting = sender.sendMessage(Uint8Array.of(1));
      const hungUp = call.hangUp();
      await assert.rejects(waiting, (error: unknown) => {
        assert.ok(error instanceof DataChannelError);
        assert.equal(error.code, DataChannelErrorCode.FailedToStart);
        assert.match(error.message, /^the call ended before it connected: /);
        return true;
      });
      await hungUp;
      assert.throws(() => call.feature(Features.DataChannel).createDataChannelSender({ channelId: 2 }), isError(DataChannelErrorCode.FailedToStart));
    } finally {
      await agent.dispose();
    }
  });

  it('rejects data that is not a Uint8Array, or is empty, with InvalidArgument: sendMessage is asynchronous, as in the reference', async () => {
    h = await startHarness();
    const a = await h.join('not-bytes');
    const sender = a.dataChannel.createDataChannelSender({ channelId: 35 });
    const notBytes = /^sendMessage takes a Uint8Array; encode strings with TextEncoder first$/;
    for (const data of ['abc', new ArrayBuffer(3), [1, 2, 3], undefined]) {
      const sent = sender.sendMessage(data as unknown as Uint8Array); // never throws
      await assert.rejects(sent, (error) => isError(DataChannelErrorCode.InvalidArgument)(error) && notBytes.test((error as Error).message));
    }
    await assert.rejects(sender.sendMessage(new Uint8Array(0)), {
      code: DataChannelErrorCode.InvalidArgument,
      message: 'sendMessage takes a non-empty Uint8Array: an empty message carries nothing',
    });
    // Argument errors come first: a closed sender still says what is wrong with the argument.
    sender.close();
    await assert.rejects(sender.sendMessage(new Uint8Array(0)), isError(DataChannelErrorCode.InvalidArgument));
    await assert.rejects(sender.sendMessage(new Uint8Array(1)), isError(DataChannelErrorCode.SenderClosed));
  });

  it('refuses bad sender options with InvalidArgument', async () => {
    h = await startHarness();
    const a = await h.join('bad-options');
    const bad = [{ priority: 'Urgent' }, { reliability: 'Reliable' }, { bitrateInKbps: -1 }, { bitrateInKbps: Number.NaN }, { participants: 'all' }];
    for (const options of bad) {
      assert.throws(() => a.dataChannel.createDataChannelSender(options as never), isError(DataChannelErrorCode.InvalidArgument), JSON.stringify(options));
    }
  });

  it('clamps bitrateInKbps to the limit of the sender class', async () => {
    h = await startHarness();
    const a = await h.join('clamp');
    const f = a.dataChannel;
    assert.equal(f.createDataChannelSender({ bitrateInKbps: 10_000 }).bitrateInKbps, 64);
    assert.equal(f.createDataChannelSender({ bitrateInKbps: 10_000, reliability: 'Lossy' }).bitrateInKbps, 512);
    assert.equal(f.createDataChannelSender({ bitrateInKbps: 10_000, reliability: 'Lossy', priority: 'High' }).bitrateInKbps, 200);
    assert.equal(f.createDataChannelSender({ bitrateInKbps: 32 }).bitrateInKbps, 32);
    assert.equal(f.createDataChannelSender({}).bitrateInKbps, 64, 'default: the class limit');
  });

  it('paces a Durable sender and fails messages with DataChannelMessageFailureForBandwidth when it is far behind', async () => {
    h = await startHarness();
    const [a, b] = [await h.join('pace-durable'), await h.join('pace-durable')];
    await rosterSettled([a, b]);
    // 64 kbps = 8000 B/s; 2 s of backlog allowed = 16 KB, so 40 × 1 KB sent at once cannot all be accepted.
    const sender = a.dataChannel.createDataChannelSender({ channelId: 36 });
    const { resolved, errors } = await settle(Array.from({ length: 40 }, () => sender.sendMessage(new Uint8Array(1000))));
    assert.ok(errors.length > 0, 'some messages must fail for bandwidth');
    for (const error of errors) isError(DataChannelErrorCode.MessageFailureForBandwidth)(error);
    // The accepted ones all arrive, numbered 1..n without gaps: refused messages take no sequence number.
    const messages = await readMessages((await receiversOf(b, 1))[0]!, resolved);
    assert.deepEqual(
      messages.map((m) => m.sequenceNumber),
      Array.from({ length: resolved }, (_, i) => i + 1),
    );
  });

  it('drops Lossy messages silently when the sender is far behind its pace', async () => {
    h = await startHarness();
    const [a, b] = [await h.join('pace-lossy'), await h.join('pace-lossy')];
    await rosterSettled([a, b]);
    // 512 kbps = 64 KB/s; 2 s of backlog = 128 KB, so 40 × 8 KB cannot all be queued.
    const sender = a.dataChannel.createDataChannelSender({ channelId: 37, reliability: 'Lossy' });
    const { resolved, errors } = await settle(Array.from({ length: 40 }, () => sender.sendMessage(new Uint8Array(8000))));
    assert.deepEqual([resolved, errors.length], [40, 0], 'Lossy never rejects for bandwidth');
    await sender.sendMessage(utf8.encode('marker'));
    const [receiver] = await receiversOf(b, 1);
    const received = [];
    while (true) {
      const [message] = await readMessages(receiver!, 1);
      received.push(message!);
      if (message!.data.byteLength === 6) break;
    }
    const marker = received.at(-1)!;
    assert.ok(marker.sequenceNumber < 41, `some of the 40 must have been dropped (marker is #${marker.sequenceNumber})`);
  });

  it('fails broadcasts over 80 packets/s with DataChannelMessageFailureForTrafficLimit, and not targeted messages', async () => {
    h = await startHarness({ limits: FAST });
    const [a, b] = [await h.join('packet-rate'), await h.join('packet-rate')];
    await rosterSettled([a, b]);
    const broadcast = a.dataChannel.createDataChannelSender({ channelId: 38 });
    const first = await settle(Array.from({ length: 120 }, () => broadcast.sendMessage(new Uint8Array(10))));
    assert.ok(first.resolved >= 80 && first.resolved < 120, `accepted ${first.resolved} of 120`);
    for (const error of first.errors) isError(DataChannelErrorCode.MessageFailureForTrafficLimit)(error);
    const targeted = a.dataChannel.createDataChannelSender({ channelId: 39, participants: [{ communicationUserId: b.identity }] });
    const second = await settle(Array.from({ length: 120 }, () => targeted.sendMessage(new Uint8Array(10))));
    assert.deepEqual([second.resolved, second.errors.length], [120, 0]);
  });

  it('takes 80% of what an endpoint receives off its broadcast budget (DataChannelMessageFailureForTrafficLimit)', async () => {
    h = await startHarness({ limits: { lossyMaxKbps: 1_000_000 } });
    const [a, b] = [await h.join('receive-share'), await h.join('receive-share')];
    await rosterSettled([a, b]);
    // a floods b with Lossy data far above 80 kbps: b's Durable broadcast budget (64 kbps − 80% of that) is gone.
    const flood = a.dataChannel.createDataChannelSender({ channelId: 40, reliability: 'Lossy', participants: [{ communicationUserId: b.identity }] });
    await Promise.all(Array.from({ length: 50 }, () => flood.sendMessage(new Uint8Array(4000))));
    await readMessages((await receiversOf(b, 1))[0]!, 20);
    const bBroadcast = b.dataChannel.createDataChannelSender({ channelId: 41 });
    await assert.rejects(bBroadcast.sendMessage(utf8.encode('hello all')), isError(DataChannelErrorCode.MessageFailureForTrafficLimit));
    // Targeted messages are not broadcasts: they still go.
    const bTargeted = b.dataChannel.createDataChannelSender({ channelId: 42, participants: [{ communicationUserId: a.identity }] });
    await bTargeted.sendMessage(utf8.encode('hello a'));
  });
});
