/**
 * The one interface the SDK needs from WebRTC: a peer connection carrying the call's two data channels.
 * Implemented over node-datachannel in Node (`nodeTransport.ts`) and over the browser's RTCPeerConnection
 * (`browserTransport.ts`); everything above this file is the same code on both.
 */

/** Which of the two SCTP channels: reliable and ordered, or unordered without retransmissions. */
export type ChannelKind = 'durable' | 'lossy';

export const CHANNEL_LABELS: Readonly<Record<ChannelKind, string>> = { durable: 'backchannel-durable', lossy: 'backchannel-lossy' };

export type TransportState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** One SCTP data channel. */
export interface TransportChannel {
  readonly kind: ChannelKind;
  isOpen(): boolean;
  /** Queues `frame`; false when the channel is not open or refused it. Never throws. */
  send(frame: Uint8Array): boolean;
  /** Bytes queued in the channel and not yet handed to the network. */
  bufferedAmount(): number;
}

export interface PeerTransportHandlers {
  onLocalCandidate(candidate: string, mid: string): void;
  onStateChange(state: TransportState): void;
  onChannelOpen(kind: ChannelKind): void;
  onChannelClose(kind: ChannelKind): void;
  onMessage(kind: ChannelKind, frame: Uint8Array): void;
  /** The channel's buffered amount fell to or below its low watermark. */
  onBufferedAmountLow(kind: ChannelKind): void;
}

export interface PeerTransportOptions {
  iceServers: readonly IceServer[];
  /** Buffered amount at which `onBufferedAmountLow` fires. */
  bufferedAmountLowThreshold: number;
}

/** A client's peer connection: it offers, the other side answers. */
export interface PeerTransport {
  readonly durable: TransportChannel;
  readonly lossy: TransportChannel;
  /** Creates both channels and resolves with the SDP offer. */
  createOffer(): Promise<string>;
  setRemoteAnswer(sdp: string): void;
  addRemoteCandidate(candidate: string, mid: string): void;
  close(): void;
}

export type CreatePeerTransport = (options: PeerTransportOptions, handlers: PeerTransportHandlers) => PeerTransport;
