/**
 * A 1:1 call across nodes outlives the callee's node (docs/cluster.md, "A node lost"): three nodes as
 * separate processes on one redis-server. The caller is on A, which holds the call; the callee is on B and
 * knows C too. B is killed with SIGKILL: the callee's agent comes back through C, a node that has never seen
 * the call, and takes its place back there (C asks every node; A holds it). The call stays Connected, its
 * data (peer to peer) keeps flowing, and what the callee does next reaches A through C.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { Features, type Call } from '@backchannel/client';
import { CallErrorCode, encodeSignaling } from '@backchannel/protocol';

import { connected, readMessages, utf8 } from '../helpers/backchannel.js';
import { newUser } from '../helpers/cluster.js';
import { until, waitForEvent, within } from '../helpers/events.js';
import { ThreeNodes } from '../helpers/nodeProcesses.js';
import { RawEndpoint } from '../helpers/rawClient.js';

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
