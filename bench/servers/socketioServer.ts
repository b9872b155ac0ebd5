/**
 * The Socket.IO peer: a rooms server over HTTPS, as its documentation shows it, websocket transport only.
 * `join(room, ack)` puts the socket in the room and answers its id; `m(to, payload)` goes to the listed
 * socket ids, or to everyone else in the sender's room when `to` is null, stamped with the sender's id
 * (the server, not the client, says who sent a message, as Backchannel's does).
 */
import { createServer } from 'node:https';

import { Server } from 'socket.io';

import { announce, tlsServerArgs } from './args.js';

const args = tlsServerArgs();
const https = createServer({ cert: args.cert, key: args.key });
const io = new Server(https, { transports: ['websocket'], serveClient: false, maxHttpBufferSize: 1024 * 1024 });

io.on('connection', (socket) => {
  let room: string | undefined;
  socket.on('join', (name: string, ack: (id: string) => void) => {
    room = name;
    void socket.join(name);
    ack(socket.id);
  });
  socket.on('m', (to: string[] | null, payload: Buffer) => {
    if (to) io.to(to).emit('m', socket.id, payload);
    else if (room !== undefined) socket.to(room).emit('m', socket.id, payload);
  });
});

https.listen(args.port, '127.0.0.1', () => {
  const address = https.address();
  announce('Socket.IO', typeof address === 'object' && address ? address.port : args.port, () => {
    io.disconnectSockets(true);
    https.close();
  });
});
