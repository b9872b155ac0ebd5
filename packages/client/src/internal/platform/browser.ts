/** Platform bindings for browsers: the native RTCPeerConnection and WebSocket. */
import { BrowserPeerTransport } from '../transport/browserTransport.js';
import type { SignalingSocket } from '../signaling/SignalingSocket.js';
import type { Platform } from './Platform.js';

const browserPlatform: Platform = {
  createPeerTransport: (options, handlers) => new BrowserPeerTransport(options, handlers),
  openSignalingSocket: (url: string): SignalingSocket => new WebSocket(url) as unknown as SignalingSocket,
};

export function loadPlatform(): Promise<Platform> {
  return Promise.resolve(browserPlatform);
}
