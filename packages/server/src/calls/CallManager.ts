/**
 * Creates and ends endpoints in group calls: join, the peer connection to the server, admission into the
 * roster once the transport is up, and departure (left, disconnected, transport failed, timed out).
 */
import { CallErrorCode, encodeEndpointLeft, type ServerMessage } from '@backchannel/protocol';

import type { ServerConfig } from '../config.js';
import { JoinError } from '../errors.js';
import { ServerPeer } from '../rtc/ServerPeer.js';
import type { Router } from '../routing/Router.js';
import type { ServerStats } from '../stats.js';
import type { Logger } from '../logging.js';
import { Endpoint, type SignalingSink } from './Endpoint.js';
import { GroupCall } from './GroupCall.js';

/** How often a draining shutdown checks the queues. */
const DRAIN_CHECK_MS = 20;

export class CallManager {
  readonly #config: ServerConfig;
  readonly #router: Router;
  readonly #stats: ServerStats;
  readonly #logger: Logger;
  readonly #calls = new Map<string, GroupCall>();
  #nextEndpointId = 1;
  #accepting = true;

  constructor(config: ServerConfig, router: Router, stats: ServerStats, logger: Logger) {
    this.#config = config;
    this.#router = router;
    this.#stats = stats;
    this.#logger = logger;
  }

  get limits(): ServerConfig['limits'] {
    return this.#config.limits;
  }

  get calls(): ReadonlyMap<string, GroupCall> {
    return this.#calls;
  }

  /** Adds an endpoint for `sink` to group `groupId`, creating the call if needed. */
  join(sink: SignalingSink, groupId: string): Endpoint {
    if (!this.#accepting) throw new JoinError(CallErrorCode.ServerShutdown, 'the server is shutting down');
    let call = this.#calls.get(groupId);
    if (!call) {
      this.#calls.set(groupId, (call = new GroupCall(groupId)));
      this.#logger.info({ callId: call.id, groupId }, 'call created');
    }
    if (call.size >= this.#config.maxParticipantsPerCall) {
      this.#stats.limitHits.callFull++;
      throw new JoinError(CallErrorCode.CallFull, `call '${groupId}' is full (${this.#config.maxParticipantsPerCall} endpoints)`);
    }
    const endpoint = new Endpoint(this.#nextEndpointId++, call, sink, this.#config.limits.broadcastPacketsPerSecond, this.#config.receiverBufferBytes);
    call.add(endpoint);
    this.#logger.info({ callId: call.id, endpointId: endpoint.id, identity: endpoint.identity }, 'endpoint joined');
    endpoint.joinTimer = setTimeout(
      () => this.end(endpoint, { code: CallErrorCode.TransportFailed, message: `data transport not up within ${this.#config.joinTimeoutMs} ms` }),
      this.#config.joinTimeoutMs,
    );
    return endpoint;
  }

  /** Applies the endpoint's SDP offer: creates its peer connection to the server. */
  offer(endpoint: Endpoint, sdp: string): void {
    if (endpoint.peer) throw new JoinError(CallErrorCode.BadRequest, 'the endpoint already has a peer connection');
    endpoint.peer = new ServerPeer(
      `endpoint-${endpoint.id}`,
      {
        bindAddress: this.#config.rtcBindAddress,
        portRangeBegin: this.#config.rtcPortRangeBegin,
        portRangeEnd: this.#config.rtcPortRangeEnd,
        // Room for the largest message plus its header, with headroom for protocol growth.
        maxMessageSize: this.#config.limits.maxMessageSizeBytes + 1024,
      },
      {
        onAnswer: (answer) => endpoint.signal({ type: 'answer', endpointId: endpoint.id, sdp: answer }),
        onCandidate: (candidate, mid) => endpoint.signal({ type: 'candidate', endpointId: endpoint.id, candidate, mid }),
        onReady: () => this.#admit(endpoint),
        onGone: (reason) => this.end(endpoint, { code: CallErrorCode.TransportFailed, message: reason }),
        onFrame: (kind, frame) => this.#router.handleFrame(endpoint, kind, frame),
        onProtocolViolation: () => this.#stats.malformedFrames++,
      },
    );
    try {
      endpoint.peer.handleOffer(sdp);
    } catch {
      // A refused offer ends the endpoint at once (its peer connection cannot be offered again).
      this.end(endpoint, { code: CallErrorCode.BadRequest, message: 'the SDP offer was refused' });
    }
  }

  candidate(endpoint: Endpoint, candidate: string, mid: string): void {
    endpoint.peer?.addCandidate(candidate, mid);
  }

  /**
   * Removes the endpoint from its call and closes its transport. With a `reason`, the endpoint's agent is
   * told the call ended (a departure it did not ask for); the others always see it leave.
   */
  end(endpoint: Endpoint, reason?: { code: string; message: string }): void {
    const call = endpoint.call;
    if (!call.endpoints.has(endpoint.id)) return;
    clearTimeout(endpoint.joinTimer);
    const wasAdmitted = call.remove(endpoint);
    endpoint.signaling.forget(endpoint.id);
    // The reason goes out before the transport closes, so the client reports it rather than a transport failure.
    if (reason) endpoint.signal({ type: 'callEnded', endpointId: endpoint.id, code: reason.code, message: reason.message });
    endpoint.peer?.close();
    if (wasAdmitted) {
      // In band first, behind the departed endpoint's last messages on each Durable channel; then the roster.
      const leftFrame = encodeEndpointLeft(endpoint.id);
      const left: ServerMessage = { type: 'participantLeft', endpointId: 0, participantEndpointId: endpoint.id };
      for (const other of call.admitted) {
        other.deliver('durable', leftFrame);
        other.signal({ ...left, endpointId: other.id });
      }
    }
    this.#logger.info(
      { callId: call.id, endpointId: endpoint.id, identity: endpoint.identity, reason: reason?.code ?? 'Left' },
      'endpoint left',
    );
    if (call.size === 0) {
      this.#calls.delete(call.groupId);
      this.#logger.info({ callId: call.id, groupId: call.groupId, durationMs: Date.now() - call.createdAt }, 'call ended');
    }
  }

  /**
   * Shutdown, first step: refuse new joins, then wait (at most `timeoutMs`) until the data already queued
   * toward every endpoint has been sent, so Durable messages accepted before the shutdown are not lost.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.#accepting = false;
    const deadline = Date.now() + timeoutMs;
    const queued = (): number => {
      let bytes = 0;
      for (const call of this.#calls.values()) for (const e of call.endpoints.values()) bytes += e.peer?.bufferedAmount('durable') ?? 0;
      return bytes;
    };
    // Checked on a short timer: libdatachannel reports a drained buffer per channel, not for the whole server.
    while (queued() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, DRAIN_CHECK_MS));
  }

  /** Ends every endpoint of every call (shutdown). */
  endAll(reason: { code: string; message: string }): void {
    for (const call of [...this.#calls.values()]) for (const endpoint of [...call.endpoints.values()]) this.end(endpoint, reason);
  }

  #admit(endpoint: Endpoint): void {
    const call = endpoint.call;
    if (!call.endpoints.has(endpoint.id) || endpoint.admitted) return;
    clearTimeout(endpoint.joinTimer);
    const others = call.admit(endpoint);
    this.#logger.info({ callId: call.id, endpointId: endpoint.id, msSinceJoin: Date.now() - endpoint.joinedAt }, 'endpoint connected');
    endpoint.signal({ type: 'connected', endpointId: endpoint.id, participants: others.map((e) => e.toParticipant()) });
    const participant = endpoint.toParticipant();
    for (const other of others) other.signal({ type: 'participantJoined', endpointId: other.id, participant });
  }
}
