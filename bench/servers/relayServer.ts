/**
 * The node-datachannel relay: the ws relay (wsServer.ts) with its data moved onto WebRTC, the least a
 * developer would write on node-datachannel for a server that relays data inside a call. It is the floor
 * for a server-relayed design on this stack: what one DTLS/SCTP connection per endpoint costs without any
 * of Backchannel's product (sessions, sequence numbers, limits, scheduling, the Durable link).
 *
 * Signaling is a `ws` socket over HTTPS per client (text JSON: the client's offer and candidates in; the
 * answer, candidates and finally `{"id": n}` out). Data is one reliable, ordered data channel per client,
 * with the ws relay's framing (bench/agents/relayParticipant.ts). Every peer connection uses the run's
 * certificate (one DTLS identity, as Backchannel's server has); everything else is libdatachannel's default.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { parseArgs } from 'node:util';

import nodeDataChannel, { type DataChannel, type PeerConnection } from 'node-datachannel';
import { WebSocketServer, type WebSocket } from 'ws';

import { announce } from './args.js';

const { values } = parseArgs({ options: { cert: { type: 'string' }, key: { type: 'string' }, port: { type: 'string', default: '0' } } });
if (!values.cert || !values.key) throw new Error('usage: --cert FILE --key FILE [--port N]');
const certPem = readFileSync(values.cert, 'utf8');
const keyPem = readFileSync(values.key, 'utf8');

const https = createServer({ cert: certPem, key: keyPem });
const wss = new WebSocketServer({ server: https, perMessageDeflate: false });
const rooms = new Map<string, Set<DataChannel>>();
const byId = new Map<number, DataChannel>();
const connections = new Set<PeerConnection>();
let nextId = 1;

wss.on('connection', (socket: WebSocket, request) => {
  const id = nextId++;
  const name = new URL(request.url ?? '/', 'https://localhost').searchParams.get('room') ?? '';
  // PEM text rather than file names: libdatachannel takes text holding a BEGIN marker as the PEM itself.
  const pc = new nodeDataChannel.PeerConnection(`relay-${id}`, { iceServers: [], certificatePemFile: certPem, keyPemFile: keyPem });
  connections.add(pc);
  let channel: DataChannel | undefined;
  const signal = (body: object): void => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(body));
  };
  pc.onLocalDescription((sdp, kind) => signal({ sdp, kind }));
  pc.onLocalCandidate((candidate, mid) => signal({ candidate, mid }));
  pc.onDataChannel((opened) => {
    channel = opened;
    let room = rooms.get(name);
    if (!room) rooms.set(name, (room = new Set()));
    room.add(opened);
    byId.set(id, opened);
    opened.onMessage((message) => {
      if (typeof message === 'string') return;
      const data = Buffer.isBuffer(message) ? message : Buffer.from(message as ArrayBuffer);
      if (data.length < 1) return;
      const count = data[0]!;
      const start = 1 + 4 * count;
      if (data.length < start) return;
      const out = Buffer.allocUnsafe(4 + data.length - start);
      out.writeUInt32BE(id, 0);
      data.copy(out, 4, start);
      if (count === 0) {
        for (const peer of room) if (peer !== opened) send(peer, out);
      } else {
        for (let i = 0; i < count; i++) {
          const peer = byId.get(data.readUInt32BE(1 + 4 * i));
          if (peer) send(peer, out);
        }
      }
    });
    signal({ id });
  });
  socket.on('message', (data, isBinary) => {
    if (isBinary) return;
    try {
      const body = JSON.parse(String(data)) as { sdp?: string; kind?: string; candidate?: string; mid?: string };
      if (body.sdp !== undefined) pc.setRemoteDescription(body.sdp, body.kind as 'offer');
      else if (body.candidate !== undefined) pc.addRemoteCandidate(body.candidate, body.mid ?? '0');
    } catch {
      // an unparsable message or candidate: ICE goes on with the others
    }
  });
  socket.on('close', () => {
    if (channel) {
      rooms.get(name)?.delete(channel);
      if (rooms.get(name)?.size === 0) rooms.delete(name);
    }
    byId.delete(id);
    connections.delete(pc);
    pc.close();
  });
  socket.on('error', () => socket.terminate());
});

/** Sends one copy; a channel closing under us is that client leaving, not an error of the relay. */
function send(channel: DataChannel, bytes: Buffer): void {
  try {
    channel.sendMessageBinary(bytes);
  } catch {
    // closed
  }
}

https.listen(Number(values.port), '127.0.0.1', () => {
  const address = https.address();
  announce('relay', typeof address === 'object' && address ? address.port : Number(values.port), () => {
    for (const client of wss.clients) client.terminate();
    for (const pc of connections) pc.close();
    https.close();
    nodeDataChannel.cleanup();
  });
});
