/** Delivery receipts (an extension): the sender's waiters, the server's link-number mapping and a 1:1 call's mapping of the peer's acknowledgements. Pure. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { FrameFlag, FrameType, SlowRecipientReason, decodeServerFrame, encodeSend, encodeSessionClose } from '@backchannel/protocol';

import { DeliveryReceipts } from '../../packages/client/src/internal/dataChannel/DeliveryReceipts.js';
import { PeerReceipts } from '../../packages/client/src/internal/dataChannel/PeerReceipts.js';
import type { SenderState } from '../../packages/client/src/internal/dataChannel/SenderState.js';
import { ReceiptTracker } from '../../packages/server/src/calls/DeliveryReceipts.js';
import { RemoteSenderSession } from '../../packages/server/src/calls/RemoteSenderSession.js';
import type { ServerSession } from '../../packages/server/src/calls/ServerSession.js';
import { ManualClock } from '../helpers/clock.js';

const b = { endpointId: 2, identity: 'b' };
const c = { endpointId: 3, identity: 'c' };

describe('DeliveryReceipts (SDK)', () => {
  it('resolves once every endpoint acknowledged the message; receipts are cumulative and only grow', async () => {
    const receipts = new DeliveryReceipts();
    const waiting = receipts.whenDelivered(5, [b, c]);
    receipts.received(b, 7);
    receipts.received(b, 3); // older: ignored
    assert.equal(receipts.highest(2), 7);
    receipts.received(c, 5);
    assert.deepEqual(await waiting, { reached: [b, c], missed: [] });
    assert.deepEqual(await receipts.whenDelivered(4, [b, c]), { reached: [b, c], missed: [] }, 'known already');
  });

  it('settles an endpoint that left, or every one when the sender ends, as missed', async () => {
    const receipts = new DeliveryReceipts();
    const one = receipts.whenDelivered(1, [b, c]);
    receipts.received(b, 1);
    receipts.left(3);
    assert.deepEqual(await one, { reached: [b], missed: [c] });
    const two = receipts.whenDelivered(2, [b]);
    receipts.end();
    assert.deepEqual(await two, { reached: [], missed: [b] });
  });

  it('compares sequence numbers across the uint32 wrap', async () => {
    const receipts = new DeliveryReceipts();
    const waiting = receipts.whenDelivered(0xffffffff, [b]);
    receipts.received(b, 2); // after the wrap: later than 0xffffffff
    assert.deepEqual(await waiting, { reached: [b], missed: [] });
  });
});

describe('ReceiptTracker (server)', () => {
  it('maps an acknowledged link count back to the highest sequence number per session, once', () => {
    const told: [string, number, number][] = [];
    const session = (name: string): ServerSession => ({ sendReceipt: (recipient: number, seq: number) => told.push([name, recipient, seq]) }) as unknown as ServerSession;
    const s1 = session('s1');
    const s2 = session('s2');
    const tracker = new ReceiptTracker();
    tracker.note(1, s1, 10);
    tracker.note(2, s2, 4);
    tracker.note(4, s1, 11);
    tracker.acknowledged(3, 9);
    assert.deepEqual(told, [['s1', 9, 10], ['s2', 9, 4]]);
    tracker.acknowledged(3, 9);
    assert.equal(told.length, 2, 'nothing twice');
    tracker.acknowledged(4, 9);
    assert.deepEqual(told.at(-1), ['s1', 9, 11]);
  });

  it('compares link numbers across the uint32 wrap', () => {
    const told: number[] = [];
    const s = { sendReceipt: (_r: number, seq: number) => told.push(seq) } as unknown as ServerSession;
    const tracker = new ReceiptTracker();
    tracker.note(0xffffffff, s, 1);
    tracker.note(0, s, 2);
    tracker.acknowledged(0xffffffff, 1);
    tracker.acknowledged(0, 1);
    assert.deepEqual(told, [1, 2]);
  });
});

describe('PeerReceipts (SDK, 1:1 calls)', () => {
  /** A sender on `channelId`, session `sessionId`, recording the receipts it is told of. */
  const fakeSender = (sessionId: number): SenderState & { told: [number, string, number][] } => {
    const told: [number, string, number][] = [];
    return { sessionId, told, reportReceipt: (endpointId: number, identity: string, n: number) => void told.push([endpointId, identity, n]) } as never;
  };
  const send = (channelId: number, sessionId: number, sequenceNumber: number, flags: number = FrameFlag.Receipts): Uint8Array =>
    encodeSend({ flags, channelId, sessionId, sequenceNumber }, 0, Uint8Array.of(1));

  it('maps one acknowledgement to the highest sequence number per receipts sender it covers, told once', () => {
    const receipts = fakeSender(7);
    const plain = fakeSender(8);
    const senders = new Map([[1, receipts], [2, plain]]);
    const peer = new PeerReceipts({ senderOn: (id) => senders.get(id), peer: () => ({ endpointId: 1, identity: 'peer' }) });
    for (const frame of [send(1, 7, 1), send(2, 8, 1, 0), send(1, 7, 2), encodeSessionClose(2, 8), send(1, 7, 3)]) peer.frame(frame);
    peer.done();
    assert.deepEqual(receipts.told, [[1, 'peer', 3]]);
    assert.deepEqual(plain.told, [], 'a message without the flag brings no receipt');
    peer.done();
    assert.equal(receipts.told.length, 1, 'nothing new acknowledged: no receipt');
  });

  it('ignores messages of a session since replaced, and of a channel with no sender now', () => {
    const current = fakeSender(9);
    const peer = new PeerReceipts({ senderOn: (id) => (id === 1 ? current : undefined), peer: () => ({ endpointId: 1, identity: 'peer' }) });
    peer.frame(send(1, 8, 40)); // the old session on channel 1
    peer.frame(send(3, 1, 5)); // nobody sends on channel 3 now
    peer.done();
    assert.deepEqual(current.told, []);
  });
});

describe('RemoteSenderSession (server, a sender on another cluster node)', () => {
  /** A node link that records the Notice records it is handed: [endpoint id, decoded frame]. */
  const fakeNode = () => {
    const notices: [number, ReturnType<typeof decodeServerFrame>][] = [];
    return { notices, node: { id: 'n2', control: () => undefined, data: () => 'sent' as const, notice: (endpointId: number, frame: Uint8Array) => void notices.push([endpointId, decodeServerFrame(frame)]) } };
  };

  it("sends its receipts back to the sender's node, addressed to the sender", () => {
    const { node, notices } = fakeNode();
    const session = new RemoteSenderSession(node, 7, 12, 3, new ManualClock());
    session.sendReceipt(9, 40);
    assert.deepEqual(notices, [[7, { type: FrameType.Receipt, channelId: 12, sessionId: 3, recipientEndpointId: 9, sequenceNumber: 40 }]]);
  });

  it('reports a slow recipient at once, then at most once a second with what was dropped meanwhile; nothing after close', () => {
    const { node, notices } = fakeNode();
    const clock = new ManualClock();
    const session = new RemoteSenderSession(node, 7, 12, 3, clock);
    const recipient = { id: 9 };
    session.noteSlowRecipient(recipient, SlowRecipientReason.Dropping, 1, clock.now());
    session.noteSlowRecipient(recipient, SlowRecipientReason.Dropping, 1, clock.now());
    session.noteSlowRecipient(recipient, SlowRecipientReason.Dropping, 1, clock.now());
    assert.equal(notices.length, 1);
    clock.advance(1000);
    assert.equal(notices.length, 2);
    const [first, second] = notices.map(([to, frame]) => [to, frame.type, (frame as { droppedCount: number }).droppedCount]);
    assert.deepEqual([first, second], [[7, FrameType.SlowRecipient, 1], [7, FrameType.SlowRecipient, 2]]);
    session.close();
    session.noteSlowRecipient(recipient, SlowRecipientReason.Dropping, 1, clock.now());
    session.sendReceipt(9, 41);
    clock.advance(5000);
    assert.equal(notices.length, 2);
  });
});
