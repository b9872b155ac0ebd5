/**
 * The links between cluster nodes (docs/cluster.md, "Node links"): TLS, with each end proving over that very
 * session that it knows the deployment's token secret. Two nodes in this process on a real redis-server,
 * real SDK agents over loopback WebRTC, and a tap (a TCP forwarder) on the wire into one node: it sees TLS
 * and nothing in clear. A link without a valid proof (plain TCP, another deployment's secret, a proof
 * replayed from another session) is refused and the node carries on; a valid one is answered with the
 * listener's own proof, and nothing is sent to it before.
 */
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

import { Features } from '@backchannel/client';
import { CLUSTER_LINK_VERSION, encodeClusterControl } from '@backchannel/protocol';
import type { RunningServer } from '@backchannel/server';

import { readMessages, utf8 } from '../helpers/backchannel.js';
import { Nodes, SHARED, newUser } from '../helpers/cluster.js';
import { until, within } from '../helpers/events.js';
import { RedisServer, freePort } from '../helpers/redis.js';
import { TcpProxy } from '../helpers/tcpProxy.js';

// The proof as docs/cluster.md states it, written here again rather than imported: the wire is the contract.
const binding = (socket: TLSSocket): Buffer => socket.exportKeyingMaterial(32, 'EXPORTER-backchannel-node-link', Buffer.alloc(0));
const proof = (secret: string, role: 'caller' | 'listener', node: string, session: Buffer): string =>
  createHmac('sha256', secret).update(`backchannel-node-link:${role}:${node}:`).update(session).digest('base64url');

async function tls(port: number): Promise<TLSSocket> {
  const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  socket.on('error', () => undefined); // a refused link is reset; 'close' follows
  await once(socket, 'secureConnect');
  return socket;
}

/** The first record the other end sends, as JSON, or undefined if it closes the connection first. */
function firstRecord(socket: TLSSocket): Promise<Record<string, unknown> | undefined> {
  return within(
    new Promise((resolve) => {
      let bytes = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        bytes = Buffer.concat([bytes, chunk]);
        if (bytes.length >= 4 && bytes.length >= 4 + bytes.readUInt32BE(0)) resolve(JSON.parse(bytes.subarray(5, 4 + bytes.readUInt32BE(0)).toString('utf8')));
      });
      socket.once('close', () => resolve(undefined));
    }),
    'the listening node to answer or close',
    10_000,
  );
}

describe('links between cluster nodes', () => {
  let redis: RedisServer;
  let nodes: Nodes;
  let tap: TcpProxy;
  let a: RunningServer;
  let b: RunningServer;
  /** Node A's listener (behind the tap for the other nodes), and the node ids. */
  let aPort: number;
  let aId: string;
  let bId: string;

  const clusterOf = async (server: RunningServer): Promise<{ node: string }> => {
    const response = await fetch(`${server.url}/stats`, { headers: { authorization: `Bearer ${SHARED.accessKey}` } });
    return ((await response.json()) as { cluster: { node: string } }).cluster;
  };

  before(async () => {
    redis = await RedisServer.start();
    nodes = new Nodes(redis.url);
    aPort = await freePort();
    tap = await TcpProxy.start(aPort, { record: true });
    // The other nodes reach A through the tap.
    a = await nodes.start({ clusterPort: aPort, clusterAddress: `127.0.0.1:${tap.port}` });
    b = await nodes.start();
    [aId, bId] = [(await clusterOf(a)).node, (await clusterOf(b)).node];
  });
  after(async () => {
    await nodes.close();
    await tap.close();
    await redis.stop();
  });

  it('carries roster and messages between nodes encrypted: the wire shows TLS, never the identity or the message', async () => {
    const [onA, onB] = [await newUser(a), await newUser(b)];
    const pa = await nodes.join(await nodes.agent(a, onA, 'on a'), 'wire');
    const pb = await nodes.join(await nodes.agent(b, onB, 'on b'), 'wire');
    await until(pa.call, 'remoteParticipantsUpdated', () => pa.call.remoteParticipants.length === 1);
    const message = `not for the wire ${randomBytes(8).toString('hex')}`;
    await pb.call.feature(Features.DataChannel).createDataChannelSender({ channelId: 7 }).sendMessage(utf8.encode(message));
    await until(pa.call.feature(Features.DataChannel), 'dataChannelReceiverCreated', () => pa.receivers.length === 1);
    assert.equal(utf8.decode((await readMessages(pa.receivers[0]!, 1))[0]!.data), message, 'it crossed from B to A');

    const wire = tap.forwarded;
    assert.ok(wire.length > 0, 'B reached A through the tap');
    assert.equal(wire[0], 0x16, 'the link opens with a TLS handshake record');
    for (const secret of [message, onB.identity, 'on b']) assert.equal(wire.includes(Buffer.from(secret)), false, `${secret} is not on the wire in clear`);
    await Promise.all([pa.call.hangUp(), pb.call.hangUp()]);
  });

  it('loses and repeats nothing when the link between two nodes breaks: the stream goes on where the other node stands', async () => {
    const [onA, onB] = [await newUser(a), await newUser(b)];
    const pa = await nodes.join(await nodes.agent(a, onA, 'on a'), 'blip');
    const pb = await nodes.join(await nodes.agent(b, onB, 'on b'), 'blip');
    await until(pa.call, 'remoteParticipantsUpdated', () => pa.call.remoteParticipants.length === 1);
    // Sent to A's participant (a broadcast would meet the default 80 packets/s).
    const sender = pb.call.feature(Features.DataChannel).createDataChannelSender({ channelId: 9, participants: [{ communicationUserId: onA.identity }] });
    const count = 400;
    for (let n = 0; n < count; n++) {
      await sender.sendMessage(utf8.encode(`m${n}`));
      // Halfway, the network between the nodes fails for a moment: every connection through the tap drops
      // with what was in flight, and the next attempts are refused until it is back.
      if (n === count / 2) {
        tap.cut();
        setTimeout(() => tap.restore(), 300);
      }
    }
    await until(pa.call.feature(Features.DataChannel), 'dataChannelReceiverCreated', () => pa.receivers.length === 1);
    const received = (await readMessages(pa.receivers[0]!, count)).map((m) => utf8.decode(m.data));
    assert.deepEqual(received, Array.from({ length: count }, (_, n) => `m${n}`), 'every message once, in order');
    await Promise.all([pa.call.hangUp(), pb.call.hangUp()]);
  });

  it('closes a connection that never finishes its TLS handshake', async () => {
    const idle = tcpConnect({ host: '127.0.0.1', port: aPort });
    idle.on('error', () => undefined);
    await once(idle, 'connect');
    await within(once(idle, 'close'), 'the node to close an idle connection (its handshake timeout)', 15_000);
  });

  it('refuses a plain TCP link, another deployment\'s proof and a proof replayed from another session; the node carries on', async () => {
    // Plain TCP with a well-formed first record: refused by TLS.
    const plain = tcpConnect({ host: '127.0.0.1', port: aPort });
    plain.on('error', () => undefined);
    await once(plain, 'connect');
    plain.write(encodeClusterControl({ t: 'hello', version: CLUSTER_LINK_VERSION, node: bId, proof: 'a proof', session: 'plain' }));
    await within(once(plain, 'close'), 'a plain TCP link to be closed', 10_000);

    // TLS, but the proof is made with another deployment's secret.
    const stranger = await tls(aPort);
    stranger.write(encodeClusterControl({ t: 'hello', version: CLUSTER_LINK_VERSION, node: bId, proof: proof(`${SHARED.tokenSecret}-other`, 'caller', bId, binding(stranger)), session: 'stranger' }));
    assert.equal(await firstRecord(stranger), undefined, 'closed, with nothing sent to it');

    // A valid proof, but of another session (captured, replayed): refused.
    const captured = await tls(aPort);
    const replayer = await tls(aPort);
    replayer.write(encodeClusterControl({ t: 'hello', version: CLUSTER_LINK_VERSION, node: bId, proof: proof(SHARED.tokenSecret, 'caller', bId, binding(captured)), session: 'test-session' }));
    assert.equal(await firstRecord(replayer), undefined, 'a replayed proof is worthless');

    // The same proof on its own session: welcomed, with the listener's proof over this session.
    const welcomed = firstRecord(captured);
    captured.write(encodeClusterControl({ t: 'hello', version: CLUSTER_LINK_VERSION, node: bId, proof: proof(SHARED.tokenSecret, 'caller', bId, binding(captured)), session: 'test-session' }));
    assert.deepEqual(await welcomed, { t: 'welcome', node: aId, proof: proof(SHARED.tokenSecret, 'listener', aId, binding(captured)), received: 0 });
    captured.destroy();

    assert.equal((await fetch(`${a.url}/readyz`)).status, 200);
  });
});
