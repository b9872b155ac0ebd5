/**
 * A participant of the `ws` relay (bench/servers/wsServer.ts) over TLS. The relay's framing, the least a
 * developer would write on `ws`:
 *
 *   on connect   the server sends a text message `{"id": n}`: this client's address
 *   client → server  uint8 count, count × uint32 recipient ids (0: everyone else in the room), payload
 *   server → client  uint32 sender id, payload
 */
import { WebSocket } from 'ws';

import { JOIN_TIMEOUT_MS, withTimeout, type Participant, type ParticipantHooks } from './participant.js';

/** Bytes the server puts before the payload (the sender id). */
export const WS_DELIVER_HEADER_BYTES = 4;

export async function joinWs(url: string, room: string, key: string, hooks: ParticipantHooks): Promise<Participant> {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/?room=${encodeURIComponent(room)}`, { perMessageDeflate: false });
  try {
    const address = await withTimeout(
      new Promise<string>((resolve, reject) => {
        socket.once('message', (data, isBinary) => {
          if (isBinary) reject(new Error('expected the welcome text first'));
          else resolve(String((JSON.parse(String(data)) as { id: number }).id));
        });
        socket.once('error', reject);
      }),
      JOIN_TIMEOUT_MS,
      `ws connect of ${key}`,
    );
    socket.on('message', (data: Buffer, isBinary) => {
      if (isBinary) hooks.onPayload(data.subarray(WS_DELIVER_HEADER_BYTES));
    });
    socket.on('error', () => undefined); // a reset during teardown; sends report refusals
    let closed = false;
    return {
      key,
      address,
      send(payload, to) {
        if (socket.readyState !== WebSocket.OPEN) return hooks.onRefused();
        const ids = to ?? [];
        const frame = Buffer.allocUnsafe(1 + 4 * ids.length + payload.byteLength);
        frame[0] = ids.length;
        ids.forEach((id, i) => frame.writeUInt32BE(Number(id), 1 + 4 * i));
        frame.set(payload, 1 + 4 * ids.length);
        socket.send(frame);
      },
      close() {
        if (closed || socket.readyState === WebSocket.CLOSED) return Promise.resolve();
        closed = true;
        return new Promise<void>((resolve) => {
          // The closing handshake needs the server; without an answer the socket is cut after a second.
          const timer = setTimeout(() => socket.terminate(), 1000);
          socket.once('close', () => (clearTimeout(timer), resolve()));
          socket.close();
        });
      },
    };
  } catch (error) {
    socket.terminate();
    throw error;
  }
}
