/**
 * A participant of the node-datachannel relay (bench/servers/relayServer.ts): signaling over a `ws` socket
 * over TLS, data over one reliable, ordered data channel to the relay. As in Backchannel's SDK and the raw
 * peers, the client offers and holds its ICE candidates until the answer is applied.
 *
 * Framing on the data channel is the ws relay's (wsParticipant.ts):
 *   client → relay  uint8 count, count × uint32 recipient ids (0: everyone else in the room), payload
 *   relay → client  uint32 sender id, payload
 */
import { acquireRtcRuntime, releaseRtcRuntime } from '@backchannel/node-rtc';
import nodeDataChannel, { type DataChannel } from 'node-datachannel';
import { WebSocket } from 'ws';

import { JOIN_TIMEOUT_MS, withTimeout, type Participant, type ParticipantHooks } from './participant.js';
import { WS_DELIVER_HEADER_BYTES } from './wsParticipant.js';

export async function joinRelay(url: string, room: string, key: string, hooks: ParticipantHooks): Promise<Participant> {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/?room=${encodeURIComponent(room)}`, { perMessageDeflate: false });
  acquireRtcRuntime();
  const pc = new nodeDataChannel.PeerConnection(`relay-client-${key}`, { iceServers: [] });
  let channel: DataChannel | undefined;
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    try {
      channel?.close();
      pc.close();
    } finally {
      releaseRtcRuntime();
      socket.terminate();
    }
  };
  try {
    const signal = (body: object): void => socket.send(JSON.stringify(body));
    let answered = false;
    const held: object[] = [];
    const welcomed = new Promise<string>((resolve, reject) => {
      socket.on('message', (data, isBinary) => {
        if (isBinary) return;
        const body = JSON.parse(String(data)) as { id?: number; sdp?: string; kind?: string; candidate?: string; mid?: string };
        if (body.id !== undefined) return resolve(String(body.id));
        if (body.sdp !== undefined) {
          pc.setRemoteDescription(body.sdp, body.kind as 'answer');
          answered = true;
          for (const candidate of held.splice(0)) signal(candidate);
        } else if (body.candidate !== undefined) {
          try {
            pc.addRemoteCandidate(body.candidate, body.mid ?? '0');
          } catch {
            // an unparsable candidate: ICE goes on with the others
          }
        }
      });
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('the relay closed the signaling socket')));
    });
    await withTimeout(new Promise<void>((resolve, reject) => (socket.once('open', resolve), socket.once('error', reject))), JOIN_TIMEOUT_MS, `relay connect of ${key}`);
    // The handlers first: creating the channel makes the offer at once.
    pc.onLocalDescription((sdp, kind) => signal({ sdp, kind }));
    pc.onLocalCandidate((candidate, mid) => (answered ? signal({ candidate, mid }) : held.push({ candidate, mid })));
    const open = pc.createDataChannel('relay');
    channel = open;
    const opened = new Promise<void>((resolve) => open.onOpen(resolve));
    const [address] = await withTimeout(Promise.all([welcomed, opened]), JOIN_TIMEOUT_MS, `relay join of ${key}`);
    open.onMessage((message) => {
      if (typeof message === 'string') return;
      const bytes = message instanceof ArrayBuffer ? new Uint8Array(message) : message;
      hooks.onPayload(bytes.subarray(WS_DELIVER_HEADER_BYTES));
    });
    socket.on('error', () => undefined); // a reset during teardown; sends report refusals
    return {
      key,
      address,
      send(payload, to) {
        if (closed || !open.isOpen()) return hooks.onRefused();
        const ids = to ?? [];
        const frame = Buffer.allocUnsafe(1 + 4 * ids.length + payload.byteLength);
        frame[0] = ids.length;
        ids.forEach((id, i) => frame.writeUInt32BE(Number(id), 1 + 4 * i));
        frame.set(payload, 1 + 4 * ids.length);
        try {
          open.sendMessageBinary(frame);
        } catch {
          hooks.onRefused();
        }
      },
      close() {
        close();
        return Promise.resolve();
      },
    };
  } catch (error) {
    close();
    throw error;
  }
}
