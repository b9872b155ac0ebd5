/** Platform bindings for Node: node-datachannel for WebRTC, `ws` for the signaling socket. */
import { WebSocket } from 'ws';

import { NodePeerTransport } from '../transport/nodeTransport.js';
import type { CreatePeerTransport } from '../transport/PeerTransport.js';
import type { SignalingSocket } from '../signaling/SignalingSocket.js';

export const createPeerTransport: CreatePeerTransport = (options, handlers) => new NodePeerTransport(options, handlers);

export function openSignalingSocket(url: string): SignalingSocket {
  return new WebSocket(url, { maxPayload: 1024 * 1024 }) as unknown as SignalingSocket;
}
