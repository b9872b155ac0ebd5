/**
 * Sorts arriving messages into receivers, one per remote sender session (SPEC §4 "Sessions"):
 *
 * - the first message of a session newer than any seen on (sender endpoint, channel) creates a receiver;
 *   receivers of older sessions stay until their close notification or idle timeout;
 * - a message of the newest session whose receiver was closed creates a new receiver;
 * - a message of a session older than the newest is discarded.
 */
import type { DataChannelLimits } from '@backchannel/protocol';

import type { ListenerErrorReporter } from '../../events.js';

import { ReceiverState } from './ReceiverState.js';

interface ChannelSessions {
  newestSessionId: number;
  /** Open receivers by session id. */
  open: Map<number, ReceiverState>;
}

export interface ReceiverTableCounters {
  /** Messages of superseded sessions, discarded. */
  staleDiscarded: number;
}

/** Key for (sender endpoint, channel): endpoint ids are uint32 and channels uint16, so this stays exact. */
function keyOf(endpointId: number, channelId: number): number {
  return endpointId * 0x10000 + channelId;
}

/** Server drop counts kept for sessions with no receiver yet (their first copies were all dropped). */
const MAX_PENDING_DROPS = 256;

export class ReceiverTable {
  readonly counters: ReceiverTableCounters = { staleDiscarded: 0 };
  readonly #channels = new Map<number, ChannelSessions>();
  /**
   * Copies the server dropped for this endpoint (slow-recipient feedback), for sessions it has no receiver
   * of yet, by `${key}/${sessionId}`: added to the receiver when it is made. Rare, so a string key.
   */
  readonly #pendingDrops = new Map<string, number>();
  readonly #bufferCapacity: number;
  readonly #onCreated: (receiver: ReceiverState) => void;
  readonly #reportListenerError: ListenerErrorReporter;

  constructor(bufferCapacity: number, onCreated: (receiver: ReceiverState) => void, reportListenerError: ListenerErrorReporter) {
    this.#bufferCapacity = bufferCapacity;
    this.#onCreated = onCreated;
    this.#reportListenerError = reportListenerError;
  }

  deliver(
    senderEndpointId: number,
    senderIdentity: string,
    channelId: number,
    sessionId: number,
    sequenceNumber: number,
    data: Uint8Array,
    now: number,
  ): void {
    const key = keyOf(senderEndpointId, channelId);
    let sessions = this.#channels.get(key);
    if (!sessions) this.#channels.set(key, (sessions = { newestSessionId: 0, open: new Map() }));
    if (sessionId < sessions.newestSessionId) {
      this.counters.staleDiscarded++;
      return;
    }
    sessions.newestSessionId = sessionId;
    let receiver = sessions.open.get(sessionId);
    if (!receiver) {
      receiver = new ReceiverState(channelId, sessionId, senderIdentity, this.#bufferCapacity, now, this.#reportListenerError);
      sessions.open.set(sessionId, receiver);
      if (this.#pendingDrops.size > 0) {
        const pendingKey = `${key}/${sessionId}`;
        const pending = this.#pendingDrops.get(pendingKey);
        this.#pendingDrops.delete(pendingKey);
        if (pending !== undefined) receiver.addServerDrops(pending);
      }
      this.#onCreated(receiver); // the application attaches its listeners here, before the first message
    }
    receiver.push(sequenceNumber, data, now);
  }

  /**
   * The server dropped `count` copies of a remote session for this endpoint (it was too far behind): they
   * count in that receiver's `droppedMessageCount`, now or once its receiver is made.
   */
  addServerDrops(senderEndpointId: number, channelId: number, sessionId: number, count: number): void {
    const key = keyOf(senderEndpointId, channelId);
    const receiver = this.#channels.get(key)?.open.get(sessionId);
    if (receiver) return receiver.addServerDrops(count);
    const pendingKey = `${key}/${sessionId}`;
    if (!this.#pendingDrops.has(pendingKey) && this.#pendingDrops.size >= MAX_PENDING_DROPS) this.#pendingDrops.delete(this.#pendingDrops.keys().next().value!);
    this.#pendingDrops.set(pendingKey, (this.#pendingDrops.get(pendingKey) ?? 0) + count);
  }

  /** The remote sender closed its session. */
  closeSession(senderEndpointId: number, channelId: number, sessionId: number): void {
    const sessions = this.#channels.get(keyOf(senderEndpointId, channelId));
    const receiver = sessions?.open.get(sessionId);
    if (!sessions || !receiver) return;
    sessions.open.delete(sessionId);
    receiver.close();
  }

  /** The remote endpoint left: all its receivers close. */
  closeEndpoint(senderEndpointId: number): void {
    for (const [key, sessions] of this.#channels) {
      if (Math.floor(key / 0x10000) !== senderEndpointId) continue;
      this.#channels.delete(key);
      for (const receiver of sessions.open.values()) receiver.close();
    }
  }

  /** Closes receivers with no message for `limits.receiverIdleCloseMs`. */
  closeIdle(limits: DataChannelLimits, now: number): void {
    for (const sessions of this.#channels.values()) {
      for (const [sessionId, receiver] of sessions.open) {
        if (now - receiver.lastActivityAt < limits.receiverIdleCloseMs) continue;
        sessions.open.delete(sessionId);
        receiver.close();
      }
    }
  }

  closeAll(): void {
    this.#pendingDrops.clear();
    const channels = [...this.#channels.values()];
    this.#channels.clear();
    for (const sessions of channels) for (const receiver of sessions.open.values()) receiver.close();
  }
}
