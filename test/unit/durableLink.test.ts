/** DurableLinkState (packages/protocol/src/durableLink.ts) and the LinkAck/LinkResume frames: bytes and counts in, exact results out. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  DurableLinkState,
  FrameType,
  decodeClientFrame,
  decodeLinkFrame,
  decodeServerFrame,
  encodeBarrier,
  encodeLinkAck,
  encodeLinkCommit,
  encodeLinkResume,
  isLinkFrame,
} from '@backchannel/protocol';

const frame = (n: number): Uint8Array => Uint8Array.of(0x01, n);

describe('LinkAck and LinkResume frames', () => {
  it('encode as 8 bytes: type, three zero bytes, the count big-endian', () => {
    assert.deepEqual([...encodeLinkAck(0x01020304, 'client')], [0x05, 0, 0, 0, 1, 2, 3, 4]);
    assert.deepEqual([...encodeLinkResume(7, 'client')], [0x06, 0, 0, 0, 0, 0, 0, 7]);
    assert.deepEqual([...encodeLinkAck(7, 'server')], [0x86, 0, 0, 0, 0, 0, 0, 7]);
    assert.deepEqual([...encodeLinkResume(2 ** 32 - 1, 'server')], [0x87, 0, 0, 0, 255, 255, 255, 255]);
    assert.deepEqual([...encodeLinkCommit(9)], [0x8c, 0, 0, 0, 0, 0, 0, 9]);
  });

  it('decode on the side they are meant for, with their count', () => {
    assert.deepEqual(decodeClientFrame(encodeLinkAck(42, 'client')), { type: FrameType.LinkAck, count: 42 });
    assert.deepEqual(decodeClientFrame(encodeLinkResume(43, 'client')), { type: FrameType.LinkResume, count: 43 });
    assert.deepEqual(decodeServerFrame(encodeLinkAck(44, 'server')), { type: FrameType.ServerLinkAck, count: 44 });
    assert.deepEqual(decodeServerFrame(encodeLinkResume(45, 'server')), { type: FrameType.ServerLinkResume, count: 45 });
    assert.deepEqual(decodeServerFrame(encodeLinkCommit(46)), { type: FrameType.ServerLinkCommit, count: 46 });
    assert.throws(() => decodeClientFrame(encodeLinkCommit(1)), { name: 'FrameError', code: 'UnknownType' }, 'a LinkCommit is the server’s only');
  });

  it('are refused at any other length, with a FrameError Truncated', () => {
    assert.throws(() => decodeClientFrame(Uint8Array.of(0x05, 0, 0, 0, 0, 0, 0)), { name: 'FrameError', code: 'Truncated', message: 'LinkAck frame must be 8 bytes, got 7' });
    assert.throws(() => decodeServerFrame(Uint8Array.of(0x87, 0, 0, 0, 0, 0, 0, 0, 0)), { name: 'FrameError', code: 'Truncated', message: 'LinkResume frame must be 8 bytes, got 9' });
  });

  it('decode with decodeLinkFrame whatever their direction (a 1:1 peer sends the client types), and nothing else', () => {
    assert.deepEqual(decodeLinkFrame(encodeLinkAck(1, 'client')), { type: FrameType.LinkAck, count: 1 });
    assert.deepEqual(decodeLinkFrame(encodeLinkAck(2, 'server')), { type: FrameType.ServerLinkAck, count: 2 });
    assert.deepEqual(decodeLinkFrame(encodeLinkResume(3, 'client')), { type: FrameType.LinkResume, count: 3 });
    assert.deepEqual(decodeLinkFrame(encodeLinkResume(4, 'server')), { type: FrameType.ServerLinkResume, count: 4 });
    assert.throws(() => decodeLinkFrame(encodeBarrier(1)), { name: 'FrameError', code: 'UnknownType', message: 'not a link frame: type 0x4' });
    assert.deepEqual(decodeLinkFrame(encodeLinkCommit(5)), { type: FrameType.ServerLinkCommit, count: 5 });
    assert.throws(() => decodeLinkFrame(Uint8Array.of(0x86, 0, 0)), { name: 'FrameError', code: 'Truncated', message: 'LinkAck frame must be 8 bytes, got 3' });
    assert.throws(() => decodeLinkFrame(Uint8Array.of(0x8c, 0, 0)), { name: 'FrameError', code: 'Truncated', message: 'LinkCommit frame must be 8 bytes, got 3' });
  });

  it('are the only frames on the Durable channel that are not link frames', () => {
    for (const type of [0x05, 0x06, 0x86, 0x87, 0x8c]) assert.equal(isLinkFrame(Uint8Array.of(type)), false, `0x${type.toString(16)}`);
    for (const type of [0x01, 0x02, 0x03, 0x04, 0x81, 0x82, 0x83, 0x84, 0x85]) assert.equal(isLinkFrame(Uint8Array.of(type)), true, `0x${type.toString(16)}`);
    assert.equal(isLinkFrame(encodeBarrier(1)), true);
  });
});

describe('DurableLinkState', () => {
  it('numbers what it sends and keeps it until acknowledged, cumulatively', () => {
    const link = new DurableLinkState();
    for (let n = 1; n <= 5; n++) link.recordSent(frame(n));
    assert.equal(link.sent, 5);
    assert.equal(link.keptFrames, 5);
    assert.equal(link.keptBytes, 10);
    assert.equal(link.acknowledge(3), true);
    assert.equal(link.keptFrames, 2);
    assert.equal(link.keptBytes, 4);
    assert.equal(link.acknowledge(3), true, 'the same count again changes nothing');
    assert.equal(link.keptFrames, 2);
  });

  it('refuses an acknowledgement of frames it never sent, changing nothing', () => {
    const link = new DurableLinkState();
    link.recordSent(frame(1));
    assert.equal(link.acknowledge(2), false);
    assert.equal(link.keptFrames, 1);
    assert.equal(link.resumeFrom(5), undefined);
    assert.equal(link.keptFrames, 1);
  });

  it('resends after a resume exactly what the other side has not received, oldest first', () => {
    const link = new DurableLinkState();
    for (let n = 1; n <= 6; n++) link.recordSent(frame(n));
    link.acknowledge(2);
    assert.deepEqual(link.resumeFrom(4)?.map((f) => f[1]), [5, 6]);
    assert.equal(link.keptFrames, 2, 'what is resent stays kept until acknowledged');
    assert.deepEqual(link.resumeFrom(6), []);
  });

  it('shows each frame an acknowledgement or a resume releases, oldest first, and no other', () => {
    const link = new DurableLinkState();
    for (let n = 1; n <= 6; n++) link.recordSent(frame(n));
    const released: number[] = [];
    const show = (f: Uint8Array): void => void released.push(f[1]!);
    link.acknowledge(2, show);
    link.acknowledge(2, show);
    assert.deepEqual(released, [1, 2]);
    link.resumeFrom(4, show);
    assert.deepEqual(released, [1, 2, 3, 4]);
    assert.equal(link.acknowledge(9, show), false);
    assert.deepEqual(released, [1, 2, 3, 4], 'a refused count shows nothing');
  });

  it('counts what it receives, and what it has not acknowledged yet', () => {
    const link = new DurableLinkState();
    link.recordReceived();
    link.recordReceived();
    assert.equal(link.received, 2);
    assert.equal(link.unacknowledged, 2);
    assert.equal(link.acknowledging(), 2);
    assert.equal(link.unacknowledged, 0);
    link.recordReceived();
    assert.equal(link.unacknowledged, 1);
    assert.equal(link.received, 3);
  });

  it('gives up everything it kept when abandoned', () => {
    const link = new DurableLinkState();
    for (let n = 1; n <= 3; n++) link.recordSent(frame(n));
    link.acknowledge(1);
    assert.deepEqual(link.abandon().map((f) => f[1]), [2, 3]);
    assert.equal(link.keptFrames, 0);
    assert.equal(link.keptBytes, 0);
    assert.equal(link.acknowledge(3), true, 'acknowledged up to what it sent');
  });
});
