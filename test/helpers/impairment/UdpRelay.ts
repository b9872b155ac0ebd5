/**
 * A UDP relay in front of one ICE candidate (the server's, or a 1:1 call party's): clients send to
 * `<address>:<port>` (the rewritten candidate; the relay binds on the candidate's own address), the relay
 * forwards to the candidate's real port, and the answers come back the same way, both impaired by
 * {@link Lane}s.
 *
 * Each client source address gets its own upstream socket, so the server sees one distinct 5-tuple per
 * client, as it would behind a NAT. The server never heard of that address (the client's own candidates
 * are not passed on, see SignalingRelay): it learns it from the first connectivity check that arrives,
 * as a peer-reflexive candidate (RFC 8445 §7.3.1.3), and answers there, which is through the relay.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';

import { Lane, type Conditions, type DirectionCounters } from './Lane.js';

export interface UdpCounters {
  toServer: DirectionCounters;
  toClient: DirectionCounters;
}

interface Flow {
  upstream: dgram.Socket;
  toServer: Lane<Buffer>;
  toClient: Lane<Buffer>;
}

export class UdpRelay {
  readonly #listen: dgram.Socket;
  readonly #target: { address: string; port: number };
  readonly #conditions: Conditions;
  readonly #counters: UdpCounters;
  readonly #flows = new Map<string, Flow>();
  readonly #sockets: SocketTracker;
  #closed = false;

  private constructor(listen: dgram.Socket, target: { address: string; port: number }, conditions: Conditions, counters: UdpCounters, sockets: SocketTracker) {
    this.#listen = listen;
    this.#target = target;
    this.#conditions = conditions;
    this.#counters = counters;
    this.#sockets = sockets;
    listen.on('message', (datagram, from) => this.#fromClient(datagram, from));
    listen.on('error', () => {
      // A send to a client port that has gone away: a lost datagram.
    });
  }

  /** Binds a relay on a free port of the target's own (IPv4) address, in front of `target`. */
  static async start(target: { address: string; port: number }, conditions: Conditions, counters: UdpCounters, sockets: SocketTracker): Promise<UdpRelay> {
    const listen = sockets.track(dgram.createSocket('udp4'));
    await new Promise<void>((resolve, reject) => {
      listen.once('error', reject);
      listen.bind({ address: target.address, port: 0 }, () => {
        listen.off('error', reject);
        resolve();
      });
    });
    return new UdpRelay(listen, target, conditions, counters, sockets);
  }

  /** The address and port clients reach the candidate at. */
  get address(): string {
    return this.#listen.address().address;
  }

  get port(): number {
    return this.#listen.address().port;
  }

  /** Client source addresses seen so far (one upstream socket each). */
  get flowCount(): number {
    return this.#flows.size;
  }

  /** Closes every socket and drops whatever is in flight. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const flow of this.#flows.values()) {
      flow.toServer.close();
      flow.toClient.close();
      flow.upstream.close();
    }
    this.#flows.clear();
    this.#listen.close();
  }

  #fromClient(datagram: Buffer, from: dgram.RemoteInfo): void {
    if (this.#closed) return;
    const key = `${from.address}:${from.port}`;
    let flow = this.#flows.get(key);
    if (!flow) {
      flow = this.#openFlow(from);
      this.#flows.set(key, flow);
    }
    flow.toServer.push(datagram);
  }

  #openFlow(client: dgram.RemoteInfo): Flow {
    const upstream = this.#sockets.track(dgram.createSocket('udp4'));
    // Sends issued while the bind is under way are queued by Node and leave once it is bound.
    upstream.bind({ address: this.#target.address, port: 0 });
    upstream.on('error', () => {
      // ICMP port unreachable after the server closed its port, and the like: a lost datagram, no more.
    });
    const send = (socket: dgram.Socket, datagram: Buffer, port: number, address: string): void => {
      if (this.#closed) return;
      socket.send(datagram, port, address);
    };
    const flow: Flow = {
      upstream,
      toServer: new Lane<Buffer>({
        transport: 'udp',
        conditions: this.#conditions,
        counters: this.#counters.toServer,
        size: (d) => d.byteLength,
        deliver: (d) => send(upstream, d, this.#target.port, this.#target.address),
      }),
      toClient: new Lane<Buffer>({
        transport: 'udp',
        conditions: this.#conditions,
        counters: this.#counters.toClient,
        size: (d) => d.byteLength,
        deliver: (d) => send(this.#listen, d, client.port, client.address),
      }),
    };
    upstream.on('message', (datagram, from) => {
      // Only the server's port speaks to this socket; anything else is not part of the path.
      if (from.port !== this.#target.port || from.address !== this.#target.address) return;
      flow.toClient.push(datagram);
    });
    return flow;
  }
}

/** Counts sockets open, so that a network's close() can assert none was left behind; emits 'change'. */
export class SocketTracker extends EventEmitter<{ change: [] }> {
  #open = 0;

  get open(): number {
    return this.#open;
  }

  track<S extends { once(event: 'close', listener: () => void): unknown }>(socket: S): S {
    this.#open++;
    socket.once('close', () => {
      this.#open--;
      this.emit('change');
    });
    return socket;
  }
}
