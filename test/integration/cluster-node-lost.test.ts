/**
 * A node lost (docs/cluster.md, "A node lost"): three nodes as separate processes on one redis-server, one
 * call across them with Durable traffic flowing, and one node killed with SIGKILL. The survivors' streams
 * complete in order, exactly once; the lost node's endpoints leave the call on the other nodes; its agent,
 * given every node's URL, goes on in the call from another node. Then Redis is restarted under the running
 * cluster.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Features } from '@backchannel/client';

import { numberedStream, readMessages, receiversOf, rosterSettled, utf8, type Participant } from '../helpers/backchannel.js';
import { newUser } from '../helpers/cluster.js';
import { eventually, until } from '../helpers/events.js';
import { ThreeNodes, type NodeProcess, type NodeProcesses } from '../helpers/nodeProcesses.js';
import type { RedisServer } from '../helpers/redis.js';

const COUNT = 300;

describe('a node lost', () => {
  let redis: RedisServer;
  let cluster: NodeProcesses;
  let a: NodeProcess;
  let b: NodeProcess;
  let c: NodeProcess;
  const deployment = new ThreeNodes();
  before(async () => {
    await deployment.start();
    ({ redis, cluster, a, b, c } = deployment);
  });
  after(() => deployment.stop());

  it('SIGKILL of a node with traffic flowing: the survivors’ Durable streams complete in order, its endpoints leave, its agent goes on from another node', async () => {
    const [ua, ub, uc] = await Promise.all([newUser(a), newUser(a), newUser(a)]);
    const pa = await cluster.join(a, ua, 'lost');
    const pb = await cluster.join(b, ub, 'lost');
    // The agent on C knows every node: C first, then A and B.
    const agentC = await cluster.agent(c, uc, 'on c', { serverUrl: [c.url, a.url, b.url] });
    const callC = agentC.join({ groupId: 'lost' });
    const pc: Participant = { identity: uc.identity, displayName: 'on c', agent: agentC, call: callC, dataChannel: callC.feature(Features.DataChannel), receivers: [] };
    pc.dataChannel.on('dataChannelReceiverCreated', (r) => pc.receivers.push(r));
    await until(callC, 'stateChanged', () => callC.state === 'Connected');
    await rosterSettled([pa, pb, pc]);
    const oldEndpointOfC = pa.call.remoteParticipants.find((r) => r.identifier.rawId === uc.identity)!.endpointId;

    // A and B each stream to the other and to C.
    const toOthers = (me: Participant): { communicationUserId: string }[] => [pa, pb, pc].filter((p) => p !== me).map((p) => ({ communicationUserId: p.identity }));
    const fromA = numberedStream(pa.dataChannel.createDataChannelSender({ channelId: 1, participants: toOthers(pa) }), 'a', COUNT);
    const fromB = numberedStream(pb.dataChannel.createDataChannelSender({ channelId: 2, participants: toOthers(pb) }), 'b', COUNT);
    const states: string[] = [];
    callC.on('stateChanged', () => states.push(callC.state));

    await Promise.all([fromA.halfway, fromB.halfway]);
    await cluster.kill(c);
    await Promise.all([fromA.done, fromB.done]);

    // Every message between the survivors arrived, once, in order.
    const [onBfromA] = await receiversOf(pb, 1);
    const [onAfromB] = await receiversOf(pa, 1);
    assert.deepEqual((await readMessages(onBfromA!, COUNT)).map((m) => utf8.decode(m.data)), fromA.expected);
    assert.deepEqual((await readMessages(onAfromB!, COUNT)).map((m) => utf8.decode(m.data)), fromB.expected);
    assert.equal(onBfromA!.readMessage(), undefined, 'nothing twice');

    // C's old endpoint leaves the call on A and B; its agent is back in the call from another node, as a
    // new endpoint of the same identity, without its call ever leaving Connected.
    for (const p of [pa, pb]) {
      await until(
        p.call,
        'remoteParticipantsUpdated',
        () => {
          const ofC = p.call.remoteParticipants.filter((r) => r.identifier.rawId === uc.identity);
          return ofC.length === 1 && ofC[0]!.endpointId !== oldEndpointOfC;
        },
        30_000,
      );
    }
    assert.equal(callC.state, 'Connected');
    assert.ok(!states.includes('Disconnected'), `C's call never ended (${states.join(' → ')})`);

    // And it carries data again: A's sender reaches the new endpoint, in a new receiver.
    const before = pc.receivers.length;
    const again = pa.dataChannel.createDataChannelSender({ channelId: 3, participants: [{ communicationUserId: uc.identity }] });
    await again.sendMessage(utf8.encode('welcome back'));
    const receivers = await receiversOf(pc, before + 1);
    const fresh = receivers.find((r) => r.channelId === 3)!;
    assert.equal(utf8.decode((await readMessages(fresh, 1))[0]!.data), 'welcome back');

    const stats = await cluster.stats(a);
    assert.equal((stats.cluster as unknown as { nodesLost: number }).nodesLost, 1);
    // A new agent given the dead node's URL first gets in through the next one.
    const late = await cluster.agent(c, await newUser(b), 'late', { serverUrl: [c.url, b.url] });
    const lateCall = late.join({ groupId: 'lost' });
    await until(lateCall, 'stateChanged', () => lateCall.state === 'Connected');
    await lateCall.hangUp();
    await Promise.all([pa, pb, pc].map((p) => p.call.hangUp()));
  });

  it('Redis restarted under the running cluster: calls across nodes carry data meanwhile, new joins wait for it, and the places in Redis are what the nodes hold afterwards', async () => {
    const [ua, ub, uc, ud] = await Promise.all([newUser(a), newUser(a), newUser(a), newUser(a)]);
    const pa = await cluster.join(a, ua, 'redis-restart');
    const pb = await cluster.join(b, ub, 'redis-restart');
    const pd = await cluster.join(a, ud, 'redis-restart');
    await rosterSettled([pa, pb, pd]);
    await redis.save(); // Redis comes back with its data (persistence), as docs/cluster.md asks
    await redis.kill();
    for (const node of [a, b]) await eventually(async () => (await fetch(`${node.url}/readyz`)).status === 503, 'not ready');

    // Data crosses between the nodes on their own links, without Redis.
    const sender = pa.dataChannel.createDataChannelSender({ channelId: 9, participants: [{ communicationUserId: ub.identity }] });
    for (let n = 0; n < 20; n++) await sender.sendMessage(utf8.encode(`x${n}`));
    const [onB] = await receiversOf(pb, 1);
    assert.deepEqual((await readMessages(onB!, 20)).map((m) => utf8.decode(m.data)), Array.from({ length: 20 }, (_, n) => `x${n}`));
    // A leave meanwhile is seen across nodes at once; its place in Redis is freed once Redis is back.
    await pd.call.hangUp();
    await until(pb.call, 'remoteParticipantsUpdated', () => pb.call.remoteParticipants.length === 1);
    // A new join needs Redis (its place and id): refused meanwhile, with a code that says so.
    const refused = pd.agent.join({ groupId: 'redis-restart' });
    await until(refused, 'stateChanged', () => refused.state === 'Disconnected');
    assert.equal(refused.callEndReason?.name, 'IdentityStoreUnavailable');

    await redis.restart();
    for (const node of [a, b]) await eventually(async () => (await fetch(`${node.url}/readyz`)).status === 200, 'ready');
    const pc = await cluster.join(b, uc, 'redis-restart');
    await rosterSettled([pa, pb, pc]);
    await sender.sendMessage(utf8.encode('after'));
    assert.equal(utf8.decode((await readMessages(onB!, 1))[0]!.data), 'after');
    // pd's place went when A resynchronised: the call's places are exactly pa, pb and pc.
    await eventually(async () => Number(await redis.command('HLEN', 'backchannel:v1:call:redis-restart')) === 3, 'three places');
    await Promise.all([pa, pb, pc].map((p) => p.call.hangUp()));
  });
});
