/** The SDK's DurableLink (packages/client/src/internal/dataChannel/DurableLink.ts) over a fake channel, on a ManualClock. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { FrameType, encodeLinkAck, encodeLinkResume } from '@backchannel/protocol';

import { DurableLink } from '../../packages/client/src/internal/dataChannel/DurableLink.js';
import type { TransportChannel } from '../../packages/client/src/internal/transport/PeerTransport.js';
import { ManualClock } from '../helpers/clock.js';

class FakeChannel implements TransportChannel {
  readonly kind = 'durable' as const;
  readonly sent: Uint8Array[] = [];
  isOpen(): boolean {
    return true;
  }
  send(frame: Uint8Array): boolean {
    this.sent.push(frame);
    return true;
  }
  bufferedAmount(): number {
    return 0;
  }
  /** What was sent, as [type, second byte] pairs (data frames carry their index in byte 1 here). */
  summary(): [number, number][] {
    return this.sent.map((f) => [f[0]!, f[0] === FrameType.LinkAck || f[0] === FrameType.LinkResume ? new DataView(f.buffer, f.byteOffset).getUint32(4) : f[1]!]);
  }
}

const data = (n: number): Uint8Array => Uint8Array.of(FrameType.Send, n);
const fromServer = (n: number): Uint8Array => Uint8Array.of(FrameType.Deliver, n);
const failOnError = (error: unknown): never => {
  throw error;
};

function newLink(): { link: DurableLink; clock: ManualClock; channel: FakeChannel } {
  const clock = new ManualClock();
  const link = new DurableLink(clock, failOnError);
  const channel = new FakeChannel();
  link.start(channel);
  return { link, clock, channel };
}

describe('DurableLink (SDK side)', () => {
  it('writes link frames while live and keeps them until the server acknowledges them', () => {
    const { link, channel } = newLink();
    link.send(data(1));
    link.send(data(2));
    assert.deepEqual(channel.summary(), [
      [FrameType.Send, 1],
      [FrameType.Send, 2],
    ]);
    assert.equal(link.unacknowledgedFrames, 2);
    assert.equal(link.receive(encodeLinkAck(1, 'server')), true, 'a LinkAck is the link’s, not the engine’s');
    assert.equal(link.unacknowledgedFrames, 1);
  });

  it('acknowledges what it receives in batches: after 32 frames at once, else 50 ms after the first', () => {
    const { link, clock, channel } = newLink();
    for (let n = 0; n < 31; n++) assert.equal(link.receive(fromServer(n)), false, 'a data frame is the engine’s');
    assert.deepEqual(channel.summary(), [], 'no acknowledgement per message');
    link.receive(fromServer(31));
    assert.deepEqual(channel.summary(), [[FrameType.LinkAck, 32]]);
    link.receive(fromServer(32));
    clock.advance(49);
    assert.equal(channel.sent.length, 1);
    clock.advance(1);
    assert.deepEqual(channel.summary().at(-1), [FrameType.LinkAck, 33]);
  });

  it('holds frames while down (reporting itself full to the scheduler) and resends after LinkResume exactly what the server lacks', () => {
    const { link, channel } = newLink();
    for (let n = 1; n <= 4; n++) link.send(data(n));
    link.receive(encodeLinkAck(1, 'server'));
    link.receive(fromServer(1));
    link.down();
    assert.equal(link.bufferedAmount(), Number.POSITIVE_INFINITY);
    assert.equal(link.isOpen(), false);
    link.send(data(5)); // a close or a list sent meanwhile: kept for the resume
    const resumed: number[] = [];
    link.on('resumed', (resent) => resumed.push(resent));
    const next = new FakeChannel();
    link.resumeOn(next);
    assert.deepEqual(next.summary(), [[FrameType.LinkResume, 1]], 'first, what this side has received');
    assert.equal(link.isOpen(), false, 'not live before the server says what it has');
    link.receive(encodeLinkResume(3, 'server'));
    assert.deepEqual(next.summary().slice(1), [
      [FrameType.Send, 4],
      [FrameType.Send, 5],
    ]);
    assert.deepEqual(resumed, [2]);
    assert.equal(link.isOpen(), true);
    assert.equal(channel.sent.length, 4, 'nothing more on the old channel');
  });

  it('takes the server’s LinkResume that arrives before its own channel is up', () => {
    const { link } = newLink();
    link.send(data(1));
    link.down();
    link.receive(encodeLinkResume(0, 'server'));
    const next = new FakeChannel();
    link.resumeOn(next);
    assert.deepEqual(next.summary(), [
      [FrameType.LinkResume, 0],
      [FrameType.Send, 1],
    ]);
    assert.equal(link.isOpen(), true);
  });

  it('reports a count for frames it never sent as a violation, and changes nothing', () => {
    const { link } = newLink();
    link.send(data(1));
    const violations: string[] = [];
    link.on('violated', (what) => violations.push(what));
    link.receive(encodeLinkAck(5, 'server'));
    assert.deepEqual(violations, ['an acknowledgement of 5 frames, more than were sent']);
    assert.equal(link.unacknowledgedFrames, 1);
  });

  it('gives up what it kept when abandoned', () => {
    const { link } = newLink();
    link.send(data(1));
    link.send(data(2));
    link.receive(encodeLinkAck(1, 'server'));
    assert.deepEqual(link.abandon().map((f) => f[1]), [2]);
    assert.equal(link.unacknowledgedFrames, 0);
  });
});
