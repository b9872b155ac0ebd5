/** The node-to-node records of a cluster (packages/protocol/src/cluster.ts): pure encode/decode. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  CLUSTER_LINK_VERSION,
  ClusterRecordError,
  ClusterRecordReader,
  ClusterRecordType,
  MAX_CLUSTER_HANDSHAKE_RECORD_BYTES,
  MAX_CLUSTER_RECORD_BYTES,
  decodeClusterRecord,
  encodeClusterControl,
  encodeClusterDataHead,
  encodeClusterNoticeHead,
} from '@backchannel/protocol';

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

describe('cluster records', () => {
  it('carries a data frame behind its head, with targets, and decodes the frame as a view', () => {
    const frame = new Uint8Array([9, 8, 7, 6, 5]);
    const bytes = concat(encodeClusterDataHead('lossy', false, 0xfffffffe, [1, 70000], frame.byteLength), frame);
    const [body] = new ClusterRecordReader().push(bytes);
    const record = decodeClusterRecord(body!);
    assert.equal(record.type, ClusterRecordType.Data);
    if (record.type !== ClusterRecordType.Data) return;
    assert.deepEqual([record.kind, record.broadcast, record.sender, [...record.targets], [...record.frame]], ['lossy', false, 0xfffffffe, [1, 70000], [9, 8, 7, 6, 5]]);
    assert.equal(record.frame.buffer, bytes.buffer, 'a view, not a copy');
  });

  it('carries broadcasts, notices and control records', () => {
    const data = decodeClusterRecord(new ClusterRecordReader().push(concat(encodeClusterDataHead('durable', true, 3, [], 1), new Uint8Array([1])))[0]!);
    assert.ok(data.type === ClusterRecordType.Data && data.broadcast && data.kind === 'durable' && data.targets.length === 0);
    const notice = decodeClusterRecord(new ClusterRecordReader().push(concat(encodeClusterNoticeHead(42, 2), new Uint8Array([4, 2])))[0]!);
    assert.ok(notice.type === ClusterRecordType.Notice && notice.endpointId === 42 && notice.frame.byteLength === 2);
    const control = decodeClusterRecord(new ClusterRecordReader().push(encodeClusterControl({ t: 'left', groupId: 'g', endpointId: 5 }))[0]!);
    assert.deepEqual(control, { type: ClusterRecordType.Control, control: { t: 'left', groupId: 'g', endpointId: 5 } });
  });

  it('reassembles records split anywhere across chunks, in order', () => {
    const stream = concat(...Array.from({ length: 10 }, (_, i) => encodeClusterControl({ t: 'callLeft', groupId: `g${i}` })));
    for (const size of [1, 3, 7, 64]) {
      const reader = new ClusterRecordReader();
      const seen: string[] = [];
      for (let at = 0; at < stream.byteLength; at += size) {
        for (const body of reader.push(stream.subarray(at, at + size))) {
          const record = decodeClusterRecord(body);
          if (record.type === ClusterRecordType.Control && record.control.t === 'callLeft') seen.push(record.control.groupId);
        }
      }
      assert.deepEqual(seen, Array.from({ length: 10 }, (_, i) => `g${i}`), `chunks of ${size}`);
    }
  });

  it('refuses a record over the bound, malformed bodies and unknown types', () => {
    const tooLong = new Uint8Array(4);
    new DataView(tooLong.buffer).setUint32(0, MAX_CLUSTER_RECORD_BYTES + 1);
    assert.throws(() => new ClusterRecordReader().push(tooLong), ClusterRecordError);
    assert.throws(() => decodeClusterRecord(new Uint8Array([])), ClusterRecordError);
    assert.throws(() => decodeClusterRecord(new Uint8Array([ClusterRecordType.Control, 0x7b])), ClusterRecordError);
    assert.throws(() => decodeClusterRecord(new Uint8Array([ClusterRecordType.Data, 0, 0])), ClusterRecordError);
    assert.throws(() => decodeClusterRecord(new Uint8Array([ClusterRecordType.Data, 0, 0, 0, 0, 0, 1, 0, 2, 0])), ClusterRecordError);
    assert.throws(() => decodeClusterRecord(new Uint8Array([99])), ClusterRecordError);
  });

  it('reads no more than a hello from a peer not proven yet, then records up to the full bound', () => {
    const hello = encodeClusterControl({ t: 'hello', version: CLUSTER_LINK_VERSION, node: 'n', proof: 'p', session: 's' });
    const reader = new ClusterRecordReader(MAX_CLUSTER_HANDSHAKE_RECORD_BYTES);
    assert.equal(reader.push(hello).length, 1);
    const big = concat(encodeClusterDataHead('durable', true, 3, [], MAX_CLUSTER_HANDSHAKE_RECORD_BYTES), new Uint8Array(MAX_CLUSTER_HANDSHAKE_RECORD_BYTES));
    // Refused from its length alone, before the body arrives: nothing is buffered for it.
    assert.throws(() => new ClusterRecordReader(MAX_CLUSTER_HANDSHAKE_RECORD_BYTES).push(big.subarray(0, 4)), ClusterRecordError);
    reader.maxRecordBytes = MAX_CLUSTER_RECORD_BYTES;
    assert.equal(reader.push(big).length, 1);
  });
});
