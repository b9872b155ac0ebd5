/**
 * The impairment helper's own logic (test/helpers/impairment): lanes on a manual clock, and candidate
 * rewriting, with no socket. The relays over real sockets are exercised by test/integration/impairment.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ManualClock } from '../helpers/clock.js';
import {
  isIpv4UdpHost,
  isLoopbackUdpHost,
  parseCandidate,
  rewriteCandidate,
  rewritePeerSignal,
  rewriteSdpCandidates,
  withAddress,
  type CandidateAddress,
} from '../helpers/impairment/candidates.js';
import { Conditions, Lane, emptyCounters, type NetworkSettings } from '../helpers/impairment/Lane.js';
import { seededRandom } from '../helpers/impairment/prng.js';

/** A lane of numbered packets of `size` bytes, recording what it delivers and when. */
function lane(transport: 'udp' | 'tcp', settings: Partial<NetworkSettings> = {}, size = 100, seed = 1) {
  const clock = new ManualClock({ now: 0 });
  const conditions = new Conditions(settings, seed, clock);
  const counters = emptyCounters();
  const delivered: { packet: number; at: number }[] = [];
  const l = new Lane<number>({ transport, conditions, counters, size: () => size, deliver: (packet) => delivered.push({ packet, at: clock.now() }) });
  return { clock, conditions, counters, delivered, lane: l };
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('seededRandom', () => {
  it('repeats its sequence for the same seed and differs for another', () => {
    const [a, b, c] = [seededRandom(7), seededRandom(7), seededRandom(8)];
    const first = range(5).map(() => a());
    assert.deepEqual(range(5).map(() => b()), first);
    assert.notDeepEqual(range(5).map(() => c()), first);
    assert.ok(first.every((x) => x >= 0 && x < 1));
  });
});

describe('Lane', () => {
  it('delivers at once, in order, on a clean link', () => {
    const { lane: l, delivered, counters } = lane('udp');
    range(3).forEach((i) => l.push(i));
    assert.deepEqual(delivered, [{ packet: 0, at: 0 }, { packet: 1, at: 0 }, { packet: 2, at: 0 }]);
    assert.deepEqual(counters, { forwarded: 3, bytes: 300, dropped: { loss: 0, outage: 0, queue: 0 } });
  });

  it('adds the delay to each packet and keeps the order when the delay is lowered mid-flow', () => {
    const { lane: l, delivered, clock, conditions } = lane('udp', { delayMs: 50 });
    l.push(0);
    clock.advance(10);
    conditions.set({ delayMs: 5 }); // packet 1 would arrive at 15, before packet 0 at 50
    l.push(1);
    clock.advance(100);
    assert.deepEqual(delivered, [{ packet: 0, at: 50 }, { packet: 1, at: 50 }]);
  });

  it('drops the same UDP datagrams for the same seed, and about the share asked', () => {
    const run = (seed: number) => {
      const { lane: l, delivered, counters } = lane('udp', { loss: 0.1 }, 100, seed);
      range(10_000).forEach((i) => l.push(i));
      return { kept: delivered.map((d) => d.packet), lost: counters.dropped.loss };
    };
    const [first, again] = [run(3), run(3)];
    assert.deepEqual(again, first);
    assert.equal(first.kept.length + first.lost, 10_000);
    assert.ok(first.lost > 900 && first.lost < 1100, `${first.lost} of 10,000 lost at 10%`);
  });

  it('never drops TCP traffic, whatever the loss', () => {
    const { lane: l, delivered, counters } = lane('tcp', { loss: 1 });
    range(100).forEach((i) => l.push(i));
    assert.equal(delivered.length, 100);
    assert.equal(counters.dropped.loss, 0);
  });

  it('drops UDP in an outage and holds TCP until the link is up, then delivers it in order', () => {
    const udp = lane('udp');
    udp.conditions.down(false);
    udp.lane.push(0);
    udp.conditions.up();
    udp.lane.push(1);
    assert.deepEqual(udp.delivered.map((d) => d.packet), [1]);
    assert.equal(udp.counters.dropped.outage, 1);

    const tcp = lane('tcp', { delayMs: 20 });
    tcp.lane.push(0);
    tcp.conditions.down(false);
    tcp.lane.push(1);
    tcp.lane.push(2);
    tcp.clock.advance(1000);
    assert.deepEqual(tcp.delivered, [{ packet: 0, at: 20 }]);
    tcp.conditions.up();
    tcp.clock.advance(20);
    assert.deepEqual(tcp.delivered, [{ packet: 0, at: 20 }, { packet: 1, at: 1020 }, { packet: 2, at: 1020 }]);
  });

  it('serializes packets at the bottleneck rate and drops UDP once its queue is full', () => {
    // 100 B at 80 kbit/s = 10 ms each; the queue holds 3 packets.
    const { lane: l, delivered, counters, clock } = lane('udp', { rateKbps: 80, queueBytes: 300 });
    range(5).forEach((i) => l.push(i));
    clock.advance(100);
    assert.deepEqual(delivered, [{ packet: 0, at: 10 }, { packet: 1, at: 20 }, { packet: 2, at: 30 }]);
    assert.equal(counters.dropped.queue, 2);
    l.push(5); // the queue has drained
    clock.advance(100);
    assert.deepEqual(delivered.at(-1), { packet: 5, at: 110 });
  });

  it('queues TCP at the bottleneck without dropping it', () => {
    const { lane: l, delivered, counters, clock } = lane('tcp', { rateKbps: 80, queueBytes: 300 });
    range(5).forEach((i) => l.push(i));
    clock.advance(100);
    assert.deepEqual(delivered.map((d) => d.at), [10, 20, 30, 40, 50]);
    assert.equal(counters.dropped.queue, 0);
  });

  it('delivers nothing and leaves no timer after close', () => {
    const { lane: l, delivered, clock } = lane('udp', { delayMs: 10 });
    l.push(0);
    l.close();
    l.push(1);
    assert.equal(clock.pendingTimers, 0);
    clock.advance(100);
    assert.deepEqual(delivered, []);
  });

  it('refuses settings out of range', () => {
    const conditions = new Conditions({}, 1);
    assert.throws(() => conditions.set({ loss: 1.5 }), { name: 'RangeError', message: 'loss must be in [0, 1], got 1.5' });
    assert.throws(() => conditions.set({ delayMs: -1 }), { name: 'RangeError', message: 'delayMs must be >= 0, got -1' });
    assert.throws(() => conditions.set({ rateKbps: 0 }), { name: 'RangeError', message: 'rateKbps must be > 0, got 0' });
  });
});

describe('candidate rewriting', () => {
  const loopback = 'a=candidate:1 1 UDP 2114977791 127.0.0.1 49078 typ host';
  const eth = 'a=candidate:1 1 UDP 2114977791 192.0.2.2 33326 typ host';
  const v6 = 'candidate:2 1 UDP 2116026111 fd00::2 33326 typ host';
  const tcp = 'a=candidate:3 1 TCP 1015021823 127.0.0.1 9 typ host tcptype active';
  const srflx = 'a=candidate:4 1 UDP 1686052607 127.0.0.1 5000 typ srflx raddr 0.0.0.0 rport 0';
  /** What the network does: loopback UDP host candidates to a relay port, the others dropped. */
  const map = (c: CandidateAddress) => Promise.resolve(isLoopbackUdpHost(c) ? { address: '127.0.0.1', port: 40000 } : undefined);

  it('parses a candidate line with or without the a= prefix', () => {
    assert.deepEqual(parseCandidate(loopback), { transport: 'udp', address: '127.0.0.1', port: 49078, type: 'host' });
    assert.deepEqual(parseCandidate(v6), { transport: 'udp', address: 'fd00::2', port: 33326, type: 'host' });
    assert.equal(parseCandidate('a=mid:0'), undefined);
  });

  it('keeps only UDP host candidates on IPv4 loopback', () => {
    assert.deepEqual([loopback, eth, v6, tcp, srflx].map((line) => isLoopbackUdpHost(parseCandidate(line)!)), [true, false, false, false, false]);
  });

  it('rewrites address and port and keeps the rest of the line', () => {
    assert.equal(withAddress(tcp, '127.0.0.1', 1234), 'a=candidate:3 1 TCP 1015021823 127.0.0.1 1234 typ host tcptype active');
  });

  it('drops candidates the map refuses, and lines it cannot parse', async () => {
    assert.equal(await rewriteCandidate(loopback, map), 'a=candidate:1 1 UDP 2114977791 127.0.0.1 40000 typ host');
    assert.equal(await rewriteCandidate(eth, map), undefined);
    assert.equal(await rewriteCandidate('a=candidate:garbage', map), undefined);
  });

  it('keeps UDP host candidates on any IPv4 address for a 1:1 call, and drops mDNS names, IPv6, TCP and reflexive ones', () => {
    const mdns = 'candidate:5 1 udp 2113937151 3c1f6e1a-9f0e-4d2b-8a6e-1b2c3d4e5f60.local 54400 typ host generation 0';
    assert.deepEqual([loopback, eth, v6, tcp, srflx, mdns].map((line) => isIpv4UdpHost(parseCandidate(line)!)), [true, true, false, false, false, false]);
  });

  it('rewrites the candidate lines of an SDP and leaves the others', async () => {
    const sdp = ['v=0', 'a=mid:0', loopback, eth, 'a=end-of-candidates', ''].join('\r\n');
    assert.equal(await rewriteSdpCandidates(sdp, map), ['v=0', 'a=mid:0', 'a=candidate:1 1 UDP 2114977791 127.0.0.1 40000 typ host', 'a=end-of-candidates', ''].join('\r\n'));
  });

  describe('in a 1:1 call’s peer signals', () => {
    /** What the network does for a 1:1 call: IPv4 UDP host candidates to a relay on the same address. */
    const peerMap = (c: CandidateAddress) => Promise.resolve(isIpv4UdpHost(c) ? { address: c.address, port: 40000 } : undefined);
    const mdns = 'candidate:5 1 udp 2113937151 3c1f6e1a.local 54400 typ host generation 0 ufrag x';

    it('rewrites a trickled candidate, keeping its generation and mid', async () => {
      assert.deepEqual(await rewritePeerSignal({ kind: 'candidate', candidate: eth, mid: '0', generation: 2 }, peerMap), {
        kind: 'candidate',
        candidate: 'a=candidate:1 1 UDP 2114977791 192.0.2.2 40000 typ host',
        mid: '0',
        generation: 2,
      });
    });

    it('drops a trickled candidate the relays cannot carry (an mDNS name, IPv6)', async () => {
      assert.equal(await rewritePeerSignal({ kind: 'candidate', candidate: mdns, mid: '0' }, peerMap), undefined);
      assert.equal(await rewritePeerSignal({ kind: 'candidate', candidate: v6, mid: '0' }, peerMap), undefined);
    });

    it('rewrites the candidates in the SDP of an offer and of an answer', async () => {
      const sdp = ['v=0', `a=${mdns}`, eth, ''].join('\r\n');
      const expected = ['v=0', 'a=candidate:1 1 UDP 2114977791 192.0.2.2 40000 typ host', ''].join('\r\n');
      for (const kind of ['offer', 'answer']) {
        assert.deepEqual(await rewritePeerSignal({ kind, sdp, generation: 1 }, peerMap), { kind, sdp: expected, generation: 1 });
      }
    });

    it('passes a reconnect as it is', async () => {
      assert.deepEqual(await rewritePeerSignal({ kind: 'reconnect', generation: 0 }, peerMap), { kind: 'reconnect', generation: 0 });
    });
  });
});
