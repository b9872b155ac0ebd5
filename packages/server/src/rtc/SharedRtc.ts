/**
 * What every peer connection of one server shares, made once at start and held until close: the DTLS
 * certificate (see certificate.ts) and, with the UDP mux (the default), the one UDP port all of them use.
 *
 * The mux is libjuice's: one socket, one thread, agents told apart by their ICE username. libjuice keeps
 * the mux's socket only while an agent or a listener uses it, so an idle server would give the port back
 * and could find it taken at the next join; the listener held here keeps it for the server's life. The
 * listener also takes the binding requests no live agent claims (a client still checking a connection the
 * server has closed): they are counted and otherwise ignored, as an unknown username is.
 */
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';

import { acquireRtcRuntime, releaseRtcRuntime } from '@backchannel/node-rtc';
import nodeDataChannel, { type IceUdpMuxListener, type RtcConfig } from 'node-datachannel';

import type { ServerConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { generateRtcCertificate, loadRtcCertificate, type RtcCertificate } from './certificate.js';

/** Free ports tried when the mux port is chosen at start and the chosen one is taken before it is bound. */
const PORT_ATTEMPTS = 8;

/** The RTC settings of one server (see the module comment). */
export class SharedRtc {
  readonly certificate: RtcCertificate;
  /** The mux's UDP port, or undefined without the mux (each connection has its own port then). */
  readonly udpPort: number | undefined;
  readonly #config: Readonly<RtcConfig>;
  #listener: IceUdpMuxListener | undefined;
  #unclaimedBindingRequests = 0;

  private constructor(certificate: RtcCertificate, listener: IceUdpMuxListener | undefined, udpPort: number | undefined, rtc: Pick<ServerConfig, 'rtcBindAddress' | 'rtcPortRangeBegin' | 'rtcPortRangeEnd'>) {
    this.certificate = certificate;
    this.udpPort = udpPort;
    this.#listener = listener;
    listener?.onUnhandledStunRequest(() => this.#unclaimedBindingRequests++);
    const ports =
      udpPort !== undefined
        ? { enableIceUdpMux: true, portRangeBegin: udpPort, portRangeEnd: udpPort } // the mux's registry is found by its port
        : rtc.rtcPortRangeBegin
          ? { portRangeBegin: rtc.rtcPortRangeBegin, portRangeEnd: rtc.rtcPortRangeEnd }
          : {};
    this.#config = Object.freeze({
      iceServers: [],
      ...(rtc.rtcBindAddress ? { bindAddress: rtc.rtcBindAddress } : {}),
      ...ports,
      // PEM text, not file names: libdatachannel reads text that holds a certificate's BEGIN marker as the
      // certificate itself (impl/peerconnection.cpp), so the key never has to be written to disk.
      certificatePemFile: certificate.certPem,
      keyPemFile: certificate.keyPem,
    });
  }

  /**
   * The certificate (read from `rtcCertFile`/`rtcKeyFile`, else generated) and, with `rtcUdpMux`, the mux
   * port bound (`rtcPort`, else a free one, within the port range if one is set). Throws
   * {@link ConfigError} for unreadable or mismatched certificate files, or a port that cannot be bound.
   */
  static async open(config: ServerConfig): Promise<SharedRtc> {
    const certificate =
      config.rtcCertFile && config.rtcKeyFile ? await loadRtcCertificate(config.rtcCertFile, config.rtcKeyFile) : generateRtcCertificate();
    if (!config.rtcUdpMux) return new SharedRtc(certificate, undefined, undefined, config);
    const { listener, port } = await bindMux(config);
    acquireRtcRuntime('other'); // the listener is native state of the runtime: it must not be cleaned up under it
    return new SharedRtc(certificate, listener, port, config);
  }

  /** The configuration of a new peer connection, for its `maxMessageSize`. */
  peerConnectionConfig(maxMessageSize: number): RtcConfig {
    return { ...this.#config, maxMessageSize };
  }

  /** Binding requests on the mux port that no live connection claimed, since start. */
  get unclaimedBindingRequests(): number {
    return this.#unclaimedBindingRequests;
  }

  /** Gives the port back (after the peer connections have closed). Idempotent. */
  close(): void {
    const listener = this.#listener;
    if (!listener) return;
    this.#listener = undefined;
    try {
      listener.stop();
    } finally {
      releaseRtcRuntime('other');
    }
  }
}

async function bindMux(config: ServerConfig): Promise<{ listener: IceUdpMuxListener; port: number }> {
  const address = config.rtcBindAddress;
  const listen = (port: number): IceUdpMuxListener =>
    address ? new nodeDataChannel.IceUdpMuxListener(port, address) : new nodeDataChannel.IceUdpMuxListener(port);
  if (config.rtcPort) {
    if (!(await udpPortFree(config.rtcPort, address))) throw new ConfigError('rtcPort', config.rtcPort, 'the UDP port is in use');
    try {
      return { listener: listen(config.rtcPort), port: config.rtcPort };
    } catch (error) {
      throw new ConfigError('rtcPort', config.rtcPort, `cannot bind the UDP port: ${(error as Error).message}`);
    }
  }
  // libjuice finds a mux by its port, and one bound to port 0 would match any other server's in this
  // process: the port is chosen here, then bound by libjuice (another process may take it in between:
  // then the next free one).
  const range = config.rtcPortRangeBegin ? { begin: config.rtcPortRangeBegin, end: config.rtcPortRangeEnd } : undefined;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = range ? await firstFreeInRange(range.begin, range.end, address) : await anyFreeUdpPort(address);
    if (port === undefined) break;
    try {
      return { listener: listen(port), port };
    } catch {
      // taken meanwhile: try again
    }
  }
  throw new ConfigError(range ? 'rtcPortRangeBegin' : 'rtcPort', range?.begin ?? 0, 'found no free UDP port for the ICE mux');
}

function probe(port: number, address: string | undefined): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(address && isIPv6(address) ? 'udp6' : 'udp4');
    socket.once('error', () => {
      socket.close();
      resolve(undefined);
    });
    socket.bind(port, address, () => {
      const bound = socket.address().port;
      socket.close(() => resolve(bound));
    });
  });
}

const anyFreeUdpPort = (address: string | undefined): Promise<number | undefined> => probe(0, address);
const udpPortFree = async (port: number, address: string | undefined): Promise<boolean> => (await probe(port, address)) === port;

async function firstFreeInRange(begin: number, end: number, address: string | undefined): Promise<number | undefined> {
  for (let port = begin; port <= end; port++) if (await udpPortFree(port, address)) return port;
  return undefined;
}
