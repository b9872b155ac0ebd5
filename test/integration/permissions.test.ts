/**
 * Channel permissions in tokens (issue #15, item 3; docs/api.md "Channel permissions"), over real WebRTC
 * through the real server: the identity API issues them as scopes, the token carries them signed, the SDK
 * refuses locally first and the server enforces both sides whatever a client does.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';

import { CallClient, CallError, CommunicationTokenCredential, DataChannelError } from '@backchannel/client';
import {
  CHANNELS_CLAIM,
  CallErrorCode,
  DataChannelErrorCode,
  DropReason,
  FrameType,
  IdentityApiErrorCode,
  encodeSend,
  encodeSetRecipients,
  type NoticeFrame,
} from '@backchannel/protocol';

import { readMessages, receiversOf, rosterSettled, startHarness, utf8, type Harness } from '../helpers/backchannel.js';
import { until } from '../helpers/events.js';
import { RawClients } from '../helpers/rawClient.js';

/** The claims of a JWT, read (not verified). */
function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('channel permissions in tokens', () => {
  let h: Harness;
  const raw = new RawClients();
  before(async () => {
    h = await startHarness();
  });
  afterEach(() => raw.closeAll());
  after(() => h.close());

  const api = (path: string, body: unknown): Promise<Response> =>
    fetch(`${h.server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.server.accessKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  /** A new identity with a token of `scopes` (besides `voip`), by createTokenWithScopes. */
  async function userWith(...scopes: string[]): Promise<{ identity: string; token: string }> {
    const response = await api('/identities', { createTokenWithScopes: ['voip', ...scopes] });
    assert.equal(response.status, 201, await response.clone().text());
    const body = (await response.json()) as { identity: { id: string }; accessToken: { token: string } };
    return { identity: body.identity.id, token: body.accessToken.token };
  }

  it('issues the scopes as a signed claim, by createTokenWithScopes and :issueAccessToken; no claim without them', async () => {
    const created = await userWith('channels.send:1-99,200', 'channels.receive:1000-1999');
    const claims = claimsOf(created.token);
    assert.deepEqual(claims[CHANNELS_CLAIM], { send: [[1, 99], [200, 200]], receive: [[1000, 1999]] });
    assert.equal(claims.scope, 'voip', 'the channel scopes travel in their claim, not in scope');

    const issued = await api(`/identities/${encodeURIComponent(created.identity)}/:issueAccessToken`, { scopes: ['voip', 'channels.send:none'] });
    assert.equal(issued.status, 200);
    assert.deepEqual(claimsOf(((await issued.json()) as { token: string }).token)[CHANNELS_CLAIM], { send: [] });

    const plain = await h.createUser();
    assert.equal(CHANNELS_CLAIM in claimsOf(plain.token), false);
  });

  it('refuses malformed channel scopes with InvalidRequest', async () => {
    for (const scope of ['channels.send:0-5', 'channels.send:9-3', 'channels.receive:65536', 'channels.send:', 'channels.send:1,,2', 'channels.listen:1']) {
      const response = await api('/identities', { createTokenWithScopes: ['voip', scope] });
      assert.equal(response.status, 400, scope);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, IdentityApiErrorCode.InvalidRequest, scope);
    }
    const twice = await api('/identities', { createTokenWithScopes: ['voip', 'channels.send:1', 'channels.send:2'] });
    assert.equal(twice.status, 400);
  });

  it('the SDK refuses a sender on a channel its token does not permit, and picks free ids only in its ranges', async () => {
    const user = await userWith('channels.send:10-12,40');
    const p = await h.join('sdk-refuses', { as: user });
    for (const channelId of [1, 13, 39, 41, 65535]) {
      assert.throws(
        () => p.dataChannel.createDataChannelSender({ channelId }),
        (error: unknown) => error instanceof DataChannelError && error.code === DataChannelErrorCode.ChannelNotPermitted && /10-12,40/.test(error.message),
        `channel ${channelId}`,
      );
    }
    const ids = new Set<number>();
    const senders = [10, 11, 12, 40].map(() => p.dataChannel.createDataChannelSender());
    for (const sender of senders) ids.add(sender.channelId);
    assert.deepEqual([...ids].sort((a, b) => a - b), [10, 11, 12, 40]);
    assert.throws(
      () => p.dataChannel.createDataChannelSender(),
      (error: unknown) => error instanceof DataChannelError && error.code === DataChannelErrorCode.RandomIdNotAvailable,
    );
    for (const sender of senders) sender.close();

    const none = await h.join('sdk-refuses', { as: await userWith('channels.send:none') });
    assert.throws(
      () => none.dataChannel.createDataChannelSender(),
      (error: unknown) => error instanceof DataChannelError && error.code === DataChannelErrorCode.RandomIdNotAvailable,
    );
  });

  it('the server drops a send on a forbidden channel (Notice ChannelNotPermitted) from a client that skips the SDK; nobody receives it', async () => {
    const restricted = await userWith('channels.send:1-9');
    const listener = await h.join('server-send');
    const sender = await raw.join(h, 'server-send', restricted);
    await until(listener.call, 'remoteParticipantsUpdated', () => listener.call.remoteParticipants.length === 1);
    const before = h.server.stats.drops.ChannelNotPermitted;
    sender.send('durable', encodeSetRecipients(50, 1, 1, [listener.identity]));
    sender.send('durable', encodeSend({ flags: 0, channelId: 50, sessionId: 1, sequenceNumber: 1 }, 1, utf8.encode('forbidden')));
    sender.send('durable', encodeSend({ flags: 0, channelId: 5, sessionId: 1, sequenceNumber: 1 }, 0, utf8.encode('allowed')));
    const notice = (await sender.nextFrame((frame) => frame.type === FrameType.Notice)) as NoticeFrame;
    assert.deepEqual(
      { reason: notice.reason, channelId: notice.channelId, sequenceNumber: notice.sequenceNumber },
      { reason: DropReason.ChannelNotPermitted, channelId: 50, sequenceNumber: 1 },
    );
    assert.equal(h.server.stats.drops.ChannelNotPermitted, before + 1);
    // Both travel the same ordered path: when the allowed one has arrived, the forbidden one never will.
    const [receiver] = await receiversOf(listener, 1);
    assert.equal(receiver!.channelId, 5);
    assert.equal(utf8.decode((await readMessages(receiver!, 1))[0]!.data), 'allowed');
    assert.equal(listener.receivers.length, 1);
  });

  it('a recipient whose token does not permit a channel never receives it and is not counted as a recipient', async () => {
    const a = await h.join('server-receive');
    const b = await h.join('server-receive', { as: await userWith('channels.receive:1000-1999') });
    const c = await h.join('server-receive');
    await rosterSettled([a, b, c]);
    const deliveriesBefore = h.server.stats.deliveries;
    const broadcast5 = a.dataChannel.createDataChannelSender({ channelId: 5 });
    await broadcast5.sendMessage(utf8.encode('on 5'));
    const onlyB5 = a.dataChannel.createDataChannelSender({ channelId: 6, participants: [{ communicationUserId: b.identity }] });
    await onlyB5.sendMessage(utf8.encode('to b on 6'));
    const broadcast1000 = a.dataChannel.createDataChannelSender({ channelId: 1000 });
    await broadcast1000.sendMessage(utf8.encode('on 1000'));
    // b hears only 1000; its first receiver is that one, though 5 and 6 were sent (to it) first.
    const [first] = await receiversOf(b, 1);
    assert.equal(first!.channelId, 1000);
    assert.equal(utf8.decode((await readMessages(first!, 1))[0]!.data), 'on 1000');
    const cReceivers = await receiversOf(c, 2);
    assert.deepEqual(cReceivers.map((r) => r.channelId), [5, 1000]);
    await readMessages(cReceivers[1]!, 1);
    // 5 → c, 6 → nobody, 1000 → b and c.
    assert.equal(h.server.stats.deliveries - deliveriesBefore, 3);
    assert.equal(b.receivers.length, 1);
  });

  it('a token without the claim may send and receive on every channel', async () => {
    const a = await h.join('unrestricted');
    const b = await h.join('unrestricted');
    await rosterSettled([a, b]);
    for (const channelId of [1, 1000, 65535]) await a.dataChannel.createDataChannelSender({ channelId }).sendMessage(utf8.encode(`${channelId}`));
    const receivers = await receiversOf(b, 3);
    assert.deepEqual(receivers.map((r) => r.channelId), [1, 1000, 65535]);
  });

  it('refuses a token whose claim was changed (the signature no longer matches): InvalidToken', async () => {
    const { token } = await userWith('channels.send:1-9');
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    delete claims[CHANNELS_CLAIM];
    const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    const client = new CallClient({ serverUrl: h.server.url });
    await assert.rejects(client.createCallAgent(new CommunicationTokenCredential(forged)), (error: unknown) => error instanceof CallError && error.code === CallErrorCode.InvalidToken);
    // The untouched token is accepted: the refusal is the forgery's.
    const agent = await client.createCallAgent(new CommunicationTokenCredential(token));
    await agent.dispose();
  });
});
