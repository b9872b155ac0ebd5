/**
 * The one interface the SDK needs from WebRTC: a peer connection carrying the call's two data channels.
 * Implemented over node-datachannel in Node (`nodeTransport.ts`) and over the browser's RTCPeerConnection
 * (`browserTransport.ts`); everything above this file is the same code on both.
 */

import { CallErrorCode, type ChannelKind, type IceServerConfig } from '@backchannel/protocol';

import { CallError } from '../../errors.js';

export type TransportState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

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
  /**
   * The offerer creates the two channels and the offer (a client toward the server, the caller of a 1:1
   * call); the answerer takes the offer and receives the channels (the callee of a 1:1 call).
   */
  role: 'offerer' | 'answerer';
  iceServers: readonly IceServerConfig[];
  /** Buffered amount at which `onBufferedAmountLow` fires. */
  bufferedAmountLowThreshold: number;
}

/** A peer connection carrying the two channels. */
export interface PeerTransport {
  /** The channels; closed placeholders until they exist (an answerer receives them from the offerer). */
  readonly durable: TransportChannel;
  readonly lossy: TransportChannel;
  /** Offerer: resolves with the SDP offer (the channels are created at construction). */
  createOffer(): Promise<string>;
  /** Throws TransportError if the answer is refused. */
  setRemoteAnswer(sdp: string): void;
  /** Answerer: applies the offer and resolves with the SDP answer. */
  acceptOffer(sdp: string): Promise<string>;
  addRemoteCandidate(candidate: string, mid: string): void;
  close(): void;
}

export type CreatePeerTransport = (options: PeerTransportOptions, handlers: PeerTransportHandlers) => PeerTransport;

/** The peer connection refused something (a description, a configuration). */
export class TransportError extends CallError {
  override readonly name: string = 'TransportError';

  constructor(message: string) {
    super(CallErrorCode.TransportFailed, message);
  }
}

/** What a channel that does not exist (yet, or any more) answers. */
export const CLOSED_CHANNEL: TransportChannel = Object.freeze({
  kind: 'durable' as const,
  isOpen: () => false,
  send: () => false,
  bufferedAmount: () => 0,
});
