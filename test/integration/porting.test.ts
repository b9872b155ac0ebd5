/**
 * Porting, end to end. examples/porting/reference/ holds the seeds' quickstarts and a participant card
 * written against the reference SDK's typings only; examples/porting/ holds the same modules with the
 * calling SDK's import switched to @backchannel/client (test/unit/porting.test.ts checks that is the only
 * change, and `npm run typecheck` compiles them). Here the "before" is typechecked against the reference's
 * own typings (when they are at hand: they are not open source, so the repository does not carry them),
 * and the "after" runs with three Node participants against a real server, over real WebRTC, with the
 * reference's own credential class. The one Backchannel-specific line is `new CallClient({ serverUrl })`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it, mock, type Mock } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { CallClient, Features, type Call, type CallAgent, type DataChannelReceiver } from '@backchannel/client';

import { ParticipantCard } from '../../examples/porting/participantCard.js';
import {
  configureSenderOptions,
  createMessageSender,
  joinCall,
  receiveAndDecode,
  receiveDataMessages,
  sendTextAndObject,
  sendThenBroadcast,
  setFirstParticipant,
} from '../../examples/porting/quickstart.js';
import { startHarness, utf8, type Harness } from '../helpers/backchannel.js';
import { until, waitForEvent, within } from '../helpers/events.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where the reference SDK's typings are (its package's types/ directory, unpacked); override with REFERENCE_CALLING_TYPES. */
const REFERENCE_TYPES = process.env.REFERENCE_CALLING_TYPES ?? '/tmp/acs/package/types/communication-calling.d.ts';

interface Person {
  name: string;
  identity: string;
  callAgent: CallAgent;
  call: Call;
}

describe('porting: the reference-typed modules', () => {
  it('typecheck against the reference SDK’s own typings (the "before" of the port)', async (t) => {
    if (!existsSync(REFERENCE_TYPES)) return t.skip(`no reference typings at ${REFERENCE_TYPES} (set REFERENCE_CALLING_TYPES)`);
    const dir = mkdtempSync(join(tmpdir(), 'backchannel-porting-'));
    try {
      const tsconfig = {
        extends: join(ROOT, 'tsconfig.base.json'),
        compilerOptions: {
          noEmit: true,
          composite: false,
          declaration: false,
          declarationMap: false,
          types: [],
          baseUrl: ROOT,
          // The reference's typings, and the packages they import resolved from this repository.
          paths: {
            '@azure/communication-calling': [REFERENCE_TYPES],
            '@azure/communication-common': ['node_modules/@azure/communication-common'],
            '@azure/logger': ['node_modules/@azure/logger'],
          },
        },
        files: ['quickstart.ts', 'participantCard.ts'].map((name) => join(ROOT, 'examples/porting/reference', name)),
      };
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
      const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
      await promisify(execFile)(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { timeout: 120_000 }).catch((error: { stdout?: string }) => {
        assert.fail(`the reference-typed modules do not compile against the reference typings:\n${error.stdout ?? String(error)}`);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('porting: the ported modules, three participants, a real server', () => {
  let h: Harness | undefined;
  let people: Person[] = [];
  let logged: Mock<typeof console.log>;
  const lines = (): string[] => logged.mock.calls.map((call) => String(call.arguments[0]));

  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });
  beforeEach(() => {
    // The quickstarts log what they receive: captured (and silenced) to assert the exact lines.
    logged = mock.method(console, 'log', () => undefined);
  });
  afterEach(async () => {
    await Promise.all(people.map((person) => person.callAgent.dispose()));
    people = [];
    mock.restoreAll();
  });

  /** Alice, Bob and Carol in group call `groupId`, each joined by the port's own joinCall(), each seeing the other two. */
  async function threeJoin(groupId: string): Promise<[Person, Person, Person]> {
    // The one line a port changes beyond its imports: Backchannel's CallClient needs the server.
    const callClient = new CallClient({ serverUrl: h!.server.url });
    for (const name of ['Alice', 'Bob', 'Carol']) {
      const { identity, token } = await h!.createUser();
      const { callAgent, call } = await joinCall(callClient, token, groupId, name);
      people.push({ name, identity, callAgent, call });
    }
    for (const { call } of people) await until(call, 'remoteParticipantsUpdated', () => call.remoteParticipants.length === 2);
    return people as [Person, Person, Person];
  }

  /** Every receiver `person`'s call announces from now on. */
  function receiversOf(person: Person): DataChannelReceiver[] {
    const receivers: DataChannelReceiver[] = [];
    person.call.feature(Features.DataChannel).on('dataChannelReceiverCreated', (receiver) => receivers.push(receiver));
    return receivers;
  }

  const kindOf = (person: Person) => ({ kind: 'communicationUser', communicationUserId: person.identity, rawId: person.identity });

  it('web quickstart: the first remote participant gets "abc" and the object on channel 10000, logged as the quickstart logs them; the third gets nothing', async () => {
    const [alice, bob, carol] = await threeJoin('porting-web');
    const texts = new Map([bob, carol].map((p) => [p, receiveAndDecode(p.call, 2)] as const));
    const receivers = new Map([bob, carol].map((p) => [p, receiversOf(p)] as const));

    const messageSender = createMessageSender(alice.call);
    const first = setFirstParticipant(alice.call, messageSender);
    const target = [bob, carol].find((p) => first.kind === 'communicationUser' && p.identity === first.communicationUserId)!;
    const other = target === bob ? carol : bob;
    const obj = { type: 'chat', text: 'hello from the ported quickstart', mentions: [target.name] };
    await sendTextAndObject(messageSender, obj);

    assert.deepEqual(await within(texts.get(target)!, 'the two messages'), ['abc', JSON.stringify(obj)]);
    const from = JSON.stringify(kindOf(alice));
    assert.deepEqual(lines(), [`from ${from}:abc`, `from ${from}:${JSON.stringify(obj)}`]);
    // The other one got nothing: the first two texts it decodes are what is broadcast now.
    messageSender.setParticipants([]);
    await messageSender.sendMessage(utf8.encode('to everyone'));
    await messageSender.sendMessage(utf8.encode('to everyone, again'));
    assert.deepEqual(await within(texts.get(other)!, 'the broadcasts'), ['to everyone', 'to everyone, again']);

    const closed = [target, other].map((p) => waitForEvent(receivers.get(p)![0]!, 'close'));
    messageSender.close();
    await within(Promise.all(closed), 'both receivers closing');
    const closing = `data channel id = 10000 from ${from} is closed`;
    assert.deepEqual(lines().filter((line) => line.endsWith('is closed')), [closing, closing]);
  });

  it('Windows quickstart: a Lossy 32 kbps sender on channel 1000 to Bob, then to everyone: Bob reads 1 and 2, Carol only 2', async () => {
    const [alice, bob, carol] = await threeJoin('porting-windows');
    const [bobReceives, carolReceives] = [receiveDataMessages(bob.call, 2), receiveDataMessages(carol.call, 1)];
    const bobAsAliceSeesHim = alice.call.remoteParticipants.find((p) => p.displayName === 'Bob')!.identifier;
    const options = configureSenderOptions([bobAsAliceSeesHim]);
    assert.deepEqual(options, { channelId: 1000, bitrateInKbps: 32, priority: 'Normal', reliability: 'Lossy', participants: [kindOf(bob)] });
    const sender = await sendThenBroadcast(alice.call, options, utf8.encode('to Bob'), utf8.encode('to everyone'));
    assert.equal(sender.channelId, 1000);

    // Lossy promises no order: by sequence number. Carol's gap (no 1) is the sender's messages to others.
    const seen = (messages: { channelId: number; senderId: unknown; sequence: number; data: Uint8Array }[]) =>
      messages.map((m) => [m.channelId, m.senderId, m.sequence, utf8.decode(m.data)]).sort((a, b) => (a[2] as number) - (b[2] as number));
    assert.deepEqual(seen(await within(bobReceives, 'Bob’s two messages')), [
      [1000, kindOf(alice), 1, 'to Bob'],
      [1000, kindOf(alice), 2, 'to everyone'],
    ]);
    assert.deepEqual(seen(await within(carolReceives, 'Carol’s message')), [[1000, kindOf(alice), 2, 'to everyone']]);
  });

  it('participant card: lists the others, sends to the picked ones or to everyone, shows what arrives, and ends for everyone', async () => {
    const [alice, bob, carol] = await threeJoin('porting-card');
    const [aliceCard, bobCard, carolCard] = [alice, bob, carol].map((p) => new ParticipantCard(p.call)) as [ParticipantCard, ParticipantCard, ParticipantCard];
    /** Resolves once `card` shows `count` messages. */
    const showing = (card: ParticipantCard, count: number): Promise<void> =>
      within(
        new Promise<void>((resolve) => {
          const check = (): void => void (card.shown.length >= count && resolve());
          card.onChange(check);
          check();
        }),
        `${count} messages on a card`,
      );

    assert.deepEqual(aliceCard.participants, [
      { rawId: bob.identity, name: 'Bob', picked: false },
      { rawId: carol.identity, name: 'Carol', picked: false },
    ]);

    aliceCard.toggle(bob.identity);
    await aliceCard.send('hi Bob');
    await showing(bobCard, 1);
    aliceCard.toggle(carol.identity);
    await aliceCard.send('hi Bob and Carol');
    aliceCard.toggle(bob.identity);
    aliceCard.toggle(carol.identity);
    await aliceCard.send('hi all');
    carolCard.toggle(alice.identity);
    await carolCard.send('hi Alice, just you');
    await Promise.all([showing(bobCard, 3), showing(carolCard, 2), showing(aliceCard, 1)]);

    const shown = (card: ParticipantCard) => card.shown.map((m) => [m.from, m.text, m.sequenceNumber, m.private]);
    assert.deepEqual(shown(bobCard), [
      ['Alice', 'hi Bob', 1, true],
      ['Alice', 'hi Bob and Carol', 2, true],
      ['Alice', 'hi all', 3, false],
    ]);
    // Carol never saw the message to Bob alone: her sequence numbers from Alice start at 2.
    assert.deepEqual(shown(carolCard), [
      ['Alice', 'hi Bob and Carol', 2, true],
      ['Alice', 'hi all', 3, false],
    ]);
    assert.deepEqual(shown(aliceCard), [['Carol', 'hi Alice, just you', 1, true]]);
    assert.deepEqual(bobCard.render(), [
      'call Connected',
      '[ ] Alice',
      '[ ] Carol',
      'Alice (to you): hi Bob',
      'Alice (to you): hi Bob and Carol',
      'Alice: hi all',
    ]);

    const ended = [bobCard, carolCard].map((card) =>
      within(new Promise<void>((resolve) => card.onChange(() => void (card.state === 'Disconnected' && resolve()))), 'the end for everyone'),
    );
    await aliceCard.leave(true);
    await Promise.all(ended);
    assert.deepEqual([aliceCard.endReason?.code, aliceCard.endReason?.subCode], [0, 0]);
    for (const card of [bobCard, carolCard]) {
      assert.deepEqual([card.endReason?.code, card.endReason?.subCode], [0, 4097]);
      assert.deepEqual(card.render().slice(0, 2), ['call Disconnected', 'ended: code 0, subCode 4097']);
    }
  });
});
