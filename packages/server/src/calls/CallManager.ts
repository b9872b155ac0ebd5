/**
 * The server's group calls by group id: join (creating the call on first use, refusing past the
 * participant limit or during shutdown), and shutdown (drain, then end everything). Endpoints and calls run
 * their own lifecycles from there (see Endpoint and GroupCall); a call leaves this map when it emits 'close'.
 */
import { CallErrorCode, systemClock, type Clock } from '@backchannel/protocol';

import type { ServerConfig } from '../config.js';
import { JoinError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { SharedRtc } from '../rtc/SharedRtc.js';
import { TurnFlusher } from '../rtc/Coalescer.js';
import type { ServerStats } from '../stats.js';
import type { CallDirectory } from './CallDirectory.js';
import type { PeerNode } from './CallSpan.js';
import type { EndReason, Endpoint, EndpointSettings, FrameHandler, SignalingSink } from './Endpoint.js';
import { GroupCall } from './GroupCall.js';

/** How often a draining shutdown checks the queues. */
const DRAIN_CHECK_MS = 20;
/** Lossy frames an endpoint may have waiting for their recipient lists, in bytes, all sessions together. */
const MAX_HELD_BYTES = 256 * 1024;

/** Group calls by group id, and shutdown (see the module comment). */
export class CallManager {
  readonly #config: ServerConfig;
  readonly #settings: EndpointSettings;
  readonly #stats: ServerStats;
  readonly #logger: Logger;
  readonly #calls = new Map<string, GroupCall>();
  /** Every endpoint not closed, by id (a `resume` names one). */
  readonly #endpoints = new Map<number, Endpoint>();
  #nextEndpointId = 1;
  #accepting = true;
  /** The cluster this node is part of (undefined: a single node, calls in memory). */
  readonly #directory: CallDirectory | undefined;

  /**
   * `frames` is where every endpoint's data frames go (the router); `rtc` what their peer connections share;
   * `directory`, when the server is a cluster node, makes its calls span nodes.
   */
  constructor(
    config: ServerConfig,
    rtc: SharedRtc,
    frames: FrameHandler,
    stats: ServerStats,
    logger: Logger,
    clock: Clock = systemClock,
    directory?: CallDirectory,
  ) {
    this.#config = config;
    this.#directory = directory;
    this.#stats = stats;
    this.#logger = logger;
    this.#settings = Object.freeze({
      limits: config.limits,
      maxSenders: config.maxSendersPerEndpoint,
      maxHeldBytes: MAX_HELD_BYTES,
      joinTimeoutMs: config.joinTimeoutMs,
      peer: {
        // Room for the largest message plus its header, with headroom for protocol growth.
        rtcConfig: rtc.peerConnectionConfig(config.limits.maxMessageSizeBytes + 1024),
        sendBufferBytes: config.receiverBufferBytes,
      },
      frames,
      // One per server: frames toward an endpoint within one event-loop turn leave batched (rtc/Coalescer.ts).
      flusher: new TurnFlusher(),
      clock,
      resumeWindowMs: config.resumeWindowMs,
      recipientBacklogMs: config.recipientBacklogMs,
      maxRetainedBytesPerCall: config.maxRetainedBytesPerCall,
      logger,
      reportListenerError: (error: unknown, event: string) => logger.error({ err: error, event }, 'a call event listener threw'),
    });
  }

  /** The limits advertised to clients at join. */
  get limits(): ServerConfig['limits'] {
    return this.#config.limits;
  }

  /** How long a lost endpoint is kept for a resume, ms (advertised in `joined`). */
  get resumeWindowMs(): number {
    return this.#config.resumeWindowMs;
  }

  /** The endpoint `id`, if it exists and has not closed. */
  endpoint(id: number): Endpoint | undefined {
    return this.#endpoints.get(id);
  }

  /** Calls with at least one endpoint, by group id. */
  get calls(): ReadonlyMap<string, GroupCall> {
    return this.#calls;
  }

  /**
   * Adds an endpoint for `sink` to group `groupId`, creating the call if needed. Throws (or, on a cluster
   * node, rejects with) {@link JoinError}. On a single node it answers at once; a cluster node first takes
   * the endpoint's place in Redis (one round trip).
   */
  join(sink: SignalingSink, groupId: string): Endpoint | Promise<Endpoint> {
    if (!this.#accepting) throw new JoinError(CallErrorCode.ServerShutdown, 'the server is shutting down');
    if (this.#directory) return this.#joinCluster(this.#directory, sink, groupId);
    let call = this.#calls.get(groupId);
    if (!call || call.closed) call = this.#create(groupId);
    if (call.size >= this.#config.maxParticipantsPerCall) this.#callFull(groupId);
    return this.#add(call, this.#nextEndpointId++, sink);
  }

  async #joinCluster(directory: CallDirectory, sink: SignalingSink, groupId: string): Promise<Endpoint> {
    let place: { endpointId: number; nodes: readonly PeerNode[] };
    try {
      place = await directory.reserve(groupId, this.#config.maxParticipantsPerCall);
    } catch (error) {
      if (error instanceof JoinError && error.code === CallErrorCode.CallFull) this.#callFull(groupId);
      throw error;
    }
    if (!this.#accepting) {
      directory.release(groupId, place.endpointId);
      throw new JoinError(CallErrorCode.ServerShutdown, 'the server is shutting down');
    }
    let call = this.#calls.get(groupId);
    if (!call || call.closed) call = this.#create(groupId);
    const endpoint = this.#add(call, place.endpointId, sink);
    endpoint.on('close', () => directory.release(groupId, endpoint.id));
    // Told after the endpoint exists, so what those nodes answer (their members) finds the call.
    for (const node of place.nodes) call.span?.addNode(node);
    return endpoint;
  }

  #add(call: GroupCall, id: number, sink: SignalingSink): Endpoint {
    const endpoint = call.join(id, sink);
    this.#endpoints.set(endpoint.id, endpoint);
    endpoint.on('close', () => this.#endpoints.delete(endpoint.id));
    return endpoint;
  }

  #callFull(groupId: string): never {
    this.#stats.limitHits.callFull++;
    throw new JoinError(CallErrorCode.CallFull, `call '${groupId}' is full (${this.#config.maxParticipantsPerCall} endpoints)`);
  }

  /**
   * Shutdown, first step: refuse new joins, then wait (at most `timeoutMs`) until the data already queued
   * toward every endpoint has been sent, so Durable messages accepted before the shutdown are not lost.
   * Real time, not the server's clock: it waits for the network.
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

  /** Ends every call, and so every endpoint, with `reason` (shutdown). */
  /** False once shutting down (drain): no join, no resume. */
  get accepting(): boolean {
    return this.#accepting;
  }

  endAll(reason: EndReason): void {
    for (const call of [...this.#calls.values()]) call.close(reason);
  }

  #create(groupId: string): GroupCall {
    const call = new GroupCall(groupId, this.#settings, this.#logger, this.#directory?.spans);
    this.#calls.set(groupId, call);
    call.on('endpointLeft', (_endpoint, reason) => {
      const key = reason?.code ?? 'Left';
      this.#stats.departures[key] = (this.#stats.departures[key] ?? 0) + 1;
    });
    call.on('close', () => {
      if (this.#calls.get(groupId) === call) this.#calls.delete(groupId);
    });
    this.#logger.info({ callId: call.id, groupId }, 'call created');
    return call;
  }
}
