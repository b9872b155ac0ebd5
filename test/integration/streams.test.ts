/** The stream helper (Backchannel extension): payloads larger than one message, over real loopback calls. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  DataChannelErrorCode,
  StreamErrorCode,
  receiveStreams,
  sendStream,
  type DataChannelSender,
  type IncomingStream,
  type StreamError,
  type StreamProgress,
  type StreamSink,
} from '@backchannel/client';

import { receiversOf, rosterSettled, startHarness, userIdOf, type Harness, type Participant } from '../helpers/backchannel.js';
import { waitForEvent, within } from '../helpers/events.js';

const MiB = 1024 * 1024;

/** Deterministic bytes that differ in every chunk, so a swapped or repeated chunk would show. */
function payload(size: number, seed = 1): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** A sender from `from` to `to` only (targeted: streams are not subject to the broadcast rules). */
function senderTo(from: Participant, to: Participant, channelId: number): DataChannelSender {
  return from.dataChannel.createDataChannelSender({ channelId, participants: [{ communicationUserId: to.identity }] });
}

/** The first stream arriving at `participant` (its `receiverIndex`-th receiver), with the progress it reported. */
async function nextStream(participant: Participant, receiverIndex = 0): Promise<{ stream: IncomingStream; progress: StreamProgress[] }> {
  const receiver = (await receiversOf(participant, receiverIndex + 1))[receiverIndex]!;
  const progress: StreamProgress[] = [];
  const stream = await new Promise<IncomingStream>((resolve) => {
    receiveStreams(receiver, (incoming) => {
      incoming.on('progress', (p) => progress.push(p));
      resolve(incoming);
    });
  });
  return { stream, progress };
}

/** Wraps a sender to rewrite or drop Chunk frames (byte 1 = type 2, bytes 6–9 = index) on their way out. */
function tampering(sender: DataChannelSender, tamper: (index: number, frame: Uint8Array) => Uint8Array | undefined): StreamSink {
  return {
    maxMessageSize: sender.maxMessageSize,
    bitrateInKbps: sender.bitrateInKbps,
    sendMessage: (frame) => {
      if (frame[1] !== 2) return sender.sendMessage(frame);
      const changed = tamper(new DataView(frame.buffer, frame.byteOffset).getUint32(6), frame);
      return changed ? sender.sendMessage(changed) : Promise.resolve();
    },
  };
}

async function streamError(stream: IncomingStream): Promise<StreamError> {
  return within(
    stream.done.then(
      () => assert.fail('the stream completed'),
      (error: StreamError) => error,
    ),
    'the stream to fail',
  );
}

describe('streams', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ limits: { durableMaxKbps: 100_000 } });
  });
  after(() => h.close());

  it('carries 6 MiB byte-identical in chunks under maxMessageSize, with progress reaching 100% on both sides', async () => {
    const [a, b] = [await h.join('streams-big'), await h.join('streams-big')];
    await rosterSettled([a, b]);
    const data = payload(6 * MiB);
    const sent: StreamProgress[] = [];
    const sender = senderTo(a, b, 7000);
    const sending = sendStream(sender, data, { metadata: { name: 'big.bin' }, onProgress: (p) => sent.push(p) });
    const { stream, progress } = await nextStream(b);
    const [result, receipt] = await Promise.all([within(sending, 'sendStream'), within(stream.done, 'the stream')]);

    assert.deepEqual(stream.metadata, { name: 'big.bin' });
    assert.equal(stream.totalBytes, data.byteLength);
    assert.equal(userIdOf(stream.sender), a.identity);
    assert.ok(Buffer.from(receipt.bytes()).equals(Buffer.from(data)), 'received bytes differ from the sent ones');
    assert.equal(receipt.digest, result.digest);
    assert.equal(result.chunkCount, Math.ceil(data.byteLength / (sender.maxMessageSize - 10)));
    assert.ok(receipt.chunks.every((chunk) => chunk.byteLength <= sender.maxMessageSize));
    assert.deepEqual(sent.at(-1), { bytes: data.byteLength, totalBytes: data.byteLength });
    assert.deepEqual(progress.at(-1), { bytes: data.byteLength, totalBytes: data.byteLength });
    for (const list of [sent, progress]) assert.ok(list.every((p, i) => i === 0 || p.bytes > list[i - 1]!.bytes), 'progress only grows');
    assert.equal(stream.state, 'complete');
  });

  it('reads a Blob a piece at a time and delivers it intact, empty streams included', async () => {
    const [a, b] = [await h.join('streams-blob'), await h.join('streams-blob')];
    await rosterSettled([a, b]);
    const sender = senderTo(a, b, 7001);
    const data = payload(3 * MiB + 17, 7);
    const arrived: IncomingStream[] = [];
    const twoStreams = new Promise<void>((resolve) => {
      void receiversOf(b, 1).then(([receiver]) =>
        receiveStreams(receiver!, (stream) => {
          arrived.push(stream);
          if (arrived.length === 2) resolve();
        }),
      );
    });
    await within(sendStream(sender, new Blob([data])), 'the Blob stream');
    await within(sendStream(sender, new Uint8Array(0), { metadata: { empty: true } }), 'the empty stream');
    await within(twoStreams, 'two streams');
    const [blob, empty] = await Promise.all(arrived.map((stream) => within(stream.done, 'a stream')));
    assert.ok(Buffer.from(await blob!.blob().arrayBuffer()).equals(Buffer.from(data)));
    assert.equal(empty!.byteLength, 0);
    assert.deepEqual(arrived[1]!.metadata, { empty: true });
    assert.notEqual(arrived[0]!.id, arrived[1]!.id);
  });

  it('cancels through the AbortSignal: sendStream rejects and the receiver learns it, both with StreamCancelled', async () => {
    const [a, b] = [await h.join('streams-cancel'), await h.join('streams-cancel')];
    await rosterSettled([a, b]);
    const controller = new AbortController();
    const sending = sendStream(senderTo(a, b, 7002), payload(4 * MiB), {
      signal: controller.signal,
      onProgress: ({ bytes }) => {
        if (bytes >= MiB) controller.abort(new Error('user changed their mind'));
      },
    });
    const senderSaw = assert.rejects(within(sending, 'sendStream'), { code: StreamErrorCode.Cancelled });
    const { stream } = await nextStream(b);
    await senderSaw;
    const error = await streamError(stream);
    assert.equal(error.code, StreamErrorCode.Cancelled);
    assert.match(error.message, /the sender cancelled the stream: user changed their mind/);
    assert.ok(stream.receivedBytes < 4 * MiB);
  });

  it('detects a corrupted chunk with the SHA-256 check (StreamIntegrityFailed)', async () => {
    const [a, b] = [await h.join('streams-corrupt'), await h.join('streams-corrupt')];
    await rosterSettled([a, b]);
    const sink = tampering(senderTo(a, b, 7003), (index, frame) => {
      if (index !== 3) return frame;
      const copy = frame.slice();
      copy[copy.length - 1]! ^= 0x01;
      return copy;
    });
    const sending = sendStream(sink, payload(MiB));
    const { stream } = await nextStream(b);
    await within(sending, 'sendStream');
    const error = await streamError(stream);
    assert.equal(error.code, StreamErrorCode.IntegrityFailed);
    assert.equal(stream.state, 'failed');
  });

  it('detects a missing chunk as soon as the next one arrives (StreamChunkMissing)', async () => {
    const [a, b] = [await h.join('streams-missing'), await h.join('streams-missing')];
    await rosterSettled([a, b]);
    const sink = tampering(senderTo(a, b, 7004), (index, frame) => (index === 5 ? undefined : frame));
    const sending = sendStream(sink, payload(MiB));
    const { stream } = await nextStream(b);
    await within(sending, 'sendStream');
    const error = await streamError(stream);
    assert.equal(error.code, StreamErrorCode.ChunkMissing);
    assert.match(error.message, /chunk 6 arrived where chunk 5 was expected/);
  });

  it('fails a stream whose sender session closes before its end (StreamInterrupted), and the sender with DataChannelSenderClosed', async () => {
    const [a, b] = [await h.join('streams-closed'), await h.join('streams-closed')];
    await rosterSettled([a, b]);
    const sender = senderTo(a, b, 7005);
    const sending = sendStream(sender, payload(2 * MiB), {
      onProgress: ({ bytes }) => {
        if (bytes >= 256 * 1024) sender.close();
      },
    });
    const senderSaw = assert.rejects(within(sending, 'sendStream'), { code: DataChannelErrorCode.SenderClosed });
    const { stream } = await nextStream(b);
    await senderSaw;
    assert.equal((await streamError(stream)).code, StreamErrorCode.Interrupted);
  });

  it('lets the receiving side cancel its copy: the stream fails locally and its later frames are ignored', async () => {
    const [a, b] = [await h.join('streams-receiver-cancel'), await h.join('streams-receiver-cancel')];
    await rosterSettled([a, b]);
    const sender = senderTo(a, b, 7006);
    const sending = sendStream(sender, payload(2 * MiB));
    const { stream } = await nextStream(b);
    stream.cancel('not interested');
    const error = await streamError(stream);
    assert.equal(error.code, StreamErrorCode.Cancelled);
    assert.equal(error.message, 'not interested');
    await within(sending, 'sendStream');
    assert.equal(stream.state, 'failed');
  });

  it('gets a broadcast stream past the broadcast packet rate by sending refused chunks again', async () => {
    const [a, b] = [await h.join('streams-broadcast'), await h.join('streams-broadcast')];
    await rosterSettled([a, b]);
    // 300 KiB is 256 packets of 1200 bytes: three times the 80 packets/s burst, so chunks are refused on the way.
    const data = payload(300 * 1024, 3);
    const sending = sendStream(a.dataChannel.createDataChannelSender({ channelId: 7007 }), data);
    const { stream } = await nextStream(b);
    const [, receipt] = await Promise.all([within(sending, 'sendStream'), within(stream.done, 'the stream')]);
    assert.ok(Buffer.from(receipt.bytes()).equals(Buffer.from(data)));
  });

  it('refuses, at the call, a Lossy sender, a chunk size that does not fit, and data that is not bytes', async () => {
    const [a] = [await h.join('streams-arguments')];
    const lossy = a.dataChannel.createDataChannelSender({ channelId: 7008, reliability: 'Lossy' });
    const durable = a.dataChannel.createDataChannelSender({ channelId: 7009 });
    const invalid = { code: DataChannelErrorCode.InvalidArgument };
    assert.throws(() => sendStream(lossy, new Uint8Array(1)), invalid);
    assert.throws(() => sendStream(durable, new Uint8Array(1), { chunkSize: durable.maxMessageSize }), invalid);
    assert.throws(() => sendStream(durable, 'text' as unknown as Uint8Array), invalid);
  });

  it('reports a message that is not a stream frame on the StreamReceiver, and keeps reading', async () => {
    const [a, b] = [await h.join('streams-malformed'), await h.join('streams-malformed')];
    await rosterSettled([a, b]);
    const sender = senderTo(a, b, 7010);
    const streams: IncomingStream[] = [];
    const first = sendStream(sender, payload(10));
    const [receiver] = await receiversOf(b, 1);
    const streamReceiver = receiveStreams(receiver!, (stream) => streams.push(stream));
    await within(first, 'the first stream');
    const malformed = waitForEvent(streamReceiver, 'error');
    await sender.sendMessage(new Uint8Array([9, 9, 9, 9, 9, 9, 9]));
    assert.equal(((await malformed)[0] as StreamError).code, StreamErrorCode.Malformed);
    const second = waitForEvent(streamReceiver, 'stream');
    await within(sendStream(sender, payload(1000)), 'the second stream');
    await second;
    assert.equal((await within(streams[1]!.done, 'the stream')).byteLength, 1000);
  });
});
