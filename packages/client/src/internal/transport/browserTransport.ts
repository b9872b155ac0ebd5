/** PeerTransport over the browser's RTCPeerConnection. */
import { CHANNEL_LABELS, kindOfLabel, type ChannelKind } from '@backchannel/protocol';

import {
  CLOSED_CHANNEL,
  type PeerTransport,
  type PeerTransportHandlers,
  type PeerTransportOptions,
  type TransportChannel,
  type TransportState,
} from './PeerTransport.js';

class BrowserChannel implements TransportChannel {
  constructor(
    readonly kind: ChannelKind,
    readonly native: RTCDataChannel,
  ) {}

  isOpen(): boolean {
    return this.native.readyState === 'open';
  }

  send(frame: Uint8Array): boolean {
    if (this.native.readyState !== 'open') return false;
    try {
      this.native.send(frame as Uint8Array<ArrayBuffer>);
      return true;
    } catch {
      return false; // the browser's own send buffer is full, or the channel is closing
    }
  }

  bufferedAmount(): number {
    return this.native.bufferedAmount;
  }
}

export class BrowserPeerTransport implements PeerTransport {
  readonly #channels: { durable?: BrowserChannel; lossy?: BrowserChannel } = {};
  readonly #pc: RTCPeerConnection;
  #closed = false;

  constructor(options: PeerTransportOptions, handlers: PeerTransportHandlers) {
    this.#pc = new RTCPeerConnection({ iceServers: options.iceServers.map((s) => ({ ...s })) });
    this.#pc.onicecandidate = (event) => {
      if (event.candidate?.candidate) handlers.onLocalCandidate(event.candidate.candidate, event.candidate.sdpMid ?? '0');
    };
    this.#pc.onconnectionstatechange = () => handlers.onStateChange(this.#pc.connectionState as TransportState);
    const wire = (kind: ChannelKind, native: RTCDataChannel): BrowserChannel => {
      native.binaryType = 'arraybuffer';
      native.bufferedAmountLowThreshold = options.bufferedAmountLowThreshold;
      native.onopen = () => handlers.onChannelOpen(kind);
      native.onclose = () => handlers.onChannelClose(kind);
      native.onbufferedamountlow = () => handlers.onBufferedAmountLow(kind);
      native.onmessage = (event: MessageEvent) => {
        if (event.data instanceof ArrayBuffer) handlers.onMessage(kind, new Uint8Array(event.data));
      };
      return new BrowserChannel(kind, native);
    };
    if (options.role === 'offerer') {
      this.#channels.durable = wire('durable', this.#pc.createDataChannel(CHANNEL_LABELS.durable, { ordered: true }));
      this.#channels.lossy = wire('lossy', this.#pc.createDataChannel(CHANNEL_LABELS.lossy, { ordered: false, maxRetransmits: 0 }));
    } else {
      this.#pc.ondatachannel = (event) => {
        const kind = kindOfLabel(event.channel.label);
        if (!kind || this.#channels[kind]) return event.channel.close();
        this.#channels[kind] = wire(kind, event.channel);
        if (event.channel.readyState === 'open') handlers.onChannelOpen(kind);
      };
    }
  }

  get durable(): TransportChannel {
    return this.#channels.durable ?? CLOSED_CHANNEL;
  }

  get lossy(): TransportChannel {
    return this.#channels.lossy ?? CLOSED_CHANNEL;
  }

  async acceptOffer(sdp: string): Promise<string> {
    await this.#pc.setRemoteDescription({ type: 'offer', sdp });
    await this.#pc.setLocalDescription(await this.#pc.createAnswer());
    return this.#pc.localDescription?.sdp ?? '';
  }

  async createOffer(): Promise<string> {
    await this.#pc.setLocalDescription(await this.#pc.createOffer());
    return this.#pc.localDescription?.sdp ?? '';
  }

  setRemoteAnswer(sdp: string): void {
    this.#pc.setRemoteDescription({ type: 'answer', sdp }).catch(() => {
      // A bad answer leaves the connection unconnected; the join timeout reports it.
    });
  }

  addRemoteCandidate(candidate: string, mid: string): void {
    this.#pc.addIceCandidate({ candidate, sdpMid: mid }).catch(() => {
      // Same as libdatachannel: one unusable candidate does not fail ICE.
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#channels.durable?.native.close();
    this.#channels.lossy?.native.close();
    this.#pc.close();
  }
}
