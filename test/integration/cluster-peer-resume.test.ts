/**
 * A 1:1 call across nodes outlives the loss of either party's node (docs/cluster.md, "A node lost"): three
 * nodes as separate processes on one redis-server, real SDK agents.
 * - The callee's node (SIGKILL): the callee's agent comes back through a node that has never seen the call,
 *   which asks every node; the holder (the caller's node) takes it back.
 * - The holder, the caller's node (SIGKILL, or frozen with SIGSTOP): the callee's node has a replica of the
 *   call and takes it over once the holder is declared lost; the caller comes back through another node and
 *   takes its seat back there. A frozen holder that comes back forsakes the call: one holder, never two.
 * Either way the call stays Connected, its data (peer to peer) keeps flowing, and a hang-up reaches the
 * other party.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { Features, type Call } from '@backchannel/client';
import { CallErrorCode, encodeSignaling } from '@backchannel/protocol';

import { connected, readMessages, utf8 } from '../helpers/backchannel.js';
import { newUser } from '../helpers/cluster.js';
import { eventually, until, waitForEvent, within } from '../helpers/events.js';
import { ThreeNodes, withThreeNodes, type NodeProcess, type NodeProcesses } from '../helpers/nodeProcesses.js';
import { RawEndpoint } from '../helpers/rawClient.js';
import { TcpProxy } from '../helpers/tcpProxy.js';

describe('a 1:1 party whose node is lost', () => {
  const nodes = new ThreeNodes();
  before(() => nodes.start());
  after(() => nodes.stop());

  it('takes its place back through a node that never saw the call, and the call goes on', async () => {
    const [caller, callee] = await Promise.all([newUser(nodes.a), newUser(nodes.a)]);
    const callerAgent = await nodes.cluster.agent(nodes.a, caller, 'Caller');
    const known = await nodes.cluster.remoteAgents(nodes.a);
    const calleeAgent = await nodes.cluster.agent(nodes.b, callee, 'Callee', { serverUrl: [nodes.b.url, nodes.c.url] });
    await nodes.cluster.waitForAgents(nodes.a, known + 1);
    const ringing = waitForEvent(calleeAgent, 'incomingCall').then(([e]) => e.incomingCall);
    const call = callerAgent.startCall([{ communicationUserId: callee.identity }]);
    const calleeCall: Call = await (await ringing).accept();
    await Promise.all([connected(call), connected(calleeCall)]);

    const created = waitForEvent(calleeCall.feature(Features.DataChannel), 'dataChannelReceiverCreated');
    const sender = call.feature(Features.DataChannel).createDataChannelSender({ channelId: 5, participants: [{ communicationUserId: callee.identity }] });
    await sender.sendMessage(utf8.encode('before'));
    const [receiver] = (await created) as [Parameters<typeof readMessages>[0]];
    assert.equal(utf8.decode((await readMessages(receiver, 1))[0]!.data), 'before');

    const states: string[] = [];
    calleeCall.on('stateChanged', () => states.push(calleeCall.state));
    await nodes.cluster.kill(nodes.b);
    // The callee's agent reconnects to C; C has never seen the call and asks every node: A, which holds it,
    // takes the callee back (and logs it).
    await within(
      (async () => {
        while (!nodes.a.log.some((line) => line.includes('peer call party back') && line.includes(callee.identity))) await new Promise((resolve) => setTimeout(resolve, 50));
      })(),
      'A to take the callee back through C',
      15_000,
    );
    await sender.sendMessage(utf8.encode('after'));
    assert.equal(utf8.decode((await readMessages(receiver, 1))[0]!.data), 'after', 'the data still flows');
    assert.equal(calleeCall.state, 'Connected');
    assert.deepEqual(states.filter((s) => s === 'Disconnected'), [], 'the callee never left the call');

    // The callee hangs up through C: it reaches A, which holds the call.
    await calleeCall.hangUp();
    await until(call, 'stateChanged', () => call.state === 'Disconnected');
    assert.equal(call.callEndReason?.name, 'HungUp', 'ended by the callee, not lost');
  });

  it('answers NotFound, as one node does, to a resume no node holds: every node asked says it does not have it', async () => {
    const user = await newUser(nodes.a);
    const client = await RawEndpoint.connect(nodes.c.url, user.token);
    try {
      client.ws.send(encodeSignaling({ type: 'resumePeerCall', ref: 7, callId: randomUUID(), resumeToken: 'not-a-token' }));
      const answer = await client.next((m) => m.type === 'error' && m.ref === 7);
      assert.equal(answer.type === 'error' && answer.code, CallErrorCode.NotFound);
    } finally {
      client.ws.close();
    }
  });
});

type Agent = Awaited<ReturnType<NodeProcesses['agent']>>;
type Receiver = Parameters<typeof readMessages>[0];

/** A 1:1 call from `callerAgent` to `callee`, answered by `calleeAgent`, both Connected. */
async function connectedCall(callerAgent: Agent, calleeAgent: Agent, callee: { identity: string }): Promise<{ call: Call; calleeCall: Call }> {
  const ringing = waitForEvent(calleeAgent, 'incomingCall').then(([e]) => e.incomingCall);
  const call = callerAgent.startCall([{ communicationUserId: callee.identity }]);
  const calleeCall: Call = await (await ringing).accept();
  await Promise.all([connected(call), connected(calleeCall)]);
  return { call, calleeCall };
}

/** A Durable path from `from` to `to` (identity `toIdentity`) on `channelId`, checked with a first message; `send` returns what `to` read. */
async function dataPath(from: Call, to: Call, toIdentity: string, channelId: number): Promise<{ send(text: string): Promise<string> }> {
  const created = waitForEvent(to.feature(Features.DataChannel), 'dataChannelReceiverCreated', (r) => r.channelId === channelId);
  const sender = from.feature(Features.DataChannel).createDataChannelSender({ channelId, participants: [{ communicationUserId: toIdentity }] });
  await sender.sendMessage(utf8.encode('before'));
  const [receiver] = (await created) as [Receiver];
  assert.equal(utf8.decode((await readMessages(receiver, 1))[0]!.data), 'before');
  return {
    async send(text) {
      await sender.sendMessage(utf8.encode(text));
      return utf8.decode((await readMessages(receiver, 1))[0]!.data);
    },
  };
}

/** Until `node` has logged `event` about `identity` (the server's own account of the call). */
function logged(node: NodeProcess, event: string, identity: string, what: string): Promise<void> {
  return eventually(async () => node.log.some((line) => line.includes(event) && line.includes(identity)), what, 60_000);
}

async function peerReplicas(cluster: NodeProcesses, node: NodeProcess): Promise<number> {
  return ((await cluster.stats(node)).cluster as unknown as { peerReplicas: number }).peerReplicas;
}

describe('a 1:1 call whose holder (the caller’s node) is lost', () => {
  /**
   * The caller on A (the holder) knowing B too (`callerUrls`: through these instead), the callee on C (or,
   * `bothOnA`, on A knowing C too): a call, data both ways, and what each saw.
   */
  async function callHeldByA(nodes: ThreeNodes, { bothOnA = false, callerUrls = [nodes.a.url, nodes.b.url] }: { bothOnA?: boolean; callerUrls?: string[] } = {}) {
    const [caller, callee] = await Promise.all([newUser(nodes.a), newUser(nodes.a)]);
    const known = await nodes.cluster.remoteAgents(nodes.a);
    const calleeAgent = bothOnA ? await nodes.cluster.agent(nodes.a, callee, 'Callee', { serverUrl: [nodes.a.url, nodes.c.url] }) : await nodes.cluster.agent(nodes.c, callee, 'Callee');
    if (!bothOnA) await nodes.cluster.waitForAgents(nodes.a, known + 1);
    const callerAgent = await nodes.cluster.agent(nodes.a, caller, 'Caller', { serverUrl: callerUrls });
    const { call, calleeCall } = await connectedCall(callerAgent, calleeAgent, callee);
    const toCallee = await dataPath(call, calleeCall, callee.identity, 5);
    const toCaller = await dataPath(calleeCall, call, caller.identity, 6);
    // The callee's node keeps a replica of the call A holds; with both parties on A, B or C does.
    const replicas = async (): Promise<number> => (bothOnA ? (await peerReplicas(nodes.cluster, nodes.b)) + (await peerReplicas(nodes.cluster, nodes.c)) : peerReplicas(nodes.cluster, nodes.c));
    await eventually(async () => (await replicas()) === 1, 'a replica on another node');
    const states: string[] = [];
    call.on('stateChanged', () => states.push(`caller ${call.state}`));
    calleeCall.on('stateChanged', () => states.push(`callee ${calleeCall.state}`));
    return { caller, callee, call, calleeCall, toCallee, toCaller, states };
  }

  /** After the takeover: data both ways, both Connected throughout, and the caller's hang-up (through B) reaching the callee. */
  async function goesOn({ call, calleeCall, toCallee, toCaller, states }: Awaited<ReturnType<typeof callHeldByA>>): Promise<void> {
    assert.equal(await toCallee.send('after'), 'after', 'the data still flows to the callee');
    assert.equal(await toCaller.send('after'), 'after', 'and to the caller');
    assert.deepEqual([call.state, calleeCall.state], ['Connected', 'Connected']);
    assert.deepEqual(states, [], 'neither party left the call');
    await call.hangUp();
    await until(calleeCall, 'stateChanged', () => calleeCall.state === 'Disconnected');
    assert.equal(calleeCall.callEndReason?.name, 'HungUp', 'ended by the caller, not lost');
  }

  it('SIGKILL: the callee’s node takes the call over, the caller takes its seat back through B', () =>
    withThreeNodes(async (nodes) => {
      const held = await callHeldByA(nodes);
      await nodes.cluster.kill(nodes.a);
      await logged(nodes.c, 'peer call taken over from a lost node', held.caller.identity, 'C to take the call over');
      await logged(nodes.c, 'peer call party back', held.caller.identity, 'C to take the caller back through B');
      await goesOn(held);
      assert.equal(await peerReplicas(nodes.cluster, nodes.c), 0, 'the replica became the call, and nothing is left of it');
    }));

  it('SIGSTOP: the callee’s node takes the call over once A is declared lost; A, continued, forsakes it', () =>
    withThreeNodes(async (nodes) => {
      const held = await callHeldByA(nodes);
      nodes.a.child.kill('SIGSTOP');
      try {
        await logged(nodes.c, 'peer call taken over from a lost node', held.caller.identity, 'C to take the call over');
      } finally {
        // At once: the caller's SDK has likely not given up on A yet (it waits 10 s after a ping), so A
        // comes back with the caller still on it, finds itself declared lost, and drops its connections; the
        // caller reconnects to A first. A must not take it back into its own, stale copy of the call.
        nodes.a.child.kill('SIGCONT');
      }
      await logged(nodes.a, 'peer call forsaken', '', 'A, declared lost, to forsake the call');
      await logged(nodes.c, 'peer call party back', held.caller.identity, 'C to take the caller back');
      await goesOn(held);
    }));

  it('SIGKILL with both parties on it: the node keeping the replica takes the call over, and each party takes its seat back through another node', () =>
    withThreeNodes(async (nodes) => {
      const held = await callHeldByA(nodes, { bothOnA: true });
      await nodes.cluster.kill(nodes.a);
      const tookOver = (node: NodeProcess): boolean => node.log.some((line) => line.includes('peer call taken over from a lost node') && line.includes(held.caller.identity));
      await eventually(async () => tookOver(nodes.b) || tookOver(nodes.c), 'B or C to take the call over', 60_000);
      const adopter = tookOver(nodes.b) ? nodes.b : nodes.c;
      await logged(adopter, 'peer call party back', held.caller.identity, 'the caller back (through B)');
      await logged(adopter, 'peer call party back', held.callee.identity, 'the callee back (through C)');
      await goesOn(held);
    }));

  it('SIGKILL with the caller moved to a third node first: the callee’s node takes the call over with the caller in its seat there', () =>
    withThreeNodes(async (nodes) => {
      // The caller reaches A through a proxy the test cuts: it moves to B while A still holds the call.
      const proxy = await TcpProxy.start(Number(new URL(nodes.a.url).port));
      try {
        const held = await callHeldByA(nodes, { callerUrls: [`http://127.0.0.1:${proxy.port}`, nodes.b.url] });
        proxy.cut();
        await logged(nodes.a, 'peer call party back', held.caller.identity, 'A to take the caller back through B');
        await nodes.cluster.kill(nodes.a);
        await logged(nodes.c, 'peer call taken over from a lost node', held.caller.identity, 'C to take the call over');
        // B does not end the call for the caller: C took it over, with the caller seated on B.
        await goesOn(held);
      } finally {
        await proxy.close();
      }
    }));

  it('keeps no replica of a call that ended, whoever ended it', () =>
    withThreeNodes(async (nodes) => {
      const first = await callHeldByA(nodes);
      await first.calleeCall.hangUp(); // through C, the replica's node
      await until(first.call, 'stateChanged', () => first.call.state === 'Disconnected');
      await eventually(async () => (await peerReplicas(nodes.cluster, nodes.c)) === 0, 'the replica to go with the call (ended by the callee)');
      const second = await callHeldByA(nodes);
      await second.call.hangUp(); // through A, the holder
      await until(second.calleeCall, 'stateChanged', () => second.calleeCall.state === 'Disconnected');
      await eventually(async () => (await peerReplicas(nodes.cluster, nodes.c)) === 0, 'the replica to go with the call (ended by the caller)');
    }));
});
