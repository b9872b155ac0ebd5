/**
 * The server's end of one endpoint's peer connection (node-datachannel, answering the client's offer).
 * It accepts exactly the two data channels the protocol defines and hands their frames to its owner.
 *
 * node-datachannel closes a channel whose JavaScript object is collected, so the channels are held here.
 */
import { acquireRtcRuntime, releaseRtcRuntime } from '@backchannel/node-rtc';
import { CallErrorCode, kindOfLabel, type ChannelKind } from '@backchannel/protocol';
import nodeDataChannel, { type DataChannel, type PeerConnection, type RtcConfig } from 'node-datachannel';

import { JoinError } from '../errors.js';
import { RemoteCandidateHold } from './RemoteCandidateHold.js';

/** Unexpected data channels a client may open before the server drops its connection. */
const MAX_REFUSED_CHANNELS = 16;

/**
 * What became of a frame handed to {@link ServerPeer.send}: on its way, dropped because the receiver is too
 * far behind, or dropped because the channel is not (or no longer) open.
 */
export type SendResult = 'sent' | 'slow' | 'closed';

export interface ServerPeerHandlers {
  onAnswer(sdp: string): void;
  onCandidate(candidate: string, mid: string): void;
  /** Both channels are open. */
  onReady(): void;
  /**
   * The connection failed or closed, or a channel closed ('lost': the network, or the client, let it go), or
   * the server gave up on a client that broke the protocol ('refused').
   */
  onGone(reason: string, cause: 'lost' | 'refused'): void;
  onFrame(kind: ChannelKind, frame: Uint8Array): void;
  /** A text message or an unexpected channel: counted as malformed input. */
  onProtocolViolation(what: string): void;
}

export interface ServerPeerOptions {
  /**
   * The peer connection's configuration: the server's shared certificate, its bind address and its UDP
   * mux port or port range (SharedRtc), and the SCTP message size the connection accepts.
   */
  rtcConfig: RtcConfig;
  /**
   * Bytes allowed to queue on the Lossy channel toward the client before {@link ServerPeer.send} drops
   * copies. The Durable bound is on what the endpoint's link keeps (EndpointLink), which includes all that
   * is queued here; `durable` is that bound.
   */
  sendBufferBytes: { readonly durable: number; readonly lossy: number };
}

/** The server's answering end of one endpoint's peer connection (see the module comment). */
export class ServerPeer {
  readonly #pc: PeerConnection;
  readonly #handlers: ServerPeerHandlers;
  readonly #sendBufferBytes: ServerPeerOptions['sendBufferBytes'];
  readonly #channels = new Map<ChannelKind, DataChannel>();
  /** Refused channels, held until node-datachannel reports them closed (see #refuse). */
  readonly #refused = new Set<DataChannel>();
  #refusedCount = 0;
  /** The client's candidates, held until this end's ICE connects (see RemoteCandidateHold). */
  readonly #candidates: RemoteCandidateHold;
  #offered = false;
  #closed = false;

  constructor(name: string, options: ServerPeerOptions, handlers: ServerPeerHandlers) {
    this.#handlers = handlers;
    this.#sendBufferBytes = options.sendBufferBytes;
    this.#pc = new nodeDataChannel.PeerConnection(name, options.rtcConfig);
    acquireRtcRuntime(); // only once the connection exists: a refused configuration throws above
    this.#candidates = new RemoteCandidateHold((candidate, mid) => {
      try {
        this.#pc.addRemoteCandidate(candidate, mid);
      } catch {
        // An unparsable candidate is ignored, as a browser would.
      }
    });
    this.#pc.onIceStateChange((state) => {
      if (state === 'connected' || state === 'completed') this.#candidates.release();
    });
    this.#pc.onLocalDescription((sdp, type) => {
      if (type === 'answer') handlers.onAnswer(sdp);
    });
    this.#pc.onLocalCandidate((candidate, mid) => handlers.onCandidate(candidate, mid));
    this.#pc.onStateChange((state) => {
      if (state === 'failed' || state === 'closed') this.#gone(`peer connection ${state}`, 'lost');
    });
    this.#pc.onDataChannel((channel) => this.#accept(channel));
  }

  /** Applies the client's offer; the answer comes back through `onAnswer`. */
  handleOffer(sdp: string): void {
    if (this.#offered) throw new JoinError(CallErrorCode.BadRequest, 'an offer was already applied');
    this.#offered = true;
    this.#pc.setRemoteDescription(sdp, 'offer');
  }

  /**
   * Takes a trickled ICE candidate of the client's (ignored before the offer, or if unparsable), applied
   * once this end's ICE has connected or at most MAX_HOLD_MS later (RemoteCandidateHold).
   */
  addCandidate(candidate: string, mid: string): void {
    if (!this.#offered || this.#closed) return; // candidates before the offer cannot be applied; the client trickles more
    this.#candidates.add(candidate, mid);
  }

  /**
   * Hands a frame to a channel toward the client. A Lossy copy is dropped when the client is too far behind
   * to take more (late Lossy data is worthless), so one slow receiver delays no one else. A Durable copy is
   * always queued: its bound is the endpoint's link, which keeps every Durable frame until the client
   * acknowledges it and refuses copies past `sendBufferBytes.durable` (EndpointLink).
   * The same bytes may be handed to many peers: libdatachannel copies them into its own queue.
   */
  send(kind: ChannelKind, frame: Uint8Array): SendResult {
    const channel = this.#channels.get(kind);
    if (!channel) return 'closed';
    try {
      if (kind === 'lossy' && channel.bufferedAmount() + frame.byteLength > this.#sendBufferBytes.lossy) return 'slow';
      // false from libdatachannel means "queued, not sent yet", not lost.
      channel.sendMessageBinary(frame);
      return 'sent';
    } catch {
      return 'closed';
    }
  }

  /** The peer connection's state ('new', 'connecting', 'connected', …; 'closed' once closed). */
  state(): string {
    if (this.#closed) return 'closed';
    try {
      return this.#pc.state();
    } catch {
      return 'closed';
    }
  }

  /** Bytes queued on a channel and not yet sent (0 without the channel). */
  bufferedAmount(kind: ChannelKind): number {
    try {
      return this.#channels.get(kind)?.bufferedAmount() ?? 0;
    } catch {
      return 0;
    }
  }

  /**
   * The largest SCTP message a channel takes toward the client (the smaller of what the two ends
   * advertised), bytes; 0 without the channel. What bounds a batch (rtc/Coalescer.ts).
   */
  maxMessageSize(kind: ChannelKind): number {
    try {
      return this.#channels.get(kind)?.maxMessageSize() ?? 0;
    } catch {
      return 0;
    }
  }

  /** Closes both channels and the connection. Idempotent; `onGone` is not called after it. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#candidates.discard();
    try {
      for (const channel of this.#channels.values()) channel.close();
      this.#pc.close();
    } finally {
      releaseRtcRuntime();
    }
  }

  #accept(channel: DataChannel): void {
    const kind = kindOfLabel(channel.getLabel());
    if (!kind || this.#channels.has(kind)) {
      this.#handlers.onProtocolViolation(`unexpected data channel '${channel.getLabel().slice(0, 64)}'`);
      this.#refuse(channel);
      return;
    }
    this.#channels.set(kind, channel);
    channel.onMessage((message) => {
      if (typeof message === 'string') this.#handlers.onProtocolViolation('text message on a data channel');
      else this.#handlers.onFrame(kind, message instanceof ArrayBuffer ? new Uint8Array(message) : message);
    });
    channel.onClosed(() => this.#gone(`${kind} channel closed`, 'lost'));
    if (this.#channels.size === 2) this.#handlers.onReady();
  }

  /**
   * Closes a channel the protocol does not define. node-datachannel forgets a channel only through its
   * onClosed callback: one dropped without it and then collected is freed while the library still lists
   * it, and its runtime cleanup later crashes the process. So the channel is held until it has closed, and a
   * client that keeps opening such channels loses its connection.
   */
  #refuse(channel: DataChannel): void {
    this.#refused.add(channel);
    channel.onClosed(() => this.#refused.delete(channel));
    channel.close();
    if (++this.#refusedCount > MAX_REFUSED_CHANNELS) this.#gone('too many unexpected data channels', 'refused');
  }

  #gone(reason: string, cause: 'lost' | 'refused'): void {
    if (this.#closed) return;
    this.#handlers.onGone(reason, cause);
  }
}

