/**
 * Moves queued messages from an endpoint's senders onto the transport.
 *
 * - Priority: High senders are served before Normal ones whenever both could send (SPEC §4); among senders
 *   of one priority, round robin.
 * - Pace: each sender leaves only when its token bucket allows; the scheduler sleeps until the earliest one
 *   is ready.
 * - Before the call is connected (DataLink.dataState() 'waiting': the server may not have admitted this
 *   endpoint yet, so nothing may leave even once the transport is up), Durable messages and recipient lists
 *   wait in their queues and Lossy messages are dropped; the call pumps once it is connected.
 * - Backpressure: while the Durable channel holds more than DURABLE_HIGH_WATERMARK bytes, or the Durable
 *   link keeps more than its allowance at the path's measured drain rate (DurableFlow.room), Durable
 *   messages wait in their queues (where priority still applies and the backlog bound sees them) and the
 *   scheduler resumes on the transport's buffered-amount-low event or the link's next acknowledgement. A Lossy message meeting a full Lossy channel is dropped, as Lossy promises.
 */
import { DataChannelErrorCode, type TimerHandle } from '@backchannel/protocol';

import { DataChannelError } from '../../errors.js';
import type { TransportChannel } from '../transport/PeerTransport.js';
import { DURABLE_HIGH_WATERMARK, LOSSY_DROP_WATERMARK, type DataLink } from './DataLink.js';
import type { SenderState } from './SenderState.js';

/** What one scheduling round knows: its clock, the room left on the Durable channel, the next pace wake-up. */
interface Round {
  readonly now: number;
  /** The call is connected (dataState 'open'): anything may leave. */
  readonly open: boolean;
  durableRoom: number;
  wakeAt: number;
}

export interface SchedulerCounters {
  /** Lossy messages dropped because the Lossy channel was full. */
  lossyDropped: number;
}

export class SendScheduler {
  readonly counters: SchedulerCounters = { lossyDropped: 0 };
  readonly #link: DataLink;
  /** Senders with queued items, by priority; Set order gives round robin. */
  readonly #high = new Set<SenderState>();
  readonly #normal = new Set<SenderState>();
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;
  #pumping = false;
  /** A pump is queued as a microtask (see schedule). */
  #pumpQueued = false;

  constructor(link: DataLink) {
    this.#link = link;
  }

  /**
   * A sender has something queued. The pump runs once the current task's synchronous work is done (a
   * microtask), not inside the call: an application that sends several messages in one go has them all
   * queued before any leaves, so priority applies across the burst (a High message sent right after a
   * batch of Normal ones is not queued behind Normal ones the pump moved while it was being queued).
   */
  schedule(sender: SenderState): void {
    (sender.priority === 'High' ? this.#high : this.#normal).add(sender);
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    queueMicrotask(() => {
      this.#pumpQueued = false;
      this.pump();
    });
  }

  forget(sender: SenderState): void {
    this.#high.delete(sender);
    this.#normal.delete(sender);
  }

  /** Called when the transport drains or a pace timer fires. */
  pump(): void {
    if (this.#pumping) return; // re-entered from a resolve() callback: the running loop continues
    this.#pumping = true;
    // What this pump moves onto the Durable link leaves together when it is done (DurableFlow.cork).
    const flow = this.#link.durableFlow;
    flow.cork();
    try {
      this.#pumpLoop();
    } finally {
      this.#pumping = false;
      flow.uncork();
    }
  }

  dispose(): void {
    if (this.#timer) this.#link.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#high.clear();
    this.#normal.clear();
  }

  #pumpLoop(): void {
    const channels = { durable: this.#link.channel('durable'), lossy: this.#link.channel('lossy') };
    for (;;) {
      // The Durable buffer is read once per round and shared by both priorities: the SCTP thread drains it
      // concurrently, and a Normal message must never slip out in a round where High ones were held back.
      // One place decides whether Durable data may leave at all: the call's data state (not the transport's
      // own: a transport can be up before the server admitted the endpoint).
      const open = this.#link.dataState() === 'open';
      const durableRoom = open ? Math.min(DURABLE_HIGH_WATERMARK - channels.durable.bufferedAmount(), this.#link.durableFlow.room()) : -1;
      const round: Round = { now: this.#link.clock.now(), open, durableRoom, wakeAt: Infinity };
      // Normal senders go only in a round where no High sender could.
      const sent = this.#serve(this.#high, round, channels) || this.#serve(this.#normal, round, channels);
      if (!sent) {
        // Nothing more can leave now: sleep until the earliest paced sender may go.
        this.#armTimer(round.wakeAt);
        return;
      }
    }
  }

  /** One round-robin pass over `ring`; true if anything left. */
  #serve(ring: Set<SenderState>, round: Round, channels: { durable: TransportChannel; lossy: TransportChannel }): boolean {
    let sent = false;
    for (const sender of ring) {
      const head = sender.queue.peek();
      if (!head || sender.closed) {
        ring.delete(sender);
        continue;
      }
      if (head.kind === 'control') {
        // Recipient lists always travel on the Durable channel, in order with Durable data.
        if (round.durableRoom < 0) continue;
        sender.takeHead(round.now);
        channels.durable.send(head.frame);
        round.durableRoom -= head.frame.byteLength;
      } else {
        const wait = sender.msUntilReady(round.now);
        if (wait > 0) {
          round.wakeAt = Math.min(round.wakeAt, round.now + wait);
          continue;
        }
        if (sender.reliability === 'Durable') {
          if (round.durableRoom < 0) continue; // resumed by onBufferedAmountLow
          sender.takeHead(round.now);
          round.durableRoom -= head.frame.byteLength;
          if (channels.durable.send(head.frame)) head.resolve();
          else head.reject(new DataChannelError(DataChannelErrorCode.FailedToStart, 'the data transport closed before the message was sent'));
        } else {
          sender.takeHead(round.now);
          if (!round.open || channels.lossy.bufferedAmount() > LOSSY_DROP_WATERMARK || !channels.lossy.send(head.frame)) this.counters.lossyDropped++;
          head.resolve();
        }
      }
      sent = true;
      if (sender.queue.length === 0) ring.delete(sender);
    }
    return sent;
  }

  #armTimer(at: number): void {
    if (at === Infinity || at >= this.#timerAt) return;
    const clock = this.#link.clock;
    if (this.#timer) clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = clock.setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Infinity;
        this.pump();
      },
      Math.max(1, Math.ceil(at - clock.now())),
    );
  }
}
