/**
 * The benchmark's message payload: a 16-byte stamp followed by filler up to the size under test.
 *
 *   bytes 0–7   float64 LE  when the message was sent: ms on the shared clock (see {@link clockMs})
 *   bytes 8–11  uint32 LE   measurement window id: a late message from an earlier window is not counted
 *   bytes 12–15 uint32 LE   sending stream index
 *
 * Little-endian, read through one shared scratch buffer: receivers decode hundreds of thousands of stamps a
 * second on the same two cores as the systems under test, so decoding allocates nothing.
 */
export const PROBE_HEADER_BYTES = 16;

const scratch = new ArrayBuffer(PROBE_HEADER_BYTES);
const scratchBytes = new Uint8Array(scratch);
const scratchView = new DataView(scratch);

/**
 * Milliseconds on a clock every process on the machine shares: the wall clock at process start plus the
 * monotonic clock since. Latencies are taken across processes, so the same clock must be read everywhere.
 */
export function clockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** A payload of `size` bytes (at least the header) stamped with `sentAt`. */
export function encodeProbe(size: number, sentAt: number, windowId: number, streamIndex: number): Uint8Array {
  const bytes = new Uint8Array(Math.max(size, PROBE_HEADER_BYTES));
  scratchView.setFloat64(0, sentAt, true);
  scratchView.setUint32(8, windowId, true);
  scratchView.setUint32(12, streamIndex, true);
  bytes.set(scratchBytes);
  return bytes;
}

export interface ProbeStamp {
  sentAt: number;
  windowId: number;
}

const NO_STAMP: Readonly<ProbeStamp> = Object.freeze({ sentAt: NaN, windowId: 0 });
/** Reused by {@link readProbe}: valid until the next call. */
const reading: ProbeStamp = { sentAt: 0, windowId: 0 };

/** The send time and window of a payload (NaN and 0 for one too short to carry a stamp), without allocating. */
export function readProbe(bytes: Uint8Array): Readonly<ProbeStamp> {
  if (bytes.byteLength < PROBE_HEADER_BYTES) return NO_STAMP;
  for (let i = 0; i < PROBE_HEADER_BYTES; i++) scratchBytes[i] = bytes[i]!;
  reading.sentAt = scratchView.getFloat64(0, true);
  reading.windowId = scratchView.getUint32(8, true);
  return reading;
}
