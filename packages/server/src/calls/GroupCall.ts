/**
 * A group call: its endpoints, its roster (the admitted ones, derived from their state), the roster
 * announcements (connected at once; joined and left gathered per turn, RosterAnnouncements), and lookups for routing. Its endpoints tell it when they enter
 * the roster and when they leave; `close()` ends every endpoint, and the call emits 'close' once it is
 * empty and done.
 */
import { randomUUID } from 'node:crypto';

import { CallErrorCode, PeerCallEndCode, encodeEndpointLeft, type Clock } from '@backchannel/protocol';

import { JoinError } from '../errors.js';
import { Emitter } from '../events.js';
import type { Logger } from '../logging.js';
import { CallSpan, type RemoteMember } from './CallSpan.js';
import { Endpoint, type EndReason, type EndpointSettings, type SignalingSink } from './Endpoint.js';
import { RosterAnnouncements } from './RosterAnnouncements.js';
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
  /** The server's clock (the span's slow-recipient reports run on it). */
  get clock(): Clock {
    return this.#settings.clock;
  }

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
  /** Joins and leaves the admitted endpoints are still to be told of, sent once per turn. */
  readonly #announcements = new RosterAnnouncements();
  #closed = false;
  /** The endpoints of this call on other nodes, when the server is a cluster node (undefined otherwise). */
  readonly span: CallSpan | undefined;

  /** `clustered`: the call may span nodes (it gets a {@link CallSpan}; `spans` indexes remote members). */
  constructor(groupId: string, settings: EndpointSettings, logger: Logger, spans?: Map<number, CallSpan>) {
    super(settings.reportListenerError);
    this.groupId = groupId;
    this.#settings = settings;
    this.#logger = logger;
    this.createdAt = settings.clock.now();
    this.span = spans ? new CallSpan(this, spans) : undefined;
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

  /** Everyone in the roster but `endpoint`, on every node, as participants. */
  participantsExcept(endpoint: Endpoint): { endpointId: number; identity: string; displayName: string }[] {
    const participants = this.#roster.filter((e) => e !== endpoint).map((e) => e.toParticipant());
    if (this.span) for (const m of this.span.members.values()) participants.push({ endpointId: m.endpointId, identity: m.identity, displayName: m.displayName });
    return participants;
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
   * everyone already there sees it join (in this turn's `participantsChanged`).
   */
  enter(endpoint: Endpoint): void {
    if (this.#endpoints.get(endpoint.id) !== endpoint || !endpoint.admitted) return;
    const others = this.#roster;
    this.#rebuild();
    this.#logger.info({ callId: this.id, endpointId: endpoint.id, msSinceJoin: this.#settings.clock.now() - endpoint.joinedAt }, 'endpoint connected');
    endpoint.signal({ type: 'connected', endpointId: endpoint.id, participants: this.participantsExcept(endpoint) });
    const participant = endpoint.toParticipant();
    for (const other of others) this.#announcements.joined(other, participant);
    // State for late joiners: what the others' sessions retain goes first on its Durable link.
    for (const other of others) other.offerRetainedTo(endpoint);
    this.span?.localEntered(endpoint);
  }

  /** An endpoint on another node entered the call (CallSpan): everyone here sees it join. */
  remoteJoined(member: RemoteMember): void {
    this.#rosterVersion++;
    const participant = { endpointId: member.endpointId, identity: member.identity, displayName: member.displayName };
    for (const e of this.#roster) this.#announcements.joined(e, participant);
    // State for late joiners, on any node: after the roster version moved, so the routes include it.
    for (const e of this.#roster) e.offerRetainedToRemote();
  }

  /** An endpoint on another node left (CallSpan): in band, behind its last messages, then the roster (at the turn's end). */
  remoteLeft(member: RemoteMember): void {
    this.#rosterVersion++;
    const leftFrame = encodeEndpointLeft(member.endpointId);
    for (const e of this.#roster) {
      e.tell(leftFrame);
      this.#announcements.left(e, member.endpointId);
    }
  }

  /**
   * Called by the endpoint as it closes: it leaves the call, and if it was in the roster everyone left is
   * told. The last one out ends the call.
   */
  leave(endpoint: Endpoint, reason: EndReason | undefined): void {
    if (this.#endpoints.get(endpoint.id) !== endpoint) return;
    this.#endpoints.delete(endpoint.id);
    this.#announcements.forget(endpoint);
    if (this.#roster.includes(endpoint)) {
      this.#rebuild();
      // Other nodes always hear it: its agent may join again through any node, as a new endpoint.
      this.span?.localLeft(endpoint);
      // An endpoint closed for a restart (agentRejoins) leaves silently here: the others are being closed the
      // same way, and a roster shrinking on their screens moments before they join again would be noise.
      if (!reason?.agentRejoins) {
        // In band first, behind the departed endpoint's last messages on each Durable channel; then the roster
        // (at the end of this turn, with the turn's other changes).
        const leftFrame = encodeEndpointLeft(endpoint.id);
        for (const other of this.#roster) {
          other.tell(leftFrame);
          this.#announcements.left(other, endpoint.id);
        }
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
    const reason = { code: PeerCallEndCode.EndedForEveryone, message: `${by.displayName || by.identity} ended the call for everyone` };
    // The other nodes end their endpoints of the call too, each once what it was routed has arrived (the
    // record follows `by`'s last data on each link). Before `by` leaves: its leave could close the call here.
    this.span?.localClosed(reason);
    by.close();
    this.close(reason, END_FOR_EVERYONE_DELIVERY_MS);
  }

  /** Another node's endpoint ended the call for everyone: every endpoint here ends as on that node. */
  endedElsewhere(reason: EndReason): void {
    this.span?.localClosed();
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
    this.span?.localClosed();
    for (const endpoint of [...this.#endpoints.values()]) {
      if (reason && deliveryMs > 0) endpoint.closeWhenDelivered(reason, deliveryMs);
      else endpoint.close(reason);
    }
    this.span?.dispose();
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
