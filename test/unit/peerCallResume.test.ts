/**
 * The server's 1:1 calls across a lost connection (packages/server/src/calls/PeerCallManager.ts) on their
 * own: recording parties stand in for agent connections, a ManualClock for time. A party whose connection
 * is lost is away for the resume window; `resumePeerCall` puts it back; past the window the other party hears
 * the call end.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { DEFAULT_LIMITS, type ServerMessage } from '@backchannel/protocol';

import { PeerCallManager, type PeerParty } from '../../packages/server/src/calls/PeerCallManager.js';
import { silentLogger } from '../../packages/server/src/logging.js';
import { ManualClock } from '../helpers/clock.js';

const WINDOW_MS = 30_000;

/** An agent connection that records what the server sends it. */
class Party implements PeerParty {
  readonly sent: ServerMessage[] = [];
  constructor(
    readonly identity: string,
    readonly displayName = identity,
  ) {}
  send(message: ServerMessage): void {
    this.sent.push(message);
  }
  /** What it got since the last call, and forgets it. */
  take(): ServerMessage[] {
    return this.sent.splice(0);
  }
}

type Accepted = Extract<ServerMessage, { type: 'callAccepted' }>;

/** A connected call between `alice` (caller) and `bob` (callee), each party's messages so far taken. */
function connectedCall(resumeWindowMs = WINDOW_MS) {
  const clock = new ManualClock();
  const alice = new Party('alice');
  const bob = new Party('bob');
  const agents = new Map<string, PeerParty[]>([['bob', [bob]], ['alice', [alice]]]);
  const calls = new PeerCallManager({
    limits: DEFAULT_LIMITS,
    ringTimeoutMs: 30_000,
    resumeWindowMs,
    agentsOf: (identity) => agents.get(identity) ?? [],
    logger: silentLogger(),
    clock,
  });
  calls.start(alice, 1, 'bob');
  const callId = (bob.take()[0] as Extract<ServerMessage, { type: 'incomingCall' }>).callId;
  calls.accept(bob, callId);
  const aliceAccepted = alice.take()[1] as Accepted; // after 'ringing'
  const [bobAccepted] = bob.take() as [Accepted];
  return { clock, calls, alice, bob, callId, tokens: { alice: aliceAccepted.resumeToken, bob: bobAccepted.resumeToken }, accepted: { alice: aliceAccepted, bob: bobAccepted } };
}

const offer = { kind: 'offer' as const, sdp: 'v=0', generation: 1 };

describe('1:1 calls across a lost connection (PeerCallManager)', () => {
  it('gives each party its own resume token and the resume window in callAccepted', () => {
    const { accepted, tokens } = connectedCall();
    assert.equal(accepted.alice.resumeWindowMs, WINDOW_MS);
    assert.equal(accepted.bob.resumeWindowMs, WINDOW_MS);
    assert.match(tokens.alice, /^[A-Za-z0-9_-]{22}$/, '128 bits, base64url');
    assert.match(tokens.bob, /^[A-Za-z0-9_-]{22}$/);
    assert.notEqual(tokens.alice, tokens.bob);
  });

  it('keeps an accepted call whose party is lost: the other hears nothing, and signals to the away party are dropped', () => {
    const { calls, alice, bob, callId, clock } = connectedCall();
    calls.disconnected(bob, true);
    calls.relay(alice, callId, offer);
    clock.advance(WINDOW_MS - 1);
    assert.deepEqual(alice.take(), [], 'no end, no error for the dropped offer');
    assert.deepEqual(bob.take(), []);
    assert.equal(calls.size, 1);
  });

  it('puts the party back on the connection that resumes with its token, answers peerCallResumed, and relays to it again', () => {
    const { calls, alice, bob, callId, tokens, clock } = connectedCall();
    calls.disconnected(bob, true);
    clock.advance(5000);
    const bobAgain = new Party('bob');
    calls.resume(bobAgain, 9, callId, tokens.bob);
    assert.deepEqual(bobAgain.take(), [{ type: 'peerCallResumed', ref: 9, callId }]);
    calls.relay(alice, callId, offer);
    assert.deepEqual(bobAgain.take(), [{ type: 'peerSignal', callId, signal: offer }]);
    calls.relay(bobAgain, callId, { kind: 'reconnect', generation: 0 });
    assert.deepEqual(alice.take(), [{ type: 'peerSignal', callId, signal: { kind: 'reconnect', generation: 0 } }]);
    clock.advance(WINDOW_MS);
    assert.equal(calls.size, 1, 'the window stopped when the party came back');
    calls.hangUp(bobAgain, callId);
    assert.deepEqual(alice.take(), [{ type: 'peerCallEnded', callId, code: 'HungUp', message: 'the other party hung up' }]);
    assert.equal(calls.size, 0);
  });

  it('lets a new connection take over before the old one is noticed dead; the old one then holds no place', () => {
    const { calls, alice, callId, tokens, bob } = connectedCall();
    const bobAgain = new Party('bob');
    calls.resume(bobAgain, 3, callId, tokens.bob);
    assert.deepEqual(bobAgain.take(), [{ type: 'peerCallResumed', ref: 3, callId }]);
    calls.disconnected(bob, true); // noticed late: changes nothing
    calls.relay(bob, callId, offer);
    assert.deepEqual(bob.take(), [{ type: 'peerCallEnded', callId, code: 'NotFound', message: `no call ${callId} for this agent` }]);
    calls.relay(alice, callId, offer);
    assert.deepEqual(bobAgain.take(), [{ type: 'peerSignal', callId, signal: offer }]);
    assert.deepEqual(alice.take(), []);
  });

  it('answers every refusal with the same NotFound: unknown call, ringing call, another identity, a wrong token, the other party’s token', () => {
    const { calls, callId, tokens } = connectedCall();
    const refusals: [string, PeerParty, string, string][] = [
      ['an unknown call', new Party('bob'), 'no-such-call', tokens.bob],
      ['another identity with the token', new Party('mallory'), callId, tokens.bob],
      ['a wrong token', new Party('bob'), callId, 'A'.repeat(22)],
      ['a token of another length', new Party('bob'), callId, tokens.bob.slice(1)],
      ['the other party’s token', new Party('bob'), callId, tokens.alice],
    ];
    for (const [what, party, id, token] of refusals) {
      calls.resume(party, 4, id, token);
      assert.deepEqual((party as Party).take(), [{ type: 'error', ref: 4, code: 'NotFound', message: 'no call to resume' }], what);
    }
    const ringingOnly = connectedCall();
    const carol = new Party('carol');
    ringingOnly.calls.start(ringingOnly.alice, 2, 'bob');
    const ringingId = (ringingOnly.bob.take()[0] as Extract<ServerMessage, { type: 'incomingCall' }>).callId;
    ringingOnly.calls.resume(carol, 5, ringingId, 'whatever');
    assert.deepEqual(carol.take(), [{ type: 'error', ref: 5, code: 'NotFound', message: 'no call to resume' }], 'a call still ringing');
  });

  it('ends the call for the other party with ConnectionLost past the window; a resume after that is NotFound', () => {
    const { calls, alice, bob, callId, tokens, clock } = connectedCall();
    calls.disconnected(bob, true);
    clock.advance(WINDOW_MS);
    assert.deepEqual(alice.take(), [{ type: 'peerCallEnded', callId, code: 'ConnectionLost', message: `the other party did not come back within ${WINDOW_MS} ms` }]);
    assert.equal(calls.size, 0);
    assert.equal(clock.pendingTimers, 0);
    const bobAgain = new Party('bob');
    calls.resume(bobAgain, 6, callId, tokens.bob);
    assert.deepEqual(bobAgain.take(), [{ type: 'error', ref: 6, code: 'NotFound', message: 'no call to resume' }]);
  });

  it('ends at once, as without resume, when the server closed the connection on purpose or there is no window', () => {
    const closed = connectedCall();
    closed.calls.disconnected(closed.bob, false);
    assert.deepEqual(closed.alice.take(), [{ type: 'peerCallEnded', callId: closed.callId, code: 'ConnectionLost', message: 'the other party disconnected' }]);
    const noWindow = connectedCall(0);
    assert.equal(noWindow.accepted.alice.resumeWindowMs, 0);
    noWindow.calls.disconnected(noWindow.alice, true);
    assert.deepEqual(noWindow.bob.take(), [{ type: 'peerCallEnded', callId: noWindow.callId, code: 'ConnectionLost', message: 'the other party disconnected' }]);
    const aliceAgain = new Party('alice');
    noWindow.calls.resume(aliceAgain, 1, noWindow.callId, noWindow.tokens.alice);
    assert.deepEqual(aliceAgain.take(), [{ type: 'error', ref: 1, code: 'NotFound', message: 'no call to resume' }]);
  });

  it('ends a call still ringing when its caller is lost, as before', () => {
    const { calls, alice, bob } = connectedCall();
    calls.start(alice, 2, 'bob');
    const ringingId = (bob.take()[0] as Extract<ServerMessage, { type: 'incomingCall' }>).callId;
    alice.take();
    calls.disconnected(alice, true);
    assert.deepEqual(bob.take(), [{ type: 'peerCallEnded', callId: ringingId, code: 'ConnectionLost', message: 'the other party disconnected' }]);
    assert.equal(calls.size, 1, 'the accepted call is kept, the ringing one is not');
  });

  it('tells the other party ConnectionLost when a party ends the call because its connection could not be resumed', () => {
    const { calls, alice, bob, callId } = connectedCall();
    calls.hangUp(bob, callId, { message: 'not resumed within 30000 ms (peer connection failed)' });
    assert.deepEqual(alice.take(), [
      { type: 'peerCallEnded', callId, code: 'ConnectionLost', message: "the other party's connection was lost: not resumed within 30000 ms (peer connection failed)" },
    ]);
    assert.deepEqual(bob.take(), []);
  });

  it('ends a call whose two parties are both away once the first window is over, leaving no timer', () => {
    const { calls, alice, bob, clock } = connectedCall();
    calls.disconnected(alice, true);
    clock.advance(1000);
    calls.disconnected(bob, true);
    clock.advance(WINDOW_MS - 1000);
    assert.equal(calls.size, 0);
    assert.equal(clock.pendingTimers, 0);
  });
});

describe('1:1 calls taken over from a lost node (PeerCallManager.adopt, forsake, watch)', () => {
  /** A manager on the node that takes the call over, with bob (the callee) connected to it. */
  function adopter(resumeWindowMs = WINDOW_MS) {
    const clock = new ManualClock();
    const calls = new PeerCallManager({ limits: DEFAULT_LIMITS, ringTimeoutMs: 30_000, resumeWindowMs, agentsOf: () => [], logger: silentLogger(), clock });
    const bob = new Party('bob');
    const seats = { caller: { identity: 'alice', displayName: 'Alice', resumeToken: 'alice-token' }, callee: { identity: 'bob', displayName: 'Bob', resumeToken: 'bob-token', party: bob } };
    return { clock, calls, bob, seats };
  }

  it('keeps the seat of the party that is here; the other is away for the window and takes it back with its token', () => {
    const { calls, bob, seats, clock } = adopter();
    calls.adopt('call-1', seats.caller, seats.callee);
    assert.ok(calls.holds('call-1'));
    assert.deepEqual(bob.take(), [], 'the party here is told nothing: the call goes on');
    const alice = new Party('alice');
    calls.resume(alice, 3, 'call-1', 'not-the-token');
    assert.deepEqual(alice.take(), [{ type: 'error', ref: 3, code: 'NotFound', message: 'no call to resume' }]);
    clock.advance(WINDOW_MS - 1);
    calls.resume(alice, 4, 'call-1', 'alice-token');
    assert.deepEqual(alice.take(), [{ type: 'peerCallResumed', ref: 4, callId: 'call-1' }]);
    calls.relay(bob, 'call-1', offer);
    assert.deepEqual(alice.take(), [{ type: 'peerSignal', callId: 'call-1', signal: offer }], 'signals flow between the two again');
    calls.hangUp(alice, 'call-1');
    assert.deepEqual(bob.take(), [{ type: 'peerCallEnded', callId: 'call-1', code: 'HungUp', message: 'the other party hung up' }]);
  });

  it('ends the call for the party here if the other does not come back within the window', () => {
    const { calls, bob, seats, clock } = adopter();
    calls.adopt('call-1', seats.caller, seats.callee);
    clock.advance(WINDOW_MS);
    assert.equal(calls.size, 0);
    assert.deepEqual(bob.take(), [{ type: 'peerCallEnded', callId: 'call-1', code: 'ConnectionLost', message: `the other party did not come back within ${WINDOW_MS} ms` }]);
  });

  it('adopts nothing without a resume window, nor a call it already holds', () => {
    const none = adopter(0);
    none.calls.adopt('call-1', none.seats.caller, none.seats.callee);
    assert.equal(none.calls.size, 0);
    const { calls, seats } = adopter();
    calls.adopt('call-1', seats.caller, seats.callee);
    calls.adopt('call-1', { ...seats.caller, resumeToken: 'other' }, seats.callee);
    const alice = new Party('alice');
    calls.resume(alice, 1, 'call-1', 'alice-token');
    assert.equal(alice.take()[0]?.type, 'peerCallResumed', 'the first adoption stands');
  });

  it('forsakes the calls it is told to, without a word to anyone', () => {
    const { calls, alice, bob, callId } = connectedCall();
    calls.forsake((id, parties) => id === callId && parties.includes(bob));
    assert.equal(calls.size, 0);
    assert.deepEqual([alice.take(), bob.take()], [[], []]);
    calls.resume(bob, 1, callId, 'any');
    assert.equal(bob.take()[0]?.type, 'error', 'gone: NotFound');
  });

  it('tells its watcher of each seating (accept, resume) and of the end', () => {
    const clock = new ManualClock();
    const alice = new Party('alice');
    const bob = new Party('bob');
    const calls = new PeerCallManager({ limits: DEFAULT_LIMITS, ringTimeoutMs: 30_000, resumeWindowMs: WINDOW_MS, agentsOf: (id) => (id === 'bob' ? [bob] : []), logger: silentLogger(), clock });
    const heard: string[] = [];
    calls.watch({
      seated: (callId, caller, callee) => heard.push(`seated ${caller.party.identity}:${caller.resumeToken.length} ${callee.party.identity}:${callee.resumeToken.length}`),
      ended: (callId) => heard.push(`ended ${callId === callIdOf() ? 'it' : callId}`),
    });
    calls.start(alice, 1, 'bob');
    const callIdOf = (): string => (bob.sent[0] as Extract<ServerMessage, { type: 'incomingCall' }>).callId;
    const callId = callIdOf();
    calls.accept(bob, callId);
    const token = (bob.sent[1] as Accepted).resumeToken;
    calls.disconnected(bob, true);
    const bobAgain = new Party('bob');
    calls.resume(bobAgain, 2, callId, token);
    calls.hangUp(alice, callId);
    assert.deepEqual(heard, ['seated alice:22 bob:22', 'seated alice:22 bob:22', 'ended it']);
  });
});
