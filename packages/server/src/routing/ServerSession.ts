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

export class ServerSession {
  generation = 0;
  /** Lossy frames sent under a recipient list that has not arrived yet, oldest first. */
  held: HeldFrame[] = [];
  recipients: Recipients = 'broadcast';
  closed = false;
  /** Created with the first data frame, at the rate of that frame's class. */
  pace: TokenBucket | undefined;
  #resolved: readonly Endpoint[] = [];
  #resolvedVersion = -1;

  constructor(readonly sessionId: number) {}

  setRecipients(generation: number, recipients: readonly string[], limits: DataChannelLimits): void {
    this.generation = generation;
    if (recipients.length > limits.maxRecipients) this.recipients = TOO_MANY_RECIPIENTS;
    else this.recipients = recipients.length === 0 ? 'broadcast' : new Set(recipients);
    this.#resolvedVersion = -1;
  }

  /** Endpoints the session's messages go to now: admitted, never the sender itself. */
  resolve(sender: Endpoint): readonly Endpoint[] {
    const call = sender.call;
    if (this.#resolvedVersion === call.rosterVersion) return this.#resolved;
    const recipients = this.recipients;
    if (recipients === 'broadcast') {
      this.#resolved = call.admitted.filter((e) => e !== sender);
    } else if (recipients === TOO_MANY_RECIPIENTS) {
      this.#resolved = [];
    } else {
      const resolved: Endpoint[] = [];
      for (const identity of recipients) for (const e of call.endpointsOf(identity)) if (e !== sender) resolved.push(e);
      this.#resolved = resolved;
    }
    this.#resolvedVersion = call.rosterVersion;
    return this.#resolved;
  }
}
