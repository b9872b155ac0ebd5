/**
 * A TCP forwarder on loopback that a test can cut: how one node is cut off from Redis while the others
 * still reach it (the network between them failing, not Redis).
 *
 *   const proxy = await TcpProxy.start(redis.port);   // node B uses redis://127.0.0.1:<proxy.port>
 *   proxy.cut();       // every connection through it drops, and new ones are closed at once
 *   proxy.restore();   // new connections go through again
 *   proxy.forwarded;   // every byte that went toward the target, in order (what a tap on the wire sees)
 *   await proxy.close();
 */
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #forwarded: Buffer[] = [];
  #cut = false;

  private constructor(targetPort: number) {
    this.#server = createServer((client) => {
      if (this.#cut) return void client.destroy();
      const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => undefined); // the other side's close follows
      }
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('data', (chunk: Buffer) => this.#forwarded.push(chunk));
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  static async start(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort);
    proxy.#server.listen(0, '127.0.0.1');
    await once(proxy.#server, 'listening');
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  /** Every byte clients sent toward the target so far, over all connections, in order. */
  get forwarded(): Buffer {
    return Buffer.concat(this.#forwarded);
  }

  /** Drops every connection through it; new ones are closed as soon as they are accepted. */
  cut(): void {
    this.#cut = true;
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Lets new connections through again. */
  restore(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    this.cut();
    this.#server.close();
    await once(this.#server, 'close');
  }
}
