/**
 * The messages between the benchmark's orchestrator and its client worker processes (Node IPC, JSON).
 * The orchestrator sends a {@link WorkerRequest} and the worker answers it with a {@link WorkerReply} of the
 * same id; a worker relays raw WebRTC signaling through the orchestrator with {@link SignalEnvelope}s.
 */
import type { HistogramData } from '../lib/stats.js';

export type SystemName = 'backchannel' | 'raw' | 'relay' | 'socketio' | 'ws';

/** Where and how a worker reaches one system under test. */
export type SystemEndpoint =
  | { system: 'backchannel'; url: string; accessKey: string }
  | { system: 'socketio'; url: string }
  | { system: 'ws'; url: string }
  | { system: 'relay'; url: string }
  | { system: 'raw' };

/** One open-loop sending stream: participant `key` sends to `to` (addresses), or to everyone else. */
export interface StreamSpec {
  key: string;
  to?: string[];
  /** Identifies the sender in probe payloads (messages received are counted per window, not per stream). */
  index: number;
}

export type WorkerCommand =
  | {
      type: 'join';
      endpoint: SystemEndpoint;
      room: string;
      key: string;
      /** Raw node-datachannel only: peers (keys) to connect to as part of joining. */
      links?: string[];
      /**
       * Join timing: once joined, send one probe stamped with the moment the join began to this address;
       * the receiver's latency for it is the time from starting to join to a first message delivered.
       */
      announce?: { to: string; windowId: number };
    }
  | { type: 'prepare'; endpoint: SystemEndpoint; key: string }
  | { type: 'link'; key: string; remoteKeys: string[] }
  | { type: 'relay'; key: string; groups: string[][] }
  | { type: 'send'; streams: StreamSpec[]; size: number; ratePerStream: number; durationMs: number; windowId: number }
  | { type: 'window'; windowId: number }
  | { type: 'count' }
  | { type: 'collect' }
  | { type: 'leave'; keys: string[] }
  | { type: 'rss' };

export interface JoinResult {
  address: string;
  /** Milliseconds from starting to join to the participant being ready to send. */
  readyMs: number;
}

export interface SendResult {
  sent: number;
  /** Messages the system refused at the sender (an SDK error, a closed socket). */
  refused: number;
}

export interface WindowReport {
  /** Probes of the current window received. */
  received: number;
  /** Probes of earlier windows that arrived late. */
  stale: number;
  /** When the last probe of the window arrived (shared clock, ms); 0 if none did. */
  lastArrivalAt: number;
  latency: HistogramData;
}

export interface WorkerRequest {
  id: number;
  command: WorkerCommand;
}

export type WorkerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** Raw WebRTC signaling between two participants, relayed by the orchestrator. */
export interface SignalEnvelope {
  type: 'signal';
  from: string;
  to: string;
  body: { sdp: string; kind: string } | { candidate: string; mid: string };
}

/** The worker is loaded and listening for requests. */
export interface ReadyNotice {
  type: 'ready';
}
