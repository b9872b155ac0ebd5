/**
 * Delivery receipts (an extension, docs/api.md "Delivery receipts"), the sender's side: the highest
 * sequence number each recipient endpoint has acknowledged (the server's Receipt frames, cumulative), and
 * the promises of `whenDelivered` waiting for one message to reach a set of endpoints, settled early for the
 * endpoints that leave before it reached them.
 */
export interface ReceiptEndpoint {
  readonly endpointId: number;
  readonly identity: string;
}

export interface DeliveryOutcome {
  /** Endpoints whose SDK has the message. */
  readonly reached: readonly ReceiptEndpoint[];
  /** Endpoints that left the call before it reached them. */
  readonly missed: readonly ReceiptEndpoint[];
}

interface Waiter {
  readonly sequenceNumber: number;
  readonly waiting: Map<number, ReceiptEndpoint>;
  readonly reached: ReceiptEndpoint[];
  readonly missed: ReceiptEndpoint[];
  readonly resolve: (outcome: DeliveryOutcome) => void;
}

/** Whether sequence number `a` is at or before `b`, mod 2^32. */
function atOrBefore(a: number, b: number): boolean {
  return ((b - a) >>> 0) < 0x80000000;
}

export class DeliveryReceipts {
  /** Highest sequence number acknowledged, by recipient endpoint. */
  readonly #highest = new Map<number, number>();
  #waiters: Waiter[] = [];

  /** The highest sequence number `endpointId` has acknowledged, if any. */
  highest(endpointId: number): number | undefined {
    return this.#highest.get(endpointId);
  }

  /** A receipt: `endpoint` has every message up to `sequenceNumber` addressed to it. */
  received(endpoint: ReceiptEndpoint, sequenceNumber: number): void {
    const before = this.#highest.get(endpoint.endpointId);
    if (before !== undefined && atOrBefore(sequenceNumber, before)) return;
    this.#highest.set(endpoint.endpointId, sequenceNumber);
    this.#settle((waiter) => {
      if (!waiter.waiting.has(endpoint.endpointId) || !atOrBefore(waiter.sequenceNumber, sequenceNumber)) return;
      waiter.waiting.delete(endpoint.endpointId);
      waiter.reached.push(endpoint);
    });
  }

  /** `endpointId` left the call: what waits for it is settled as missed. */
  left(endpointId: number): void {
    this.#highest.delete(endpointId);
    this.#settle((waiter) => {
      const endpoint = waiter.waiting.get(endpointId);
      if (!endpoint) return;
      waiter.waiting.delete(endpointId);
      waiter.missed.push(endpoint);
    });
  }

  /** Resolves once message `sequenceNumber` has reached each of `endpoints`, or they left. */
  whenDelivered(sequenceNumber: number, endpoints: readonly ReceiptEndpoint[]): Promise<DeliveryOutcome> {
    const waiting = new Map<number, ReceiptEndpoint>();
    const reached: ReceiptEndpoint[] = [];
    for (const endpoint of endpoints) {
      const highest = this.#highest.get(endpoint.endpointId);
      if (highest !== undefined && atOrBefore(sequenceNumber, highest)) reached.push(endpoint);
      else waiting.set(endpoint.endpointId, endpoint);
    }
    if (waiting.size === 0) return Promise.resolve({ reached, missed: [] });
    return new Promise((resolve) => this.#waiters.push({ sequenceNumber, waiting, reached, missed: [], resolve }));
  }

  /** The sender ended: every waiter settles with the endpoints not reached as missed. */
  end(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.resolve({ reached: waiter.reached, missed: [...waiter.missed, ...waiter.waiting.values()] });
  }

  #settle(update: (waiter: Waiter) => void): void {
    if (this.#waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const waiter of this.#waiters) {
      update(waiter);
      if (waiter.waiting.size === 0) waiter.resolve({ reached: waiter.reached, missed: waiter.missed });
      else still.push(waiter);
    }
    this.#waiters = still;
  }
}
