/**
 * A Socket.IO participant: the websocket transport over TLS (no long-polling start, the fastest setup
 * Socket.IO offers), one room per call, binary payloads as event arguments.
 *
 * Wire contract with bench/servers/socketioServer.ts: emit `join(room, ack)` answered with the socket id;
 * emit `m(to | null, payload)`; receive `m(fromSocketId, payload)`.
 */
import { io } from 'socket.io-client';

import { JOIN_TIMEOUT_MS, withTimeout, type Participant, type ParticipantHooks } from './participant.js';

export async function joinSocketIo(url: string, room: string, key: string, hooks: ParticipantHooks): Promise<Participant> {
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: JOIN_TIMEOUT_MS });
  socket.on('m', (_from: string, payload: Buffer) => hooks.onPayload(payload));
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      }),
      JOIN_TIMEOUT_MS,
      `Socket.IO connect of ${key}`,
    );
    const address = (await socket.timeout(JOIN_TIMEOUT_MS).emitWithAck('join', room)) as string;
    let closed = false;
    return {
      key,
      address,
      send(payload, to) {
        if (!socket.connected) return hooks.onRefused();
        socket.emit('m', to ?? null, payload);
      },
      close() {
        if (!closed) {
          closed = true;
          socket.disconnect();
        }
        return Promise.resolve();
      },
    };
  } catch (error) {
    socket.disconnect();
    throw error;
  }
}
