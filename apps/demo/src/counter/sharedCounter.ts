/**
 * A counter every page in the call shares, to show state for late joiners (a Backchannel extension): each
 * page's sender on COUNTER_CHANNEL has `retain: 'last'`, so the server keeps the last value each page sent
 * and hands it to a page that joins later before anything newer; that page shows the count at once.
 *
 * Each message is the whole state (a version and the value, 8 bytes): the page with the highest version
 * wins, ties broken by identity, so every page settles on the same value whatever order things arrive in.
 */
import type { DataChannelCallFeature, DataChannelReceiver, DataChannelSender } from '@backchannel/client';

import { identityOf } from '../call/roster.js';
import { Listeners } from '../lib/listeners.js';

/** The demo's channel for the shared counter (the chat and files have theirs in @backchannel/protocol). */
export const COUNTER_CHANNEL = 1002;

interface CounterState {
  readonly version: number;
  readonly value: number;
  readonly by: string;
}

export class SharedCounter {
  /** The value changed (here or elsewhere). */
  readonly changed = new Listeners<number>();
  readonly #sender: DataChannelSender;
  readonly #me: string;
  #state: CounterState = { version: 0, value: 0, by: '' };

  constructor(dataChannel: DataChannelCallFeature, me: string) {
    this.#sender = dataChannel.createDataChannelSender({ channelId: COUNTER_CHANNEL, retain: 'last' });
    this.#me = me;
  }

  get value(): number {
    return this.#state.value;
  }

  /** Adds one, for everyone. Rejects with the SDK's DataChannelError. */
  increment(): Promise<void> {
    const next = { version: this.#state.version + 1, value: this.#state.value + 1, by: this.#me };
    this.#apply(next);
    const bytes = new Uint8Array(8);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, next.version);
    view.setInt32(4, next.value);
    return this.#sender.sendMessage(bytes);
  }

  /** Reads a receiver of COUNTER_CHANNEL for as long as it lives. */
  read(receiver: DataChannelReceiver): void {
    const by = identityOf(receiver.senderParticipantIdentifier);
    const drain = (): void => {
      for (let m = receiver.readMessage(); m; m = receiver.readMessage()) {
        if (m.data.byteLength !== 8) continue; // not this demo's counter
        const view = new DataView(m.data.buffer, m.data.byteOffset, 8);
        this.#apply({ version: view.getUint32(0), value: view.getInt32(4), by });
      }
    };
    receiver.on('messageReady', drain);
    drain();
  }

  dispose(): void {
    this.#sender.close();
    this.changed.clear();
  }

  #apply(state: CounterState): void {
    const current = this.#state;
    if (state.version < current.version || (state.version === current.version && state.by <= current.by)) return;
    this.#state = state;
    this.changed.emit(state.value);
  }
}
