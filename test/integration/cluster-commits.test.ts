/**
 * Commits (docs/cluster.md, "A node lost"): a sender's node acknowledges its Durable messages when they
 * reach it, and commits them once every other node they are for has them. Here the sender's node A cannot
 * reach the recipient's node B (the link to B goes through a relay that is cut), so what A acknowledges
 * waits in its link to B; A is then killed with SIGKILL. The sender, given A's and C's URLs, joins its call
 * again through C, and every message is either delivered, once and in order, or reported on the sender's
 * `messageDropped`: none is lost without a word, although A had acknowledged them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Features } from '@backchannel/client';

import { connected, receiversOf, utf8 } from '../helpers/backchannel.js';
import { newUser } from '../helpers/cluster.js';
import { until, within } from '../helpers/events.js';
import { drain, readIndexed } from '../helpers/indexedMessages.js';
import { NodeProcesses, type NodeProcess } from '../helpers/nodeProcesses.js';
import { RedisServer, freePort } from '../helpers/redis.js';
import { TcpProxy } from '../helpers/tcpProxy.js';

/** Sent while the link is up (delivered and committed), then while it is cut (acknowledged by A, stuck there). */
const BEFORE_CUT = 20;
const AFTER_CUT = 40;

describe('commits: a node lost with acknowledged messages in its links', () => {
  let redis: RedisServer;
  let cluster: NodeProcesses;
  let relay: TcpProxy;
  let a: NodeProcess;
  let b: NodeProcess;
  let c: NodeProcess;

  before(async () => {
    redis = await RedisServer.start();
    cluster = new NodeProcesses(redis.url);
    // Every node reaches B through the relay; B's own links to the others are direct.
    const bPort = await freePort();
    relay = await TcpProxy.start(bPort);
    [a, b, c] = await Promise.all([cluster.start(), cluster.start(['--cluster-port', String(bPort), '--cluster-address', `127.0.0.1:${relay.port}`]), cluster.start()]);
    await cluster.waitForMesh(3);
  });
  after(async () => {
    await cluster.close();
    await relay.close();
    await redis.stop();
  });

  it('reports every acknowledged message that had not reached the other node undelivered, and delivers the rest once, in order', async () => {
    const [senderUser, recipientUser] = [await newUser(a), await newUser(a)];
    const recipient = await cluster.join(b, recipientUser, 'commits', 'recipient');
    const agent = await cluster.agent(a, senderUser, 'sender', { serverUrl: [a.url, c.url] });
    const call = agent.join({ groupId: 'commits' });
    await connected(call);
    await until(recipient.call, 'remoteParticipantsUpdated', () => recipient.call.remoteParticipants.length === 1);
    const sender = call.feature(Features.DataChannel).createDataChannelSender({ channelId: 5, participants: [{ communicationUserId: recipientUser.identity }] });
    const dropped: number[] = [];
    sender.on('messageDropped', ({ sequenceNumber }) => dropped.push(sequenceNumber));

    for (let n = 0; n < BEFORE_CUT; n++) await sender.sendMessage(utf8.encode(`m${n}`));
    const [receiver] = await receiversOf(recipient, 1);
    const received = await readIndexed(receiver!, BEFORE_CUT, 15_000);

    // The network to B fails: A's link to B is down (B still beats in Redis, so it is not lost), and what the
    // sender sends next is acknowledged by A and waits in that link.
    relay.cut();
    for (let n = BEFORE_CUT; n < BEFORE_CUT + AFTER_CUT; n++) await sender.sendMessage(utf8.encode(`m${n}`));
    await within(
      (async () => {
        for (;;) {
          const crossNode = (await cluster.stats(a)).crossNode as { messagesSent: number };
          if (crossNode.messagesSent >= BEFORE_CUT + AFTER_CUT) return;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })(),
      'A to route every message toward B',
    );

    await cluster.kill(a);
    relay.restore();
    // The sender's agent finds A gone, reaches C, and joins the call again: what A never committed is reported.
    await within(
      (async () => {
        while (dropped.length < AFTER_CUT) await new Promise((resolve) => setTimeout(resolve, 50));
      })(),
      'the uncommitted messages to be reported',
      30_000,
    );
    assert.equal(call.state, 'Connected', 'the call went on through C');
    drain(receiver!, received); // none of what waited in A's links can have reached B

    const texts = received.map((m) => utf8.decode(m.data));
    assert.deepEqual(new Set(texts).size, texts.length, 'nothing arrived twice');
    const sequence = received.map((m) => m.sequenceNumber);
    assert.deepEqual(sequence, [...sequence].sort((x, y) => x - y), 'what arrived is in order');
    const arrived = new Set(sequence);
    for (let n = 1; n <= BEFORE_CUT + AFTER_CUT; n++) {
      assert.ok(arrived.has(n) || dropped.includes(n), `message ${n} was delivered or reported undelivered`);
    }
    for (let n = BEFORE_CUT + 1; n <= BEFORE_CUT + AFTER_CUT; n++) assert.ok(dropped.includes(n), `message ${n}, stuck in A's link when A died, is reported`);
    for (let n = 1; n <= BEFORE_CUT; n++) assert.ok(arrived.has(n), `message ${n}, sent before the cut, arrived`);
  });
});
