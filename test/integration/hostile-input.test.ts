/**
 * SPEC §5–§6: nothing a client sends — spoofed, misaddressed or malformed frames, malformed, oversized or
 * flooding signaling, requests on endpoints it does not own — crashes the server or disturbs anyone else.
 * The hostile side is a raw client speaking the wire protocol itself; SDK participants are the bystanders.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import type { DataChannelMessage } from '@backchannel/client';
import {
  DropReason,
  FrameType,
  PROTOCOL_VERSION,
  encodeDeliver,
  encodeNotice,
  encodeSend,
  encodeSessionClose,
  encodeSessionClosed,
  encodeSetRecipients,
  encodeSignaling,
  parseServerMessage,
  type ClientMessage,
  type ServerMessage,
} from '@backchannel/protocol';
import { WebSocket } from 'ws';

import { readMessages, receiversOf, rosterSettled, startHarness, userIdOf, utf8, type Harness, type Participant } from '../helpers/backchannel.js';
import { within } from '../helpers/events.js';
import type { RawEndpoint } from '../helpers/rawClient.js';
import { RawClients } from '../helpers/rawClient.js';

/** The protocol's SignalingCloseCode, and the WebSocket codes of RFC 6455 §7.4.1, spelled out as a client sees them. */
const Close = { PolicyViolation: 1008, MessageTooBig: 1009, Unauthorized: 4001, BadRequest: 4002 } as const;

interface Closed {
  code: number;
  reason: string;
}

/** Resolves when `ws` closes (no timeout of its own: await it through `within`). */
function closeOf(ws: WebSocket): Promise<Closed> {
  return new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
}

const asPairs = (messages: DataChannelMessage[]): [number, string][] => messages.map((m) => [m.sequenceNumber, utf8.decode(m.data)]);
const errorsIn = (messages: ServerMessage[]): Extract<ServerMessage, { type: 'error' }>[] =>
  messages.filter((m): m is Extract<ServerMessage, { type: 'error' }> => m.type === 'error');

/**
 * A raw client opens two data channels besides the protocol's (an unknown label, and a second
 * 'backchannel-durable'); the server must refuse them, count them, go on routing, and survive. Prints one
 * line of results; exits 0 only if the process outlives the WebRTC runtime's cleanup.
 */
const EXTRA_CHANNELS_SCRIPT = `
import assert from 'node:assert/strict';
import { startServer } from '@backchannel/server';
import { encodeSend, FrameType } from '@backchannel/protocol';
import { RawEndpoint } from ${JSON.stringify(new URL('../helpers/rawClient.ts', import.meta.url).href)};

const server = await startServer({ port: 0 });
const token = async () => {
  const response = await fetch(server.url + '/identities', {
    method: 'POST',
    headers: { authorization: 'Bearer ' + server.accessKey, 'content-type': 'application/json' },
    body: JSON.stringify({ createTokenWithScopes: ['voip'] }),
  });
  return (await response.json()).accessToken.token;
};
const bystander = await RawEndpoint.join(server.url, await token(), 'channels');
const raw = await RawEndpoint.join(server.url, await token(), 'channels');
const extras = [raw.pc.createDataChannel('not-backchannel'), raw.pc.createDataChannel('backchannel-durable')];
await Promise.all(extras.map((channel) => new Promise((resolve) => channel.onClosed(resolve))));
raw.send('durable', encodeSend({ flags: 0, channelId: 6, sessionId: 1, sequenceNumber: 1 }, 0, new TextEncoder().encode('still in')));
const delivered = await bystander.nextFrame((frame) => frame.type === FrameType.Deliver);
console.log('refused ' + server.stats.malformedFrames + ", routed '" + new TextDecoder().decode(delivered.payload) + "'");
// Every channel this side opened has an onClosed handler and stays referenced: only the server's objects can
// be collected here, as they would be in a long-running server.
for (const endpoint of [bystander, raw]) for (const channel of [endpoint.channels.durable, endpoint.channels.lossy]) channel.onClosed(() => undefined);
globalThis.gc();
globalThis.gc();
for (const channel of extras) channel.close();
raw.close();
bystander.close();
await server.close();
assert.deepEqual(server.snapshot(), { calls: 0, endpoints: 0, connections: 0 });
// The process now exits when the runtime is cleaned up, shortly after its last peer connection closed.
`;

describe('hostile input', () => {
  let h: Harness | undefined;
  const rawClients = new RawClients();
  afterEach(async () => {
    rawClients.closeAll();
    await h?.close();
    h = undefined;
  });

  /** A raw endpoint of a new identity joined to `groupId`, closed after the test. */
  const rawJoin = (harness: Harness, groupId: string): Promise<RawEndpoint> => rawClients.join(harness, groupId);

  /** An authenticated raw signaling connection, closed after the test. */
  const rawConnect = (harness: Harness, token?: string): ReturnType<RawClients['connect']> => rawClients.connect(harness, token);

  /** A signaling socket that has not said hello; every server message it gets is collected. */
  async function openSignaling(harness: Harness): Promise<{ ws: WebSocket; messages: ServerMessage[]; closed: Promise<Closed> }> {
    const ws = new WebSocket(`${harness.server.url.replace(/^http/, 'ws')}/signaling`);
    rawClients.track(ws);
    const messages: ServerMessage[] = [];
    ws.on('message', (data) => messages.push(parseServerMessage(String(data))));
    ws.on('error', () => {
      // 'close' follows.
    });
    const closed = closeOf(ws);
    await within(new Promise((resolve) => ws.once('open', resolve)), 'the socket to open');
    return { ws, messages, closed };
  }

  /** Proves a call still works: `from` sends to `to` on a new channel, and it arrives. */
  async function stillDelivers(from: Participant, to: Participant, channelId: number): Promise<void> {
    const before = to.receivers.length;
    await from.dataChannel.createDataChannelSender({ channelId, participants: [{ communicationUserId: to.identity }] }).sendMessage(utf8.encode('still here'));
    const receivers = await receiversOf(to, before + 1);
    const receiver = receivers[before]!;
    assert.deepEqual([receiver.channelId, userIdOf(receiver.senderParticipantIdentifier)], [channelId, from.identity]);
    assert.deepEqual(asPairs(await readMessages(receiver, 1)), [[1, 'still here']]);
    assert.equal(from.call.state, 'Connected');
  }

  describe('data frames', () => {
    it('never delivers a Deliver frame a client forges, and stamps a Send with the true sender whatever its address field says', async () => {
      h = await startHarness();
      const victim = await h.join('spoof');
      const bystander = await h.join('spoof');
      await rosterSettled([victim, bystander]);
      const raw = await rawJoin(h, 'spoof');
      const victimEndpoint = raw.participants.find((p) => p.identity === victim.identity)!.endpointId;

      // A server-to-client Deliver frame claiming to come from the victim's endpoint.
      raw.send('durable', encodeDeliver({ flags: 0, channelId: 9, sessionId: 1, sequenceNumber: 1 }, victimEndpoint, utf8.encode('I am the victim')));
      // A Send frame's address field is its recipient-list generation: set a list of generation
      // `victimEndpoint` so that the frame is routed, with the victim's endpoint id in that field.
      raw.send('durable', encodeSetRecipients(9, 1, victimEndpoint, [bystander.identity]));
      raw.send('durable', encodeSend({ flags: 0, channelId: 9, sessionId: 1, sequenceNumber: 2 }, victimEndpoint, utf8.encode('from raw')));

      const [receiver] = await receiversOf(bystander, 1);
      assert.deepEqual(receiver!.senderParticipantIdentifier, { kind: 'communicationUser', communicationUserId: raw.identity, rawId: raw.identity });
      assert.deepEqual(asPairs(await readMessages(receiver!, 1)), [[2, 'from raw']]);
      assert.equal(bystander.receivers.length, 1, 'the forged Deliver frame created no receiver');
      assert.equal(victim.receivers.length, 0);
      assert.equal(h.server.stats.malformedFrames, 1);
      assert.equal(h.server.stats.deliveries, 1);
    });

    it("cannot close another endpoint's session, with its own SessionClose or a forged SessionClosed", async () => {
      h = await startHarness();
      const victim = await h.join('close-spoof');
      const bystander = await h.join('close-spoof');
      await rosterSettled([victim, bystander]);
      const raw = await rawJoin(h, 'close-spoof');
      const victimEndpoint = raw.participants.find((p) => p.identity === victim.identity)!.endpointId;
      const sender = victim.dataChannel.createDataChannelSender({ channelId: 30, participants: [{ communicationUserId: bystander.identity }] });
      await sender.sendMessage(utf8.encode('one'));
      const [receiver] = await receiversOf(bystander, 1);

      // The victim's first sender is its session 1 on channel 30.
      raw.send('durable', encodeSessionClose(30, 1));
      raw.send('durable', encodeSessionClosed(30, 1, victimEndpoint));
      raw.send('durable', encodeSend({ flags: 0, channelId: 31, sessionId: 1, sequenceNumber: 1 }, 0, utf8.encode('marker')));
      // The marker arrives after anything the server did with the two frames before it.
      const receivers = await receiversOf(bystander, 2);
      assert.deepEqual([receivers[1]!.channelId, userIdOf(receivers[1]!.senderParticipantIdentifier)], [31, raw.identity]);
      await sender.sendMessage(utf8.encode('two'));
      assert.deepEqual(asPairs(await readMessages(receiver!, 2)), [
        [1, 'one'],
        [2, 'two'],
      ]);
      assert.equal(receiver!.closed, false);
      assert.equal(bystander.receivers.length, 2);
      assert.deepEqual([h.server.stats.sessionsClosed, h.server.stats.malformedFrames], [0, 1]);
    });

    it('routes nothing into a call the sender is not in, even naming its participants', async () => {
      h = await startHarness();
      const inX = await h.join('call-x');
      const raw = await rawJoin(h, 'call-x');
      const [inY, otherInY] = [await h.join('call-y'), await h.join('call-y')];
      await rosterSettled([inY, otherInY]);

      raw.send('durable', encodeSetRecipients(1, 1, 1, [inY.identity, otherInY.identity]));
      raw.send('durable', encodeSend({ flags: 0, channelId: 1, sessionId: 1, sequenceNumber: 1 }, 1, utf8.encode('into call y')));
      // A broadcast reaches its own call only.
      raw.send('durable', encodeSend({ flags: 0, channelId: 2, sessionId: 2, sequenceNumber: 1 }, 0, utf8.encode('marker x')));

      // The marker in X arrives after the server handled the frame for Y.
      const [atX] = await receiversOf(inX, 1);
      assert.equal(atX!.channelId, 2, 'nothing of channel 1 reaches call x either');
      assert.deepEqual(asPairs(await readMessages(atX!, 1)), [[1, 'marker x']]);
      // A marker in Y sent after that: anything the raw client had got into Y would have arrived first.
      await stillDelivers(otherInY, inY, 3);
      assert.deepEqual(
        inY.receivers.map((r) => r.channelId),
        [3],
      );
      assert.equal(otherInY.receivers.length, 0);
      assert.equal(h.server.stats.deliveries, 2, 'the two markers, nothing else');
    });

    it('counts each malformed frame, drops it, and keeps routing valid frames of the same connection', async () => {
      h = await startHarness();
      const bystander = await h.join('malformed');
      const raw = await rawJoin(h, 'malformed');
      const send = (header: { flags?: number; channelId?: number; sessionId?: number }): Uint8Array =>
        encodeSend({ flags: header.flags ?? 0, channelId: header.channelId ?? 1, sessionId: header.sessionId ?? 1, sequenceNumber: 1 }, 0, utf8.encode('x'));
      const recipients = encodeSetRecipients(1, 1, 1, ['8:backchannel:a', '8:backchannel:b']);
      const cases: [string, Uint8Array | string][] = [
        ['an empty frame', new Uint8Array(0)],
        ['a data header cut at 10 of 16 bytes', send({}).subarray(0, 10)],
        ['an unknown frame type', Uint8Array.of(0x7f, 0, 0, 1, 0, 0, 0, 1)],
        ['a server-only frame type (Notice)', encodeNotice(DropReason.Bandwidth, 1, 1, 1)],
        ['unknown flag bits', send({ flags: 0x80 })],
        ['channel 0', send({ channelId: 0 })],
        ['session 0', send({ sessionId: 0 })],
        ['a SessionClose of 7 bytes', encodeSessionClose(1, 1).subarray(0, 7)],
        ['a recipient list cut short', recipients.subarray(0, recipients.byteLength - 1)],
        ['a recipient list with trailing bytes', Uint8Array.of(...recipients, 0)],
        ['an empty recipient id', Uint8Array.of(FrameType.SetRecipients, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0)],
        ['a recipient id that is not UTF-8', Uint8Array.of(FrameType.SetRecipients, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 2, 0xc3, 0x28)],
        ['a text message', 'not a frame'],
      ];
      for (const [, frame] of cases) {
        if (typeof frame === 'string') raw.channels.durable.sendMessage(frame);
        else raw.send('durable', frame);
      }
      raw.send('durable', encodeSend({ flags: 0, channelId: 5, sessionId: 1, sequenceNumber: 1 }, 0, utf8.encode('valid')));

      // The valid frame was sent last on the ordered channel: every malformed one was handled before it.
      const [receiver] = await receiversOf(bystander, 1);
      assert.deepEqual([receiver!.channelId, ...asPairs(await readMessages(receiver!, 1))], [5, [1, 'valid']]);
      assert.equal(h.server.stats.malformedFrames, cases.length, cases.map(([name]) => name).join(', '));
      assert.equal(bystander.receivers.length, 1);
      assert.deepEqual(Object.values(h.server.stats.drops).filter((count) => count > 0), []);
      assert.equal(raw.frames.filter((frame) => frame.type === FrameType.Notice).length, 0, 'malformed frames get no Notice');
      assert.equal(h.server.snapshot().endpoints, 2);
    });

    it('refuses and counts data channels the protocol does not define, and does not crash when its WebRTC runtime is cleaned up', async () => {
      // In a child process: if the server crashes, only the child dies. The garbage collector runs once the
      // server has refused the channels, then everything closes and the runtime is cleaned up as in production.
      const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', EXTRA_CHANNELS_SCRIPT], {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      try {
        const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
        const [code, signal] = await within(exited, 'the child server to exit').catch((error: unknown) => {
          throw new Error(`${String(error)} (hung in the runtime cleanup?); its output:\n${output}`);
        });
        assert.match(output, /^refused 2, routed 'still in'$/m, output);
        assert.deepEqual({ code, signal }, { code: 0, signal: null }, `the server process died after the runtime cleanup:\n${output}`);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill();
      }
    });
  });

  describe('signaling', () => {
    it('closes only the socket that sends malformed signaling before hello (4002 BadRequest)', async () => {
      h = await startHarness();
      const [a, b] = [await h.join('calm'), await h.join('calm')];
      await rosterSettled([a, b]);
      const inputs: [string, string | Uint8Array][] = [
        ['not JSON', '{"type": "hello",'],
        ['the wrong schema', JSON.stringify({ type: 'hello', protocolVersion: 'one', token: 42 })],
        ['a binary message', utf8.encode(JSON.stringify({ type: 'hello', protocolVersion: PROTOCOL_VERSION, token: 'x' }))],
        ['a message other than hello', JSON.stringify({ type: 'join', ref: 1, groupId: 'calm' })],
      ];
      for (const [what, input] of inputs) {
        const { ws, messages, closed } = await openSignaling(h);
        ws.send(input);
        const { code, reason } = await within(closed, `the close after ${what}`);
        assert.equal(code, Close.BadRequest, what);
        assert.match(reason, /^BadRequest: /, what);
        assert.deepEqual(messages, [], what);
      }
      assert.equal(h.server.stats.malformedSignaling, 3, 'the hello-less join is well formed');
      await stillDelivers(a, b, 1);
    });

    it('answers malformed signaling after hello with a BadRequest error, and the connection stays usable', async () => {
      h = await startHarness();
      const { ws, messages, next } = await rawConnect(h);
      ws.send('{"type": "join",');
      ws.send(JSON.stringify({ type: 'join', ref: -1, groupId: '' }));
      ws.send(utf8.encode(JSON.stringify({ type: 'join', ref: 1, groupId: 'bytes' })));
      ws.send(encodeSignaling({ type: 'join', ref: 2, groupId: 'after-errors' }));

      const joined = await next((m) => m.type === 'joined');
      assert.deepEqual(
        errorsIn(messages).map((m) => m.code),
        ['BadRequest', 'BadRequest', 'BadRequest'],
      );
      assert.equal(joined.type === 'joined' && joined.ref, 2);
      assert.equal(ws.readyState, ws.OPEN);
      assert.equal(h.server.stats.malformedSignaling, 3);
    });

    it('closes a socket that sends a 64 MiB signaling message (1009) and keeps serving everyone else', async () => {
      h = await startHarness();
      const [a, b] = [await h.join('big'), await h.join('big')];
      await rosterSettled([a, b]);
      const { ws } = await rawConnect(h);
      const closed = closeOf(ws);
      ws.send('x'.repeat(64 * 1024 * 1024));
      assert.equal((await within(closed, 'the close')).code, Close.MessageTooBig);

      await stillDelivers(a, b, 1);
      const { messages } = await rawConnect(h);
      assert.equal(messages[0]?.type, 'welcome', 'a new connection is served');
      assert.equal(h.server.stats.limitHits.signalingSize, 1);
    });

    it('closes a socket that floods signaling (1008), counts one rate-limit hit, and leaves others alone', async () => {
      h = await startHarness();
      const [a, b] = [await h.join('flood'), await h.join('flood')];
      await rosterSettled([a, b]);
      const { ws } = await rawConnect(h);
      const closed = closeOf(ws);
      const leave = encodeSignaling({ type: 'leave', endpointId: 424242 });
      for (let i = 0; i < 1000; i++) ws.send(leave);
      const { code, reason } = await within(closed, 'the close');
      assert.deepEqual([code, reason], [Close.PolicyViolation, 'BadRequest: too many signaling messages']);

      await stillDelivers(a, b, 1);
      const { messages } = await rawConnect(h);
      assert.equal(messages[0]?.type, 'welcome', 'a new connection is served');
      assert.equal(h.server.stats.limitHits.signalingRate, 1, 'one connection was closed for flooding');
    });

    it("refuses offer, candidate and leave on another connection's endpoint with NotFound; the owner's call goes on", async () => {
      h = await startHarness();
      const user = await h.createUser();
      const owner = await h.join('owned', { as: user });
      const peer = await h.join('owned');
      await rosterSettled([owner, peer]);
      const intruder = await rawJoin(h, 'owned');
      const target = intruder.participants.find((p) => p.identity === owner.identity)!.endpointId;
      // Even a second connection of the owner's own identity does not own the endpoint.
      const sibling = await rawConnect(h, user.token);

      const requests: ClientMessage[] = [
        { type: 'offer', endpointId: target, sdp: 'v=0\r\n' },
        { type: 'candidate', endpointId: target, candidate: 'candidate:1 1 UDP 2122252543 127.0.0.1 9 typ host', mid: '0' },
        { type: 'leave', endpointId: target },
      ];
      for (const request of requests) {
        intruder.signal(request);
        sibling.ws.send(encodeSignaling(request));
      }
      await intruder.nextMessage(() => errorsIn(intruder.messages).length >= 3);
      await sibling.next(() => errorsIn(sibling.messages).length >= 3);
      for (const messages of [intruder.messages, sibling.messages]) {
        assert.deepEqual(
          errorsIn(messages).map((m) => [m.endpointId, m.code]),
          [
            [target, 'NotFound'],
            [target, 'NotFound'],
            [target, 'NotFound'],
          ],
        );
      }

      await stillDelivers(owner, peer, 1);
      await stillDelivers(peer, owner, 2);
      assert.deepEqual(
        peer.call.remoteParticipants.map((p) => [userIdOf(p.identifier), p.state]).sort(),
        [
          [owner.identity, 'Connected'],
          [intruder.identity, 'Connected'],
        ].sort(),
      );
    });

    it('refuses a hello with a malformed or tampered token with InvalidToken, and closes only that socket (4001)', async () => {
      h = await startHarness();
      const [a, b] = [await h.join('tokens'), await h.join('tokens')];
      await rosterSettled([a, b]);
      const { token } = await h.createUser();
      const [header, payload, signature] = token.split('.');
      const tampered = [
        'not-a-token',
        `${header}.${payload}.${signature!.slice(0, -2)}${signature!.endsWith('AA') ? 'BB' : 'AA'}`,
        `${header}.${Buffer.from(JSON.stringify({ sub: b.identity, scope: ['voip'], exp: 9_999_999_999 })).toString('base64url')}.${signature}`,
        `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`,
      ];
      for (const bad of tampered) {
        const { ws, messages, closed } = await openSignaling(h);
        ws.send(encodeSignaling({ type: 'hello', protocolVersion: PROTOCOL_VERSION, token: bad }));
        const { code, reason } = await within(closed, 'the close');
        assert.deepEqual(
          messages.map((m) => [m.type, m.type === 'error' ? m.code : '']),
          [['error', 'InvalidToken']],
          bad,
        );
        assert.equal(code, Close.Unauthorized, bad);
        assert.match(reason, /^InvalidToken: /, bad);
      }
      await stillDelivers(a, b, 1);
    });

    it('refuses a hello with another protocolVersion with UnsupportedProtocol, and closes', async () => {
      h = await startHarness();
      const { token } = await h.createUser();
      const { ws, messages, closed } = await openSignaling(h);
      ws.send(encodeSignaling({ type: 'hello', protocolVersion: PROTOCOL_VERSION + 1, token }));
      const { code, reason } = await within(closed, 'the close');
      assert.deepEqual(
        messages.map((m) => [m.type, m.type === 'error' ? m.code : '']),
        [['error', 'UnsupportedProtocol']],
      );
      assert.equal(code, Close.Unauthorized);
      assert.match(reason, /^UnsupportedProtocol: /);
    });
  });
});
