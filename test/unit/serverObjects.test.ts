/**
 * The server's call objects on their own, with no sockets and a manual clock: an endpoint's sessions and
 * their held frames, the lifecycle of endpoints and calls (idempotent, cascading close with an event), the
 * event emitter's listener isolation, and the server's error codes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  BackchannelError,
  CallErrorCode,
  DEFAULT_LIMITS,
  FrameType,
  PeerCallEndCode,
  encodeSend,
  type SendFrame,
  type ServerMessage,
} from '@backchannel/protocol';

import type { EndReason, Endpoint, EndpointSettings, FrameHandler } from '../../packages/server/src/calls/Endpoint.js';
import { startServer } from '../../packages/server/src/BackchannelServer.js';
import { GroupCall } from '../../packages/server/src/calls/GroupCall.js';
import { MAX_GENERATIONS_AHEAD, MAX_HELD_FRAMES, MAX_HOLD_MS } from '../../packages/server/src/calls/ServerSession.js';
import { resolveConfig } from '../../packages/server/src/config.js';
import { ConfigError, JoinError, TokenError } from '../../packages/server/src/errors.js';
import { Emitter } from '../../packages/server/src/events.js';
import { silentLogger } from '../../packages/server/src/logging.js';
import { ManualClock } from '../helpers/clock.js';

/** Records what the router would be told. */
class RecordingFrames implements FrameHandler {
  readonly dropped: SendFrame[] = [];
  handleFrame(): void {}
  protocolViolation(): void {}
  heldFrameDropped(_sender: Endpoint, frame: SendFrame): void {
    this.dropped.push(frame);
  }
}

function setup(overrides: Partial<EndpointSettings> = {}): { clock: ManualClock; frames: RecordingFrames; call: GroupCall; join(name?: string): Endpoint; signals: Map<string, ServerMessage[]> } {
  const clock = new ManualClock();
  const frames = new RecordingFrames();
  const settings: EndpointSettings = {
    limits: DEFAULT_LIMITS,
    maxSenders: 3,
    maxHeldBytes: 1024,
    joinTimeoutMs: 5000,
    peer: { rtcConfig: { iceServers: [], maxMessageSize: 1024 }, sendBufferBytes: { durable: 1024, lossy: 1024 } },
    frames,
    clock,
    ...overrides,
  };
  const call = new GroupCall('group', settings, silentLogger());
  const signals = new Map<string, ServerMessage[]>();
  let nextId = 1;
  const join = (name = `user-${nextId}`): Endpoint => {
    const received: ServerMessage[] = [];
    signals.set(name, received);
    return call.join(nextId++, { identity: name, displayName: name, send: (message) => received.push(message) });
  };
  return { clock, frames, call, join, signals };
}

/** A Lossy Send frame of `bytes` payload bytes under recipient generation `generation`. */
function lossySend(channelId: number, sessionId: number, sequenceNumber: number, generation: number, bytes = 10): { frame: SendFrame; bytes: Uint8Array } {
  const payload = new Uint8Array(bytes);
  const encoded = encodeSend({ flags: 0, channelId, sessionId, sequenceNumber }, generation, payload);
  return { frame: { type: FrameType.Send, flags: 0, channelId, sessionId, sequenceNumber, recipientsGeneration: generation, payload }, bytes: encoded };
}

describe('endpoint sessions', () => {
  it('opens a session, returns it for its own id, refuses older ids as stale, and replaces it with a newer one', () => {
    const { join } = setup();
    const endpoint = join();
    const first = endpoint.openSession(1, 5);
    assert.ok(typeof first === 'object');
    assert.equal(endpoint.openSession(1, 5), first);
    assert.equal(endpoint.openSession(1, 4), 'stale');
    const second = endpoint.openSession(1, 6);
    assert.ok(typeof second === 'object' && second !== first);
    assert.equal(first.closed, true);
    assert.equal(endpoint.openSessionCount, 1);
  });

  it('counts open sessions against the sender limit; a closed session frees its place and stays stale', () => {
    const { join } = setup({ maxSenders: 2 });
    const endpoint = join();
    endpoint.openSession(1, 1);
    endpoint.openSession(2, 1);
    assert.equal(endpoint.openSession(3, 1), 'limit');
    assert.equal(endpoint.openSession(2, 2) !== 'limit', true, 'replacing an open session is not a new one');
    assert.equal(endpoint.closeSession(1, 1), true);
    assert.equal(endpoint.closeSession(1, 1), false, 'closing twice');
    assert.equal(endpoint.openSessionCount, 1);
    assert.equal(endpoint.openSession(1, 1), 'stale');
    assert.ok(typeof endpoint.openSession(3, 1) === 'object');
  });
});

describe('held Lossy frames', () => {
  it('releases held frames once their list arrives, keeping those of a later list', () => {
    const { join, clock } = setup();
    const endpoint = join();
    const session = endpoint.openSession(1, 1);
    assert.ok(typeof session === 'object');
    const a = lossySend(1, 1, 1, 1);
    const b = lossySend(1, 1, 2, 2);
    session.hold(a.frame, a.bytes, clock.now());
    session.hold(b.frame, b.bytes, clock.now());
    assert.equal(endpoint.heldBytes, a.bytes.byteLength + b.bytes.byteLength);
    session.setRecipients(1, ['someone']);
    assert.deepEqual(
      session.releaseHeld(clock.now()).map((entry) => entry.frame.sequenceNumber),
      [1],
    );
    assert.equal(session.heldCount, 1);
    assert.equal(endpoint.heldBytes, b.bytes.byteLength);
  });

  it('bounds what it holds: frames per session, generations ahead, the endpoint byte budget, and age', () => {
    const { join, clock, frames } = setup({ maxHeldBytes: 100 * 64 });
    const endpoint = join();
    const session = endpoint.openSession(1, 1);
    assert.ok(typeof session === 'object');
    for (let n = 1; n <= MAX_HELD_FRAMES + 1; n++) {
      const f = lossySend(1, 1, n, 1);
      session.hold(f.frame, f.bytes, clock.now());
    }
    assert.equal(session.heldCount, MAX_HELD_FRAMES);
    assert.deepEqual(frames.dropped.map((f) => f.sequenceNumber), [1], 'the oldest is pushed out');
    const tooFar = lossySend(1, 1, 100, MAX_GENERATIONS_AHEAD + 1);
    session.hold(tooFar.frame, tooFar.bytes, clock.now());
    assert.equal(frames.dropped.at(-1)?.sequenceNumber, 100);
    clock.advance(MAX_HOLD_MS + 1);
    session.setRecipients(1, []);
    assert.deepEqual(session.releaseHeld(clock.now()), [], 'every held frame was too old');
    assert.equal(frames.dropped.length, 2 + MAX_HELD_FRAMES);
    assert.equal(endpoint.heldBytes, 0);

    const other = endpoint.openSession(2, 1);
    assert.ok(typeof other === 'object');
    const big = lossySend(2, 1, 1, 1, 100 * 64);
    other.hold(big.frame, big.bytes, clock.now());
    assert.equal(other.heldCount, 0, 'over the endpoint budget');
    assert.equal(frames.dropped.at(-1), big.frame);
  });

  it('reports held frames dropped when their session closes, and forgets them silently when the endpoint goes', () => {
    const { join, clock, frames } = setup();
    const endpoint = join();
    const session = endpoint.openSession(1, 1);
    const kept = endpoint.openSession(2, 1);
    assert.ok(typeof session === 'object' && typeof kept === 'object');
    const a = lossySend(1, 1, 1, 1);
    const b = lossySend(2, 1, 1, 1);
    session.hold(a.frame, a.bytes, clock.now());
    kept.hold(b.frame, b.bytes, clock.now());
    endpoint.closeSession(1, 1);
    assert.deepEqual(frames.dropped, [a.frame]);
    endpoint.close();
    assert.deepEqual(frames.dropped, [a.frame]);
    assert.equal(endpoint.heldBytes, 0);
    assert.equal(kept.closed, true);
  });
});

describe('endpoint and call lifecycle', () => {
  it('ends an endpoint whose transport is not up within the join timeout, telling its agent why', () => {
    const { join, clock, call, signals } = setup({ joinTimeoutMs: 5000 });
    const endpoint = join('alice');
    const reasons: (EndReason | undefined)[] = [];
    endpoint.on('close', (reason) => reasons.push(reason));
    clock.advance(4999);
    assert.equal(endpoint.state, 'connecting');
    clock.advance(1);
    assert.equal(endpoint.state, 'closed');
    assert.equal(reasons.length, 1);
    assert.equal(reasons[0]?.code, CallErrorCode.TransportFailed);
    assert.equal(signals.get('alice')?.at(-1)?.type, 'callEnded');
    assert.equal(call.closed, true, 'the last endpoint out ends the call');
  });

  it('closes idempotently, cascading from the call to its endpoints, each emitting close once', () => {
    const { join, call, clock } = setup();
    const [a, b] = [join(), join()];
    const closes: string[] = [];
    a.on('close', () => closes.push('a'));
    b.on('close', () => closes.push('b'));
    call.on('close', () => closes.push('call'));
    const reason = { code: CallErrorCode.ServerShutdown, message: 'bye' };
    call.close(reason);
    call.close(reason);
    a.close();
    assert.deepEqual(closes, ['a', 'b', 'call']);
    assert.equal(call.size, 0);
    assert.equal(clock.pendingTimers, 0, 'no join timer left behind');
  });

  it('ends the call when its last endpoint leaves, and not before', () => {
    const { join, call } = setup();
    const [a, b] = [join(), join()];
    a.close();
    assert.equal(call.closed, false);
    assert.deepEqual([...call.endpoints.values()], [b]);
    b.close();
    assert.equal(call.closed, true);
  });

  it('ends the call for everyone: the leaver leaves as on its own, every other endpoint ends with EndedForEveryone, the call closes', () => {
    const { join, call, signals } = setup();
    const [alice, bob, carol] = [join('alice'), join('bob'), join('carol')];
    const reasons = new Map<string, EndReason | undefined>();
    for (const [name, endpoint] of [['alice', alice], ['bob', bob], ['carol', carol]] as const) endpoint.on('close', (reason) => reasons.set(name, reason));
    let closed = 0;
    call.on('close', () => closed++);
    call.endForEveryone(alice);
    const reason = { code: PeerCallEndCode.EndedForEveryone, message: 'alice ended the call for everyone' };
    assert.deepEqual(Object.fromEntries(reasons), { alice: undefined, bob: reason, carol: reason });
    assert.deepEqual(signals.get('alice'), [], 'the leaver is not told the call ended: it left');
    for (const name of ['bob', 'carol']) assert.deepEqual(signals.get(name)!.at(-1), { type: 'callEnded', endpointId: name === 'bob' ? bob.id : carol.id, ...reason });
    assert.deepEqual([call.closed, closed, call.size], [true, 1, 0]);
    call.endForEveryone(bob); // idempotent: nobody is left
    assert.equal(closed, 1);
  });
});

describe('the server event emitter', () => {
  class Thing extends Emitter<{ ping: [n: number] }> {
    ping(n: number): void {
      this.safeEmit('ping', n);
    }
  }

  it('isolates a throwing listener: the others still run and the error is reported', () => {
    const reported: [unknown, string][] = [];
    const thing = new Thing((error, event) => reported.push([error, event]));
    const seen: number[] = [];
    thing.on('ping', () => {
      throw new Error('listener bug');
    });
    thing.on('ping', (n) => seen.push(n));
    thing.ping(7);
    assert.deepEqual(seen, [7]);
    assert.equal(reported.length, 1);
    assert.equal((reported[0]![0] as Error).message, 'listener bug');
    assert.equal(reported[0]![1], 'ping');
  });

  it('removes a listener with off', () => {
    const thing = new Thing();
    const seen: number[] = [];
    const listener = (n: number): void => void seen.push(n);
    thing.on('ping', listener);
    thing.off('ping', listener);
    thing.ping(1);
    assert.deepEqual(seen, []);
    assert.equal(thing.listenerCount('ping'), 0);
  });
});

describe('server errors', () => {
  it('extend BackchannelError with a code from the protocol tables', () => {
    const join = new JoinError(CallErrorCode.CallFull, 'full');
    const token = new TokenError('token expired');
    assert.ok(join instanceof BackchannelError && token instanceof BackchannelError);
    assert.equal(join.code, CallErrorCode.CallFull);
    assert.equal(join.name, 'JoinError');
    assert.equal(token.code, CallErrorCode.InvalidToken);
    assert.equal(token.name, 'TokenError');
  });

  it('refuses to start in demo mode without the demo app’s directory, naming demoStaticDir', async () => {
    await assert.rejects(
      startServer({ port: 0, demo: true }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error instanceof BackchannelError &&
        error.code === 'InvalidConfiguration' &&
        error.key === 'demoStaticDir' &&
        /demoStaticDir/.test(error.message),
    );
    // The configuration alone may leave it out, for a caller (the CLI) to fill in from the demo package.
    assert.equal(resolveConfig({ demo: true }).demoStaticDir, undefined);
  });
});
