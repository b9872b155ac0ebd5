/**
 * A group call: its endpoints, its roster (the admitted ones, derived from their state), the roster
 * announcements (joined, connected, left), and lookups for routing. Its endpoints tell it when they enter
 * the roster and when they leave; `close()` ends every endpoint, and the call emits 'close' once it is
 * empty and done.
 */
import { randomUUID } from 'node:crypto';

import { CallErrorCode, PeerCallEndCode, encodeEndpointLeft, type ServerMessage } from '@backchannel/protocol';

import { JoinError } from '../errors.js';
import { Emitter } from '../events.js';
import type { Logger } from '../logging.js';
import { Endpoint, type EndReason, type EndpointSettings, type SignalingSink } from './Endpoint.js';
import { RetainedBudget } from './RetainedState.js';

/** Default bound on a call's retained messages (EndpointSettings.maxRetainedBytesPerCall). */
const DEFAULT_MAX_RETAINED_BYTES = 4 * 1024 * 1024;

export type GroupCallEvents = {
  /** An endpoint left the call: on its own (`reason` undefined: a clean leave) or ended by the server. */
  endpointLeft: [endpoint: Endpoint, reason: EndReason | undefined];
  /** The call ended: its last endpoint left, or it was closed. */
  close: [];
};

/**
 * How long a call ended for everyone waits, at most, for each endpoint to acknowledge what it was sent
 * before ending it (the SDK's hang-up flush waits as long for the leaver's own messages).
 */
const END_FOR_EVERYONE_DELIVERY_MS = 2000;

/** One group call: its endpoints and its roster (see the module comment). */
export class GroupCall extends Emitter<GroupCallEvents> {
  readonly id = randomUUID();
  readonly groupId: string;
  /** When it was created, on the settings' monotonic clock. */
  readonly createdAt: number;
  /** What its senders' sessions retain for late joiners (an extension), against the per-call bound. */
  readonly retained: RetainedBudget;
  readonly #settings: EndpointSettings;
  readonly #logger: Logger;
  readonly #endpoints = new Map<number, Endpoint>();
  /** Admitted endpoints, in join order. Rebuilt on every roster change; routing reads it per message. */
  #roster: readonly Endpoint[] = [];
  #rosterVersion = 0;
  readonly #byIdentity = new Map<string, Endpoint[]>();
  #closed = false;

  constructor(groupId: string, settings: EndpointSettings, logger: Logger) {
    super(settings.reportListenerError);
    this.groupId = groupId;
    this.#settings = settings;
    this.#logger = logger;
    this.createdAt = settings.clock.now();
    this.retained = new RetainedBudget(settings.maxRetainedBytesPerCall ?? DEFAULT_MAX_RETAINED_BYTES);
  }

  /** Every endpoint that joined and has not left, admitted or still connecting. */
  get endpoints(): ReadonlyMap<number, Endpoint> {
    return this.#endpoints;
  }

  get size(): number {
    return this.#endpoints.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Admitted endpoints, in join order. */
  get roster(): readonly Endpoint[] {
    return this.#roster;
  }

  /** Bumped on every roster change, so routing caches know to recompute. */
  get rosterVersion(): number {
    return this.#rosterVersion;
  }

  /** Admitted endpoints of `identity`. */
  endpointsOf(identity: string): readonly Endpoint[] {
    return this.#byIdentity.get(identity) ?? [];
  }

  /** A new endpoint `id` for `signaling`'s agent, connecting until its transport is up. */
  join(id: number, signaling: SignalingSink): Endpoint {
    if (this.#closed) throw new JoinError(CallErrorCode.NotFound, 'the call is closed');
    const endpoint = new Endpoint(id, this, signaling, this.#settings);
    this.#endpoints.set(endpoint.id, endpoint);
    this.#logger.info({ callId: this.id, endpointId: endpoint.id, identity: endpoint.identity }, 'endpoint joined');
    return endpoint;
  }

  /**
   * Called by the endpoint when its transport is up: it enters the roster, gets its first roster, and
   * everyone already there sees it join.
   */
  enter(endpoint: Endpoint): void {
    if (this.#endpoints.get(endpoint.id) !== endpoint || !endpoint.admitted) return;
    const others = this.#roster;
    this.#rebuild();
    this.#logger.info({ callId: this.id, endpointId: endpoint.id, msSinceJoin: this.#settings.clock.now() - endpoint.joinedAt }, 'endpoint connected');
    endpoint.signal({ type: 'connected', endpointId: endpoint.id, participants: others.map((e) => e.toParticipant()) });
    const participant = endpoint.toParticipant();
    for (const other of others) other.signal({ type: 'participantJoined', endpointId: other.id, participant });
    // State for late joiners: what the others' sessions retain goes first on its Durable link.
    for (const other of others) other.offerRetainedTo(endpoint);
  }

  /**
   * Called by the endpoint as it closes: it leaves the call, and if it was in the roster everyone left is
   * told. The last one out ends the call.
   */
  leave(endpoint: Endpoint, reason: EndReason | undefined): void {
    if (this.#endpoints.get(endpoint.id) !== endpoint) return;
    this.#endpoints.delete(endpoint.id);
    if (this.#roster.includes(endpoint)) {
      this.#rebuild();
      // In band first, behind the departed endpoint's last messages on each Durable channel; then the roster.
      const leftFrame = encodeEndpointLeft(endpoint.id);
      const left: ServerMessage = { type: 'participantLeft', endpointId: 0, participantEndpointId: endpoint.id };
      for (const other of this.#roster) {
        other.deliver('durable', leftFrame);
        other.signal({ ...left, endpointId: other.id });
      }
    }
    this.#logger.info({ callId: this.id, endpointId: endpoint.id, identity: endpoint.identity, reason: reason?.code ?? 'Left' }, 'endpoint left');
    this.safeEmit('endpointLeft', endpoint, reason);
    if (this.#endpoints.size === 0) this.close();
  }

  /**
   * `by` hung up for everyone (`leave` with `forEveryone`): it leaves as it would on its own, then every
   * other endpoint ends with EndedForEveryone, and the call with them. What `by` sent before has been
   * routed already: its frames were handled as they arrived, ahead of its `leave` (the SDK sends the leave
   * once its hang-up flush is acknowledged).
   */
  endForEveryone(by: Endpoint): void {
    if (this.#endpoints.get(by.id) !== by) return;
    this.#logger.info({ callId: this.id, endpointId: by.id, identity: by.identity }, 'call ended for everyone');
    by.close();
    const reason = { code: PeerCallEndCode.EndedForEveryone, message: `${by.displayName || by.identity} ended the call for everyone` };
    this.close(reason, END_FOR_EVERYONE_DELIVERY_MS);
  }

  /**
   * Ends every endpoint (each with `reason`), then the call. Idempotent. With `deliveryMs`, each endpoint
   * ends once its agent has what was sent to it, within that time (Endpoint.closeWhenDelivered); the call
   * itself is over at once (no one joins it any more: the groupId starts a new call).
   */
  close(reason?: EndReason, deliveryMs = 0): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const endpoint of [...this.#endpoints.values()]) {
      if (reason && deliveryMs > 0) endpoint.closeWhenDelivered(reason, deliveryMs);
      else endpoint.close(reason);
    }
    this.#logger.info({ callId: this.id, groupId: this.groupId, durationMs: this.#settings.clock.now() - this.createdAt }, 'call ended');
    this.safeEmit('close');
  }

  #rebuild(): void {
    this.#roster = [...this.#endpoints.values()].filter((e) => e.admitted);
    this.#byIdentity.clear();
    for (const endpoint of this.#roster) {
      const list = this.#byIdentity.get(endpoint.identity);
      if (list) list.push(endpoint);
      else this.#byIdentity.set(endpoint.identity, [endpoint]);
    }
    this.#rosterVersion++;
  }
}
