/** Platform bindings for browsers: the native RTCPeerConnection and WebSocket. */
import { BrowserPeerTransport } from '../transport/browserTransport.js';
import type { CreatePeerTransport } from '../transport/PeerTransport.js';
import type { SignalingSocket } from '../signaling/SignalingSocket.js';

export const createPeerTransport: CreatePeerTransport = (options, handlers) => new BrowserPeerTransport(options, handlers);

export function openSignalingSocket(url: string): SignalingSocket {
  return new WebSocket(url) as unknown as SignalingSocket;
}
