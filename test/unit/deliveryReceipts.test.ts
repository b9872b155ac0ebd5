/** Delivery receipts (an extension): the sender's waiters and the server's link-number mapping. Pure. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { DeliveryReceipts } from '../../packages/client/src/internal/dataChannel/DeliveryReceipts.js';
import { ReceiptTracker } from '../../packages/server/src/calls/DeliveryReceipts.js';
import type { ServerSession } from '../../packages/server/src/calls/ServerSession.js';

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
