/**
 * Commits on a cluster node (packages/server/src/calls/LinkCommits.ts and EndpointLink's LinkCommit): what of
 * a sender's Durable link frames has reached every other node it was for. Fake node links stand in for
 * NodeLink (numbered records, cumulative acknowledgements, a close), a recording channel for the data
 * channel, a ManualClock for time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { FrameType, LINK_ACK_WITHIN_MS, decodeServerFrame, encodeLinkResume, encodeSend, speaksLinkCommits, type ServerFrame } from '@backchannel/protocol';

import type { AckWaiter, PeerNode } from '../../packages/server/src/calls/CallSpan.js';
import { EndpointLink, type LinkChannel } from '../../packages/server/src/calls/EndpointLink.js';
import { LinkCommits } from '../../packages/server/src/calls/LinkCommits.js';
import { ManualClock } from '../helpers/clock.js';

/** A node link: records are numbered as they are handed over; acknowledged and closed at the test's word. */
class FakeNode implements PeerNode {
  numbered = 0;
  acknowledgedCount = 0;
  closed = false;
  readonly waiters = new Set<AckWaiter>();
  constructor(readonly id: string) {}
  watch(waiter: AckWaiter): void {
    this.waiters.add(waiter);
  }
  unwatch(waiter: AckWaiter): void {
    this.waiters.delete(waiter);
  }
  /** A record goes out on the link: its number. */
  carry(): number {
    return ++this.numbered;
  }
  ack(count: number): void {
    this.acknowledgedCount = count;
    for (const waiter of [...this.waiters]) waiter.settle();
  }
  close(): void {
    this.closed = true;
    for (const waiter of [...this.waiters]) waiter.settle();
    this.waiters.clear();
  }
  control(): void {}
  data(): 'sent' {
    return 'sent';
  }
  notice(): void {}
}

class RecordingChannel implements LinkChannel {
  readonly sent: Uint8Array[] = [];
  send(frame: Uint8Array): boolean {
    this.sent.push(frame);
    return true;
  }
  decoded(): ServerFrame[] {
    return this.sent.map((f) => decodeServerFrame(f));
  }
}

const incoming = (n: number): Uint8Array => encodeSend({ flags: 0, channelId: 1, sessionId: 1, sequenceNumber: n }, 0, Uint8Array.of(n));

/** A sender's link with commits, the way an Endpoint wires them. */
function sender(): { link: EndpointLink; commits: LinkCommits; channel: RecordingChannel; clock: ManualClock; told: number[] } {
  const clock = new ManualClock();
  const told: number[] = [];
  const commits = new LinkCommits(
    () => link.received,
    (n) => {
      told.push(n);
      link.commit(n);
    },
  );
  const link: EndpointLink = new EndpointLink({ maxKeptBytes: 1 << 20, clock, committed: () => commits.committed });
  const channel = new RecordingChannel();
  link.start(channel);
  return { link, commits, channel, clock, told };
}

/** A frame from the sender, routed: handed to `nodes` (none: it stayed on this node). */
function route(s: ReturnType<typeof sender>, n: number, nodes: FakeNode[] = []): void {
  assert.equal(s.link.receive(incoming(n)), 'frame');
  for (const node of nodes) {
    node.carry();
    s.commits.forwarded(node);
  }
}

describe('commits of a sender’s Durable frames on a cluster node', () => {
  it('are sent to SDKs of protocol 4 on', () => {
    assert.equal(speaksLinkCommits(3), false);
    assert.equal(speaksLinkCommits(4), true);
  });

  it('commits a frame that stayed on this node at once: its acknowledgement is a LinkCommit', () => {
    const s = sender();
    route(s, 1);
    route(s, 2);
    assert.equal(s.commits.committed, 2);
    s.clock.advance(LINK_ACK_WITHIN_MS);
    assert.deepEqual(s.channel.decoded(), [{ type: FrameType.ServerLinkCommit, count: 2 }]);
  });

  it('acknowledges a forwarded frame at once, and commits it once the other node has its record', () => {
    const s = sender();
    const b = new FakeNode('b');
    route(s, 1, [b]);
    route(s, 2, [b]);
    assert.equal(s.commits.committed, 0);
    s.clock.advance(LINK_ACK_WITHIN_MS);
    assert.deepEqual(s.channel.decoded(), [{ type: FrameType.ServerLinkAck, count: 2 }], 'flow control does not wait for the other node');
    b.ack(1);
    assert.equal(s.commits.committed, 0, 'frame 2 shares the checkpoint, and its record is not acknowledged yet');
    b.ack(2);
    assert.equal(s.commits.committed, 2);
    assert.deepEqual(s.channel.decoded().slice(1), [{ type: FrameType.ServerLinkCommit, count: 2 }]);
    assert.equal(b.waiters.size, 0, 'nothing pending: it stops watching');
  });

  it('commits in order: a frame that stayed here waits for a forwarded one before it', () => {
    const s = sender();
    const b = new FakeNode('b');
    route(s, 1, [b]);
    route(s, 2);
    assert.equal(s.commits.committed, 0);
    b.ack(1);
    assert.equal(s.commits.committed, 2);
  });

  it('waits for every node a frame went to, and takes a closed link (a lost node) as done', () => {
    const s = sender();
    const [b, c] = [new FakeNode('b'), new FakeNode('c')];
    route(s, 1, [b, c]);
    b.ack(1);
    assert.equal(s.commits.committed, 0, 'C has not acknowledged');
    c.close();
    assert.equal(s.commits.committed, 1);
    assert.deepEqual(s.told, [1]);
  });

  it('closes a checkpoint at each settlement, so a steady stream commits as acknowledgements come', () => {
    const s = sender();
    const b = new FakeNode('b');
    route(s, 1, [b]);
    route(s, 2, [b]);
    b.ack(0); // a settlement that covers nothing: frames 1–2 are one checkpoint from here on
    route(s, 3, [b]);
    b.ack(2);
    assert.equal(s.commits.committed, 2, 'frame 3 is in the next checkpoint');
    assert.equal(s.commits.pendingCheckpoints, 1);
    b.ack(3);
    assert.equal(s.commits.committed, 3);
  });

  it('sends a commit made while the link was down after the resume', () => {
    const s = sender();
    const b = new FakeNode('b');
    route(s, 1, [b]);
    s.link.suspend();
    b.ack(1);
    assert.deepEqual(s.told, [1]);
    assert.deepEqual(s.channel.decoded(), [], 'nothing goes while suspended');
    const next = new RecordingChannel();
    s.link.resumeOn(next);
    assert.equal(s.link.receive(encodeLinkResume(0, 'client')), 'resumed');
    assert.deepEqual(next.decoded(), [
      { type: FrameType.ServerLinkResume, count: 1 },
      { type: FrameType.ServerLinkCommit, count: 1 },
    ]);
  });

  it('stops watching its nodes when the endpoint is gone', () => {
    const s = sender();
    const b = new FakeNode('b');
    route(s, 1, [b]);
    s.commits.dispose();
    assert.equal(b.waiters.size, 0);
  });
});
