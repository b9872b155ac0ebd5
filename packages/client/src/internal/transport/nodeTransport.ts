/**
 * PeerTransport over node-datachannel (libdatachannel). Node only.
 *
 * node-datachannel closes a native channel when its JavaScript object is garbage collected, so this class
 * holds every channel it creates for the life of the connection.
 */
import nodeDataChannel, { type DataChannel, type PeerConnection } from 'node-datachannel';

import { acquireRtcRuntime, releaseRtcRuntime, toLibDataChannelIceServers } from '@backchannel/node-rtc';
import { CHANNEL_LABELS, kindOfLabel, type ChannelKind } from '@backchannel/protocol';
import {
  CLOSED_CHANNEL,
  TransportError,
  type PeerTransport,
  type PeerTransportHandlers,
  type PeerTransportOptions,
  type TransportChannel,
  type TransportState,
} from './PeerTransport.js';

class NodeChannel implements TransportChannel {
  constructor(
    readonly kind: ChannelKind,
    readonly native: DataChannel,
  ) {}

  isOpen(): boolean {
    try {
      return this.native.isOpen();
    } catch {
      return false;
    }
  }

  send(frame: Uint8Array): boolean {
    try {
      // libdatachannel returns false when it buffered the message rather than sending it at once: still
      // accepted. Only a throw (channel closed) means refused.
      this.native.sendMessageBinary(frame);
      return true;
    } catch {
      return false; // closed underneath us: the close callback reports it
    }
  }

  bufferedAmount(): number {
    try {
      return this.native.bufferedAmount();
    } catch {
      return 0;
    }
  }
}

export class NodePeerTransport implements PeerTransport {
  readonly #channels: { durable?: NodeChannel; lossy?: NodeChannel } = {};
  readonly #refused = new Set<DataChannel>();
  readonly #pc: PeerConnection;
  readonly #handlers: PeerTransportHandlers;
  readonly #options: PeerTransportOptions;
  /** The pending local description: the offer (offerer) or the answer (answerer). */
  #pending: { resolve: (sdp: string) => void; reject: (error: Error) => void } | undefined;
  #offerSdp: string | undefined;
  #closed = false;

  constructor(options: PeerTransportOptions, handlers: PeerTransportHandlers) {
    this.#handlers = handlers;
    this.#pc = new nodeDataChannel.PeerConnection('backchannel-client', {
      iceServers: options.iceServers.flatMap(toLibDataChannelIceServers),
    });
    acquireRtcRuntime(); // only once the connection exists: a refused configuration throws above
    this.#options = options;
    this.#pc.onLocalDescription((sdp, type) => {
      // Candidates travel only through onLocalCandidate, which the call holds until the remote description
      // is applied (see Call): a description must not carry any that libdatachannel gathered meanwhile.
      const clean = withoutCandidates(sdp);
      if (type === 'offer') this.#offerSdp = clean;
      this.#pending?.resolve(clean);
      this.#pending = undefined;
    });
    this.#pc.onLocalCandidate((candidate, mid) => handlers.onLocalCandidate(candidate, mid));
    this.#pc.onStateChange((state) => handlers.onStateChange(state as TransportState));
    if (options.role === 'offerer') {
      // Creating the first channel starts negotiation: onLocalDescription fires with the offer.
      this.#channels.durable = this.#wire('durable', this.#pc.createDataChannel(CHANNEL_LABELS.durable));
      this.#channels.lossy = this.#wire('lossy', this.#pc.createDataChannel(CHANNEL_LABELS.lossy, { unordered: true, maxRetransmits: 0 }));
    } else {
      this.#pc.onDataChannel((native) => {
        const kind = kindOfLabel(native.getLabel());
        if (!kind || this.#channels[kind]) {
          // Held until closed: node-datachannel forgets a channel only through onClosed (see ServerPeer).
          this.#refused.add(native);
          native.onClosed(() => this.#refused.delete(native));
          return native.close();
        }
        this.#channels[kind] = this.#wire(kind, native);
        handlers.onChannelOpen(kind); // channels announced by the offerer are already open
      });
    }
  }

  get durable(): TransportChannel {
    return this.#channels.durable ?? CLOSED_CHANNEL;
  }

  get lossy(): TransportChannel {
    return this.#channels.lossy ?? CLOSED_CHANNEL;
  }

  createOffer(): Promise<string> {
    if (this.#offerSdp !== undefined) return Promise.resolve(this.#offerSdp);
    return this.#nextLocalDescription();
  }

  /** Throws a TransportError for an answer libdatachannel refuses (bad SDP, wrong state). */
  setRemoteAnswer(sdp: string): void {
    try {
      this.#pc.setRemoteDescription(sdp, 'answer');
    } catch (error) {
      throw new TransportError(`the remote answer was refused: ${String(error)}`);
    }
  }

  acceptOffer(sdp: string): Promise<string> {
    const answer = this.#nextLocalDescription();
    try {
      this.#pc.setRemoteDescription(sdp, 'offer'); // libdatachannel answers by itself: onLocalDescription
    } catch (error) {
      this.#pending?.reject(new TransportError(`the remote offer was refused: ${String(error)}`));
      this.#pending = undefined;
    }
    return answer;
  }

  #nextLocalDescription(): Promise<string> {
    this.#pending?.reject(new TransportError('superseded by a newer description'));
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
    });
  }

  addRemoteCandidate(candidate: string, mid: string): void {
    try {
      this.#pc.addRemoteCandidate(candidate, mid);
    } catch {
      // A candidate the library cannot parse is useless, not fatal: ICE goes on with the others.
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending?.reject(new TransportError('transport closed'));
    this.#pending = undefined;
    try {
      this.#channels.durable?.native.close();
      this.#channels.lossy?.native.close();
      this.#pc.close();
    } finally {
      releaseRtcRuntime();
    }
  }

  #wire(kind: ChannelKind, native: DataChannel): NodeChannel {
    const channel = new NodeChannel(kind, native);
    native.setBufferedAmountLowThreshold(this.#options.bufferedAmountLowThreshold);
    native.onOpen(() => this.#handlers.onChannelOpen(kind));
    native.onClosed(() => this.#handlers.onChannelClose(kind));
    native.onBufferedAmountLow(() => this.#handlers.onBufferedAmountLow(kind));
    native.onMessage((message) => {
      // Text is not part of the protocol: ignored.
      if (typeof message === 'string') return;
      // A plain Uint8Array view (no copy): applications get the same type in Node as in browsers, not a Buffer
      // whose slice() shares memory where Uint8Array's copies.
      this.#handlers.onMessage(kind, message instanceof ArrayBuffer ? new Uint8Array(message) : new Uint8Array(message.buffer, message.byteOffset, message.byteLength));
    });
    return channel;
  }
}

function withoutCandidates(sdp: string): string {
  return sdp
    .split(/\r?\n/)
    .filter((line) => !line.startsWith('a=candidate:') && line !== 'a=end-of-candidates')
    .join('\r\n');
}
