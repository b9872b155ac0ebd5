/**
 * What the data-channel feature needs from its call: the transport's two channels, the limits the server
 * advertised, and the roster. The call implements it; the feature never holds the call itself.
 */
import type { ChannelPermissions, DataChannelLimits } from '@backchannel/protocol';

import type { ChannelKind, Clock } from '@backchannel/protocol';

import type { TransportChannel } from '../transport/PeerTransport.js';

export type DataState = 'waiting' | 'open' | 'closed';

export interface DataLink {
  /** The call's clock: pacing, backlog and idle close read it. */
  readonly clock: Clock;
  /** Limits advertised by the server at join (defaults until then). */
  readonly limits: DataChannelLimits;
  /**
   * The channels this endpoint's token lets it send on and receive from (an extension), as the token
   * claimed when the call was made; the server enforces the same.
   */
  readonly channels: ChannelPermissions;
  /**
   * Whether messages can be sent: 'open' while the call is connected with a transport (or suspended,
   * resuming one); 'waiting' before the call is connected (Durable messages wait in their queues, Lossy
   * ones are dropped at the closed Lossy channel); 'closed' once it is ending or ended.
   */
  dataState(): DataState;
  channel(kind: ChannelKind): TransportChannel;
  /** The Durable link's flow: what it keeps, how fast it drains (the backlog bound reads it). */
  readonly durableFlow: DurableFlow;
  /** Remote endpoints of `identity` in the call, for the recipients-per-sender limit. */
  endpointCountOf(identity: string): number;
  /** The remote endpoints in the roster now (delivery receipts wait for them). */
  remoteEndpoints(): readonly { readonly endpointId: number; readonly identity: string }[];
  /** Identity of a remote endpoint, or undefined if the roster does not (yet) know it. */
  identityOf(endpointId: number): string | undefined;
}

/** Buffered bytes on the Durable channel above which the scheduler stops writing and waits. */
export const DURABLE_HIGH_WATERMARK = 256 * 1024;
/** Buffered bytes at which the transport reports 'low' and writing resumes. */
export const BUFFERED_LOW_WATERMARK = 64 * 1024;
/** Buffered bytes on the Lossy channel above which new Lossy messages are dropped rather than queued. */
export const LOSSY_DROP_WATERMARK = 256 * 1024;

/**
 * The Durable link as the send path sees it (docs/reliability.md, "Bounded latency"): what it keeps
 * (handed over, not acknowledged), how much more it takes now, and how long a backlog takes to drain at
 * the rate the path was measured to carry.
 */
export interface DurableFlow {
  /** Bytes sent and not acknowledged by the other side. */
  readonly unacknowledgedBytes: number;
  /**
   * Bytes the scheduler may still hand over now: the link's allowance at the measured drain rate, less
   * what it keeps. At or above zero, one more frame may go (whatever its size).
   */
  room(): number;
  /** How long `bytes` take to drain at the path's measured rate, ms; undefined until measured under load. */
  drainMs(bytes: number): number | undefined;
  /**
   * From cork() to the matching uncork(), frames written to the Durable link are held and then leave
   * together (as batches, where the other side reads them): the scheduler corks around each pump, so the
   * frames one pump moves cost one SCTP message, not one each, and none waits past the pump.
   */
  cork(): void;
  uncork(): void;
}
