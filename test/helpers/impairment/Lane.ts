/**
 * The impairments themselves: one {@link Lane} per direction of each flow (a UDP 5-tuple or a signaling
 * connection), all reading the same {@link Conditions}, so a change during a test applies at once to both
 * directions of both relays.
 *
 * The model is netem's, in user space: a packet is dropped (loss, outage, full bottleneck queue) or leaves
 * after its serialization time at the bottleneck plus the one-way delay. Settings a test changes apply to
 * packets pushed from then on; those already in flight keep the fate they were given.
 */
import { EventEmitter } from 'node:events';

import { systemClock, type Clock, type TimerHandle } from '@backchannel/protocol';

import { seededRandom, type Random } from './prng.js';

/** What the path does to traffic; every field may change during a test ({@link Conditions.set}). */
export interface NetworkSettings {
  /** Probability in [0, 1] that a UDP datagram is dropped. TCP (signaling) never drops: see {@link Lane}. */
  loss: number;
  /** One-way latency added to every packet, ms (both directions: the round trip grows by twice this). */
  delayMs: number;
  /** Bottleneck bandwidth per flow and direction, kbit/s; undefined: no bottleneck. */
  rateKbps: number | undefined;
  /** Bytes the bottleneck queue holds before it drops UDP datagrams (a router's buffer). */
  queueBytes: number;
}

export const CLEAN_NETWORK: Readonly<NetworkSettings> = Object.freeze({ loss: 0, delayMs: 0, rateKbps: undefined, queueBytes: 64 * 1024 });

/** Why a datagram was dropped. */
export type DropReason = 'loss' | 'outage' | 'queue';

/** Traffic one way (toward the server or toward the clients) over one kind of relay. */
export interface DirectionCounters {
  /** Packets delivered (datagrams for UDP, WebSocket messages for signaling). */
  forwarded: number;
  /** Bytes delivered. */
  bytes: number;
  /** Packets dropped, by reason (always 0 for signaling). */
  dropped: Record<DropReason, number>;
}

export function emptyCounters(): DirectionCounters {
  return { forwarded: 0, bytes: 0, dropped: { loss: 0, outage: 0, queue: 0 } };
}

export interface ConditionsEvents {
  /** The link came back up: lanes release what they held. */
  up: [];
  /** The link went down; `cutTcp`: signaling connections are to be cut, not held. */
  down: [cutTcp: boolean];
}

/** The shared, changeable state of the path, and the seeded randomness loss draws from. */
export class Conditions extends EventEmitter<ConditionsEvents> {
  #settings: NetworkSettings;
  #down = false;
  readonly random: Random;
  /** Time as the lanes read it: the system's, or a test's manual clock (unit tests). */
  readonly clock: Clock;

  constructor(settings: Partial<NetworkSettings>, seed: number, clock: Clock = systemClock) {
    super();
    this.clock = clock;
    this.setMaxListeners(0); // every lane of every flow listens: dozens in a call of a few participants
    this.#settings = { ...CLEAN_NETWORK };
    this.set(settings);
    this.random = seededRandom(seed);
  }

  get settings(): Readonly<NetworkSettings> {
    return this.#settings;
  }

  get isDown(): boolean {
    return this.#down;
  }

  /** Changes some settings; the others keep their values. */
  set(settings: Partial<NetworkSettings>): void {
    const next = { ...this.#settings, ...settings };
    if (!(next.loss >= 0 && next.loss <= 1)) throw new RangeError(`loss must be in [0, 1], got ${next.loss}`);
    if (!(next.delayMs >= 0)) throw new RangeError(`delayMs must be >= 0, got ${next.delayMs}`);
    if (next.rateKbps !== undefined && !(next.rateKbps > 0)) throw new RangeError(`rateKbps must be > 0, got ${next.rateKbps}`);
    if (!(next.queueBytes > 0)) throw new RangeError(`queueBytes must be > 0, got ${next.queueBytes}`);
    this.#settings = next;
  }

  down(cutTcp: boolean): void {
    if (this.#down) return;
    this.#down = true;
    this.emit('down', cutTcp);
  }

  up(): void {
    if (!this.#down) return;
    this.#down = false;
    this.emit('up');
  }
}

export interface LaneOptions<T> {
  /**
   * 'udp' drops (loss, outage, a full queue); 'tcp' never does. A real network drops TCP segments too, but
   * TCP retransmits them, so the application above sees only delay: a signaling message is late, never
   * lost. An outage holds TCP traffic until the link is up again (what a TCP connection does until its
   * retransmissions give up, minutes later); cutting the connection is a separate, explicit choice.
   */
  transport: 'udp' | 'tcp';
  conditions: Conditions;
  counters: DirectionCounters;
  size(item: T): number;
  deliver(item: T): void;
}

interface InFlight<T> {
  item: T;
  arriveAt: number;
}

/** One direction of one flow: impairs what is pushed into it, then delivers it in order. */
export class Lane<T> {
  readonly #options: LaneOptions<T>;
  /** Waiting out their delay, in arrival order (arrival times never decrease: see push). */
  readonly #inFlight: InFlight<T>[] = [];
  /** Departure times and sizes of what is still queued at the bottleneck. */
  readonly #bottleneck: { departAt: number; size: number }[] = [];
  #queuedBytes = 0;
  #lastDepartAt = 0;
  #lastArriveAt = 0;
  /** TCP traffic held during an outage. */
  #held: T[] = [];
  #timer: TimerHandle | undefined;
  #closed = false;
  readonly #onUp = (): void => this.#release();

  constructor(options: LaneOptions<T>) {
    this.#options = options;
    if (options.transport === 'tcp') options.conditions.on('up', this.#onUp); // UDP lanes hold nothing
  }

  push(item: T): void {
    if (this.#closed) return;
    const { conditions, counters, transport } = this.#options;
    const settings = conditions.settings;
    if (conditions.isDown) {
      if (transport === 'tcp') this.#held.push(item);
      else counters.dropped.outage++;
      return;
    }
    if (transport === 'udp' && settings.loss > 0 && conditions.random() < settings.loss) {
      counters.dropped.loss++;
      return;
    }
    const now = conditions.clock.now();
    let departAt = now;
    if (settings.rateKbps !== undefined) {
      while (this.#bottleneck.length > 0 && this.#bottleneck[0]!.departAt <= now) this.#queuedBytes -= this.#bottleneck.shift()!.size;
      const size = this.#options.size(item);
      // A router's queue is bounded: a sender that outruns the bottleneck fills it, then loses datagrams.
      // TCP is not dropped (see LaneOptions.transport); it queues without bound, as its window would.
      if (transport === 'udp' && this.#queuedBytes + size > settings.queueBytes) {
        counters.dropped.queue++;
        return;
      }
      departAt = Math.max(now, this.#lastDepartAt) + (size * 8) / settings.rateKbps; // kbit/s = bit/ms
      this.#lastDepartAt = departAt;
      this.#bottleneck.push({ departAt, size });
      this.#queuedBytes += size;
    }
    // Order is kept per flow: a fixed delay does not reorder (netem's without jitter doesn't either), and
    // lowering delayMs mid-test must not let new packets overtake old ones. Reordering would be an
    // impairment of its own; TCP could not have it at all.
    const arriveAt = Math.max(departAt + settings.delayMs, this.#lastArriveAt);
    this.#lastArriveAt = arriveAt;
    if (arriveAt <= now && this.#inFlight.length === 0) this.#deliver(item);
    else {
      this.#inFlight.push({ item, arriveAt });
      this.#arm();
    }
  }

  /** Drops everything in flight or held and stops the timer. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#options.conditions.off('up', this.#onUp);
    if (this.#timer !== undefined) this.#options.conditions.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#inFlight.length = 0;
    this.#held = [];
  }

  #deliver(item: T): void {
    const { counters } = this.#options;
    counters.forwarded++;
    counters.bytes += this.#options.size(item);
    this.#options.deliver(item);
  }

  /** One timer per lane, for the head of the line: thousands of datagrams in flight cost one timer. */
  #arm(): void {
    if (this.#timer !== undefined || this.#inFlight.length === 0) return;
    const { clock } = this.#options.conditions;
    const wait = Math.max(0, this.#inFlight[0]!.arriveAt - clock.now());
    this.#timer = clock.setTimeout(() => {
      this.#timer = undefined;
      const now = clock.now();
      while (!this.#closed && this.#inFlight.length > 0 && this.#inFlight[0]!.arriveAt <= now) this.#deliver(this.#inFlight.shift()!.item);
      this.#arm();
    }, wait);
  }

  #release(): void {
    const held = this.#held;
    this.#held = [];
    for (const item of held) this.push(item);
  }
}
