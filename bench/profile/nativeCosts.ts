/**
 * What the server's per-copy work costs on the JavaScript thread, measured on node-datachannel directly:
 * `bufferedAmount()` (called once per copy by Endpoint.deliver), `sendMessageBinary()` of 64 B and 1 KiB
 * (the copy itself: libdatachannel runs SCTP, DTLS encryption and the UDP send on the calling thread), and
 * one bundled send of ten 1 KiB messages. Evidence for the bottleneck notes in docs/benchmarks.md:
 *
 *   node --import tsx bench/profile/nativeCosts.ts
 */
import nodeDataChannel, { type DataChannel, type PeerConnection } from 'node-datachannel';

const ROUNDS = 20_000;
const BATCH = 50;

interface Pair {
  sender: DataChannel;
  close(): void;
}

/** Two peer connections in this process with an open reliable channel, signaled directly. */
async function connectedPair(): Promise<Pair> {
  const a: PeerConnection = new nodeDataChannel.PeerConnection('a', { iceServers: [] });
  const b: PeerConnection = new nodeDataChannel.PeerConnection('b', { iceServers: [] });
  a.onLocalDescription((sdp, type) => b.setRemoteDescription(sdp, type));
  b.onLocalDescription((sdp, type) => a.setRemoteDescription(sdp, type));
  a.onLocalCandidate((candidate, mid) => b.addRemoteCandidate(candidate, mid));
  b.onLocalCandidate((candidate, mid) => a.addRemoteCandidate(candidate, mid));
  const received: DataChannel[] = [];
  b.onDataChannel((channel) => {
    received.push(channel);
    channel.onMessage(() => undefined);
  });
  const sender = a.createDataChannel('bench');
  await new Promise<void>((resolve) => sender.onOpen(() => resolve()));
  sender.setBufferedAmountLowThreshold(0);
  return {
    sender,
    close: () => {
      sender.close();
      for (const channel of received) channel.close();
      a.close();
      b.close();
    },
  };
}

/** Mean nanoseconds per call of `call`, timed in batches, waiting for the send buffer to drain between them. */
async function timePerCall(pair: Pair, call: () => void): Promise<number> {
  let total = 0n;
  for (let done = 0; done < ROUNDS; done += BATCH) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) call();
    total += process.hrtime.bigint() - start;
    if (pair.sender.bufferedAmount() > 0) await new Promise<void>((resolve) => pair.sender.onBufferedAmountLow(() => resolve()));
  }
  return Number(total) / ROUNDS;
}

const pair = await connectedPair();
const small = new Uint8Array(64 + 16);
const kib = new Uint8Array(1024 + 16);
const bundle = new Uint8Array(10 * (1024 + 16));
const results = {
  'bufferedAmount()': await timePerCall(pair, () => pair.sender.bufferedAmount()),
  'performance.now()': await timePerCall(pair, () => performance.now()),
  'sendMessageBinary(80 B)': await timePerCall(pair, () => pair.sender.sendMessageBinary(small)),
  'sendMessageBinary(1 KiB + header)': await timePerCall(pair, () => pair.sender.sendMessageBinary(kib)),
  'sendMessageBinary(10 × 1 KiB bundled), per message': (await timePerCall(pair, () => pair.sender.sendMessageBinary(bundle))) / 10,
};
pair.close();
for (const [what, ns] of Object.entries(results)) console.log(`${what.padEnd(52)} ${(ns / 1000).toFixed(2)} µs`);
setTimeout(() => nodeDataChannel.cleanup(), 100);
