/** Pacing arithmetic and class limits (packages/protocol/src/pacing.ts, limits.ts), on an explicit clock. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { DEFAULT_LIMITS, TokenBucket, broadcastPacketCount, kbpsToBytesPerMs, senderMaxKbps } from '@backchannel/protocol';

describe('TokenBucket', () => {
  it('starts full', () => {
    const bucket = new TokenBucket(2, 100, 1000);
    assert.equal(bucket.balance(1000), 100);
    assert.equal(bucket.msUntilReady(1000), 0);
  });

  it('lets a message larger than the balance leave and goes into debt by the difference', () => {
    const bucket = new TokenBucket(2, 100, 0);
    bucket.consume(150, 0);
    assert.equal(bucket.balance(0), -50);
  });

  it('reports exactly how long until the debt is paid back at its rate', () => {
    const bucket = new TokenBucket(2, 100, 0);
    bucket.consume(150, 0);
    assert.equal(bucket.msUntilReady(0), 25);
    assert.equal(bucket.msUntilReady(10), 15);
    assert.equal(bucket.balance(10), -30);
    assert.equal(bucket.msUntilReady(24.5), 0.5);
    assert.equal(bucket.msUntilReady(25), 0);
    assert.equal(bucket.balance(25), 0);
  });

  it('is ready at a balance of exactly zero', () => {
    const bucket = new TokenBucket(1, 100, 0);
    bucket.consume(100, 0);
    assert.equal(bucket.balance(0), 0);
    assert.equal(bucket.msUntilReady(0), 0);
  });

  it('refills at its rate, capped at its capacity', () => {
    const bucket = new TokenBucket(0.5, 100, 0);
    bucket.consume(80, 0);
    assert.equal(bucket.balance(0), 20);
    assert.equal(bucket.balance(100), 70);
    assert.equal(bucket.balance(160), 100);
    assert.equal(bucket.balance(1_000_000), 100);
  });

  it('holds no more than its capacity after a long idle time, so the debt of a burst counts from there', () => {
    const bucket = new TokenBucket(1, 100, 0);
    // Idle for a long time: still only `capacity` available.
    bucket.consume(300, 10_000);
    assert.equal(bucket.balance(10_000), -200);
    assert.equal(bucket.msUntilReady(10_000), 200);
  });

  it('applies a new rate from the moment it is set, not retroactively', () => {
    const bucket = new TokenBucket(1, 1000, 0);
    bucket.consume(1000, 0);
    bucket.setRate(3, 10); // 10 ms at the old rate: 10 tokens
    assert.equal(bucket.rateBytesPerMs, 3);
    assert.equal(bucket.balance(10), 10);
    assert.equal(bucket.balance(20), 40); // 10 ms at the new rate: 30 tokens
  });

  it('computes the wait for a debt at the current rate after setRate', () => {
    const bucket = new TokenBucket(1, 100, 0);
    bucket.consume(200, 0);
    assert.equal(bucket.msUntilReady(0), 100);
    bucket.setRate(4, 0);
    assert.equal(bucket.msUntilReady(0), 25);
  });

  it('never becomes ready while in debt at a rate of zero', () => {
    const bucket = new TokenBucket(0, 100, 0);
    bucket.consume(101, 0);
    assert.equal(bucket.msUntilReady(1_000_000), Infinity);
    assert.equal(bucket.balance(1_000_000), -1);
  });

  it('ignores a clock that goes backwards', () => {
    const bucket = new TokenBucket(1, 100, 0);
    bucket.consume(100, 50);
    assert.equal(bucket.balance(40), 0);
    assert.equal(bucket.balance(60), 10);
  });
});

describe('kbpsToBytesPerMs', () => {
  it('counts 1 kbit as 1000 bits', () => {
    assert.equal(kbpsToBytesPerMs(64), 8);
    assert.equal(kbpsToBytesPerMs(200), 25);
    assert.equal(kbpsToBytesPerMs(512), 64);
    assert.equal(kbpsToBytesPerMs(1), 0.125);
    assert.equal(kbpsToBytesPerMs(0), 0);
  });
});

describe('senderMaxKbps', () => {
  const distinct = { ...DEFAULT_LIMITS, durableMaxKbps: 11, lossyMaxKbps: 22, highPriorityLossyMaxKbps: 33 };

  it('gives a Durable Normal sender the Durable limit', () => {
    assert.equal(senderMaxKbps(distinct, 'Durable', 'Normal'), 11);
    assert.equal(senderMaxKbps(DEFAULT_LIMITS, 'Durable', 'Normal'), 64);
  });

  it('gives a Durable High sender the Durable limit too', () => {
    assert.equal(senderMaxKbps(distinct, 'Durable', 'High'), 11);
    assert.equal(senderMaxKbps(DEFAULT_LIMITS, 'Durable', 'High'), 64);
  });

  it('gives a Lossy Normal sender the Lossy limit', () => {
    assert.equal(senderMaxKbps(distinct, 'Lossy', 'Normal'), 22);
    assert.equal(senderMaxKbps(DEFAULT_LIMITS, 'Lossy', 'Normal'), 512);
  });

  it('gives a Lossy High sender the High-priority Lossy limit', () => {
    assert.equal(senderMaxKbps(distinct, 'Lossy', 'High'), 33);
    assert.equal(senderMaxKbps(DEFAULT_LIMITS, 'Lossy', 'High'), 200);
  });
});

describe('broadcastPacketCount', () => {
  it('counts an empty message as one packet', () => {
    assert.equal(broadcastPacketCount(DEFAULT_LIMITS, 0), 1);
  });

  it('counts one packet per started 1200 bytes', () => {
    assert.equal(broadcastPacketCount(DEFAULT_LIMITS, 1), 1);
    assert.equal(broadcastPacketCount(DEFAULT_LIMITS, 1200), 1);
    assert.equal(broadcastPacketCount(DEFAULT_LIMITS, 1201), 2);
    assert.equal(broadcastPacketCount(DEFAULT_LIMITS, 2400), 2);
    assert.equal(broadcastPacketCount(DEFAULT_LIMITS, 2401), 3);
  });

  it('counts a maximum-size message (32 KiB) as 28 packets', () => {
    assert.equal(broadcastPacketCount(DEFAULT_LIMITS, 32768), 28);
  });

  it('uses the configured packet size', () => {
    assert.equal(broadcastPacketCount({ ...DEFAULT_LIMITS, broadcastPacketBytes: 100 }, 1000), 10);
    assert.equal(broadcastPacketCount({ ...DEFAULT_LIMITS, broadcastPacketBytes: 100 }, 1001), 11);
  });
});
