/**
 * The server's group calls by group id: join (creating the call on first use, refusing past the
 * participant limit or during shutdown), and shutdown (drain, then end everything). Endpoints and calls run
 * their own lifecycles from there (see Endpoint and GroupCall); a call leaves this map when it emits 'close'.
 */
import { CallErrorCode, systemClock, type Clock } from '@backchannel/protocol';

import type { ServerConfig } from '../config.js';
import { JoinError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { ServerStats } from '../stats.js';
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

  /** `frames` is where every endpoint's data frames go (the router). */
  constructor(config: ServerConfig, frames: FrameHandler, stats: ServerStats, logger: Logger, clock: Clock = systemClock) {
    this.#config = config;
    this.#stats = stats;
    this.#logger = logger;
    this.#settings = Object.freeze({
      limits: config.limits,
      maxSenders: config.maxSendersPerEndpoint,
      maxHeldBytes: MAX_HELD_BYTES,
      joinTimeoutMs: config.joinTimeoutMs,
      peer: {
        bindAddress: config.rtcBindAddress,
        portRangeBegin: config.rtcPortRangeBegin,
        portRangeEnd: config.rtcPortRangeEnd,
        // Room for the largest message plus its header, with headroom for protocol growth.
        maxMessageSize: config.limits.maxMessageSizeBytes + 1024,
        sendBufferBytes: config.receiverBufferBytes,
      },
      frames,
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

  /** Adds an endpoint for `sink` to group `groupId`, creating the call if needed. Throws {@link JoinError}. */
  join(sink: SignalingSink, groupId: string): Endpoint {
    if (!this.#accepting) throw new JoinError(CallErrorCode.ServerShutdown, 'the server is shutting down');
    let call = this.#calls.get(groupId);
    if (!call || call.closed) call = this.#create(groupId);
    if (call.size >= this.#config.maxParticipantsPerCall) {
      this.#stats.limitHits.callFull++;
      throw new JoinError(CallErrorCode.CallFull, `call '${groupId}' is full (${this.#config.maxParticipantsPerCall} endpoints)`);
    }
    const endpoint = call.join(this.#nextEndpointId++, sink);
    this.#endpoints.set(endpoint.id, endpoint);
    endpoint.on('close', () => this.#endpoints.delete(endpoint.id));
    return endpoint;
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
  endAll(reason: EndReason): void {
    for (const call of [...this.#calls.values()]) call.close(reason);
  }

  #create(groupId: string): GroupCall {
    const call = new GroupCall(groupId, this.#settings, this.#logger);
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
