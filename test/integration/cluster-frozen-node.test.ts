/**
 * A frozen node (docs/cluster.md, "A node lost"): three nodes as separate processes on one redis-server,
 * one call with endpoints on each, Durable traffic flowing, and node B stopped with SIGSTOP. A frozen
 * process resets none of its connections, so only keepalives can find it out. A and C must take their
 * links to it down, declare it lost once its heartbeat has lapsed too, drop its endpoints, free their
 * places, and finish their streams to each other complete and in order. B's agent given A's URL too must
 * find its signaling connection silent (the SDK's ping) and go on in the call from A. Then B is continued
 * (SIGCONT): it must find itself declared lost, rejoin the cluster under a new id, and its agent that knows
 * only B join the call again there, with one roster on every node and the places in Redis those the nodes
 * hold.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { numberedStream, readMessages, receiversOf, rosterSettled, utf8, type Participant } from '../helpers/backchannel.js';
import { newUser } from '../helpers/cluster.js';
import { eventually, until, within } from '../helpers/events.js';
import { withThreeNodes, type NodeProcess, type NodeProcesses } from '../helpers/nodeProcesses.js';
import type { RedisServer } from '../helpers/redis.js';

const COUNT = 200;
/** Long enough for the freeze to be found and for B to come back, on a loaded machine. */
const PATIENCE_MS = 60_000;

describe('a frozen node', () => {
  it('SIGSTOP: the others find it silent, declare it lost and finish their streams; SIGCONT: it rejoins under a new id and its agent joins the call again', () =>
    withThreeNodes(async ({ redis, cluster, a, b, c }) => {
      try {
        await frozenAndBack(redis, cluster, a, b, c);
      } finally {
        b.child.kill('SIGCONT'); // never left stopped: the deployment's SIGTERM would wait on it
      }
    }));
});

async function frozenAndBack(redis: RedisServer, cluster: NodeProcesses, a: NodeProcess, b: NodeProcess, c: NodeProcess): Promise<void> {
  const [ua, ub, uc, um] = await Promise.all([newUser(a), newUser(a), newUser(a), newUser(a)]);
  const pa = await cluster.join(a, ua, 'frozen', 'on a');
  const pb = await cluster.join(b, ub, 'frozen', 'on b');
  const pc = await cluster.join(c, uc, 'frozen', 'on c');
  // Another agent on B that knows A's URL too: it moves.
  const pm = await cluster.join(b, um, 'frozen', 'on b, then a', { serverUrl: [b.url, a.url] });
  const states: string[] = [];
  pm.call.on('stateChanged', () => states.push(pm.call.state));
  await rosterSettled([pa, pb, pc, pm]);
  const oldEndpointOfB = endpointOf(pa, ub.identity);
  const oldEndpointOfM = endpointOf(pa, um.identity);
  const oldIdOfB = (await cluster.stats(b)).cluster.node;

  // A and C each stream to all the others: B's endpoints among the recipients, so every send waits on the
  // frozen node until it is declared lost.
  const toOthers = (me: Participant): { communicationUserId: string }[] => [pa, pb, pc, pm].filter((p) => p !== me).map((p) => ({ communicationUserId: p.identity }));
  const fromA = numberedStream(pa.dataChannel.createDataChannelSender({ channelId: 1, participants: toOthers(pa) }), 'a', COUNT);
  const fromC = numberedStream(pc.dataChannel.createDataChannelSender({ channelId: 2, participants: toOthers(pc) }), 'c', COUNT);
  await Promise.all([fromA.halfway, fromC.halfway]);
  b.child.kill('SIGSTOP');

  // Its endpoints leave the call on A and C; their streams to each other finish, every message once and in order.
  for (const p of [pa, pc]) await until(p.call, 'remoteParticipantsUpdated', () => !hasIdentity(p, ub.identity) && endpointOf(p, um.identity, true) !== oldEndpointOfM, PATIENCE_MS);
  await within(Promise.all([fromA.done, fromC.done]), 'the survivors’ streams to finish', PATIENCE_MS);
  const [onCfromA] = await receiversOf(pc, 1);
  const [onAfromC] = await receiversOf(pa, 1);
  assert.deepEqual((await readMessages(onCfromA!, COUNT)).map((m) => utf8.decode(m.data)), fromA.expected);
  assert.deepEqual((await readMessages(onAfromC!, COUNT)).map((m) => utf8.decode(m.data)), fromC.expected);
  assert.equal(onCfromA!.readMessage(), undefined, 'nothing twice');

  // Found by the keepalive (the TCP connections never broke), and declared lost: its place is freed, and
  // it is marked lost in Redis for when it comes back.
  for (const node of [a, c]) {
    const stats = (await cluster.stats(node)).cluster as unknown as { nodesLost: number; silentLinks: number };
    assert.equal(stats.nodesLost, 1);
    assert.ok(stats.silentLinks >= 1, 'a link taken down for silence');
    assert.match(await (await fetch(`${node.url}/metrics`)).text(), /^backchannel_cluster_links_silent_total [1-9]/m);
  }
  // Purged by A and C (either will do) just after they dropped B's endpoints.
  await eventually(async () => {
    const places = (await redis.command('HKEYS', 'backchannel:v1:call:frozen')) as string[];
    return !places.includes(String(oldEndpointOfB)) && !places.includes(String(oldEndpointOfM));
  }, 'B’s places freed');
  assert.equal(Number(await redis.command('HEXISTS', 'backchannel:v1:nodes', oldIdOfB)), 0, 'B gone from the registry');
  assert.equal(Number(await redis.command('EXISTS', `backchannel:v1:node:${oldIdOfB}:lost`)), 1, 'B marked lost');

  // The agent that knows A's URL finds B silent (no pong), reconnects to A, and joins the call again
  // there while B is still frozen: a new endpoint of the same identity, its call Connected throughout.
  for (const p of [pa, pc]) {
    await until(p.call, 'remoteParticipantsUpdated', () => hasIdentity(p, um.identity) && endpointOf(p, um.identity) !== oldEndpointOfM, PATIENCE_MS);
  }
  assert.equal(pm.call.state, 'Connected');
  assert.ok(!states.includes('Disconnected'), `the moved agent's call never ended (${states.join(' → ')})`);

  // Continued: B finds the mark, takes a new id and ends its endpoint quietly; its agent reconnects, finds
  // a new run of the server, and joins the call again as a new endpoint of the same identity.
  b.child.kill('SIGCONT');
  for (const p of [pa, pc]) {
    await until(p.call, 'remoteParticipantsUpdated', () => hasIdentity(p, ub.identity) && endpointOf(p, ub.identity) !== oldEndpointOfB, PATIENCE_MS);
  }
  await rosterSettled([pa, pb, pc, pm]);
  assert.equal(pb.call.state, 'Connected');
  const statsOfB = (await cluster.stats(b)).cluster as unknown as { node: string; rejoins: number };
  assert.notEqual(statsOfB.node, oldIdOfB);
  assert.equal(statsOfB.rejoins, 1);
  assert.match(await (await fetch(`${b.url}/metrics`)).text(), /^backchannel_cluster_rejoins_total 1$/m);
  await cluster.waitForMesh(3);

  // One roster everywhere: each participant sees every other, at the same endpoints.
  const everyone = [pa, pb, pc, pm];
  const endpoints = everyone.map((p) => {
    const seen = new Set(everyone.filter((q) => q !== p).map((q) => endpointOf(q, p.identity)));
    assert.equal(seen.size, 1, `${p.displayName} is one endpoint to everyone`);
    return [...seen][0]!;
  });
  const places = (await redis.command('HKEYS', 'backchannel:v1:call:frozen')) as string[];
  assert.deepEqual(places.map(Number).sort(), [...endpoints].sort());

  // And data reaches B's new endpoint from both other nodes, and goes out from it.
  const before = pb.receivers.length;
  await pa.dataChannel.createDataChannelSender({ channelId: 3, participants: [{ communicationUserId: ub.identity }] }).sendMessage(utf8.encode('from a'));
  await pc.dataChannel.createDataChannelSender({ channelId: 4, participants: [{ communicationUserId: ub.identity }] }).sendMessage(utf8.encode('from c'));
  const fresh = (await receiversOf(pb, before + 2)).slice(before);
  const texts = await Promise.all(fresh.map(async (r) => utf8.decode((await readMessages(r, 1))[0]!.data)));
  assert.deepEqual(texts.sort(), ['from a', 'from c']);
  const onA = pa.receivers.length;
  await pb.dataChannel.createDataChannelSender({ channelId: 5, participants: [{ communicationUserId: ua.identity }] }).sendMessage(utf8.encode('from b'));
  const [fromB] = (await receiversOf(pa, onA + 1)).slice(onA);
  assert.equal(utf8.decode((await readMessages(fromB!, 1))[0]!.data), 'from b');

  assert.ok(b.log.some((line) => line.includes('declared lost by the other cluster nodes')), 'B says why it rejoined');
  await Promise.all(everyone.map((p) => p.call.hangUp()));
}

function hasIdentity(p: Participant, identity: string): boolean {
  return p.call.remoteParticipants.some((r) => r.identifier.rawId === identity);
}

/** The endpoint id `p` sees `identity` at: there must be exactly one (or, if `maybe`, none: -1). */
function endpointOf(p: Participant, identity: string, maybe = false): number {
  const of = p.call.remoteParticipants.filter((r) => r.identifier.rawId === identity);
  if (maybe && of.length === 0) return -1;
  assert.equal(of.length, 1, `one endpoint of ${identity} on ${p.displayName}`);
  return Number(of[0]!.endpointId);
}
