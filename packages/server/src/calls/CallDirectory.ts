/**
 * What the call manager needs from a cluster (cluster/ClusterNode.ts implements it): cluster-wide endpoint
 * ids and the per-call participant limit, and the other nodes in a call. A single node has none, and its
 * joins stay synchronous and in memory.
 */
import type { CallSpan, PeerNode } from './CallSpan.js';

export interface CallDirectory {
  /** Every remote member of every call of this node, to its call's span (data records find their call by it). */
  readonly spans: Map<number, CallSpan>;
  /**
   * Takes a place in call `groupId` for a new endpoint, atomically against `maxParticipants` over every
   * node, and an endpoint id unique in the cluster; names the other nodes with endpoints in the call.
   * Rejects with a JoinError: CallFull, or IdentityStoreUnavailable while Redis cannot be reached.
   */
  reserve(groupId: string, maxParticipants: number): Promise<{ endpointId: number; nodes: readonly PeerNode[] }>;
  /** The endpoint's place is free again (it closed, or was never made). */
  release(groupId: string, endpointId: number): void;
}
