/** ICE servers in libdatachannel's syntax. */
import type { IceServerConfig } from '@backchannel/protocol';

/**
 * libdatachannel takes ICE servers as URLs with credentials inline ("turn:user:pass@host:port"), where the
 * W3C shape keeps them apart.
 */
export function toLibDataChannelIceServers(server: IceServerConfig): string[] {
  const urls = Array.isArray(server.urls) ? server.urls : [server.urls];
  return urls.map((url) => {
    if (!server.username || !/^turns?:/.test(url) || url.includes('@')) return url;
    const [scheme, rest] = [url.slice(0, url.indexOf(':')), url.slice(url.indexOf(':') + 1)];
    return `${scheme}:${encodeURIComponent(server.username)}:${encodeURIComponent(server.credential ?? '')}@${rest}`;
  });
}
