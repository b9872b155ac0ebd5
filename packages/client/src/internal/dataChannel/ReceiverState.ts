/** The buffer and lifecycle of one receiver (one remote sender session); DataChannelReceiver reads it. */
import type { DataChannelMessage } from '../../dataChannel/types.js';
import { Queue } from './Queue.js';

export class ReceiverState {
  readonly buffer = new Queue<DataChannelMessage>();
  /** Messages dropped because the application did not read them before the buffer filled. */
  droppedMessages = 0;
  lastActivityAt: number;
  closed = false;
  /** Set by the public receiver object to turn state changes into its events. */
  notifyMessageReady: (() => void) | undefined;
  notifyClose: (() => void) | undefined;

  constructor(
    readonly channelId: number,
    readonly sessionId: number,
    readonly senderIdentity: string,
    private readonly capacity: number,
    now: number,
  ) {
    this.lastActivityAt = now;
  }

  push(sequenceNumber: number, data: Uint8Array, now: number): void {
    this.lastActivityAt = now;
    if (this.buffer.length >= this.capacity) {
      // Drop the oldest: in real-time use the newest data matters most.
      this.buffer.shift();
      this.droppedMessages++;
    }
    this.buffer.push({ sequenceNumber, data });
    this.notifyMessageReady?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.notifyClose?.();
  }
}
