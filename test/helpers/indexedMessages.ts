/**
 * Messages that carry their own index (a uint32 at the start of the payload), so that a test over a lossy or
 * interrupted path can say exactly which arrived, how often and in what order.
 */
import type { DataChannelMessage, DataChannelReceiver } from '@backchannel/client';

import { waitForEvent } from './events.js';

/** A payload of `size` bytes whose first four carry `i`. */
export function indexed(i: number, size = 100): Uint8Array {
  const bytes = new Uint8Array(size);
  new DataView(bytes.buffer).setUint32(0, i);
  return bytes;
}

/** The index a message carries. */
export function indexOf(message: DataChannelMessage): number {
  const { data } = message;
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
}

/** from, from + 1, … to − 1. */
export const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** Everything buffered at `receiver` now, appended to `into`. */
export function drain(receiver: DataChannelReceiver, into: DataChannelMessage[]): DataChannelMessage[] {
  for (let m = receiver.readMessage(); m; m = receiver.readMessage()) into.push(m);
  return into;
}

/** Reads until `count` messages have arrived at `receiver` (those already in `into`, or buffered, count). */
export async function readIndexed(receiver: DataChannelReceiver, count: number, timeoutMs: number, into: DataChannelMessage[] = []): Promise<DataChannelMessage[]> {
  drain(receiver, into);
  if (into.length < count) await waitForEvent(receiver, 'messageReady', () => drain(receiver, into).length >= count, timeoutMs);
  return into;
}
