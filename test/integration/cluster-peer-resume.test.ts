/**
 * A 1:1 call across nodes outlives the loss of either party's node (docs/cluster.md, "A node lost"): nodes
 * as separate processes on one redis-server, SIGKILL, real SDK agents.
 * - The callee's node: the callee comes back through a node that has never seen the call, which asks every
 *   node; the holder (the caller's node) takes it back.
 * - The holder, the caller's node: the callee's node had a replica of the call and takes it over; the
 *   caller comes back through another node and resumes it there.
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
import { until, waitForEvent, within } from '../helpers/events.js';
import { ThreeNodes, type NodeProcess, type NodeProcesses } from '../helpers/nodeProcesses.js';
import { RawEndpoint } from '../helpers/rawClient.js';

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

/** A Durable path from `from` to `to` (identity `toIdentity`), checked with a first message: `send` returns what `to` read. */
async function dataPath(from: Call, to: Call, toIdentity: string): Promise<{ send(text: string): Promise<string> }> {
  const created = waitForEvent(to.feature(Features.DataChannel), 'dataChannelReceiverCreated');
  const sender = from.feature(Features.DataChannel).createDataChannelSender({ channelId: 5, participants: [{ communicationUserId: toIdentity }] });
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

/** Until `node` has logged `event` about `identity` (the server's view of the resume). */
function logged(node: NodeProcess, event: string, identity: string, what: string): Promise<void> {
  return within(
    (async () => {
      while (!node.log.some((line) => line.includes(event) && line.includes(identity))) await new Promise((resolve) => setTimeout(resolve, 50));
    })(),
    what,
    15_000,
  );
}

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
    const { call, calleeCall } = await connectedCall(callerAgent, calleeAgent, callee);
    const data = await dataPath(call, calleeCall, callee.identity);

    const states: string[] = [];
    calleeCall.on('stateChanged', () => states.push(calleeCall.state));
    await nodes.cluster.kill(nodes.b);
    // The callee's agent reconnects to C; C has never seen the call and asks every node: A, which holds it,
    // takes the callee back (and logs it).
    await logged(nodes.a, 'peer call party back', callee.identity, 'A to take the callee back through C');
    assert.equal(await data.send('after'), 'after', 'the data still flows');
    assert.equal(calleeCall.state, 'Connected');
    assert.deepEqual(states.filter((s) => s === 'Disconnected'), [], 'the callee never left the call');

    // The callee hangs up through C: it reaches A, which holds the call.
    await calleeCall.hangUp();
    await until(call, 'stateChanged', () => call.state === 'Disconnected');
    assert.equal(call.callEndReason?.name, 'HungUp', 'ended by the callee, not lost');
  });

  it('survives the loss of the node holding the call: the callee\'s node takes it over, the caller resumes it through a third node', async () => {
    // The caller is on A (the holder), the callee on C, and A is killed (B is gone after the first test).
    const [caller, callee] = await Promise.all([newUser(nodes.a), newUser(nodes.a)]);
    const known = await nodes.cluster.remoteAgents(nodes.a);
    const calleeAgent = await nodes.cluster.agent(nodes.c, callee, 'Callee');
    await nodes.cluster.waitForAgents(nodes.a, known + 1);
    const d = await nodes.cluster.start(); // where the caller comes back
    await nodes.cluster.waitForMesh();
    const callerAgent = await nodes.cluster.agent(nodes.a, caller, 'Caller', { serverUrl: [nodes.a.url, d.url] });
    const { call, calleeCall } = await connectedCall(callerAgent, calleeAgent, callee);
    const data = await dataPath(calleeCall, call, caller.identity);

    const states: string[] = [];
    call.on('stateChanged', () => states.push(call.state));
    calleeCall.on('stateChanged', () => states.push(calleeCall.state));
    await nodes.cluster.kill(nodes.a);
    // C, the callee's node, takes the call over; the caller comes back through D and resumes it there.
    await logged(nodes.c, 'peer call party back', caller.identity, 'C to take the caller back through D');
    assert.ok(nodes.c.log.some((line) => line.includes('peer call taken over from a lost node')));
    assert.equal(await data.send('after'), 'after', 'the data still flows');
    assert.deepEqual(states.filter((s) => s === 'Disconnected'), [], 'neither party left the call');

    // The caller hangs up through D: it reaches C, which holds the call now.
    await call.hangUp();
    await until(calleeCall, 'stateChanged', () => calleeCall.state === 'Disconnected');
    assert.equal(calleeCall.callEndReason?.name, 'HungUp', 'ended by the caller, not lost');
  });

  it('answers NotFound, as one node does, to a resume no node holds: every node asked says it does not have it', async () => {
    const user = await newUser(nodes.c); // A and B are gone by now
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
