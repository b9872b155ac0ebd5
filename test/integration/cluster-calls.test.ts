/**
 * One call across three nodes (docs/cluster.md, "One call across nodes"): nodes as separate processes of
 * the built CLI on one real redis-server, real SDK agents over loopback WebRTC. The routing rules of
 * routing.test.ts hold with the endpoints spread over the nodes, and each message crosses to another node
 * once per node with recipients.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';

import { Features } from '@backchannel/client';
import { CallErrorCode } from '@backchannel/protocol';

import { connected, readMessages, receiversOf, rosterSettled, userIdOf, utf8, type Participant } from '../helpers/backchannel.js';
import { identityApi, identityPath, newUser } from '../helpers/cluster.js';
import { until, waitForEvent, within } from '../helpers/events.js';
import { ThreeNodes, type NodeProcess, type NodeProcesses } from '../helpers/nodeProcesses.js';
import { SHARED } from '../helpers/cluster.js';

const CLI = fileURLToPath(new URL('../../packages/cli/bin/backchannel.js', import.meta.url));

type CrossNode = { messagesSent: number; bytesSent: number; messagesReceived: number; bytesReceived: number };

describe('one call across three nodes', () => {
  let cluster: NodeProcesses;
  let a: NodeProcess;
  let b: NodeProcess;
  let c: NodeProcess;
  const deployment = new ThreeNodes();
  before(async () => {
    await deployment.start();
    ({ cluster, a, b, c } = deployment);
  });
  after(() => deployment.stop());

  const crossNode = async (node: NodeProcess): Promise<CrossNode> => (await cluster.stats(node)).crossNode as CrossNode;

  it('has one roster on every node: joins, display names and leaves from every node', async () => {
    const users = await Promise.all([newUser(a), newUser(a), newUser(a)]);
    // The token of each is from node A; two of them are used on B and C.
    const pa = await cluster.join(a, users[0]!, 'roster', 'on a');
    const pb = await cluster.join(b, users[1]!, 'roster', 'on b');
    const pc = await cluster.join(c, users[2]!, 'roster', 'on c');
    await rosterSettled([pa, pb, pc]);
    const names = (p: Participant): string[] => p.call.remoteParticipants.map((r) => r.displayName).sort();
    assert.deepEqual(names(pa), ['on b', 'on c']);
    assert.deepEqual(names(pb), ['on a', 'on c']);
    assert.deepEqual(names(pc), ['on a', 'on b']);
    const endpointIds = new Set([pa, pb, pc].flatMap((p) => p.call.remoteParticipants.map((r) => r.endpointId)));
    assert.equal(endpointIds.size, 3, 'endpoint ids are unique across the nodes');
    await pb.call.hangUp();
    await until(pa.call, 'remoteParticipantsUpdated', () => pa.call.remoteParticipants.length === 1);
    await until(pc.call, 'remoteParticipantsUpdated', () => pc.call.remoteParticipants.length === 1);
    assert.deepEqual(names(pa), ['on c']);
    await Promise.all([pa.call.hangUp(), pc.call.hangUp()]);
  });

  it('shows every node in backchannel stats and the cluster in /metrics', async () => {
    const ids = (await cluster.stats(a)).cluster.nodes.map((n) => n.id);
    assert.equal(ids.length, 3);
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'stats', '--server', b.url, '--access-key', SHARED.accessKey]);
    for (const id of ids) assert.match(stdout, new RegExp(`^${id.slice(0, 8)}`, 'm'), 'a row per node');
    for (const node of [a, b, c]) assert.ok(stdout.includes(node.url), `${node.url} listed`);
    assert.match(stdout, /^cluster\s+3 nodes\s+3\s/m, 'the cluster row: 3 nodes, all beating');
    assert.match(stdout, /^cross-node\s+messages\s+bytes/m);
    const metrics = await (await fetch(`${c.url}/metrics`)).text();
    assert.match(metrics, /^backchannel_cluster_nodes\{state="alive"\} 3$/m);
    assert.match(metrics, /^backchannel_cluster_links_up 2$/m);
    assert.match(metrics, /^backchannel_cross_node_messages_total\{direction="sent"\} \d+$/m);
  });

  it('delivers a broadcast to every endpoint on every node, crossing once per node with recipients', async () => {
    const users = await Promise.all(Array.from({ length: 5 }, () => newUser(b)));
    // Sender on A; two receivers on B, two on C.
    const sender = await cluster.join(a, users[0]!, 'broadcast');
    const receivers = [
      await cluster.join(b, users[1]!, 'broadcast'),
      await cluster.join(b, users[2]!, 'broadcast'),
      await cluster.join(c, users[3]!, 'broadcast'),
      await cluster.join(c, users[4]!, 'broadcast'),
    ];
    await rosterSettled([sender, ...receivers]);
    const before = await crossNode(a);
    const count = 20;
    const s = sender.dataChannel.createDataChannelSender({ channelId: 7 });
    for (let i = 0; i < count; i++) await s.sendMessage(utf8.encode(`m${i}`));
    for (const p of receivers) {
      const [receiver] = await receiversOf(p, 1);
      assert.equal(receiver!.senderParticipantIdentifier.rawId, sender.identity);
      const messages = await readMessages(receiver!, count);
      assert.deepEqual(messages.map((m) => m.sequenceNumber), Array.from({ length: count }, (_, i) => i + 1), 'in order, exactly once');
      assert.deepEqual(messages.map((m) => utf8.decode(m.data)), Array.from({ length: count }, (_, i) => `m${i}`));
    }
    const afterA = await crossNode(a);
    // Two nodes with recipients: two records per message, however many recipients each has.
    assert.equal(afterA.messagesSent - before.messagesSent, 2 * count);
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`^backchannel_cross_node_messages_total\\{direction="sent"\\} ${afterA.messagesSent}$`, 'm'));
    assert.equal(sender.receivers.length, 0, 'never back to the sender');
    await Promise.all([sender, ...receivers].map((p) => p.call.hangUp()));
  });

  it('delivers a targeted message only to its recipients, on every endpoint of a recipient identity on any node', async () => {
    const [su, bu, cu] = await Promise.all([newUser(a), newUser(a), newUser(a)]);
    const s = await cluster.join(a, su, 'targeted');
    const bOnB = await cluster.join(b, bu, 'targeted');
    const bOnC = await cluster.join(c, bu, 'targeted'); // the same identity's second device, on another node
    const other = await cluster.join(c, cu, 'targeted');
    await rosterSettled([s, bOnB, bOnC, other]);
    const before = await crossNode(a);
    const sender = s.dataChannel.createDataChannelSender({ channelId: 8, participants: [{ communicationUserId: bu.identity }] });
    await sender.sendMessage(utf8.encode('only b'));
    const marker = s.dataChannel.createDataChannelSender({ channelId: 9 });
    await marker.sendMessage(utf8.encode('marker'));
    for (const p of [bOnB, bOnC]) {
      const receiver = (await receiversOf(p, 1))[0]!;
      assert.equal(receiver.channelId, 8);
      assert.equal(utf8.decode((await readMessages(receiver, 1))[0]!.data), 'only b');
    }
    const [first] = await receiversOf(other, 1);
    assert.equal(first!.channelId, 9, 'the other identity on C must not hear channel 8');
    const afterA = await crossNode(a);
    // The targeted message went to B and C (one record each), the broadcast marker to B and C too.
    assert.equal(afterA.messagesSent - before.messagesSent, 4);
    await Promise.all([s, bOnB, bOnC, other].map((p) => p.call.hangUp()));
  });

  it('shows sequence gaps exactly as SPEC §4 with recipients on two other nodes: A+B, then B, then A', async () => {
    const [su, au, bu] = await Promise.all([newUser(c), newUser(c), newUser(c)]);
    const s = await cluster.join(a, su, 'gaps');
    const pa = await cluster.join(b, au, 'gaps');
    const pb = await cluster.join(c, bu, 'gaps');
    await rosterSettled([s, pa, pb]);
    const sender = s.dataChannel.createDataChannelSender({ channelId: 12 });
    sender.setParticipants([{ communicationUserId: au.identity }, { communicationUserId: bu.identity }]);
    await sender.sendMessage(utf8.encode('1'));
    sender.setParticipants([{ communicationUserId: bu.identity }]);
    await sender.sendMessage(utf8.encode('2'));
    sender.setParticipants([{ communicationUserId: au.identity }]);
    await sender.sendMessage(utf8.encode('3'));
    const onA = await readMessages((await receiversOf(pa, 1))[0]!, 2);
    const onB = await readMessages((await receiversOf(pb, 1))[0]!, 2);
    assert.deepEqual(onA.map((m) => m.sequenceNumber), [1, 3]);
    assert.deepEqual(onB.map((m) => m.sequenceNumber), [1, 2]);
    await Promise.all([s, pa, pb].map((p) => p.call.hangUp()));
  });

  it('reaches a recipient on another node who joins after the recipient list was set', async () => {
    const [su, lu] = await Promise.all([newUser(a), newUser(a)]);
    const s = await cluster.join(a, su, 'late');
    const sender = s.dataChannel.createDataChannelSender({ channelId: 11, participants: [{ communicationUserId: lu.identity }] });
    await sender.sendMessage(utf8.encode('before you came'));
    const late = await cluster.join(c, lu, 'late');
    await until(s.call, 'remoteParticipantsUpdated', () => s.call.remoteParticipants.length === 1);
    await sender.sendMessage(utf8.encode('welcome'));
    const [message] = await readMessages((await receiversOf(late, 1))[0]!, 1);
    assert.equal(utf8.decode(message!.data), 'welcome');
    assert.equal(message!.sequenceNumber, 2);
    await Promise.all([s, late].map((p) => p.call.hangUp()));
  });

  it('keeps sessions across nodes: a closed session is closed for receivers on other nodes, the next one starts at 1', async () => {
    const [su, ru] = await Promise.all([newUser(a), newUser(a)]);
    const s = await cluster.join(b, su, 'sessions');
    const r = await cluster.join(c, ru, 'sessions');
    await rosterSettled([s, r]);
    const first = s.dataChannel.createDataChannelSender({ channelId: 20 });
    await first.sendMessage(utf8.encode('one'));
    const [r1] = await receiversOf(r, 1);
    await readMessages(r1!, 1);
    const closed = new Promise<void>((resolve) => r1!.on('close', () => resolve()));
    first.close();
    await closed;
    const second = s.dataChannel.createDataChannelSender({ channelId: 20 });
    await second.sendMessage(utf8.encode('two'));
    const [, r2] = await receiversOf(r, 2);
    const [message] = await readMessages(r2!, 1);
    assert.equal(utf8.decode(message!.data), 'two');
    assert.equal(message!.sequenceNumber, 1, 'a new session numbers from 1');
    await Promise.all([s, r].map((p) => p.call.hangUp()));
  });

  it('tells a receipts sender when its messages reached recipients on the other nodes, and one here (delivery receipts)', async () => {
    const users = await Promise.all([newUser(a), newUser(a), newUser(a), newUser(a)]);
    const s = await cluster.join(a, users[0]!, 'receipts', 'sender');
    const here = await cluster.join(a, users[1]!, 'receipts', 'here');
    const onB = await cluster.join(b, users[2]!, 'receipts', 'on b');
    const onC = await cluster.join(c, users[3]!, 'receipts', 'on c');
    await rosterSettled([s, here, onB, onC]);
    const sender = s.dataChannel.createDataChannelSender({ channelId: 24, receipts: true });
    const highest = new Map<string, number>();
    sender.on('messagesDelivered', (e) => highest.set(userIdOf(e.participant), Math.max(highest.get(userIdOf(e.participant)) ?? 0, e.sequenceNumber)));
    for (let i = 1; i <= 40; i++) void sender.sendMessage(utf8.encode(`m${i}`));
    const { reached, missed } = await within(sender.whenDelivered(40), 'receipts from every node');
    const everyone = [here, onB, onC].map((p) => p.identity).sort();
    assert.deepEqual(reached.map((r) => userIdOf(r.participant)).sort(), everyone);
    assert.deepEqual(missed, []);
    assert.deepEqual([...highest.keys()].sort(), everyone);
    assert.ok([...highest.values()].every((n) => n === 40));
    for (const p of [here, onB, onC]) assert.equal((await readMessages((await receiversOf(p, 1))[0]!, 40)).length, 40);
    await Promise.all([s, here, onB, onC].map((p) => p.call.hangUp()));
  });

  it('gives a late joiner on another node, and a new recipient there, the retained state first (retain: \'last\')', async () => {
    const users = await Promise.all([newUser(a), newUser(a), newUser(a)]);
    const s = await cluster.join(a, users[0]!, 'retain', 'sender');
    const early = await cluster.join(c, users[1]!, 'retain', 'early on c');
    await rosterSettled([s, early]);
    const board = s.dataChannel.createDataChannelSender({ channelId: 25, retain: 'last' });
    for (const text of ['one', 'two', 'three']) await board.sendMessage(utf8.encode(text));
    assert.equal((await readMessages((await receiversOf(early, 1))[0]!, 3)).length, 3);
    // A late joiner on B gets the latest message at once, with its number, and newer ones after it.
    const late = await cluster.join(b, users[2]!, 'retain', 'late on b');
    const [first] = await readMessages((await receiversOf(late, 1))[0]!, 1);
    assert.deepEqual([utf8.decode(first!.data), first!.sequenceNumber], ['three', 3]);
    await board.sendMessage(utf8.encode('four'));
    const [next] = await readMessages((await receiversOf(late, 1))[0]!, 1);
    assert.deepEqual([utf8.decode(next!.data), next!.sequenceNumber], ['four', 4]);
    // A sender to B only retains its latest; naming C's participant later hands it to C, once.
    const named = s.dataChannel.createDataChannelSender({ channelId: 26, retain: 'last', participants: [{ communicationUserId: late.identity }] });
    await named.sendMessage(utf8.encode('for b'));
    named.setParticipants([{ communicationUserId: late.identity }, { communicationUserId: early.identity }]);
    const onC = (await receiversOf(early, 2)).find((r) => r.channelId === 26)!;
    const [handed] = await readMessages(onC, 1);
    assert.deepEqual([utf8.decode(handed!.data), handed!.sequenceNumber], ['for b', 1]);
    await Promise.all([s, early, late].map((p) => p.call.hangUp()));
  });

  it('keeps Durable order from each sender to each recipient with senders on every node, exact counts', async () => {
    const users = await Promise.all([newUser(a), newUser(a), newUser(a)]);
    const nodes = [a, b, c];
    const ps: Participant[] = [];
    for (let i = 0; i < 3; i++) ps.push(await cluster.join(nodes[i]!, users[i]!, 'order'));
    await rosterSettled(ps);
    const count = 200;
    await Promise.all(
      ps.map(async (p, i) => {
        // Targeted (not a broadcast, which has its own packet rate): to the two others, on the two other nodes.
        const others = ps.filter((o) => o !== p).map((o) => ({ communicationUserId: o.identity }));
        const sender = p.dataChannel.createDataChannelSender({ channelId: 30 + i, participants: others });
        const sends = [];
        for (let n = 0; n < count; n++) sends.push(sender.sendMessage(utf8.encode(`${i}:${n}`)));
        await Promise.all(sends);
      }),
    );
    for (const p of ps) {
      const receivers = await receiversOf(p, 2);
      for (const receiver of receivers) {
        const messages = await readMessages(receiver, count);
        assert.equal(messages.length, count, 'exactly the messages sent');
        const i = receiver.channelId - 30;
        assert.deepEqual(messages.map((m) => utf8.decode(m.data)), Array.from({ length: count }, (_, n) => `${i}:${n}`), 'in order');
      }
    }
    await Promise.all(ps.map((p) => p.call.hangUp()));
  });

  it('enforces the participant limit over the whole call, whichever node is joined', async () => {
    const limited = await Promise.all([cluster.start(['--max-participants-per-call', '2']), cluster.start(['--max-participants-per-call', '2'])]);
    await cluster.waitForMesh(5);
    const users = await Promise.all([newUser(a), newUser(a), newUser(a)]);
    const first = await cluster.join(limited[0]!, users[0]!, 'full');
    const second = await cluster.join(limited[1]!, users[1]!, 'full');
    const agent = await cluster.agent(limited[0]!, users[2]!);
    const third = agent.join({ groupId: 'full' });
    await until(third, 'stateChanged', () => third.state === 'Disconnected');
    assert.equal(third.callEndReason?.name, CallErrorCode.CallFull);
    // A place freed on one node is free for a join on the other.
    await second.call.hangUp();
    await until(first.call, 'remoteParticipantsUpdated', () => first.call.remoteParticipants.length === 0);
    const again = await cluster.join(limited[1]!, users[2]!, 'full');
    await rosterSettled([first, again]);
    await Promise.all([first, again].map((p) => p.call.hangUp()));
  });

  it('ends the call for everyone on every node, after what was sent before has arrived', async () => {
    const [su, ru, tu] = await Promise.all([newUser(a), newUser(a), newUser(a)]);
    const s = await cluster.join(a, su, 'everyone');
    const r = await cluster.join(b, ru, 'everyone');
    const t = await cluster.join(c, tu, 'everyone');
    await rosterSettled([s, r, t]);
    const last = s.dataChannel.createDataChannelSender({ channelId: 40, participants: [{ communicationUserId: ru.identity }, { communicationUserId: tu.identity }] });
    await last.sendMessage(utf8.encode('last words'));
    await s.call.hangUp({ forEveryone: true });
    for (const p of [r, t]) {
      await until(p.call, 'stateChanged', () => p.call.state === 'Disconnected');
      assert.equal(p.call.callEndReason?.name, 'EndedForEveryone');
      const [receiver] = await receiversOf(p, 1);
      assert.equal(utf8.decode((await readMessages(receiver!, 1))[0]!.data), 'last words');
    }
  });

  it('rings the callee’s agents on other nodes, connects the 1:1 call across nodes, and carries its data', async () => {
    const [caller, callee] = await Promise.all([newUser(a), newUser(a)]);
    const callerAgent = await cluster.agent(a, caller, 'Caller');
    // The callee has an agent on B and one on C: both ring; the one on C answers, the one on B stops ringing.
    const known = await cluster.remoteAgents(a);
    const onB = await cluster.agent(b, callee, 'Callee on B');
    const onC = await cluster.agent(c, callee, 'Callee on C');
    await cluster.waitForAgents(a, known + 2);
    const ringB = waitForEvent(onB, 'incomingCall').then(([e]) => e.incomingCall);
    const ringC = waitForEvent(onC, 'incomingCall').then(([e]) => e.incomingCall);
    const call = callerAgent.startCall([{ communicationUserId: callee.identity }]);
    const [incomingB, incomingC] = await Promise.all([ringB, ringC]);
    assert.equal(incomingC.callerInfo.displayName, 'Caller');
    const stoppedB = until(incomingB, 'callEnded', () => true);
    const calleeCall = await incomingC.accept();
    await Promise.all([connected(call), connected(calleeCall), stoppedB]);
    const created = waitForEvent(calleeCall.feature(Features.DataChannel), 'dataChannelReceiverCreated');
    const sender = call.feature(Features.DataChannel).createDataChannelSender({ channelId: 5, participants: [{ communicationUserId: callee.identity }] });
    await sender.sendMessage(utf8.encode('hello across nodes'));
    const [receiver] = (await created) as [Parameters<typeof readMessages>[0]];
    assert.equal(utf8.decode((await readMessages(receiver, 1))[0]!.data), 'hello across nodes');
    const heldElsewhere = async (node: NodeProcess): Promise<number> => ((await cluster.stats(node)).cluster as unknown as { peerCallsHeldElsewhere: number }).peerCallsHeldElsewhere;
    assert.equal(await heldElsewhere(c), 1, 'C knows the call A holds');
    await calleeCall.hangUp();
    await until(call, 'stateChanged', () => call.state === 'Disconnected');
    assert.equal(call.callEndReason?.name, 'HungUp');
    // The node of the agent that hung up forgets the call (A tells everyone else, not the one who ended it).
    assert.equal(await heldElsewhere(c), 0);
    assert.equal(await heldElsewhere(b), 0);
  });

  it('ends a revoked identity on every node, whichever node revoked it', async () => {
    const user = await newUser(a);
    const p = await cluster.join(c, user, 'revoked');
    assert.equal((await identityApi(b, 'POST', identityPath.revoke(user.identity))).status, 204);
    await until(p.call, 'stateChanged', () => p.call.state === 'Disconnected');
    assert.equal(p.call.callEndReason?.name, CallErrorCode.InvalidToken);
  });
});
