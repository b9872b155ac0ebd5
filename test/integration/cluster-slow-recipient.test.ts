/**
 * Slow-recipient feedback (issue #15, item 4) across two cluster nodes: the recipient that cannot keep up is on
 * another node than its sender. Two nodes as processes of the built CLI on one real redis-server; the frozen
 * recipient is a participant in its own process (SIGSTOP), joined through node B; the sender and a recipient
 * that keeps up are SDK agents here, on node A. B drops the frozen recipient's copies, and the sender hears of
 * them as it would on one node: `recipientSlow` (rate-limited, from B over the link) and `messageDropped`;
 * the thawed receiver finds B's drops in its `droppedMessageCount`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { DataChannelSlowRecipientEvent } from '@backchannel/client';

import { readMessages, receiversOf, userIdOf } from '../helpers/backchannel.js';
import { newUser } from '../helpers/cluster.js';
import { until } from '../helpers/events.js';
import { FrozenParticipant } from '../helpers/frozenParticipant.js';
import { NodeProcesses, type NodeProcess } from '../helpers/nodeProcesses.js';
import { RedisServer } from '../helpers/redis.js';

/** As in slow-recipient-feedback.test.ts: the live receiver drains 1 MB/s with ease, the frozen one passes its bound at once. */
const RATE_KBPS = 8000;
const BOUND = 256 * 1024;
const COUNT = 400;

const indexed = (index: number): Uint8Array => {
  const payload = new Uint8Array(4096);
  new DataView(payload.buffer).setUint32(0, index);
  return payload;
};

describe('slow-recipient feedback across nodes', () => {
  let redis: RedisServer;
  let cluster: NodeProcesses;
  let a: NodeProcess;
  let b: NodeProcess;
  let configDir: string;

  before(async () => {
    configDir = await mkdtemp(join(tmpdir(), 'backchannel-slow-'));
    const config = join(configDir, 'config.json');
    await writeFile(config, JSON.stringify({ limits: { durableMaxKbps: RATE_KBPS }, receiverBufferBytes: { durable: BOUND, lossy: BOUND / 4 } }));
    redis = await RedisServer.start();
    cluster = new NodeProcesses(redis.url);
    [a, b] = await Promise.all([cluster.start(['--config', config]), cluster.start(['--config', config])]);
    await cluster.waitForMesh(2);
  });

  after(async () => {
    await cluster?.close();
    await redis?.stop();
    await rm(configDir, { recursive: true, force: true });
  });

  it('reports a frozen recipient on another node to its sender, rate-limited, with every copy dropped for it; the thawed receiver counts them', async (t) => {
    const [senderUser, fastUser, slowUser] = await Promise.all([newUser(a), newUser(a), newUser(a)]);
    const frozen = FrozenParticipant.start(b.url, slowUser.token, 'feedback', COUNT * 10);
    try {
      await frozen.line((line) => line === 'ready', 'the participant to join node B');
      const sender = await cluster.join(a, senderUser, 'feedback', 'sender');
      const fast = await cluster.join(a, fastUser, 'feedback', 'fast');
      for (const p of [sender, fast]) await until(p.call, 'remoteParticipantsUpdated', () => p.call.remoteParticipants.length === 2);
      const slowEndpoint = sender.call.remoteParticipants.find((p) => userIdOf(p.identifier) === slowUser.identity)!.endpointId;

      const out = sender.dataChannel.createDataChannelSender({
        channelId: 61,
        bitrateInKbps: RATE_KBPS,
        participants: [{ communicationUserId: slowUser.identity }, { communicationUserId: fast.identity }],
      });
      const events: DataChannelSlowRecipientEvent[] = [];
      out.on('recipientSlow', (event) => events.push(event));
      let messageDrops = 0;
      out.on('messageDropped', () => messageDrops++);

      frozen.freeze();
      await Promise.all(Array.from({ length: COUNT }, (_, i) => out.sendMessage(indexed(i))));
      assert.equal((await readMessages((await receiversOf(fast, 1))[0]!, COUNT)).length, COUNT, 'the recipient that keeps up gets everything');
      // Node B dropped the copies; node A dropped none (its recipient keeps up).
      await until(out, 'messageDropped', () => messageDrops > 0);
      const dropsOn = async (node: NodeProcess): Promise<number> => ((await cluster.stats(node)) as unknown as { drops: { SlowReceiverDurable: number } }).drops.SlowReceiverDurable;
      const drops = await dropsOn(b);
      assert.ok(drops > 0, 'node B dropped copies for the frozen recipient');
      assert.equal(await dropsOn(a), 0);

      const reported = (): number => events.reduce((sum, e) => sum + e.droppedMessages, 0);
      await until(out, 'recipientSlow', () => reported() === drops);
      assert.ok(events.length >= 1 && events.length < drops, `rate-limited: ${events.length} reports for ${drops} dropped copies`);
      for (const event of events) {
        assert.equal(userIdOf(event.participant), slowUser.identity, 'only the frozen recipient is reported');
        assert.equal(event.endpointId, slowEndpoint);
        assert.ok(event.reason === 'Dropping' || event.reason === 'Backlogged', event.reason);
      }
      assert.ok(events.some((e) => e.reason === 'Dropping'));
      await until(out, 'messageDropped', () => messageDrops === drops);
      t.diagnostic(`node B dropped ${drops} copies for the frozen recipient, told to the sender on A in ${events.length} reports: ${events.map((e) => `${e.reason} ${e.droppedMessages}`).join(', ')}`);

      frozen.thaw();
      for (;;) {
        const { received } = await frozen.report();
        if (received.length === COUNT - drops) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await out.sendMessage(indexed(COUNT));
      let last = await frozen.report();
      while (!last.received.includes(COUNT)) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        last = await frozen.report();
      }
      assert.equal(last.dropped, drops, "the thawed receiver's droppedMessageCount holds node B's drops for it");
      assert.deepEqual(last.received, last.received.slice().sort((x, y) => x - y), 'what it did receive came in order');
      await Promise.all([sender, fast].map((p) => p.call.hangUp()));
    } finally {
      await frozen.stop();
    }
  });
});
