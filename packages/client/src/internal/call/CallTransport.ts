/**
 * A call's data link: the peer connection (to the server in a group call, to the other party in a 1:1
 * call), its two channels and their state, and the candidate gate. It reports up through the handlers it
 * was created with; the call decides what a lost transport means.
 */
import { BUFFERED_LOW_WATERMARK } from '../dataChannel/DataLink.js';
import { REMOTE_PEER_ENDPOINT_ID } from '../p2p/peerFrames.js';
import type { Platform } from '../platform/Platform.js';
import type { PeerTransport, TransportChannel } from '../transport/PeerTransport.js';
import type { ChannelKind, IceServerConfig } from '@backchannel/protocol';
import { CandidateGate } from './CandidateGate.js';

export { REMOTE_PEER_ENDPOINT_ID };

export interface CallTransportOptions {
  role: 'offerer' | 'answerer';
  iceServers: IceServerConfig[];
  /** Where local candidates go once the gate opens. */
  sendCandidate(candidate: string, mid: string): void;
}

export interface CallTransportHandlers {
  /** Both channels are open. */
  onOpen(): void;
  /**
   * The peer connection failed or closed (`'connection'`), or a channel closed after both were open
   * (`'channel'`).
   */
  onLost(message: string, what: 'connection' | 'channel'): void;
  /** A frame as it arrived, on the channel it arrived on. */
  onFrame(kind: ChannelKind, frame: Uint8Array): void;
  onBufferedAmountLow(): void;
}

export class CallTransport {
  readonly #peer: PeerTransport;
  readonly #gate: CandidateGate;
  readonly #open = new Set<ChannelKind>();
  #wasOpen = false;

  constructor(platform: Platform, options: CallTransportOptions, handlers: CallTransportHandlers) {
    this.#gate = new CandidateGate(options.sendCandidate);
    this.#peer = platform.createPeerTransport(
      { role: options.role, iceServers: options.iceServers, bufferedAmountLowThreshold: BUFFERED_LOW_WATERMARK },
      {
        onLocalCandidate: (candidate, mid) => this.#gate.offer(candidate, mid),
        onStateChange: (state) => {
          if (state === 'failed' || state === 'closed') this.#lost(`peer connection ${state}`, 'connection', handlers);
        },
        onChannelOpen: (kind) => {
          this.#open.add(kind);
          if (this.isOpen) {
            this.#wasOpen = true;
            handlers.onOpen();
          }
        },
        onChannelClose: (kind) => {
          this.#open.delete(kind);
          if (this.#wasOpen) this.#lost(`the ${kind} data channel closed`, 'channel', handlers);
        },
        onMessage: (kind, frame) => handlers.onFrame(kind, frame),
        onBufferedAmountLow: () => handlers.onBufferedAmountLow(),
      },
    );
  }

  /** Both channels are open. */
  get isOpen(): boolean {
    return this.#open.size === 2;
  }

  /** The channel (a closed placeholder until it exists); its own send refuses once it has closed. */
  channel(kind: ChannelKind): TransportChannel {
    return this.#peer[kind];
  }

  /** Offerer: the SDP offer. */
  createOffer(): Promise<string> {
    return this.#peer.createOffer();
  }

  /** Offerer: applies the answer and opens the candidate gate. Throws TransportError if refused. */
  applyAnswer(sdp: string): void {
    this.#peer.setRemoteAnswer(sdp);
    this.#gate.open();
  }

  /** Answerer: applies the offer; resolves with the answer (send it, then open the candidate gate). */
  answer(offerSdp: string): Promise<string> {
    return this.#peer.acceptOffer(offerSdp);
  }

  /** Answerer: the answer has gone out; local candidates may follow it. */
  openCandidateGate(): void {
    this.#gate.open();
  }

  addRemoteCandidate(candidate: string, mid: string): void {
    this.#peer.addRemoteCandidate(candidate, mid);
  }

  close(): void {
    this.#open.clear();
    this.#peer.close();
  }

  #lost(message: string, what: 'connection' | 'channel', handlers: CallTransportHandlers): void {
    this.#open.clear();
    handlers.onLost(message, what);
  }
}
