/**
 * The Durable link's drain-rate meter (packages/protocol/src/drainRate.ts): acknowledgements in, an
 * estimate out, on times the test chooses. Exact figures: the arithmetic is the contract.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { DRAIN_SAMPLE_MS, DrainRateMeter } from '@backchannel/protocol';

/**
 * Feeds `count` acknowledgements of `bytes` each, `everyMs` apart, after `start`, with `outstanding`
 * bytes still unacknowledged after each; returns the time of the last.
 */
function feed(meter: DrainRateMeter, start: number, count: number, bytes: number, everyMs: number, outstanding: number): number {
  let now = start;
  for (let i = 0; i < count; i++) {
    now += everyMs;
    meter.acknowledged(bytes, outstanding, now);
  }
  return now;
}

/** More than any window in these tests drains: data waits throughout, the path sets the pace. */
const BACKLOG = 1_000_000;
/** Less than any window drains: the application, not the path, sets the pace. */
const IDLE = 0;

describe('DrainRateMeter', () => {
  it('has no estimate and judges nothing before its first full window', () => {
    const meter = new DrainRateMeter();
    meter.acknowledged(1000, BACKLOG, 0); // opens the window
    meter.acknowledged(1000, BACKLOG, DRAIN_SAMPLE_MS - 1);
    assert.equal(meter.bytesPerMs, undefined);
    assert.equal(meter.drainMs(1_000_000), undefined);
  });

  it('takes a window that drained less than was outstanding when it opened as the path rate, and judges backlogs by it', () => {
    const meter = new DrainRateMeter();
    meter.acknowledged(0, BACKLOG, 0);
    feed(meter, 0, 20, 100, 10, BACKLOG); // 100 bytes every 10 ms for 200 ms: 10 bytes/ms
    assert.equal(meter.bytesPerMs, 10);
    assert.equal(meter.pathMeasured, true);
    assert.equal(meter.drainMs(20_000), 2000);
  });

  it('never lowers the estimate from a window that drained all that was outstanding: the application set that pace', () => {
    const meter = new DrainRateMeter();
    meter.acknowledged(0, BACKLOG, 0);
    let now = feed(meter, 0, 20, 100, 10, IDLE); // 10 bytes/ms, measured under load (the window opened backlogged)
    assert.equal(meter.pathMeasured, true);
    now = feed(meter, now, 20, 10, 10, IDLE); // 1 byte/ms, nothing outstanding when the window opened
    assert.equal(meter.bytesPerMs, 10);
    // A faster such window shows the path carries at least that much: it raises the estimate.
    feed(meter, now, 20, 300, 10, IDLE);
    assert.equal(meter.bytesPerMs, 30);
  });

  it('gives no basis for refusing anything until a window was limited by the path', () => {
    const meter = new DrainRateMeter();
    meter.acknowledged(0, IDLE, 0);
    feed(meter, 0, 20, 100, 10, IDLE);
    assert.equal(meter.bytesPerMs, 10, 'a lower bound of the path rate is known');
    assert.equal(meter.pathMeasured, false);
    assert.equal(meter.drainMs(1_000_000), undefined);
  });

  it('follows a path that degrades: each path-limited window moves the estimate a quarter of the way', () => {
    const meter = new DrainRateMeter();
    meter.acknowledged(0, BACKLOG, 0);
    let now = feed(meter, 0, 20, 100, 10, BACKLOG); // 10
    now = feed(meter, now, 20, 20, 10, BACKLOG); // sample 2: 10 + (2 − 10) / 4 = 8
    assert.equal(meter.bytesPerMs, 8);
    feed(meter, now, 20, 20, 10, BACKLOG); // 8 + (2 − 8) / 4 = 6.5
    assert.equal(meter.bytesPerMs, 6.5);
  });

  it('reads a stall at the acknowledgement that ends it: one small ack after a second closes a slow window', () => {
    const meter = new DrainRateMeter();
    meter.acknowledged(0, BACKLOG, 0);
    const now = feed(meter, 0, 20, 100, 10, BACKLOG); // 10 bytes/ms; a new window opens at 200, backlogged
    assert.equal(meter.drainMs(1000), 100, 'no acknowledgement yet: the estimate stands');
    meter.acknowledged(100, BACKLOG, now + 1000); // 0.1 bytes/ms over that window
    assert.equal(meter.bytesPerMs, 10 + (0.1 - 10) * 0.25);
  });

  it('abandons the window in progress when the transport goes (pause) and keeps its estimate', () => {
    const meter = new DrainRateMeter();
    meter.acknowledged(0, BACKLOG, 0);
    const now = feed(meter, 0, 20, 100, 10, BACKLOG);
    meter.pause();
    assert.equal(meter.drainMs(2000), 200, 'an outage is not read as a stalled path');
    meter.acknowledged(50_000, BACKLOG, now + 60_000); // the resend after the resume opens a new window
    assert.equal(meter.bytesPerMs, 10);
  });
});
