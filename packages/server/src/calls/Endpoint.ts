/**
 * One endpoint in a group call: a device or tab of an identity, with its peer connection to the server and
 * the state of its sender sessions.
 */
import { RateMeter, TokenBucket, type ChannelKind, type ServerMessage } from '@backchannel/protocol';

import type { ServerPeer } from '../rtc/ServerPeer.js';
import type { ServerSession } from '../routing/ServerSession.js';
import type { GroupCall } from './GroupCall.js';

/** Where an endpoint's signaling goes: its agent's WebSocket. */
export interface SignalingSink {
  readonly identity: string;
  readonly displayName: string;
  send(message: ServerMessage): void;
  /** The endpoint ended; its agent may no longer act on it. */
  forget(endpointId: number): void;
}

export type DeliveryResult = 'sent' | 'slow' | 'closed';

export class Endpoint {
  readonly identity: string;
  readonly displayName: string;
  peer: ServerPeer | undefined;
  admitted = false;
  /** Sender sessions by channel id. */
  readonly sessions = new Map<number, ServerSession>();
  /** SPEC §4 broadcast packet rate, with a second of slack over what the SDK allows for network jitter. */
  readonly broadcastPackets: TokenBucket;
  joinTimer: ReturnType<typeof setTimeout> | undefined;
  readonly joinedAt = Date.now();
  /** What the server delivers to this endpoint: SPEC §4 takes 80% of it off the endpoint's broadcast budget. */
  readonly received = new RateMeter();
  /** Open sender sessions, against the per-endpoint sender limit. */
  openSessions = 0;
  /** Bytes of Lossy frames held for recipient lists not yet received (see Router). */
  heldBytes = 0;

  constructor(
    readonly id: number,
    readonly call: GroupCall,
    readonly signaling: SignalingSink,
    broadcastPacketsPerSecond: number,
    /** Bytes allowed to queue toward this endpoint per channel before copies are dropped. */
    private readonly bufferBound: { durable: number; lossy: number },
  ) {
    this.identity = signaling.identity;
    this.displayName = signaling.displayName;
    this.broadcastPackets = new TokenBucket(broadcastPacketsPerSecond / 1000, 2 * broadcastPacketsPerSecond, performance.now());
  }

  signal(message: ServerMessage): void {
    this.signaling.send(message);
  }

  /**
   * Hands a frame to this endpoint's transport, unless it is too far behind to take more: Lossy copies are
   * dropped early (late Lossy data is worthless), Durable ones only past a much larger bound. Either way the
   * server's memory per receiver stays bounded and one slow receiver delays no one else.
   */
  deliver(kind: ChannelKind, frame: Uint8Array, now = performance.now()): DeliveryResult {
    const channel = this.peer?.channel(kind);
    if (!channel) return 'closed';
    try {
      if (channel.bufferedAmount() + frame.byteLength > this.bufferBound[kind]) return 'slow';
      this.received.add(frame.byteLength, now);
      // false from libdatachannel means "queued, not sent yet", not lost.
      channel.sendMessageBinary(frame);
      return 'sent';
    } catch {
      return 'closed';
    }
  }

  toParticipant(): { endpointId: number; identity: string; displayName: string } {
    return { endpointId: this.id, identity: this.identity, displayName: this.displayName };
  }
}
