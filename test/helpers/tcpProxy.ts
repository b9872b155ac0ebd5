/**
 * A TCP forwarder on loopback that a test can cut: how one node is cut off from Redis while the others
 * still reach it (the network between them failing, not Redis).
 *
 *   const proxy = await TcpProxy.start(redis.port);   // node B uses redis://127.0.0.1:<proxy.port>
 *   proxy.cut();       // every connection through it drops, and new ones are closed at once
 *   proxy.restore();   // new connections go through again
 *   TcpProxy.start(port, { record: true }).forwarded   // every byte sent toward the target (a tap on the wire)
 *   await proxy.close();
 */
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #forwarded: Buffer[] = [];
  readonly #record: boolean;
  #cut = false;

  private constructor(targetPort: number, record: boolean) {
    this.#record = record;
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
      if (this.#record) client.on('data', (chunk: Buffer) => this.#forwarded.push(chunk));
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  /** `record`: keep every byte clients send toward the target (see {@link forwarded}). */
  static async start(targetPort: number, options: { record?: boolean } = {}): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort, options.record ?? false);
    proxy.#server.listen(0, '127.0.0.1');
    await once(proxy.#server, 'listening');
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  /** Every byte clients sent toward the target so far, over all connections, in order (with `record`). */
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
