/**
 * Bounds found by review: what a client cannot make the server (or a peer's SDK) hold, borrow or keep.
 * A raw client speaks the wire protocol itself, bypassing the SDK's own checks.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import { CallClient, CommunicationTokenCredential, type Call } from '@backchannel/client';
import { DropReason, FrameType, encodeSend, type NoticeFrame, type ServerFrame } from '@backchannel/protocol';

import { startHarness, type Harness } from '../helpers/backchannel.js';
import { until, waitForEvent } from '../helpers/events.js';
import { RawClients, RawEndpoint } from '../helpers/rawClient.js';

const isNotice = (frame: ServerFrame): frame is NoticeFrame => frame.type === FrameType.Notice;

describe('hardening', () => {
  let h: Harness | undefined;
  const rawClients = new RawClients();
  afterEach(async () => {
    rawClients.closeAll();
    await h?.close();
    h = undefined;
  });

  /** A raw endpoint of a new identity joined to `groupId`, closed after the test. */
  const raw = (groupId: string): Promise<RawEndpoint> => rawClients.join(h!, groupId);

  it('drops at once a Lossy frame naming a recipient list more than 8 generations ahead', async () => {
    h = await startHarness();
    const r = await raw('ahead');
    r.send('lossy', encodeSend({ flags: 1, channelId: 3, sessionId: 1, sequenceNumber: 1 }, 9, new Uint8Array(10)));
    const notice = (await r.nextFrame(isNotice)) as NoticeFrame;
    assert.deepEqual([notice.reason, notice.sequenceNumber], [DropReason.UnknownRecipients, 1]);
  });

  it('holds at most 256 KiB of Lossy frames per endpoint waiting for recipient lists, across sessions', async () => {
    h = await startHarness({ limits: { lossyMaxKbps: 1_000_000 } });
    const r = await raw('held-bytes');
    // 12 sessions × 8 frames of 8 KiB under a list never sent: 768 KiB asked for, 256 KiB held at most.
    let sequenceNumber = 0;
    for (let channelId = 1; channelId <= 12; channelId++) {
      for (let i = 0; i < 8; i++) r.send('lossy', encodeSend({ flags: 1, channelId, sessionId: 1, sequenceNumber: ++sequenceNumber }, 1, new Uint8Array(8192)));
    }
    const held = 256 * 1024;
    const expectedDrops = 96 - Math.floor(held / (8192 + 16));
    await r.nextFrame(() => r.frames.filter(isNotice).length >= expectedDrops);
    assert.ok(r.frames.filter(isNotice).every((n) => n.reason === DropReason.UnknownRecipients));
    assert.equal(h.server.stats.drops.UnknownRecipients, expectedDrops);
  });

  it('charges each class to its own pace: a Lossy frame first does not let Durable frames run at the Lossy rate', async () => {
    h = await startHarness();
    const r = await raw('classes');
    r.send('lossy', encodeSend({ flags: 1, channelId: 4, sessionId: 1, sequenceNumber: 1 }, 0, new Uint8Array(10)));
    // 64 kbps Durable with one second of slack: 40 × 8 KiB at once cannot all pass, whatever came first.
    for (let i = 0; i < 40; i++) r.send('durable', encodeSend({ flags: 0, channelId: 4, sessionId: 1, sequenceNumber: i + 2 }, 0, new Uint8Array(8192)));
    const notice = (await r.nextFrame((f) => isNotice(f) && f.reason === DropReason.Bandwidth)) as NoticeFrame;
    assert.equal(notice.channelId, 4);
    assert.ok(h.server.stats.drops.Bandwidth > 0);
  });

  it('refuses a 17th call on one agent connection and a 5th unanswered call ringing from one agent', async () => {
    h = await startHarness();
    const user = await h.createUser();
    const { ws, next } = await RawEndpoint.connect(h.server.url, user.token);
    try {
      for (let ref = 1; ref <= 17; ref++) ws.send(JSON.stringify({ type: 'join', ref, groupId: `g${ref}` }));
      const refused = await next((m) => m.type === 'error' && m.ref === 17);
      assert.equal(refused.type === 'error' && refused.code, 'BadRequest');
      assert.match(refused.type === 'error' ? refused.message : '', /at most 16 calls per agent/);
      const callee = await h.createUser();
      const calleeAgent = await new CallClient({ serverUrl: h.server.url }).createCallAgent(new CommunicationTokenCredential(callee.token));
      try {
        for (let ref = 100; ref < 105; ref++) ws.send(JSON.stringify({ type: 'startCall', ref, callee: callee.identity }));
        const fifth = await next((m) => m.type === 'error' && m.ref === 104);
        assert.match(fifth.type === 'error' ? fifth.message : '', /at most 4 calls ringing/);
      } finally {
        await calleeAgent.dispose();
      }
    } finally {
      ws.close();
    }
  });

  it('ends a 1:1 call with TransportFailed, without crashing, when the other party sends an unusable offer', async () => {
    h = await startHarness();
    const caller = await h.createUser();
    const callee = await h.createUser();
    const agent = await new CallClient({ serverUrl: h.server.url }).createCallAgent(new CommunicationTokenCredential(callee.token));
    const { ws, next } = await RawEndpoint.connect(h.server.url, caller.token);
    try {
      const ringing = waitForEvent(agent, 'incomingCall');
      ws.send(JSON.stringify({ type: 'startCall', ref: 1, callee: callee.identity }));
      const [{ incomingCall }] = await ringing;
      const call: Call = await incomingCall.accept();
      await next((m) => m.type === 'callAccepted');
      ws.send(JSON.stringify({ type: 'peerSignal', callId: call.id, signal: { kind: 'offer', sdp: 'not sdp' } }));
      await until(call, 'stateChanged', () => call.state === 'Disconnected');
      assert.equal(call.callEndReason?.name, 'TransportFailed');
      // Never connected: the reference's "call setup failed" (410/3100), not "call dropped" (3101).
      assert.deepEqual([call.callEndReason?.code, call.callEndReason?.subCode], [410, 3100]);
      assert.match(call.callEndReason?.message ?? '', /refused/);
    } finally {
      ws.close();
      await agent.dispose();
    }
  });
});
