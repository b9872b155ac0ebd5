/**
 * Platform bindings for Node: node-datachannel for WebRTC, `ws` for the signaling socket. Both are optional
 * peer dependencies of the SDK (a browser app installs no native binary), so they are loaded on first use,
 * and a missing one is reported by name.
 */
import { CallErrorCode, MAX_SIGNALING_MESSAGE_BYTES } from '@backchannel/protocol';

import { CallError } from '../../errors.js';
import type { SignalingSocket } from '../signaling/SignalingSocket.js';
import type { Platform } from './Platform.js';


let loading: Promise<Platform> | undefined;

export function loadPlatform(): Promise<Platform> {
  return (loading ??= load().catch((error: unknown) => {
    loading = undefined; // installed later (a REPL, say): try again next time
    throw error;
  }));
}

async function load(): Promise<Platform> {
  const [transport, ws] = await Promise.all([
    importPeer('node-datachannel', () => import('../transport/nodeTransport.js')),
    importPeer('ws', () => import('ws')),
  ]);
  const platform: Platform = {
    createPeerTransport: (options, handlers) => new transport.NodePeerTransport(options, handlers),
    // An explicit maxPayload: `ws` would otherwise accept 100 MiB messages.
    openSignalingSocket: (url: string): SignalingSocket => new ws.WebSocket(url, { maxPayload: MAX_SIGNALING_MESSAGE_BYTES }) as unknown as SignalingSocket,
  };
  return platform;
}

/**
 * Loads an optional peer dependency. A missing one is a CallError `PlatformUnavailable` naming the package
 * to install; one that is there but cannot load (a native binary built for another Node, say) is one too,
 * with the loader's error as its cause.
 */
export async function importPeer<T>(name: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: string }).code;
    const missing = (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((error as Error).message).includes(name);
    const message = missing
      ? `@backchannel/client needs the package '${name}' in Node: npm install ${name}`
      : `@backchannel/client could not load the package '${name}': ${error instanceof Error ? error.message : String(error)}`;
    throw new CallError(CallErrorCode.PlatformUnavailable, message, { cause: error });
  }
}
