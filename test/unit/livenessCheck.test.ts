/**
 * LivenessCheck: the SDK's ping of a signaling server (protocol `ping`/`pong`), on a manual clock and
 * mocked interval timers.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';

import { LivenessCheck } from '../../packages/client/src/internal/signaling/LivenessCheck.js';

describe('LivenessCheck', () => {
  let now = 0;
  let pings = 0;
  let deaths: number[] = [];
  const check = (): LivenessCheck =>
    new LivenessCheck({ intervalMs: 5000, timeoutMs: 10_000, now: () => now, ping: () => pings++, dead: (silentMs) => deaths.push(silentMs) });
  /** Moves the clock and the timers on by `ms`. */
  const advance = (ms: number): void => {
    now += ms;
    mock.timers.tick(ms);
  };

  beforeEach(() => {
    mock.timers.enable({ apis: ['setInterval'] });
    now = 0;
    pings = 0;
    deaths = [];
  });
  afterEach(() => mock.timers.reset());

  it('pings once an interval while the server answers, and never gives up', () => {
    const liveness = check();
    for (let i = 0; i < 10; i++) {
      advance(5000);
      liveness.heard(); // the pong
    }
    assert.equal(pings, 10);
    assert.deepEqual(deaths, []);
    liveness.stop();
  });

  it('takes a server that answers nothing for the timeout after a ping for dead, once', () => {
    const liveness = check();
    advance(5000); // ping
    assert.equal(pings, 1);
    advance(5000); // 5 s silent: not yet
    assert.deepEqual(deaths, []);
    advance(5000); // 10 s silent
    assert.deepEqual(deaths, [10_000]);
    advance(20_000);
    assert.deepEqual(deaths, [10_000], 'stopped after it reported');
    assert.equal(pings, 1, 'no ping while one is unanswered');
    liveness.stop();
  });

  it('counts any message as an answer', () => {
    const liveness = check();
    advance(5000); // ping
    advance(4000);
    liveness.heard(); // some other message, late for a pong but well within the timeout
    advance(1000); // next ping
    advance(9000);
    assert.deepEqual(deaths, []);
    assert.equal(pings, 2);
    liveness.stop();
  });

  it('judges from the ping, not from the last message: a late tick (a throttled page) pings instead of giving up', () => {
    const liveness = check();
    now += 60_000; // a minute without ticks, and without messages (nothing was asked)
    mock.timers.tick(5000);
    assert.deepEqual(deaths, []);
    assert.equal(pings, 1);
    liveness.stop();
  });

  it('does nothing once stopped', () => {
    const liveness = check();
    liveness.stop();
    advance(60_000);
    assert.equal(pings, 0);
    assert.deepEqual(deaths, []);
  });
});
