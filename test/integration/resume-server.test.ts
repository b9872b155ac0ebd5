/**
 * The server's side of resume (docs/reliability.md) over real WebRTC, driven by the raw wire client: an
 * endpoint whose transport is lost is kept, suspended, for its resume window; `resume` + `offer` + the two
 * LinkResumes take it back with its Durable data exactly once and in order; anything else gets NotFound,
 * and an endpoint not resumed in time leaves the call.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { afterEach, describe, it } from 'node:test';

import {
  FrameType,
  encodeBarrier,
  encodeLinkAck,
  encodeLinkResume,
  encodeSend,
  type DeliverFrame,
  type ServerFrame,
} from '@backchannel/protocol';
import { pino } from 'pino';

import { readMessages, receiversOf, rosterSettled, startHarness, utf8, type Harness, type Participant } from '../helpers/backchannel.js';
import { until } from '../helpers/events.js';
import { RawClients, type RawEndpoint } from '../helpers/rawClient.js';

/** The server's log lines, as events: how a test waits for something only the server sees (a suspension). */
class ServerLog extends EventEmitter {
  readonly lines: { msg: string; endpointId?: number; reason?: string; framesResent?: number }[] = [];
  readonly logger = pino({ level: 'info' }, {
    write: (line: string): void => {
      this.lines.push(JSON.parse(line) as ServerLog['lines'][number]);
      this.emit('line');
    },
  });

  count(msg: string): number {
    return this.lines.filter((l) => l.msg === msg).length;
  }
}

/** Resolves once the server has logged `msg` for `endpointId`. */
async function logged(log: ServerLog, msg: string, endpointId: number): Promise<void> {
  await until(log, 'line', () => log.lines.some((l) => l.msg === msg && l.endpointId === endpointId));
}

const delivered = (frames: readonly ServerFrame[]): string[] =>
  frames.filter((f): f is DeliverFrame => f.type === FrameType.Deliver).map((f) => utf8.decode(f.payload));
/** Link frames (every frame but LinkAck and LinkResume) among `frames`. */
const linkFrames = (frames: readonly ServerFrame[]): number =>
  frames.filter((f) => f.type !== FrameType.ServerLinkAck && f.type !== FrameType.ServerLinkResume).length;

describe('resume, server side', () => {
  let h: Harness | undefined;
  const raw = new RawClients();
  afterEach(async () => {
    raw.closeAll();
    await h?.close();
    h = undefined;
  });

  /** An SDK sender, a witness that sees what the server routes, and a raw endpoint, all in `groupId`'s roster. */
  async function threeInACall(groupId: string): Promise<{ sender: Participant; witness: Participant; lost: RawEndpoint }> {
    const sender = await h!.join(groupId);
    const witness = await h!.join(groupId);
    await rosterSettled([sender, witness]);
    const lost = await raw.join(h!, groupId);
    await until(sender.call, 'remoteParticipantsUpdated', () => sender.call.remoteParticipants.length === 2);
    return { sender, witness, lost };
  }

  it('keeps an endpoint whose peer connection closed in the call, and after resume, offer and both LinkResumes delivers what it missed exactly once and in order', async () => {
    const log = new ServerLog();
    h = await startHarness({ logger: log.logger });
    const { sender, witness, lost } = await threeInACall('resume');
    const broadcast = sender.dataChannel.createDataChannelSender({ channelId: 1 });
    await broadcast.sendMessage(utf8.encode('m1'));
    await lost.nextFrame((f) => f.type === FrameType.Deliver);
    const [witnessed] = await receiversOf(witness, 1);
    assert.deepEqual((await readMessages(witnessed!, 1)).map((m) => utf8.decode(m.data)), ['m1']);

    lost.pc.close(); // the transport goes; the signaling connection stays and sends no leave
    await logged(log, 'endpoint suspended', lost.endpointId);
    for (const text of ['m2', 'm3', 'm4', 'm5']) await broadcast.sendMessage(utf8.encode(text));
    // The witness got them: the server routed them, and so kept the suspended endpoint's copies.
    assert.deepEqual((await readMessages(witnessed!, 4)).map((m) => utf8.decode(m.data)), ['m2', 'm3', 'm4', 'm5']);
    assert.equal(sender.call.remoteParticipants.length, 2);
    assert.equal(sender.call.remoteParticipants.some((p) => p.endpointId === lost.endpointId), true, 'the others still see it');
    assert.deepEqual(h.server.stats.departures, {});

    const resumed = await lost.resumeOn();
    assert.equal(resumed.type, 'resumed');
    assert.deepEqual(
      resumed.type === 'resumed' && [resumed.ref, resumed.endpointId, resumed.participants.map((p) => p.endpointId).sort()],
      [1000, lost.endpointId, lost.participants.map((p) => p.endpointId).sort()],
    );
    const transport = await raw.transport(lost.connection, lost.endpointId);
    assert.equal(transport.linkResume.count, 0, 'the endpoint had sent no link frame');
    assert.equal(delivered(transport.frames).length, 0, 'nothing before the LinkResume of the client');
    const had = linkFrames(lost.frames);
    assert.equal(had, 1);
    transport.send('durable', encodeLinkResume(had, 'client'));
    await transport.nextFrame(() => delivered(transport.frames).length >= 4);
    await logged(log, 'endpoint resumed', lost.endpointId);
    assert.equal(log.lines.find((l) => l.msg === 'endpoint resumed')?.framesResent, 4);

    // Live again, both ways: a new message arrives behind the resent ones, and what it sends is routed.
    await broadcast.sendMessage(utf8.encode('m6'));
    await transport.nextFrame(() => delivered(transport.frames).length >= 5);
    assert.deepEqual(delivered(transport.frames), ['m2', 'm3', 'm4', 'm5', 'm6']);
    transport.send('durable', encodeSend({ flags: 0, channelId: 7, sessionId: 1, sequenceNumber: 1 }, 0, utf8.encode('back')));
    const [fromResumed] = await receiversOf(sender, 1);
    assert.deepEqual((await readMessages(fromResumed!, 1)).map((m) => utf8.decode(m.data)), ['back']);
    const ack = await transport.nextFrame((f) => f.type === FrameType.ServerLinkAck);
    assert.deepEqual(ack, { type: FrameType.ServerLinkAck, count: 1 });
    assert.deepEqual(h.server.stats.departures, {});
    assert.equal(log.count('endpoint suspended'), 1);
    assert.equal(h.server.snapshot().endpoints, 3);
  });

  it('takes an endpoint back on a new signaling connection of its identity after its own connection was lost', async () => {
    const log = new ServerLog();
    h = await startHarness({ logger: log.logger });
    const sender = await h.join('moved');
    const user = await h.createUser();
    const lost = await raw.join(h, 'moved', user);
    await until(sender.call, 'remoteParticipantsUpdated', () => sender.call.remoteParticipants.length === 1);

    lost.ws.terminate(); // no close handshake, no leave: as a network loss
    await logged(log, 'endpoint suspended', lost.endpointId);
    const durable = sender.dataChannel.createDataChannelSender({ channelId: 2, participants: [{ communicationUserId: lost.identity }] });
    await durable.sendMessage(utf8.encode('while away'));

    const connection = await raw.connect(h, user.token);
    const resumed = await lost.resumeOn(connection, 5);
    assert.deepEqual(resumed.type === 'resumed' && resumed.participants.map((p) => p.endpointId), lost.participants.map((p) => p.endpointId));
    const transport = await raw.transport(connection, lost.endpointId);
    transport.send('durable', encodeLinkResume(0, 'client'));
    await transport.nextFrame(() => delivered(transport.frames).length >= 1);
    assert.deepEqual(delivered(transport.frames), ['while away']);
    assert.deepEqual(h.server.stats.departures, {});
    assert.equal(sender.call.remoteParticipants.length, 1);
  });

  it('answers NotFound to a wrong token, another identity, an unknown endpoint or one already gone, and refuses link frames out of place without harm', async () => {
    h = await startHarness();
    const { sender, lost } = await threeInACall('refusals');
    const refusal = { type: 'error', code: 'NotFound', message: 'no endpoint to resume' };
    assert.deepEqual(await lost.resumeOn(lost.connection, 1, 'A'.repeat(lost.resumeToken.length)), { ...refusal, ref: 1 });
    assert.deepEqual(await lost.resumeOn(lost.connection, 2, 'short'), { ...refusal, ref: 2 });
    assert.deepEqual(await lost.resumeOn(lost.connection, 3, lost.resumeToken, 999_999), { ...refusal, ref: 3 });
    const stranger = await raw.connect(h);
    assert.deepEqual(await lost.resumeOn(stranger, 4), { ...refusal, ref: 4 }, "another identity's endpoint, with its true token");

    // Out of place: a second offer on a live endpoint, a LinkResume on a live link, a LinkAck for frames never sent.
    lost.signal({ type: 'offer', endpointId: lost.endpointId, sdp: 'v=0' });
    const offerRefused = await lost.nextMessage((m) => m.type === 'error' && m.endpointId === lost.endpointId);
    assert.deepEqual(offerRefused.type === 'error' && offerRefused.code, 'BadRequest');
    const malformedBefore = h.server.stats.malformedFrames;
    lost.send('durable', encodeLinkResume(0, 'client'));
    lost.send('durable', encodeLinkAck(1_000, 'client'));
    lost.send('durable', encodeBarrier(77));
    await lost.nextFrame((f) => f.type === FrameType.BarrierAck && f.token === 77);
    assert.equal(h.server.stats.malformedFrames - malformedBefore, 2);

    // None of it touched the endpoint: it is live and in the call.
    const durable = sender.dataChannel.createDataChannelSender({ channelId: 3, participants: [{ communicationUserId: lost.identity }] });
    await durable.sendMessage(utf8.encode('still here'));
    await lost.nextFrame((f) => f.type === FrameType.Deliver);
    assert.deepEqual(delivered(lost.frames), ['still here']);
    assert.deepEqual(h.server.stats.departures, {});

    lost.signal({ type: 'leave', endpointId: lost.endpointId });
    await until(sender.call, 'remoteParticipantsUpdated', () => sender.call.remoteParticipants.length === 1);
    assert.deepEqual(await lost.resumeOn(lost.connection, 5), { ...refusal, ref: 5 }, 'an endpoint that left');
    assert.deepEqual(h.server.stats.departures, { Left: 1 });
  });

  it('ends an endpoint not resumed within resumeWindowMs with TransportFailed: the others see it leave and the departure is counted', async () => {
    h = await startHarness({ resumeWindowMs: 500 });
    const sender = await h.join('expired');
    const lost = await raw.join(h, 'expired');
    await until(sender.call, 'remoteParticipantsUpdated', () => sender.call.remoteParticipants.length === 1);
    const joined = lost.messages.find((m) => m.type === 'joined');
    assert.equal(joined?.type === 'joined' && joined.resumeWindowMs, 500);

    lost.pc.close();
    const ended = await lost.nextMessage((m) => m.type === 'callEnded');
    assert.deepEqual(ended, { type: 'callEnded', endpointId: lost.endpointId, code: 'TransportFailed', message: 'not resumed within 500 ms' });
    await until(sender.call, 'remoteParticipantsUpdated', () => sender.call.remoteParticipants.length === 0);
    assert.deepEqual(h.server.stats.departures, { TransportFailed: 1 });
    assert.deepEqual(await lost.resumeOn(), { type: 'error', ref: 1000, code: 'NotFound', message: 'no endpoint to resume' });
  });
});
