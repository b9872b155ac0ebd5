/**
 * The `ws` peer: a relay over HTTPS with rooms, the least a developer would write on `ws` for the same job
 * (framing in bench/agents/wsParticipant.ts). Each client gets a numeric id; a message goes to the listed
 * ids, or to everyone else in the sender's room, prefixed with the sender's id.
 */
import { createServer } from 'node:https';

import { WebSocketServer, type WebSocket } from 'ws';

import { announce, tlsServerArgs } from './args.js';

const args = tlsServerArgs();
const https = createServer({ cert: args.cert, key: args.key });
const wss = new WebSocketServer({ server: https, perMessageDeflate: false, maxPayload: 1024 * 1024 });
const rooms = new Map<string, Set<WebSocket>>();
const byId = new Map<number, WebSocket>();
let nextId = 1;

wss.on('connection', (socket, request) => {
  const id = nextId++;
  const name = new URL(request.url ?? '/', 'https://localhost').searchParams.get('room') ?? '';
  let room = rooms.get(name);
  if (!room) rooms.set(name, (room = new Set()));
  room.add(socket);
  byId.set(id, socket);
  socket.send(JSON.stringify({ id }));
  socket.on('message', (data: Buffer, isBinary) => {
    if (!isBinary || data.length < 1) return;
    const count = data[0]!;
    const start = 1 + 4 * count;
    if (data.length < start) return;
    const out = Buffer.allocUnsafe(4 + data.length - start);
    out.writeUInt32BE(id, 0);
    data.copy(out, 4, start);
    if (count === 0) {
      for (const peer of room) if (peer !== socket) peer.send(out);
    } else {
      for (let i = 0; i < count; i++) byId.get(data.readUInt32BE(1 + 4 * i))?.send(out);
    }
  });
  socket.on('close', () => {
    room.delete(socket);
    byId.delete(id);
    if (room.size === 0) rooms.delete(name);
  });
  socket.on('error', () => socket.terminate());
});

https.listen(args.port, '127.0.0.1', () => {
  const address = https.address();
  announce('ws', typeof address === 'object' && address ? address.port : args.port, () => {
    for (const client of wss.clients) client.terminate();
    https.close();
  });
});
