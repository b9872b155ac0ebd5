/**
 * The server's end of an endpoint's Durable link (packages/server/src/calls/EndpointLink.ts) on its own: a
 * recording channel stands in for the data channel, a ManualClock for time. Frames in, exact frames and
 * counts out.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  FrameType,
  LINK_ACK_EVERY_FRAMES,
  LINK_ACK_WITHIN_MS,
  decodeServerFrame,
  encodeLinkAck,
  encodeLinkResume,
  encodeSend,
  type ServerFrame,
} from '@backchannel/protocol';

import { EndpointLink, KEPT_FRAME_OVERHEAD_BYTES, type LinkChannel } from '../../packages/server/src/calls/EndpointLink.js';
import { ManualClock } from '../helpers/clock.js';

/** A Durable channel that records what it is handed, and can be shut. */
class RecordingChannel implements LinkChannel {
  readonly sent: Uint8Array[] = [];
  open = true;
  send(frame: Uint8Array): boolean {
    if (!this.open) return false;
    this.sent.push(frame);
    return true;
  }
  decoded(): ServerFrame[] {
    return this.sent.map((f) => decodeServerFrame(f));
  }
}

/** A link frame toward the endpoint of `bytes` bytes, tagged with `n` in byte 1. */
const outgoing = (n: number, bytes = 16): Uint8Array => {
  const frame = new Uint8Array(bytes);
  frame[0] = FrameType.Deliver;
  frame[1] = n;
  return frame;
};
/** A link frame from the client (a Durable Send). */
const incoming = (n: number): Uint8Array => encodeSend({ flags: 0, channelId: 1, sessionId: 1, sequenceNumber: n }, 0, Uint8Array.of(n));

function setup(maxKeptBytes = 1024): { clock: ManualClock; link: EndpointLink; channel: RecordingChannel } {
  const clock = new ManualClock();
  const link = new EndpointLink({ maxKeptBytes, clock });
  const channel = new RecordingChannel();
  link.start(channel);
  return { clock, link, channel };
}

describe('the server end of a Durable link', () => {
  it('keeps nothing and refuses frames before its first transport', () => {
    const link = new EndpointLink({ maxKeptBytes: 1024, clock: new ManualClock() });
    assert.equal(link.state, 'idle');
    assert.equal(link.deliver(outgoing(1)), 'closed');
    assert.equal(link.keptFrames, 0);
    assert.equal(link.receive(incoming(1)), 'violation');
  });

  it('sends every frame while live and keeps each until the client acknowledges it', () => {
    const { link, channel } = setup();
    for (let n = 1; n <= 3; n++) assert.equal(link.deliver(outgoing(n)), 'sent');
    assert.deepEqual(channel.sent.map((f) => f[1]), [1, 2, 3]);
    assert.deepEqual([link.sent, link.keptFrames, link.keptBytes], [3, 3, 48]);
    assert.equal(link.receive(encodeLinkAck(2, 'client')), 'ack');
    assert.deepEqual([link.keptFrames, link.keptBytes], [1, 16]);
    assert.equal(link.receive(encodeLinkAck(4, 'client')), 'violation', 'a LinkAck for a frame never sent');
    assert.deepEqual([link.keptFrames, link.keptBytes], [1, 16]);
    assert.equal(link.receive(encodeLinkAck(3, 'client')), 'ack');
    assert.deepEqual([link.keptFrames, link.keptBytes], [0, 0]);
  });

  it('measures how fast the endpoint drains from its acknowledgements while more waits than it drains', () => {
    const { clock, link } = setup(1 << 20);
    for (let n = 1; n <= 30; n++) link.deliver(outgoing(n, 1000));
    assert.equal(link.drainMs(10_000), undefined, 'not measured before any acknowledgement');
    link.receive(encodeLinkAck(1, 'client')); // opens the window
    for (let n = 2; n <= 21; n++) {
      clock.advance(10);
      link.receive(encodeLinkAck(n, 'client')); // 1,000 bytes every 10 ms
    }
    assert.equal(link.drainMs(10_000), 100, '100 bytes/ms: 10 kB take 100 ms');
  });

  it('counts the client link frames and acknowledges them batched: at once on the 32nd, else 50 ms after the first', () => {
    const { clock, link, channel } = setup();
    for (let n = 1; n < LINK_ACK_EVERY_FRAMES; n++) assert.equal(link.receive(incoming(n)), 'frame');
    assert.equal(channel.sent.length, 0, 'no acknowledgement per frame');
    assert.equal(link.receive(incoming(LINK_ACK_EVERY_FRAMES)), 'frame');
    assert.deepEqual(channel.decoded(), [{ type: FrameType.ServerLinkAck, count: 32 }]);
    assert.equal(clock.pendingTimers, 0, 'the timer went with the acknowledgement');

    assert.equal(link.receive(incoming(33)), 'frame');
    clock.advance(LINK_ACK_WITHIN_MS - 1);
    assert.equal(channel.sent.length, 1);
    assert.equal(link.receive(incoming(34)), 'frame');
    clock.advance(1);
    assert.deepEqual(channel.decoded().at(-1), { type: FrameType.ServerLinkAck, count: 34 });
    clock.advance(10 * LINK_ACK_WITHIN_MS);
    assert.equal(channel.sent.length, 2, 'nothing new, no acknowledgement');
    assert.equal(link.received, 34);
  });

  it('while suspended keeps frames without sending them, and after LinkResume(n) resends exactly those the client lacks, in order', () => {
    const { link, channel } = setup();
    for (let n = 1; n <= 4; n++) link.deliver(outgoing(n));
    for (let n = 1; n <= 5; n++) link.receive(incoming(n));
    link.suspend();
    assert.equal(link.state, 'suspended');
    assert.equal(link.deliver(outgoing(5)), 'kept');
    assert.equal(link.deliver(outgoing(6)), 'kept');
    assert.equal(channel.sent.length, 4, 'nothing sent while suspended');

    const next = new RecordingChannel();
    link.resumeOn(next);
    assert.equal(link.state, 'resuming');
    assert.deepEqual(next.decoded(), [{ type: FrameType.ServerLinkResume, count: 5 }], 'the server opens with its received count');
    assert.equal(link.deliver(outgoing(7)), 'kept', 'nothing is sent before the client says what it has');
    assert.equal(link.receive(incoming(6)), 'violation', 'the client must open with its LinkResume');
    assert.equal(link.received, 5);

    // The client had received frames 1 and 2 of the old transport; 3 and 4 were in flight.
    assert.equal(link.receive(encodeLinkResume(2, 'client')), 'resumed');
    assert.equal(link.state, 'live');
    assert.equal(link.lastResent, 5);
    assert.deepEqual(next.sent.slice(1).map((f) => f[1]), [3, 4, 5, 6, 7]);
    assert.equal(link.deliver(outgoing(8)), 'sent');
    assert.deepEqual(next.sent.slice(1).map((f) => f[1]), [3, 4, 5, 6, 7, 8]);
    assert.equal(link.keptFrames, 6);
  });

  it('refuses a LinkResume on a live link, and one for frames never sent breaks the resume', () => {
    const { link } = setup();
    link.deliver(outgoing(1));
    assert.equal(link.receive(encodeLinkResume(1, 'client')), 'violation');
    link.suspend();
    link.resumeOn(new RecordingChannel());
    assert.equal(link.receive(encodeLinkResume(2, 'client')), 'broken');
    assert.equal(link.state, 'resuming', 'nothing changed');
    assert.equal(link.receive(Uint8Array.of(FrameType.LinkAck, 0, 0)), 'violation', 'a LinkAck of the wrong length');
    assert.equal(link.receive(encodeLinkAck(1, 'server')), 'violation', "the server's own LinkAck type from a client");
    assert.equal(link.receive(encodeLinkResume(1, 'client')), 'resumed');
  });

  it('bounds the kept bytes, each frame charged its cost beyond its bytes: past them a copy is dropped while live, and refused as an overflow while suspended', () => {
    const { link, channel } = setup(64 + 4 * KEPT_FRAME_OVERHEAD_BYTES);
    for (let n = 1; n <= 4; n++) assert.equal(link.deliver(outgoing(n)), 'sent');
    assert.equal(link.deliver(outgoing(5)), 'slow');
    assert.deepEqual([link.sent, link.keptBytes, channel.sent.length], [4, 64, 4], 'the dropped copy is neither kept nor sent');
    link.receive(encodeLinkAck(1, 'client'));
    assert.equal(link.deliver(outgoing(6)), 'sent');
    link.suspend();
    assert.equal(link.deliver(outgoing(7)), 'overflow');
    assert.equal(link.keptBytes, 64);
  });

  it('stops acknowledging when suspended or closed, and forgets everything on close', () => {
    const { clock, link, channel } = setup();
    link.deliver(outgoing(1));
    link.receive(incoming(1));
    link.suspend();
    clock.advance(LINK_ACK_WITHIN_MS);
    assert.equal(channel.sent.length, 1, 'no acknowledgement on a gone transport');
    link.close();
    assert.deepEqual([link.state, link.keptFrames, link.keptBytes, clock.pendingTimers], ['closed', 0, 0, 0]);
    assert.equal(link.deliver(outgoing(2)), 'closed');
  });
});
