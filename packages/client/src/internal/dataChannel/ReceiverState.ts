/**
 * The buffer and lifecycle of one receiver (one remote sender session). It emits; the public
 * DataChannelReceiver subscribes and reads.
 */
import type { DataChannelMessage } from '../../dataChannel/types.js';
import { TypedEmitter, type ListenerErrorReporter } from '../../events.js';
import { Queue } from './Queue.js';

export interface ReceiverStateEvents {
  messageReady: [];
  close: [];
}

export class ReceiverState extends TypedEmitter<ReceiverStateEvents> {
  readonly #buffer = new Queue<DataChannelMessage>();
  #droppedMessages = 0;
  #lastActivityAt: number;
  #closed = false;
  readonly #capacity: number;

  constructor(
    readonly channelId: number,
    readonly sessionId: number,
    readonly senderIdentity: string,
    capacity: number,
    now: number,
    reportListenerError: ListenerErrorReporter,
  ) {
    super(reportListenerError);
    this.#capacity = capacity;
    this.#lastActivityAt = now;
  }

  /**
   * Messages dropped because the application did not read them before the buffer filled, and those the
   * server dropped for this endpoint because it was too far behind (an extension).
   */
  get droppedMessages(): number {
    return this.#droppedMessages;
  }

  /** The server dropped `count` copies of this session's messages for this endpoint. */
  addServerDrops(count: number): void {
    this.#droppedMessages += count;
  }

  get lastActivityAt(): number {
    return this.#lastActivityAt;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The oldest buffered message, if any, taken off the buffer. */
  read(): DataChannelMessage | undefined {
    return this.#buffer.shift();
  }

  /** The oldest buffered message, if any, left in the buffer. */
  peek(): DataChannelMessage | undefined {
    return this.#buffer.peek();
  }

  /** Messages waiting to be read. */
  get bufferedCount(): number {
    return this.#buffer.length;
  }

  push(sequenceNumber: number, data: Uint8Array, now: number): void {
    this.#lastActivityAt = now;
    if (this.#buffer.length >= this.#capacity) {
      // Drop the oldest: in real-time use the newest data matters most.
      this.#buffer.shift();
      this.#droppedMessages++;
    }
    this.#buffer.push({ sequenceNumber, data });
    this.emit('messageReady');
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.emit('close');
  }
}
