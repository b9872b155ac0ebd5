/** Signaling messages (packages/protocol/src/signaling.ts): JSON text in, a typed message or a SignalingError out. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  DEFAULT_LIMITS,
  encodeSignaling,
  formatCloseReason,
  MAX_SIGNALING_MESSAGE_BYTES,
  parseClientMessage,
  parseCloseReason,
  parseServerMessage,
  PROTOCOL_VERSION,
  SignalingError,
  type ClientMessage,
  type ServerMessage,
} from '@backchannel/protocol';

/** Asserts that `parse` throws a SignalingError with code BadRequest and a message equal to or matching `message`. */
function assertRefused(parse: () => unknown, message: string | RegExp): void {
  assert.throws(parse, (error: unknown) => {
    assert.ok(error instanceof SignalingError, `expected a SignalingError, got ${String(error)}`);
    assert.equal(error.name, 'SignalingError');
    assert.equal(error.code, 'BadRequest');
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

/** [what the case shows, a valid message]. */
const validClientMessages: [string, ClientMessage][] = [
  ['hello with a displayName', { type: 'hello', protocolVersion: PROTOCOL_VERSION, token: 'eyJhbGciOi.payload.signature', displayName: 'Alice' }],
  ['hello without a displayName', { type: 'hello', protocolVersion: PROTOCOL_VERSION, token: 't' }],
  ['refreshToken', { type: 'refreshToken', token: 'eyJhbGciOi.fresh.signature' }],
  ['join with ref 0', { type: 'join', ref: 0, groupId: '29228d3e-040e-4656-a70e-890ab4e173e5' }],
  ['offer', { type: 'offer', endpointId: 1, sdp: 'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\n' }],
  [
    'candidate for the largest endpoint id',
    { type: 'candidate', endpointId: 4294967295, candidate: 'candidate:1 1 UDP 2122252543 127.0.0.1 50000 typ host', mid: '0' },
  ],
  ['leave', { type: 'leave', endpointId: 3 }],
  ['endCall (a hang-up)', { type: 'endCall', callId: 'c-1' }],
  ['endCall because the connection was not resumed', { type: 'endCall', callId: 'c-1', reason: { code: 'ConnectionLost', message: 'not resumed within 30000 ms' } }],
  ['peerSignal: an offer without a generation (the first transport)', { type: 'peerSignal', callId: 'c-1', signal: { kind: 'offer', sdp: 'v=0\r\n' } }],
  ['peerSignal: an answer of generation 2', { type: 'peerSignal', callId: 'c-1', signal: { kind: 'answer', sdp: 'v=0\r\n', generation: 2 } }],
  [
    'peerSignal: a candidate of generation 1',
    { type: 'peerSignal', callId: 'c-1', signal: { kind: 'candidate', candidate: 'candidate:1 1 UDP 2122252543 192.0.2.2 50000 typ host', mid: '0', generation: 1 } },
  ],
  ['peerSignal: reconnect after generation 0 failed', { type: 'peerSignal', callId: 'c-1', signal: { kind: 'reconnect', generation: 0 } }],
  ['resumePeerCall', { type: 'resumePeerCall', ref: 4, callId: 'c-1', resumeToken: 'AAAAAAAAAAAAAAAAAAAAAA' }],
  ['leave for everyone', { type: 'leave', endpointId: 3, forEveryone: true }],
  ['ping (liveness)', { type: 'ping' }],
];

const participant = { endpointId: 2, identity: 'user-b', displayName: 'Bob' };

/** [what the case shows, a valid message]. */
const validServerMessages: [string, ServerMessage][] = [
  [
    'welcome with a STUN server',
    { type: 'welcome', protocolVersion: PROTOCOL_VERSION, identity: 'user-a', iceServers: [{ urls: 'stun:127.0.0.1:3478' }] },
  ],
  [
    'welcome with a TURN server and credentials',
    {
      type: 'welcome',
      protocolVersion: PROTOCOL_VERSION,
      identity: 'user-a',
      iceServers: [{ urls: ['turn:t.example:3478'], username: 'u', credential: 'c' }],
    },
  ],
  [
    'welcome asking for liveness pings',
    { type: 'welcome', protocolVersion: PROTOCOL_VERSION, identity: 'user-a', iceServers: [], serverRun: 'run-1', pingIntervalMs: 5000, pingTimeoutMs: 10000 },
  ],
  ['pong', { type: 'pong' }],
  ['joined with the default limits', { type: 'joined', ref: 7, callId: 'call-1', endpointId: 1, limits: { ...DEFAULT_LIMITS }, resumeToken: 'AAAAAAAAAAAAAAAAAAAAAA', resumeWindowMs: 30000 }],
  ['answer', { type: 'answer', endpointId: 1, sdp: 'v=0\r\n' }],
  ['candidate with an empty candidate (end of candidates)', { type: 'candidate', endpointId: 1, candidate: '', mid: '0' }],
  ['connected with one other participant', { type: 'connected', endpointId: 1, participants: [participant] }],
  ['connected alone', { type: 'connected', endpointId: 1, participants: [] }],
  ['participantsChanged with a join', { type: 'participantsChanged', endpointId: 1, joined: [participant], left: [] }],
  ['participantsChanged with leaves', { type: 'participantsChanged', endpointId: 1, joined: [], left: [2, 3] }],
  ['callEnded', { type: 'callEnded', endpointId: 1, code: 'ServerShutdown', message: 'the server is shutting down' }],
  ['error answering a join request', { type: 'error', ref: 7, code: 'InvalidToken', message: 'token expired' }],
  ['error about an endpoint', { type: 'error', endpointId: 1, code: 'NotFound', message: 'no such endpoint' }],
  ['error about the connection', { type: 'error', code: 'BadRequest', message: 'bad request' }],
  [
    'callAccepted with the party’s resume token and window',
    { type: 'callAccepted', callId: 'c-1', callee: { identity: 'user-b', displayName: 'Bob' }, resumeToken: 'AAAAAAAAAAAAAAAAAAAAAA', resumeWindowMs: 30000 },
  ],
  ['peerCallResumed', { type: 'peerCallResumed', ref: 4, callId: 'c-1' }],
  ['peerSignal: reconnect', { type: 'peerSignal', callId: 'c-1', signal: { kind: 'reconnect', generation: 3 } }],
];

/** A valid `leave` message padded with an ignored field to exactly `length` UTF-16 code units of text. */
function leaveMessageOfLength(length: number, padCharacter = 'x'): string {
  const empty = JSON.stringify({ type: 'leave', endpointId: 1, pad: '' });
  return JSON.stringify({ type: 'leave', endpointId: 1, pad: padCharacter.repeat(length - empty.length) });
}

describe('parseClientMessage', () => {
  for (const [what, message] of validClientMessages) {
    it(`accepts a valid message: ${what}`, () => {
      assert.deepEqual(parseClientMessage(encodeSignaling(message)), message);
    });
  }

  it('refuses text that is not JSON', () => {
    assertRefused(() => parseClientMessage(''), 'signaling message is not JSON');
    assertRefused(() => parseClientMessage('{"type":"leave"'), 'signaling message is not JSON');
    assertRefused(() => parseClientMessage('leave'), 'signaling message is not JSON');
  });

  it('refuses JSON that is not an object', () => {
    assertRefused(() => parseClientMessage('42'), /^invalid signaling message: .*expected object, received number$/);
    assertRefused(() => parseClientMessage('null'), /^invalid signaling message: .*expected object, received null$/);
    assertRefused(() => parseClientMessage('[]'), /^invalid signaling message: .*expected object, received array$/);
  });

  it('refuses a message without a type, or of an unknown type', () => {
    assertRefused(() => parseClientMessage('{}'), /^invalid signaling message at type: /);
    assertRefused(() => parseClientMessage('{"type":"bogus","endpointId":1}'), /^invalid signaling message at type: /);
  });

  it('refuses a server message type', () => {
    const serverMessage = encodeSignaling({ type: 'participantsChanged', endpointId: 1, joined: [], left: [2] });
    assertRefused(() => parseClientMessage(serverMessage), /^invalid signaling message at type: /);
  });

  it('refuses a field of the wrong type, naming the field', () => {
    assertRefused(() => parseClientMessage('{"type":"join","ref":"1","groupId":"g"}'), /^invalid signaling message at ref: .*expected number/);
    assertRefused(
      () => parseClientMessage('{"type":"hello","protocolVersion":1,"token":42}'),
      /^invalid signaling message at token: .*expected string/,
    );
    assertRefused(() => parseClientMessage('{"type":"leave","endpointId":1.5}'), /^invalid signaling message at endpointId: .*expected int/);
    assertRefused(() => parseClientMessage('{"type":"leave","endpointId":0}'), /^invalid signaling message at endpointId: /);
    // forEveryone is `true` or absent: a `false` would be a second way of saying the same thing.
    assertRefused(() => parseClientMessage('{"type":"leave","endpointId":1,"forEveryone":false}'), /^invalid signaling message at forEveryone: /);
  });

  it('refuses a message with a missing field, naming the field', () => {
    assertRefused(() => parseClientMessage('{"type":"offer","endpointId":1}'), /^invalid signaling message at sdp: /);
    assertRefused(() => parseClientMessage('{"type":"join","groupId":"g"}'), /^invalid signaling message at ref: /);
    assertRefused(() => parseClientMessage('{"type":"candidate","endpointId":1,"candidate":"c"}'), /^invalid signaling message at mid: /);
  });

  it('refuses field values outside their bounds', () => {
    assertRefused(() => parseClientMessage('{"type":"join","ref":1,"groupId":""}'), /^invalid signaling message at groupId: /);
    assertRefused(() => parseClientMessage('{"type":"join","ref":-1,"groupId":"g"}'), /^invalid signaling message at ref: /);
    const longToken = encodeSignaling({ type: 'refreshToken', token: 't'.repeat(8193) });
    assertRefused(() => parseClientMessage(longToken), /^invalid signaling message at token: /);
  });

  it('refuses 1:1 resume messages out of shape, naming the field', () => {
    const signal = (value: object): string => JSON.stringify({ type: 'peerSignal', callId: 'c', signal: value });
    assertRefused(() => parseClientMessage(signal({ kind: 'reconnect' })), /^invalid signaling message at signal\.generation: /);
    assertRefused(() => parseClientMessage(signal({ kind: 'offer', sdp: 'v=0', generation: -1 })), /^invalid signaling message at signal\.generation: /);
    assertRefused(() => parseClientMessage(signal({ kind: 'answer', sdp: 'v=0', generation: 1.5 })), /^invalid signaling message at signal\.generation: /);
    assertRefused(() => parseClientMessage(signal({ kind: 'restart', generation: 1 })), /^invalid signaling message at signal\.kind: /);
    assertRefused(
      () => parseClientMessage(JSON.stringify({ type: 'endCall', callId: 'c', reason: { code: 'HungUp', message: 'm' } })),
      /^invalid signaling message at reason\.code: /,
    );
    assertRefused(() => parseClientMessage(JSON.stringify({ type: 'resumePeerCall', ref: 1, callId: 'c' })), /^invalid signaling message at resumeToken: /);
    assertRefused(() => parseClientMessage(JSON.stringify({ type: 'resumePeerCall', ref: 1, callId: 'c', resumeToken: '' })), /^invalid signaling message at resumeToken: /);
    assertRefused(() => parseClientMessage(JSON.stringify({ type: 'resumePeerCall', callId: 'c', resumeToken: 't' })), /^invalid signaling message at ref: /);
  });

  it(`accepts a message of exactly MAX_SIGNALING_MESSAGE_BYTES (${MAX_SIGNALING_MESSAGE_BYTES}) bytes`, () => {
    const text = leaveMessageOfLength(MAX_SIGNALING_MESSAGE_BYTES);
    assert.equal(Buffer.byteLength(text), MAX_SIGNALING_MESSAGE_BYTES);
    assert.deepEqual(parseClientMessage(text), { type: 'leave', endpointId: 1 });
  });

  it('refuses a message one byte over MAX_SIGNALING_MESSAGE_BYTES', () => {
    const text = leaveMessageOfLength(MAX_SIGNALING_MESSAGE_BYTES + 1);
    assert.equal(Buffer.byteLength(text), MAX_SIGNALING_MESSAGE_BYTES + 1);
    assertRefused(() => parseClientMessage(text), 'signaling message over 65536 bytes');
  });

  it('refuses a message whose UTF-8 encoding exceeds MAX_SIGNALING_MESSAGE_BYTES even if it has fewer characters', () => {
    // 30,000 '€' are 30,000 UTF-16 code units but 90,000 bytes of UTF-8.
    const text = leaveMessageOfLength(30_000 + 40, '€');
    assert.ok(text.length < MAX_SIGNALING_MESSAGE_BYTES);
    assert.ok(Buffer.byteLength(text) > MAX_SIGNALING_MESSAGE_BYTES);
    assertRefused(() => parseClientMessage(text), 'signaling message over 65536 bytes');
  });
});

describe('parseServerMessage', () => {
  for (const [what, message] of validServerMessages) {
    it(`accepts a valid message: ${what}`, () => {
      assert.deepEqual(parseServerMessage(encodeSignaling(message)), message);
    });
  }

  it('refuses text that is not JSON', () => {
    assertRefused(() => parseServerMessage(''), 'signaling message is not JSON');
    assertRefused(() => parseServerMessage('{"type":'), 'signaling message is not JSON');
  });

  it('refuses JSON that is not an object', () => {
    assertRefused(() => parseServerMessage('"welcome"'), /^invalid signaling message: .*expected object, received string$/);
  });

  it('refuses a message of an unknown type', () => {
    assertRefused(() => parseServerMessage('{"type":"bogus"}'), /^invalid signaling message at type: /);
  });

  it('refuses a client message type', () => {
    assertRefused(() => parseServerMessage(encodeSignaling({ type: 'leave', endpointId: 1 })), /^invalid signaling message at type: /);
  });

  it('refuses a field of the wrong type, naming the nested field', () => {
    const limits = { ...DEFAULT_LIMITS, maxRecipients: '64' };
    assertRefused(
      () => parseServerMessage(JSON.stringify({ type: 'joined', ref: 1, callId: 'c', endpointId: 1, limits, resumeToken: 't', resumeWindowMs: 0 })),
      /^invalid signaling message at limits\.maxRecipients: .*expected number/,
    );
    assertRefused(
      () => parseServerMessage(JSON.stringify({ type: 'connected', endpointId: 1, participants: [{ ...participant, endpointId: 'b' }] })),
      /^invalid signaling message at participants\.0\.endpointId: .*expected number/,
    );
  });

  it('refuses a message with a missing field, naming the field', () => {
    const { maxSendBacklogMs: _omitted, ...limits } = DEFAULT_LIMITS;
    assertRefused(
      () => parseServerMessage(JSON.stringify({ type: 'joined', ref: 1, callId: 'c', endpointId: 1, limits, resumeToken: 't', resumeWindowMs: 0 })),
      /^invalid signaling message at limits\.maxSendBacklogMs: /,
    );
    assertRefused(() => parseServerMessage('{"type":"error","code":"BadRequest"}'), /^invalid signaling message at message: /);
  });

  it('refuses limits outside their bounds', () => {
    const limits = { ...DEFAULT_LIMITS, broadcastReceiveShare: 1.5 };
    assertRefused(
      () => parseServerMessage(JSON.stringify({ type: 'joined', ref: 1, callId: 'c', endpointId: 1, limits, resumeToken: 't', resumeWindowMs: 0 })),
      /^invalid signaling message at limits\.broadcastReceiveShare: /,
    );
  });

  it('refuses a callAccepted without its resume token or window', () => {
    const accepted = { type: 'callAccepted', callId: 'c', callee: { identity: 'b', displayName: '' }, resumeToken: 't', resumeWindowMs: 0 };
    const { resumeToken: _token, ...noToken } = accepted;
    const { resumeWindowMs: _window, ...noWindow } = accepted;
    assertRefused(() => parseServerMessage(JSON.stringify(noToken)), /^invalid signaling message at resumeToken: /);
    assertRefused(() => parseServerMessage(JSON.stringify(noWindow)), /^invalid signaling message at resumeWindowMs: /);
    assertRefused(() => parseServerMessage(JSON.stringify({ ...accepted, resumeWindowMs: -1 })), /^invalid signaling message at resumeWindowMs: /);
    assertRefused(() => parseServerMessage(JSON.stringify({ type: 'peerCallResumed', ref: 1 })), /^invalid signaling message at callId: /);
  });

  it('refuses a message over MAX_SIGNALING_MESSAGE_BYTES', () => {
    const error = { type: 'error', code: 'BadRequest', message: 'm', pad: '' };
    const text = JSON.stringify({ ...error, pad: 'x'.repeat(MAX_SIGNALING_MESSAGE_BYTES + 1 - JSON.stringify(error).length) });
    assert.equal(Buffer.byteLength(text), MAX_SIGNALING_MESSAGE_BYTES + 1);
    assertRefused(() => parseServerMessage(text), 'signaling message over 65536 bytes');
  });
});

describe('close reasons (formatCloseReason, parseCloseReason)', () => {
  it('writes "<code>: <message>" and reads it back', () => {
    assert.equal(formatCloseReason('InvalidToken', 'token expired'), 'InvalidToken: token expired');
    assert.deepEqual(parseCloseReason('InvalidToken: token expired'), { code: 'InvalidToken', message: 'token expired' });
  });

  it('reads a bare code as its own message, and anything else as no reason of ours', () => {
    assert.deepEqual(parseCloseReason('ServerShutdown'), { code: 'ServerShutdown', message: 'ServerShutdown' });
    assert.equal(parseCloseReason('going away'), undefined);
    assert.equal(parseCloseReason(''), undefined);
  });

  it('cuts a long reason to 120 bytes of UTF-8, never inside a character', () => {
    const ascii = formatCloseReason('BadRequest', 'x'.repeat(200));
    assert.equal(ascii, `BadRequest: ${'x'.repeat(108)}`);
    assert.equal(new TextEncoder().encode(ascii).byteLength, 120);
    const wide = formatCloseReason('BadRequest', 'é'.repeat(100)); // 2 bytes each
    assert.equal(new TextEncoder().encode(wide).byteLength, 120);
    assert.equal(wide, `BadRequest: ${'é'.repeat(54)}`);
    const emoji = formatCloseReason('BadRequest', '😀'.repeat(40)); // 4 bytes each, 2 UTF-16 units
    assert.ok(new TextEncoder().encode(emoji).byteLength <= 120);
    assert.equal(emoji, `BadRequest: ${'😀'.repeat(27)}`);
  });
});
