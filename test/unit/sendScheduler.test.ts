/**
 * SPEC §4 "Priority" and "Reliability" on the client's SendScheduler and SenderState, over a fake DataLink
 * whose channels record frames and report a buffered amount the test sets. Bitrates are so high that
 * pacing never holds a message back, so what is sent when depends only on the buffered amounts.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setImmediate as flushMicrotasks } from 'node:timers/promises';

import {
  ALL_CHANNELS,
  DATA_HEADER_BYTES,
  DEFAULT_LIMITS,
  FrameFlag,
  FrameType,
  TokenBucket,
  decodeClientFrame,
  systemClock,
  type ChannelKind,
  type ClientFrame,
  type DataChannelErrorCode,
  type DataChannelLimits,
} from '@backchannel/protocol';

import { DataChannelError } from '../../packages/client/src/errors.js';
import { DURABLE_HIGH_WATERMARK, LOSSY_DROP_WATERMARK, type DataLink, type DataState, type DurableFlow } from '../../packages/client/src/internal/dataChannel/DataLink.js';
import { SendScheduler } from '../../packages/client/src/internal/dataChannel/SendScheduler.js';
import { SenderState, type SenderContext, type SenderOptions } from '../../packages/client/src/internal/dataChannel/SenderState.js';
import type { TransportChannel } from '../../packages/client/src/internal/transport/PeerTransport.js';

const FAST = 1e9;
const limits: DataChannelLimits = { ...DEFAULT_LIMITS, durableMaxKbps: FAST, lossyMaxKbps: FAST, highPriorityLossyMaxKbps: FAST };

/** A transport channel that records what it is given; the test sets its buffered amount and whether it is open. */
class FakeChannel implements TransportChannel {
  readonly frames: Uint8Array[] = [];
  buffered = 0;
  /** Values the next bufferedAmount() calls return, before `buffered` again: the SCTP thread draining meanwhile. */
  readonly nextReadings: number[] = [];
  open = true;

  constructor(readonly kind: ChannelKind) {}

  isOpen(): boolean {
    return this.open;
  }

  /** Called with each frame written (the fixture's flow keeps what the Durable channel was given). */
  onSend: (frame: Uint8Array) => void = () => {};

  send(frame: Uint8Array): boolean {
    if (!this.open) return false;
    this.frames.push(frame);
    this.onSend(frame);
    return true;
  }

  bufferedAmount(): number {
    return this.nextReadings.shift() ?? this.buffered;
  }

  /** The recorded frames, decoded. */
  decoded(): ClientFrame[] {
    return this.frames.map((frame) => decodeClientFrame(frame));
  }
}

/**
 * The Durable link's flow, as the test sets it: an allowance less what was written to the Durable channel
 * (as the real link keeps what it sends), and a drain rate the test chooses.
 */
class FakeFlow implements DurableFlow {
  unacknowledgedBytes = 0;
  allowance = Number.POSITIVE_INFINITY;
  /** Drain rate in bytes per ms; undefined: not measured yet. */
  bytesPerMs: number | undefined;

  room(): number {
    return this.allowance - this.unacknowledgedBytes;
  }

  drainMs(bytes: number): number | undefined {
    return this.bytesPerMs === undefined ? undefined : bytes / this.bytesPerMs;
  }

  /** Corks open now (the scheduler corks around each pump). */
  corks = 0;

  cork(): void {
    this.corks++;
  }

  uncork(): void {
    this.corks--;
  }
}

interface Fixture {
  durable: FakeChannel;
  flow: FakeFlow;
  durableQueue: { bytes: number };
  lossy: FakeChannel;
  dataState: { value: DataState };
  scheduler: SendScheduler;
  released: SenderState[];
  newSender(options: Partial<SenderOptions> & { channelId: number }): SenderState;
}

function newFixture(): Fixture {
  const durable = new FakeChannel('durable');
  const lossy = new FakeChannel('lossy');
  const dataState = { value: 'open' as DataState };
  const flow = new FakeFlow();
  durable.onSend = (frame) => (flow.unacknowledgedBytes += frame.byteLength);
  const durableQueue = { bytes: 0 };
  const link: DataLink = {
    channels: ALL_CHANNELS,
    durableFlow: flow,
    clock: systemClock,
    limits,
    dataState: () => dataState.value,
    channel: (kind) => (kind === 'durable' ? durable : lossy),
    endpointCountOf: () => 1,
    identityOf: () => undefined,
    remoteEndpoints: () => [],
  };
  const scheduler = new SendScheduler(link);
  const released: SenderState[] = [];
  const context: SenderContext = {
    link,
    reportListenerError: (error) => {
      throw error;
    },
    // Far more broadcast packets than any test sends.
    broadcastPackets: new TokenBucket(1, 1e9, performance.now()),
    receivedKbps: () => 0,
    durableQueue,
    schedule: (sender) => scheduler.schedule(sender),
    released: (sender) => {
      released.push(sender);
      scheduler.forget(sender);
    },
  };
  let nextSessionId = 1;
  const newSender = (options: Partial<SenderOptions> & { channelId: number }): SenderState =>
    new SenderState({ sessionId: nextSessionId++, reliability: 'Durable', priority: 'Normal', requestedKbps: FAST, ...options }, context);
  return { durable, flow, durableQueue, lossy, dataState, scheduler, released, newSender };
}

type Settlement = 'pending' | 'resolved' | 'rejected';

/** Follows a promise's settlement (and handles its rejection, which the test asserts separately). */
function track(promise: Promise<void>): { readonly state: Settlement } {
  const tracked = { state: 'pending' as Settlement };
  promise.then(
    () => (tracked.state = 'resolved'),
    () => (tracked.state = 'rejected'),
  );
  return tracked;
}

/**
 * `promise`, failed if it is still pending once queued callbacks have run: a message the scheduler should have
 * settled synchronously must not leave the test waiting forever.
 */
async function settled(promise: Promise<unknown>): Promise<void> {
  const pending = Symbol('pending');
  const outcome = await Promise.race([promise, flushMicrotasks().then(() => pending)]);
  if (outcome === pending) assert.fail('the message is still pending: the scheduler neither sent nor settled it');
}

/** Asserts that `promise` rejects with a DataChannelError of exactly this code and message. */
async function assertRejectsWith(promise: Promise<void>, code: DataChannelErrorCode, message: string): Promise<void> {
  await assert.rejects(settled(promise), (error: unknown) => {
    assert.ok(error instanceof DataChannelError, `expected a DataChannelError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.message, message);
    return true;
  });
}

/** [channelId, flags, sequenceNumber] of each data frame, for order assertions. */
function sendOrder(frames: ClientFrame[]): [number, number, number][] {
  return frames.map((frame) => {
    assert.equal(frame.type, FrameType.Send);
    if (frame.type !== FrameType.Send) throw new Error('unreachable');
    return [frame.channelId, frame.flags, frame.sequenceNumber];
  });
}

const message = (byte: number): Uint8Array => Uint8Array.of(byte);
const NORMAL = 0;
const HIGH = FrameFlag.HighPriority;

describe('SendScheduler', () => {
  let f: Fixture;
  beforeEach(() => {
    f = newFixture();
  });
  afterEach(() => {
    f.scheduler.dispose();
  });

  describe('Durable backpressure and priority', () => {
    it('writes a Durable message within the task that sent it (no timer, no I/O in between) while the Durable channel is below its high watermark', async () => {
      const sender = f.newSender({ channelId: 10 });
      f.durable.buffered = DURABLE_HIGH_WATERMARK - 1;
      const sent = sender.send(message(1));
      assert.deepEqual(sendOrder(f.durable.decoded()), [], 'the pump runs after the sending code, once per burst');
      await null; // the pump's microtask
      assert.deepEqual(sendOrder(f.durable.decoded()), [[10, NORMAL, 1]]);
      await settled(sent);
    });

    it('writes a burst within one cork of the Durable link, so that it can leave as one batch', async () => {
      const sender = f.newSender({ channelId: 11 });
      const corksAtSend: number[] = [];
      f.durable.onSend = (frame) => {
        corksAtSend.push(f.flow.corks);
        f.flow.unacknowledgedBytes += frame.byteLength;
      };
      const sent = [1, 2, 3].map((n) => sender.send(message(n)));
      await null; // the pump's microtask
      assert.deepEqual(corksAtSend, [1, 1, 1], 'every frame of the pump written while corked');
      assert.equal(f.flow.corks, 0, 'uncorked when the pump is done');
      for (const s of sent) await settled(s);
    });

    it('stops writing only above the high watermark: a channel holding exactly that many bytes still takes a message', async () => {
      const sender = f.newSender({ channelId: 10 });
      f.durable.buffered = DURABLE_HIGH_WATERMARK;
      const sent = sender.send(message(1));
      await null; // the pump's microtask
      assert.deepEqual(sendOrder(f.durable.decoded()), [[10, NORMAL, 1]]);
      await settled(sent);
    });

    it('queues a burst of sends before any leaves, so a High message sent right after Normal ones goes first', async () => {
      const normal = f.newSender({ channelId: 10 });
      const high = f.newSender({ channelId: 20, priority: 'High' });
      const sent = [normal.send(message(1)), normal.send(message(2)), high.send(message(1))];
      await flushMicrotasks();
      assert.deepEqual(sendOrder(f.durable.decoded()), [
        [20, HIGH, 1],
        [10, NORMAL, 1],
        [10, NORMAL, 2],
      ]);
      await Promise.all(sent);
    });

    it('holds queued Normal messages while the Durable channel is above its high watermark', async () => {
      const normal = f.newSender({ channelId: 10 });
      f.durable.buffered = DURABLE_HIGH_WATERMARK + 1;
      const sent = [normal.send(message(1)), normal.send(message(2))].map(track);
      await flushMicrotasks();
      assert.equal(f.durable.frames.length, 0);
      assert.equal(normal.queue.length, 2);
      assert.deepEqual(
        sent.map((s) => s.state),
        ['pending', 'pending'],
      );
      f.scheduler.pump(); // still above the watermark: nothing moves
      assert.equal(f.durable.frames.length, 0);
    });

    it('writes every queued High message before the Normal ones queued earlier once the Durable channel drains', async () => {
      const normal = f.newSender({ channelId: 10, priority: 'Normal' });
      const high = f.newSender({ channelId: 20, priority: 'High' });
      f.durable.buffered = DURABLE_HIGH_WATERMARK + 1;
      const normalSent = [normal.send(message(1)), normal.send(message(2)), normal.send(message(3))];
      const highSent = [high.send(message(4)), high.send(message(5))];
      const all = [...normalSent, ...highSent].map(track);
      await flushMicrotasks();
      assert.equal(f.durable.frames.length, 0);
      assert.ok(all.every((s) => s.state === 'pending'));

      f.durable.buffered = 0;
      f.scheduler.pump();

      assert.deepEqual(sendOrder(f.durable.decoded()), [
        [20, HIGH, 1],
        [20, HIGH, 2],
        [10, NORMAL, 1],
        [10, NORMAL, 2],
        [10, NORMAL, 3],
      ]);
      await settled(Promise.all([...normalSent, ...highSent]));
      assert.equal(f.lossy.frames.length, 0);
    });

    it('never lets a Normal message out in a round where a High one was held back, even if the channel drains meanwhile', async () => {
      const high = f.newSender({ channelId: 20, priority: 'High' });
      const normal = f.newSender({ channelId: 10 });
      f.durable.buffered = DURABLE_HIGH_WATERMARK + 1;
      const sent = [high.send(message(1)), normal.send(message(2))];
      // The next pump reads a full channel once; any later reading finds it drained.
      f.durable.nextReadings.push(DURABLE_HIGH_WATERMARK + 1);
      f.durable.buffered = 0;
      f.scheduler.pump();
      assert.deepEqual(sendOrder(f.durable.decoded()), []);
      f.scheduler.pump();
      assert.deepEqual(sendOrder(f.durable.decoded()), [
        [20, HIGH, 1],
        [10, NORMAL, 1],
      ]);
      await settled(Promise.all(sent));
    });

    it('stops again when the Durable channel refills above its high watermark mid-drain', async () => {
      const high = f.newSender({ channelId: 20, priority: 'High' });
      const normal = f.newSender({ channelId: 10 });
      f.durable.buffered = DURABLE_HIGH_WATERMARK + 1;
      const sent = [normal.send(message(1)), high.send(message(2)), high.send(message(3))].map(track);
      // The channel accepts one frame, then is full again.
      const send = f.durable.send.bind(f.durable);
      f.durable.send = (frame) => {
        f.durable.buffered = DURABLE_HIGH_WATERMARK + 1;
        return send(frame);
      };
      f.durable.buffered = 0;
      f.scheduler.pump();
      assert.deepEqual(sendOrder(f.durable.decoded()), [[20, HIGH, 1]]);
      await flushMicrotasks();
      assert.deepEqual(
        sent.map((s) => s.state),
        ['pending', 'resolved', 'pending'],
      );
      f.durable.buffered = 0;
      f.scheduler.pump();
      assert.deepEqual(sendOrder(f.durable.decoded()), [
        [20, HIGH, 1],
        [20, HIGH, 2],
      ]);
    });

    it('serves senders of the same priority in turn', async () => {
      const a = f.newSender({ channelId: 1, priority: 'High' });
      const b = f.newSender({ channelId: 2, priority: 'High' });
      f.durable.buffered = DURABLE_HIGH_WATERMARK + 1;
      const sent = [a.send(message(1)), a.send(message(2)), a.send(message(3)), b.send(message(4))];
      f.durable.buffered = 0;
      f.scheduler.pump();
      assert.deepEqual(
        sendOrder(f.durable.decoded()).map(([channelId, , sequenceNumber]) => [channelId, sequenceNumber]),
        [
          [1, 1],
          [2, 1],
          [1, 2],
          [1, 3],
        ],
      );
      await settled(Promise.all(sent));
    });

    it('sends Lossy messages while the Durable channel is above its high watermark', async () => {
      const lossy = f.newSender({ channelId: 30, reliability: 'Lossy' });
      f.durable.buffered = DURABLE_HIGH_WATERMARK + 1;
      await settled(lossy.send(message(1)));
      assert.deepEqual(sendOrder(f.lossy.decoded()), [[30, FrameFlag.Lossy, 1]]);
      assert.equal(f.scheduler.counters.lossyDropped, 0);
    });

    it('keeps a recipient list change on the Durable channel, ahead of the messages sent under it', async () => {
      const sender = f.newSender({ channelId: 10 });
      f.durable.buffered = DURABLE_HIGH_WATERMARK + 1;
      sender.setRecipients(['user-b']);
      const sent = sender.send(message(1));
      assert.equal(f.durable.frames.length, 0);
      f.durable.buffered = 0;
      f.scheduler.pump();
      await settled(sent);
      const [list, data] = f.durable.decoded();
      assert.deepEqual(list, { type: FrameType.SetRecipients, channelId: 10, sessionId: sender.sessionId, generation: 1, recipients: ['user-b'] });
      assert.equal(data?.type, FrameType.Send);
      if (data?.type !== FrameType.Send) return;
      assert.equal(data.recipientsGeneration, 1);
    });
  });

  describe('the backlog bound at the measured drain rate', () => {
    it('accepts any Durable backlog while the path is unmeasured, and refuses past maxSendBacklogMs once measured', async () => {
      const sender = f.newSender({ channelId: 10 });
      f.flow.allowance = -1; // nothing leaves: everything stays queued
      const early = [sender.send(new Uint8Array(1000)), sender.send(new Uint8Array(1000))].map(track);
      await flushMicrotasks();
      assert.deepEqual(early.map((s) => s.state), ['pending', 'pending']);
      assert.equal(f.durableQueue.bytes, 2 * (1000 + DATA_HEADER_BYTES), 'queued bytes counted at their wire cost');
      // 1 byte per ms: 2,000 ms of backlog is the bound; what is kept counts with what is queued.
      f.flow.bytesPerMs = 1;
      f.flow.unacknowledgedBytes = 2000 - f.durableQueue.bytes - (1000 + DATA_HEADER_BYTES);
      const fits = track(sender.send(new Uint8Array(1000)));
      await flushMicrotasks();
      assert.equal(fits.state, 'pending', 'exactly at the bound is accepted');
      await assertRejectsWith(
        sender.send(new Uint8Array(1)),
        'DataChannelMessageFailureForBandwidth' as DataChannelErrorCode,
        'the data path drains too slowly: this message would wait 2017 ms (more than maxSendBacklogMs, 2000)',
      );
    });

    it('counts only Durable senders in the backlog: Lossy ones neither add to it nor are refused by it', async () => {
      const lossy = f.newSender({ channelId: 11, reliability: 'Lossy' });
      f.flow.bytesPerMs = 0.001;
      await settled(lossy.send(new Uint8Array(100)));
      assert.equal(f.durableQueue.bytes, 0);
    });

    it('holds Durable messages while the link has no room left, and sends one more as soon as it has any', async () => {
      const sender = f.newSender({ channelId: 10 });
      f.flow.allowance = -1;
      const sent = [sender.send(message(1)), sender.send(message(2))].map(track);
      await flushMicrotasks();
      assert.equal(f.durable.frames.length, 0);
      f.flow.allowance = 0; // at zero room one frame goes, whatever its size
      f.scheduler.pump();
      assert.deepEqual(sendOrder(f.durable.decoded()), [[10, NORMAL, 1]]);
      await flushMicrotasks();
      assert.deepEqual(sent.map((s) => s.state), ['resolved', 'pending']);
    });

    it('sheds the newest queued data messages, taking back their sequence numbers, and stops at a recipient-list change', async () => {
      const sender = f.newSender({ channelId: 10 });
      f.flow.allowance = -1;
      const first = track(sender.send(message(1)));
      sender.setRecipients([]);
      const shed = [sender.send(message(2)), sender.send(message(3))];
      const error = new DataChannelError('DataChannelMessageFailureForBandwidth' as DataChannelErrorCode, 'too slow');
      assert.equal(sender.shedNewest(error), DATA_HEADER_BYTES + 1);
      assert.equal(sender.shedNewest(error), DATA_HEADER_BYTES + 1);
      assert.equal(sender.shedNewest(error), 0, 'a recipient-list change is never shed');
      for (const promise of shed) await assertRejectsWith(promise, 'DataChannelMessageFailureForBandwidth' as DataChannelErrorCode, 'too slow');
      assert.equal(f.durableQueue.bytes, DATA_HEADER_BYTES + 1);
      f.flow.allowance = Number.POSITIVE_INFINITY;
      const next = sender.send(message(4));
      await flushMicrotasks();
      const frames = f.durable.decoded();
      assert.deepEqual(sendOrder(frames.filter((frame) => frame.type === FrameType.Send)), [
        [10, NORMAL, 1],
        [10, NORMAL, 2],
      ]);
      assert.equal(first.state, 'resolved');
      await settled(next);
    });
  });

  describe('Lossy drops', () => {
    it('drops a Lossy message that meets a Lossy channel above its drop watermark, resolves it and counts it', async () => {
      const sender = f.newSender({ channelId: 30, reliability: 'Lossy' });
      f.lossy.buffered = LOSSY_DROP_WATERMARK + 1;
      await settled(sender.send(message(1)));
      assert.equal(f.lossy.frames.length, 0);
      assert.equal(f.durable.frames.length, 0);
      assert.equal(f.scheduler.counters.lossyDropped, 1);
      assert.equal(sender.queue.length, 0);
    });

    it('writes a Lossy message while the Lossy channel is at its drop watermark', async () => {
      const sender = f.newSender({ channelId: 30, reliability: 'Lossy', priority: 'High' });
      f.lossy.buffered = LOSSY_DROP_WATERMARK;
      await settled(sender.send(message(1)));
      assert.deepEqual(sendOrder(f.lossy.decoded()), [[30, FrameFlag.Lossy | FrameFlag.HighPriority, 1]]);
      assert.equal(f.scheduler.counters.lossyDropped, 0);
    });

    it('drops, resolves and counts a Lossy message the Lossy channel refuses', async () => {
      const sender = f.newSender({ channelId: 30, reliability: 'Lossy' });
      f.lossy.open = false;
      await settled(sender.send(message(1)));
      assert.equal(f.scheduler.counters.lossyDropped, 1);
    });

    it('still numbers a dropped message, so the next one shows the gap', async () => {
      const sender = f.newSender({ channelId: 30, reliability: 'Lossy' });
      f.lossy.buffered = LOSSY_DROP_WATERMARK + 1;
      await settled(sender.send(message(1)));
      f.lossy.buffered = 0;
      await settled(sender.send(message(2)));
      assert.deepEqual(sendOrder(f.lossy.decoded()), [[30, FrameFlag.Lossy, 2]]);
    });
  });

  describe('failures', () => {
    it("rejects a Durable message the Durable channel refuses with 'DataChannelFailedToStart'", async () => {
      const sender = f.newSender({ channelId: 10 });
      f.durable.open = false;
      await assertRejectsWith(sender.send(message(1)), 'DataChannelFailedToStart', 'the data transport closed before the message was sent');
      assert.equal(sender.queue.length, 0);
    });

    it("rejects a message at once with 'DataChannelFailedToStart' once the call has ended", async () => {
      const sender = f.newSender({ channelId: 10 });
      f.dataState.value = 'closed';
      await assertRejectsWith(sender.send(message(1)), 'DataChannelFailedToStart', 'the call has ended: no data transport');
      assert.equal(sender.queue.length, 0);
    });

    it("rejects a message over maxMessageSize with 'DataChannelMessageSizeOverLimit'", async () => {
      const sender = f.newSender({ channelId: 10 });
      await assertRejectsWith(
        sender.send(new Uint8Array(limits.maxMessageSizeBytes + 1)),
        'DataChannelMessageSizeOverLimit',
        'message of 32769 bytes exceeds maxMessageSize (32768)',
      );
      await settled(sender.send(new Uint8Array(limits.maxMessageSizeBytes)));
      assert.equal(f.durable.frames[0]!.byteLength, 16 + 32768);
    });
  });

  describe('close', () => {
    it("rejects every queued message with 'DataChannelSenderClosed' and the close reason", async () => {
      const sender = f.newSender({ channelId: 10 });
      f.durable.buffered = DURABLE_HIGH_WATERMARK + 1;
      const first = sender.send(message(1));
      const second = sender.send(message(2));
      sender.close('sender on channel 10 was replaced by a newer sender');
      await Promise.all([
        assertRejectsWith(first, 'DataChannelSenderClosed', 'sender on channel 10 was replaced by a newer sender'),
        assertRejectsWith(second, 'DataChannelSenderClosed', 'sender on channel 10 was replaced by a newer sender'),
      ]);
      assert.equal(sender.closed, true);
      assert.equal(sender.queue.length, 0);
      assert.deepEqual(f.released, [sender]);
      f.durable.buffered = 0;
      f.scheduler.pump();
      assert.equal(f.durable.frames.length, 0, 'nothing of a closed sender reaches the transport');
    });

    it("rejects a message sent after close with 'DataChannelSenderClosed'", async () => {
      const sender = f.newSender({ channelId: 10 });
      sender.close('closed by the application');
      await assertRejectsWith(sender.send(message(1)), 'DataChannelSenderClosed', 'sender on channel 10 is closed');
    });

    it('announces the close with a SessionClose frame once the session has sent something', async () => {
      const sender = f.newSender({ channelId: 10 });
      await settled(sender.send(message(1)));
      sender.close('closed by the application');
      sender.close('closed by the application');
      const frames = f.durable.decoded();
      assert.equal(frames.length, 2);
      assert.deepEqual(frames[1], { type: FrameType.SessionClose, channelId: 10, sessionId: sender.sessionId });
      assert.deepEqual(f.released, [sender]);
    });

    it('announces nothing for a session that never sent anything', () => {
      const sender = f.newSender({ channelId: 10 });
      sender.close('closed by the application');
      assert.equal(f.durable.frames.length, 0);
    });
  });
});
