/** The SDK's DurableLink (packages/client/src/internal/dataChannel/DurableLink.ts) over a fake channel, on a ManualClock. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { FrameType, MAX_BATCH_FRAMES, batchBytes, encodeLinkAck, encodeLinkCommit, encodeLinkResume, readBatch } from '@backchannel/protocol';

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

function newLink(maxBatchBytes?: number, commits = false): { link: DurableLink; clock: ManualClock; channel: FakeChannel } {
  const clock = new ManualClock();
  const link = new DurableLink({ clock, reportListenerError: failOnError, maxBatchBytes: () => maxBatchBytes, keepsUntilCommitted: () => commits });
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

  describe('with a server that commits (a cluster node: LinkCommit)', () => {
    const violationsOf = (link: DurableLink): string[] => {
      const violations: string[] = [];
      link.on('violated', (what) => violations.push(what));
      return violations;
    };

    it('keeps what was acknowledged until it is committed, and gives it up with the rest, oldest first', () => {
      const { link } = newLink(undefined, true);
      for (let n = 1; n <= 4; n++) link.send(data(n));
      link.receive(encodeLinkAck(3, 'server'));
      assert.equal(link.unacknowledgedFrames, 1);
      assert.equal(link.uncommittedFrames, 3, 'acknowledged, not committed');
      link.receive(encodeLinkCommit(1));
      assert.equal(link.uncommittedFrames, 2);
      assert.deepEqual(link.restart().map((f) => f[1]), [2, 3, 4], 'the uncommitted, then the unacknowledged');
      assert.equal(link.uncommittedFrames, 0);
      assert.equal(link.unacknowledgedFrames, 0);
    });

    it('takes a LinkCommit ahead of every acknowledgement as one too', () => {
      const { link } = newLink(undefined, true);
      const violations = violationsOf(link);
      for (let n = 1; n <= 3; n++) link.send(data(n));
      let acknowledged = 0;
      link.on('acknowledged', () => acknowledged++);
      link.receive(encodeLinkCommit(2));
      assert.equal(acknowledged, 1, 'its room grew');
      assert.equal(link.unacknowledgedFrames, 1);
      assert.equal(link.uncommittedFrames, 0);
      link.receive(encodeLinkCommit(2));
      assert.deepEqual(violations, [], 'the same commit again changes nothing');
      assert.deepEqual(link.abandon().map((f) => f[1]), [3]);
    });

    it('refuses a commit of frames never sent, or behind an earlier one, and changes nothing', () => {
      const { link } = newLink(undefined, true);
      const violations = violationsOf(link);
      link.send(data(1));
      link.send(data(2));
      link.receive(encodeLinkAck(2, 'server'));
      link.receive(encodeLinkCommit(1));
      link.receive(encodeLinkCommit(5));
      link.receive(encodeLinkCommit(0));
      assert.deepEqual(violations, ['a commit of 5 frames: never sent, or behind an earlier commit', 'a commit of 0 frames: never sent, or behind an earlier commit']);
      assert.equal(link.uncommittedFrames, 1);
      assert.equal(link.unacknowledgedFrames, 0);
    });

    it('keeps nothing past the acknowledgement where the server does not commit (one node)', () => {
      const { link } = newLink();
      link.send(data(1));
      link.receive(encodeLinkAck(1, 'server'));
      assert.equal(link.uncommittedFrames, 0);
      assert.deepEqual(link.restart(), []);
    });

    it('keeps what a resume acknowledges until it is committed', () => {
      const { link, channel } = newLink(undefined, true);
      link.send(data(1));
      link.send(data(2));
      link.down();
      link.resumeOn(channel);
      link.receive(encodeLinkResume(2, 'server'));
      assert.equal(link.unacknowledgedFrames, 0);
      assert.equal(link.uncommittedFrames, 2);
      link.receive(encodeLinkCommit(2));
      assert.equal(link.uncommittedFrames, 0);
    });
  });

  describe('corked (the scheduler corks around each pump)', () => {
    /** Each SCTP message as the index bytes of its frames: [1] alone, [2, 3] a batch. */
    const messages = (channel: FakeChannel): number[][] =>
      channel.sent.map((m) => {
        if (m[0] !== FrameType.Batch) return [m[1]!];
        const inner: number[] = [];
        readBatch(m, 'client', (f) => inner.push(f[1]!));
        return inner;
      });

    it('writes what one pump sent as one Batch, counted and kept frame by frame', () => {
      const { link, channel } = newLink(64 * 1024);
      link.cork();
      for (let n = 1; n <= 5; n++) link.send(data(n));
      assert.equal(channel.sent.length, 0, 'held until uncorked');
      assert.equal(link.bufferedAmount(), 5 * data(0).byteLength, 'what is held counts as buffered');
      link.uncork();
      assert.deepEqual(messages(channel), [[1, 2, 3, 4, 5]]);
      assert.deepEqual(link.counters, { messages: 1, batches: 1 });
      assert.equal(link.unacknowledgedFrames, 5, 'the link counts frames, not messages');
      link.receive(encodeLinkAck(3, 'server'));
      assert.equal(link.unacknowledgedFrames, 2);
      // One frame corked goes alone.
      link.cork();
      link.send(data(6));
      link.uncork();
      assert.deepEqual(messages(channel), [[1, 2, 3, 4, 5], [6]]);
    });

    it('writes one by one to a side that reads no batches (a server of protocol 2, a 1:1 peer)', () => {
      const { link, channel } = newLink(undefined);
      link.cork();
      for (let n = 1; n <= 3; n++) link.send(data(n));
      link.uncork();
      assert.deepEqual(messages(channel), [[1], [2], [3]]);
      assert.deepEqual(link.counters, { messages: 3, batches: 0 });
    });

    it('splits at the byte bound and at MAX_BATCH_FRAMES, in order', () => {
      const size = data(0).byteLength;
      const { link, channel } = newLink(batchBytes(3, 3 * size));
      link.cork();
      for (let n = 1; n <= 7; n++) link.send(data(n));
      link.uncork();
      assert.deepEqual(messages(channel), [[1, 2, 3], [4, 5, 6], [7]]);
      const wide = newLink(65536);
      wide.link.cork();
      for (let n = 0; n < MAX_BATCH_FRAMES + 3; n++) wide.link.send(data(n & 0xff));
      wide.link.uncork();
      assert.deepEqual(messages(wide.channel).map((m) => m.length), [MAX_BATCH_FRAMES, 3]);
    });

    it('resends what the server lacks after LinkResume as batches, and forgets held writes when the transport goes', () => {
      const { link, channel } = newLink(64 * 1024);
      link.cork();
      for (let n = 1; n <= 4; n++) link.send(data(n));
      link.down(); // the transport went before the pump ended: nothing held is written to the old channel
      link.uncork();
      assert.equal(channel.sent.length, 0);
      const next = new FakeChannel();
      link.resumeOn(next);
      link.receive(encodeLinkResume(1, 'server'));
      assert.deepEqual(messages(next).slice(1), [[2, 3, 4]], 'after its own LinkResume, frames 2–4 in one batch');
      assert.equal(next.sent[0]![0], FrameType.LinkResume);
    });
  });
});
