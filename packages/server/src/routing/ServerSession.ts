/**
 * The server's view of one sender session: its current recipient list and generation, its pace, and the
 * resolved recipient endpoints cached per roster version.
 */
import type { DataChannelLimits, SendFrame, TokenBucket } from '@backchannel/protocol';

import type { Endpoint } from '../calls/Endpoint.js';

/** A recipient list over the limit: every message under it is dropped. */
export const TOO_MANY_RECIPIENTS = Symbol('too many recipients');
export type Recipients = ReadonlySet<string> | 'broadcast' | typeof TOO_MANY_RECIPIENTS;

/** A Lossy frame that outran the recipient list it names (the list travels on the Durable channel). */
export interface HeldFrame {
  readonly frame: SendFrame;
  readonly bytes: Uint8Array;
  readonly heldAt: number;
}

/** Lossy frames held per session, and for how long, waiting for their recipient list. */
export const MAX_HELD_FRAMES = 64;
export const MAX_HOLD_MS = 2000;

/**
 * Recipient lists kept per session besides the current one. Lossy frames travel on their own SCTP stream,
 * which the association may schedule behind or ahead of the Durable stream carrying the lists: a frame can
 * arrive after the list that replaced its own, and still goes to the recipients it was sent to.
 */
export const PREVIOUS_LISTS_KEPT = 8;

export class ServerSession {
  /** The newest recipient generation the server holds. */
  generation = 0;
  /** Lossy frames sent under a recipient list that has not arrived yet, oldest first. */
  held: HeldFrame[] = [];
  closed = false;
  /** Pace per class (reliability/priority) the session has sent in, with that class's limit in kbit/s. */
  readonly paces = new Map<string, { maxKbps: number; bucket: TokenBucket }>();
  /** Recipient lists by generation: the current one and up to PREVIOUS_LISTS_KEPT before it. */
  readonly #lists = new Map<number, Recipients>([[0, 'broadcast']]);
  #resolved: readonly Endpoint[] = [];
  #resolvedVersion = -1;

  constructor(readonly sessionId: number) {}

  setRecipients(generation: number, recipients: readonly string[], limits: DataChannelLimits): void {
    this.generation = generation;
    const list: Recipients =
      recipients.length > limits.maxRecipients ? TOO_MANY_RECIPIENTS : recipients.length === 0 ? 'broadcast' : new Set(recipients);
    this.#lists.set(generation, list);
    for (const old of this.#lists.keys()) {
      if (this.#lists.size <= PREVIOUS_LISTS_KEPT + 1) break;
      this.#lists.delete(old); // Map order is insertion order: oldest first
    }
    this.#resolvedVersion = -1;
  }

  /** The recipient list of `generation`, if still held. */
  recipients(generation: number): Recipients | undefined {
    return this.#lists.get(generation);
  }

  /**
   * Endpoints that messages of `generation` go to now: admitted, never the sender itself. The current
   * generation's answer is cached per roster version; older ones (rare: reordered Lossy frames) are not.
   */
  resolve(sender: Endpoint, generation: number): readonly Endpoint[] {
    const call = sender.call;
    if (generation !== this.generation) return resolveList(sender, this.#lists.get(generation));
    if (this.#resolvedVersion !== call.rosterVersion) {
      this.#resolved = resolveList(sender, this.#lists.get(generation));
      this.#resolvedVersion = call.rosterVersion;
    }
    return this.#resolved;
  }
}

function resolveList(sender: Endpoint, recipients: Recipients | undefined): readonly Endpoint[] {
  const call = sender.call;
  if (recipients === 'broadcast') return call.admitted.filter((e) => e !== sender);
  if (recipients === undefined || recipients === TOO_MANY_RECIPIENTS) return [];
  const resolved: Endpoint[] = [];
  for (const identity of recipients) for (const e of call.endpointsOf(identity)) if (e !== sender) resolved.push(e);
  return resolved;
}
