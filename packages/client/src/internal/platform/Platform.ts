/**
 * What the SDK needs from its environment: a peer connection and a WebSocket. The `#platform` import
 * (package.json `imports`, condition `browser`, else Node) picks `browser.ts` or `node.ts`; everything
 * above this interface is the same code on both (pion's one API over two backends).
 */
import type { CreatePeerTransport } from '../transport/PeerTransport.js';
import type { SignalingSocket } from '../signaling/SignalingSocket.js';

export interface Platform {
  readonly createPeerTransport: CreatePeerTransport;
  openSignalingSocket(url: string): SignalingSocket;
}
