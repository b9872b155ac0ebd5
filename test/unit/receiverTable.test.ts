/** SPEC §4 "Sessions" and "Receiving", on the client's ReceiverTable directly, with an explicit clock. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { DEFAULT_LIMITS } from '@backchannel/protocol';

import type { DataChannelMessage } from '../../packages/client/src/dataChannel/types.js';
import type { ReceiverState } from '../../packages/client/src/internal/dataChannel/ReceiverState.js';
import { ReceiverTable } from '../../packages/client/src/internal/dataChannel/ReceiverTable.js';

const IDLE_MS = DEFAULT_LIMITS.receiverIdleCloseMs;

interface Observed {
  table: ReceiverTable;
  /** Every receiver announced, in order. */
  created: ReceiverState[];
  /** Buffered messages of each receiver at the moment it was announced. */
  bufferedWhenCreated: number[];
  /** How often each receiver emitted 'close'. */
  closeCalls: Map<ReceiverState, number>;
  /** How often each receiver emitted 'messageReady'. */
  readyCalls: Map<ReceiverState, number>;
}

/** A table whose onCreated attaches listeners the way the public receiver does. */
function observedTable(bufferCapacity = 16): Observed {
  const created: ReceiverState[] = [];
  const bufferedWhenCreated: number[] = [];
  const closeCalls = new Map<ReceiverState, number>();
  const readyCalls = new Map<ReceiverState, number>();
  const table = new ReceiverTable(
    bufferCapacity,
    (receiver) => {
      created.push(receiver);
      bufferedWhenCreated.push(receiver.bufferedCount);
      closeCalls.set(receiver, 0);
      readyCalls.set(receiver, 0);
      receiver.on('close', () => closeCalls.set(receiver, closeCalls.get(receiver)! + 1));
      receiver.on('messageReady', () => readyCalls.set(receiver, readyCalls.get(receiver)! + 1));
    },
    (error) => {
      throw error;
    },
  );
  return { table, created, bufferedWhenCreated, closeCalls, readyCalls };
}

const bytes = (...values: number[]): Uint8Array => Uint8Array.of(...values);

/** Sequence numbers buffered in `receiver`, oldest first (reads them out). */
function readSequenceNumbers(receiver: ReceiverState): number[] {
  return drain(receiver).map((message) => message.sequenceNumber);
}

/** Every buffered message of `receiver`, oldest first (reads them out). */
function drain(receiver: ReceiverState): DataChannelMessage[] {
  const messages: DataChannelMessage[] = [];
  for (let message = receiver.read(); message; message = receiver.read()) messages.push(message);
  return messages;
}

describe('ReceiverTable', () => {
  describe('creating receivers', () => {
    it('creates a receiver on the first message of a session and announces it once, before buffering the message', () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 1, 1, bytes(0xa1), 0);
      assert.equal(o.created.length, 1);
      assert.deepEqual(o.bufferedWhenCreated, [0]);
      const receiver = o.created[0]!;
      assert.equal(receiver.channelId, 1000);
      assert.equal(receiver.sessionId, 1);
      assert.equal(receiver.senderIdentity, 'user-a');
      assert.equal(receiver.closed, false);
      assert.equal(receiver.bufferedCount, 1);
      assert.deepEqual(receiver.peek(), { sequenceNumber: 1, data: bytes(0xa1) });
    });

    it('announces the first message to a listener attached when the receiver is announced', () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 1, 1, bytes(1), 0);
      assert.equal(o.readyCalls.get(o.created[0]!), 1);
    });

    it('puts later messages of the same session into the same receiver, in arrival order', () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 1, 1, bytes(1), 0);
      o.table.deliver(3, 'user-a', 1000, 1, 2, bytes(2), 1);
      o.table.deliver(3, 'user-a', 1000, 1, 4, bytes(4), 2); // a gap: message 3 went to someone else
      assert.equal(o.created.length, 1);
      const receiver = o.created[0]!;
      assert.equal(o.readyCalls.get(receiver), 3);
      assert.deepEqual(drain(receiver), [
        { sequenceNumber: 1, data: bytes(1) },
        { sequenceNumber: 2, data: bytes(2) },
        { sequenceNumber: 4, data: bytes(4) },
      ]);
    });

    it('keeps receivers apart per sender endpoint and per channel', () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 1, 1, bytes(1), 0);
      o.table.deliver(4, 'user-a', 1000, 1, 1, bytes(2), 0); // same identity, another endpoint
      o.table.deliver(3, 'user-a', 1001, 1, 1, bytes(3), 0); // same endpoint, another channel
      assert.deepEqual(
        o.created.map((r) => [r.channelId, r.peek()?.data[0]]),
        [
          [1000, 1],
          [1000, 2],
          [1001, 3],
        ],
      );
    });

    it('creates a new receiver for a newer session and keeps the old one open', () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 1, 1, bytes(1), 0);
      o.table.deliver(3, 'user-a', 1000, 2, 1, bytes(2), 1);
      assert.equal(o.created.length, 2);
      const [old, newer] = o.created as [ReceiverState, ReceiverState];
      assert.equal(newer.sessionId, 2);
      assert.deepEqual(o.bufferedWhenCreated, [0, 0]);
      assert.equal(old.closed, false);
      assert.equal(o.closeCalls.get(old), 0);
      assert.deepEqual(readSequenceNumbers(old), [1]);
      assert.deepEqual(readSequenceNumbers(newer), [1]);
    });

    it('treats any higher session id as newer, gaps included', () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 1, 1, bytes(1), 0);
      o.table.deliver(3, 'user-a', 1000, 0xffffffff, 1, bytes(2), 0);
      assert.deepEqual(
        o.created.map((r) => r.sessionId),
        [1, 0xffffffff],
      );
    });
  });

  describe('superseded sessions', () => {
    it('discards a message of an older session once a newer session exists, and counts it', () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 1, 1, bytes(1), 0);
      o.table.deliver(3, 'user-a', 1000, 2, 1, bytes(2), 1);
      o.table.deliver(3, 'user-a', 1000, 1, 2, bytes(3), 2);
      assert.equal(o.created.length, 2);
      assert.equal(o.table.counters.staleDiscarded, 1);
      const [old, newer] = o.created as [ReceiverState, ReceiverState];
      assert.deepEqual(readSequenceNumbers(old), [1]);
      assert.deepEqual(readSequenceNumbers(newer), [1]);
      assert.equal(o.readyCalls.get(old), 1);
    });

    it('discards an older session that was never seen before the newer one', () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 5, 1, bytes(1), 0);
      o.table.deliver(3, 'user-a', 1000, 4, 1, bytes(2), 1);
      assert.equal(o.created.length, 1);
      assert.equal(o.table.counters.staleDiscarded, 1);
    });

    it('judges sessions per sender endpoint and channel', () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 9, 1, bytes(1), 0);
      o.table.deliver(4, 'user-b', 1000, 1, 1, bytes(2), 0);
      o.table.deliver(3, 'user-a', 1001, 1, 1, bytes(3), 0);
      assert.equal(o.created.length, 3);
      assert.equal(o.table.counters.staleDiscarded, 0);
    });

    it('still discards an older session after the newer session closed', () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 1, 1, bytes(1), 0);
      o.table.deliver(3, 'user-a', 1000, 2, 1, bytes(2), 1);
      o.table.closeSession(3, 1000, 2);
      o.table.deliver(3, 'user-a', 1000, 1, 2, bytes(3), 2);
      assert.equal(o.created.length, 2);
      assert.equal(o.table.counters.staleDiscarded, 1);
    });
  });

  describe('closeSession', () => {
    it('closes only the receiver of that session', () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 1, 1, bytes(1), 0);
      o.table.deliver(3, 'user-a', 1000, 2, 1, bytes(2), 0);
      o.table.deliver(3, 'user-a', 1001, 1, 1, bytes(3), 0);
      o.table.deliver(4, 'user-b', 1000, 1, 1, bytes(4), 0);
      o.table.closeSession(3, 1000, 1);
      assert.deepEqual(
        o.created.map((r) => r.closed),
        [true, false, false, false],
      );
      assert.deepEqual(
        o.created.map((r) => o.closeCalls.get(r)),
        [1, 0, 0, 0],
      );
    });

    it('keeps the messages a closed receiver buffered, for the application to read', () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 1, 1, bytes(1), 0);
      o.table.deliver(3, 'user-a', 1000, 1, 2, bytes(2), 0);
      o.table.closeSession(3, 1000, 1);
      assert.deepEqual(readSequenceNumbers(o.created[0]!), [1, 2]);
    });

    it('notifies a close once, however often the close arrives', () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 1, 1, bytes(1), 0);
      o.table.closeSession(3, 1000, 1);
      o.table.closeSession(3, 1000, 1);
      assert.equal(o.closeCalls.get(o.created[0]!), 1);
    });

    it('ignores a close for a session, channel or endpoint it has no receiver for', () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 1, 1, bytes(1), 0);
      o.table.closeSession(3, 1000, 2);
      o.table.closeSession(3, 1001, 1);
      o.table.closeSession(4, 1000, 1);
      assert.equal(o.created[0]!.closed, false);
      assert.equal(o.closeCalls.get(o.created[0]!), 0);
    });

    it('creates a new receiver for a message of the newest session after its receiver closed', () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 1, 1, bytes(1), 0);
      o.table.closeSession(3, 1000, 1);
      o.table.deliver(3, 'user-a', 1000, 1, 2, bytes(2), 1);
      assert.equal(o.created.length, 2);
      const [closed, reopened] = o.created as [ReceiverState, ReceiverState];
      assert.notEqual(reopened, closed);
      assert.equal(reopened.sessionId, 1);
      assert.equal(reopened.closed, false);
      assert.deepEqual(readSequenceNumbers(closed), [1]);
      assert.deepEqual(readSequenceNumbers(reopened), [2]);
      assert.equal(o.table.counters.staleDiscarded, 0);
    });
  });

  describe('closeIdle', () => {
    const limits = DEFAULT_LIMITS;

    it(`closes a receiver after receiverIdleCloseMs (${IDLE_MS} ms) without a message, not a millisecond before`, () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 1, 1, bytes(1), 1000);
      const receiver = o.created[0]!;
      o.table.closeIdle(limits, 1000 + IDLE_MS - 1);
      assert.equal(receiver.closed, false);
      o.table.closeIdle(limits, 1000 + IDLE_MS);
      assert.equal(receiver.closed, true);
      assert.equal(o.closeCalls.get(receiver), 1);
    });

    it('counts idle time from the latest message', () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 1, 1, bytes(1), 0);
      o.table.deliver(3, 'user-a', 1000, 1, 2, bytes(2), 60_000);
      const receiver = o.created[0]!;
      assert.equal(receiver.lastActivityAt, 60_000);
      o.table.closeIdle(limits, IDLE_MS);
      assert.equal(receiver.closed, false);
      o.table.closeIdle(limits, 60_000 + IDLE_MS);
      assert.equal(receiver.closed, true);
    });

    it('closes only the idle receivers, old sessions included', () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 1, 1, bytes(1), 0); // old session, idle
      o.table.deliver(3, 'user-a', 1000, 2, 1, bytes(2), 50_000); // newer session, active
      o.table.deliver(4, 'user-b', 1001, 1, 1, bytes(3), 10_000); // another endpoint, idle
      o.table.closeIdle(limits, 10_000 + IDLE_MS);
      assert.deepEqual(
        o.created.map((r) => r.closed),
        [true, false, true],
      );
    });

    it('uses the receiverIdleCloseMs of the limits it is given', () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 1, 1, bytes(1), 0);
      o.table.closeIdle({ ...limits, receiverIdleCloseMs: 500 }, 499);
      assert.equal(o.created[0]!.closed, false);
      o.table.closeIdle({ ...limits, receiverIdleCloseMs: 500 }, 500);
      assert.equal(o.created[0]!.closed, true);
    });

    it('creates a new receiver when the newest session speaks again after an idle close', () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 1, 1, bytes(1), 0);
      o.table.closeIdle(limits, IDLE_MS);
      o.table.deliver(3, 'user-a', 1000, 1, 2, bytes(2), IDLE_MS + 1);
      assert.equal(o.created.length, 2);
      assert.equal(o.created[1]!.closed, false);
      assert.deepEqual(readSequenceNumbers(o.created[1]!), [2]);
    });
  });

  describe('closeEndpoint', () => {
    it("closes every receiver of the endpoint that left, on every channel and session, and none of another's", () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 1, 1, bytes(1), 0);
      o.table.deliver(3, 'user-a', 1000, 2, 1, bytes(2), 0);
      o.table.deliver(3, 'user-a', 65535, 1, 1, bytes(3), 0);
      o.table.deliver(4, 'user-a', 1000, 1, 1, bytes(4), 0); // same identity, another endpoint
      o.table.deliver(2, 'user-b', 1000, 1, 1, bytes(5), 0);
      o.table.closeEndpoint(3);
      assert.deepEqual(
        o.created.map((r) => r.closed),
        [true, true, true, false, false],
      );
      assert.deepEqual(
        o.created.map((r) => o.closeCalls.get(r)),
        [1, 1, 1, 0, 0],
      );
    });

    it('handles the largest endpoint id without touching its neighbours', () => {
      const o = observedTable();
      o.table.deliver(0xffffffff, 'user-a', 65535, 1, 1, bytes(1), 0);
      o.table.deliver(0xfffffffe, 'user-b', 65535, 1, 1, bytes(2), 0);
      o.table.deliver(1, 'user-c', 1, 1, 1, bytes(3), 0);
      o.table.closeEndpoint(0xffffffff);
      assert.deepEqual(
        o.created.map((r) => r.closed),
        [true, false, false],
      );
    });
  });

  describe('closeAll', () => {
    it('closes every receiver once', () => {
      const o = observedTable();
      o.table.deliver(3, 'user-a', 1000, 1, 1, bytes(1), 0);
      o.table.deliver(4, 'user-b', 1001, 1, 1, bytes(2), 0);
      o.table.closeSession(3, 1000, 1);
      o.table.closeAll();
      assert.deepEqual(
        o.created.map((r) => [r.closed, o.closeCalls.get(r)]),
        [
          [true, 1],
          [true, 1],
        ],
      );
    });
  });

  describe('buffer capacity', () => {
    it('drops the oldest message when the buffer is full and counts the drop', () => {
      const o = observedTable(3);
      for (let sequenceNumber = 1; sequenceNumber <= 5; sequenceNumber++) {
        o.table.deliver(3, 'user-a', 1000, 1, sequenceNumber, bytes(sequenceNumber), sequenceNumber);
      }
      const receiver = o.created[0]!;
      assert.equal(receiver.droppedMessages, 2);
      assert.equal(o.readyCalls.get(receiver), 5);
      assert.deepEqual(readSequenceNumbers(receiver), [3, 4, 5]);
      assert.equal(o.table.counters.staleDiscarded, 0);
    });

    it('drops nothing while the application reads as fast as messages arrive', () => {
      const o = observedTable(1);
      const read: number[] = [];
      for (let sequenceNumber = 1; sequenceNumber <= 4; sequenceNumber++) {
        o.table.deliver(3, 'user-a', 1000, 1, sequenceNumber, bytes(sequenceNumber), 0);
        read.push(o.created[0]!.read()!.sequenceNumber);
      }
      assert.deepEqual(read, [1, 2, 3, 4]);
      assert.equal(o.created[0]!.droppedMessages, 0);
    });

    it('counts drops per receiver', () => {
      const o = observedTable(1);
      o.table.deliver(3, 'user-a', 1000, 1, 1, bytes(1), 0);
      o.table.deliver(3, 'user-a', 1000, 1, 2, bytes(2), 0);
      o.table.deliver(3, 'user-a', 1000, 2, 1, bytes(3), 0);
      assert.deepEqual(
        o.created.map((r) => r.droppedMessages),
        [1, 0],
      );
    });
  });
});
