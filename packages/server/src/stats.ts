/**
 * What the server counts: routed traffic by class, drops by reason, malformed input. Plain counters, read
 * by tests and exposed by operations tooling.
 */
import { DropReason } from '@backchannel/protocol';

export type DropReasonName = keyof typeof DropReason | 'SlowReceiverDurable' | 'SlowReceiverLossy';

export interface ServerStats {
  /** Messages accepted for routing, by reliability. */
  messagesRouted: { durable: number; lossy: number };
  /** Messages and payload bytes accepted for routing, by reliability and priority. */
  routed: Record<'durable' | 'lossy', Record<'high' | 'normal', { messages: number; bytes: number }>>;
  /** Refusals by limits outside the data path (data-path limits are counted in `drops`). */
  limitHits: { callFull: number; connectionsPerIdentity: number; signalingSize: number; signalingRate: number };
  /** Payload bytes accepted for routing, by reliability. */
  bytesRouted: { durable: number; lossy: number };
  /** Copies handed to recipients' transports, or kept for a suspended recipient's resume. */
  deliveries: number;
  /** Messages (or copies, for slow receivers) dropped, by reason. */
  drops: Record<DropReasonName, number>;
  /** Frames and signaling messages that could not be parsed. */
  malformedFrames: number;
  malformedSignaling: number;
  /** Endpoints that left group calls, by reason: `Left` for a clean leave, else the CallErrorCode that ended them. */
  departures: Record<string, number>;
  /** Control frames handled. */
  sessionsClosed: number;
  recipientListsSet: number;
  /**
   * Records between this node and the other nodes of a cluster (docs/cluster.md): data frames sent (once
   * per node with recipients) and received, with their bytes. All 0 on a single node.
   */
  crossNode: { messagesSent: number; bytesSent: number; messagesReceived: number; bytesReceived: number };
}

export function createStats(): ServerStats {
  const drops = Object.fromEntries(
    [...Object.keys(DropReason), 'SlowReceiverDurable', 'SlowReceiverLossy'].map((name) => [name, 0]),
  ) as Record<DropReasonName, number>;
  return {
    messagesRouted: { durable: 0, lossy: 0 },
    routed: {
      durable: { high: { messages: 0, bytes: 0 }, normal: { messages: 0, bytes: 0 } },
      lossy: { high: { messages: 0, bytes: 0 }, normal: { messages: 0, bytes: 0 } },
    },
    limitHits: { callFull: 0, connectionsPerIdentity: 0, signalingSize: 0, signalingRate: 0 },
    bytesRouted: { durable: 0, lossy: 0 },
    deliveries: 0,
    drops,
    malformedFrames: 0,
    malformedSignaling: 0,
    departures: {},
    sessionsClosed: 0,
    recipientListsSet: 0,
    crossNode: { messagesSent: 0, bytesSent: 0, messagesReceived: 0, bytesReceived: 0 },
  };
}

const REASON_NAMES = new Map<number, keyof typeof DropReason>(
  Object.entries(DropReason).map(([name, value]) => [value, name as keyof typeof DropReason]),
);

export function dropReasonName(reason: DropReason): keyof typeof DropReason {
  return REASON_NAMES.get(reason)!;
}
