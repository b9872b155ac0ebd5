/** Roster changes gathered per event-loop turn: one `participantsChanged` per endpoint, net of each other. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { MAX_SIGNALING_MESSAGE_BYTES, encodeSignaling, parseServerMessage, type ParticipantInfo, type ServerMessage } from '@backchannel/protocol';

import { RosterAnnouncements, type RosterRecipient } from '../../packages/server/src/calls/RosterAnnouncements.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function recipient(id: number, protocolVersion = 3): RosterRecipient & { received: ServerMessage[] } {
  const received: ServerMessage[] = [];
  // Through the wire format, so that what is sent must parse as the SDK parses it.
  return { id, protocolVersion, received, signal: (message) => received.push(parseServerMessage(encodeSignaling(message))) };
}

const participant = (endpointId: number, displayName = `user-${endpointId}`): ParticipantInfo => ({ endpointId, identity: `8:acs:id-${endpointId}`, displayName });

describe('RosterAnnouncements', () => {
  it('sends one message per recipient for all the joins and leaves of a turn, and nothing before the turn ends', async () => {
    const announcements = new RosterAnnouncements();
    const [a, b] = [recipient(1), recipient(2)];
    for (const id of [3, 4, 5]) {
      announcements.joined(a, participant(id));
      announcements.joined(b, participant(id));
    }
    announcements.left(a, 9);
    assert.deepEqual([a.received, b.received], [[], []]);
    await turn();
    assert.deepEqual(a.received, [{ type: 'participantsChanged', endpointId: 1, joined: [participant(3), participant(4), participant(5)], left: [9] }]);
    assert.deepEqual(b.received, [{ type: 'participantsChanged', endpointId: 2, joined: [participant(3), participant(4), participant(5)], left: [] }]);
    await turn();
    assert.equal(a.received.length, 1, 'nothing more without changes');
  });

  it('tells a version-2 agent one message per change (participantLeft, then participantJoined), net of the turn as well', async () => {
    const announcements = new RosterAnnouncements();
    const old = recipient(1, 2);
    announcements.joined(old, participant(3));
    announcements.joined(old, participant(4));
    announcements.joined(old, participant(5));
    announcements.left(old, 4);
    announcements.left(old, 9);
    await turn();
    assert.deepEqual(old.received, [
      { type: 'participantLeft', endpointId: 1, participantEndpointId: 9 },
      { type: 'participantJoined', endpointId: 1, participant: participant(3) },
      { type: 'participantJoined', endpointId: 1, participant: participant(5) },
    ]);
  });

  it('announces nothing of an endpoint that joined and left within the turn, and a leave of one announced before', async () => {
    const announcements = new RosterAnnouncements();
    const a = recipient(1);
    announcements.joined(a, participant(3));
    await turn();
    announcements.joined(a, participant(4));
    announcements.left(a, 4);
    announcements.left(a, 3);
    await turn();
    assert.deepEqual(a.received.at(-1), { type: 'participantsChanged', endpointId: 1, joined: [], left: [3] });
    announcements.joined(a, participant(5));
    announcements.left(a, 5);
    await turn();
    assert.equal(a.received.length, 2, 'a change that undid itself sends nothing');
  });

  it('sends nothing to a recipient that left, and still to the others', async () => {
    const announcements = new RosterAnnouncements();
    const [a, b] = [recipient(1), recipient(2)];
    announcements.joined(a, participant(3));
    announcements.joined(b, participant(3));
    announcements.forget(a);
    await turn();
    assert.deepEqual([a.received.length, b.received.length], [0, 1]);
  });

  it('splits what does not fit one signaling message, leaves in the first, every message under the limit', async () => {
    const announcements = new RosterAnnouncements();
    const a = recipient(1);
    const long = 'é'.repeat(256);
    const joined = Array.from({ length: 200 }, (_, i) => participant(10 + i, long));
    for (const p of joined) announcements.joined(a, p);
    announcements.left(a, 2);
    await turn();
    assert.ok(a.received.length > 1, 'more than one message');
    for (const message of a.received) assert.ok(Buffer.byteLength(encodeSignaling(message)) <= MAX_SIGNALING_MESSAGE_BYTES);
    const all = a.received.flatMap((m) => (m.type === 'participantsChanged' ? m.joined : []));
    assert.deepEqual(all, joined, 'every participant, in join order');
    assert.deepEqual(
      a.received.map((m) => (m.type === 'participantsChanged' ? m.left : undefined)),
      a.received.map((_, i) => (i === 0 ? [2] : [])),
    );
  });
});
