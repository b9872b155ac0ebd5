/**
 * State for late joiners (an extension, docs/api.md "State for late joiners"): a sender session opened with
 * `retain: 'last'` flags its Durable messages (FrameFlag.Retain), and the server keeps the latest one. An
 * endpoint that joins the call later, or becomes one of the session's recipients later, gets that message
 * first, with its original sequence number, before any newer message of the session: it sees the current
 * state at once instead of waiting for the next change.
 *
 * What is kept is the Deliver frame already routed (the received buffer, rewritten in place), not a copy.
 * Memory is bounded three ways: one message per session (at most the message size limit), counted against
 * the sender endpoint's held-bytes budget, and a per-call bound (`maxRetainedBytesPerCall`), reported in
 * the metrics. A message that does not fit is not kept, and the one before it is let go (later joiners must
 * never see a state older than the newest).
 */
import type { PeerNode, RemoteMember, RemoteRoute } from './CallSpan.js';
import type { Endpoint } from './Endpoint.js';
import type { HeldBytesBudget } from './ServerSession.js';

/** One call's retained messages: the per-call bound and what its metrics report. */
export class RetainedBudget {
  #bytes = 0;
  #messages = 0;

  constructor(readonly maxBytes: number) {}

  /** Bytes retained in the call now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Messages retained in the call now (one per retaining session at most). */
  get messages(): number {
    return this.#messages;
  }

  tryReserve(bytes: number): boolean {
    if (this.#bytes + bytes > this.maxBytes) return false;
    this.#bytes += bytes;
    this.#messages++;
    return true;
  }

  release(bytes: number): void {
    this.#bytes -= bytes;
    this.#messages--;
  }
}

/** The latest retained message of one session, and the endpoints it has reached. */
export class RetainedMessage {
  #frame: Uint8Array | undefined;
  /** Endpoints the current retained message was routed or handed to (whatever became of the copy). */
  #reached = new Set<Endpoint>();
  /** The same for endpoints on other nodes of a cluster, by id (ids are unique in a cluster). */
  #reachedRemote = new Set<number>();

  constructor(
    private readonly held: HeldBytesBudget,
    private readonly call: RetainedBudget,
  ) {}

  get frame(): Uint8Array | undefined {
    return this.#frame;
  }

  /**
   * A new message of the session was routed to `targets`: it replaces the retained one if both budgets
   * take it; otherwise nothing is retained any more (false).
   */
  replace(frame: Uint8Array, targets: readonly Endpoint[], remoteTargets: Iterable<number> = []): boolean {
    this.clear();
    if (!this.held.tryReserve(frame.byteLength)) return false;
    if (!this.call.tryReserve(frame.byteLength)) {
      this.held.release(frame.byteLength);
      return false;
    }
    this.#frame = frame;
    this.#reached = new Set(targets);
    this.#reachedRemote = new Set(remoteTargets);
    return true;
  }

  /**
   * Hands the retained message, over the node links, to every endpoint on another node among `route`'s
   * recipients (every remote member for a broadcast) that it has not reached yet. The link is ordered, so it
   * precedes anything routed to them afterwards.
   */
  offerRemote(route: RemoteRoute, members: ReadonlyMap<number, RemoteMember>, senderId: number): void {
    const frame = this.#frame;
    if (!frame) return;
    const targetsOf = (node: PeerNode, listed: readonly number[]): number[] =>
      (route.broadcast ? [...members.values()].filter((m) => m.node === node).map((m) => m.endpointId) : listed).filter((id) => !this.#reachedRemote.has(id));
    for (const { node, targets } of route.nodes) {
      const fresh = targetsOf(node, targets);
      if (fresh.length === 0) continue;
      for (const id of fresh) this.#reachedRemote.add(id);
      node.data('durable', false, senderId, fresh, frame);
    }
  }

  /**
   * Hands the retained message to every endpoint of `targets` it has not reached yet (a late joiner, a new
   * recipient). Durable, on the recipient's link, so it precedes anything routed to it afterwards.
   */
  offer(targets: readonly Endpoint[]): void {
    const frame = this.#frame;
    if (!frame) return;
    for (const target of targets) {
      if (this.#reached.has(target)) continue;
      this.#reached.add(target);
      target.deliver('durable', frame);
    }
  }

  /** The session ended (or its message no longer fits): nothing is retained. Idempotent. */
  clear(): void {
    if (!this.#frame) return;
    this.held.release(this.#frame.byteLength);
    this.call.release(this.#frame.byteLength);
    this.#frame = undefined;
    this.#reached = new Set();
    this.#reachedRemote = new Set();
  }
}
