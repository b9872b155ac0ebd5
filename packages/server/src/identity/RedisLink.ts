/**
 * The node's connection to Redis (ioredis): one client for commands, one subscribed to a channel (a
 * subscribed connection can run nothing else), and whether the two together are usable now.
 *
 * The link is **up** when the command client is ready, the start-of-connection check (`onConnected`, the
 * deployment record) passed on the current connection, the subscriber is subscribed, and the last PING
 * was answered. Anything else is **down**, with a reason for `/readyz`.
 *
 * Nothing waits for Redis without bound (issue #14 item 5, "no unbounded queue"):
 * - no offline queue: a command while the connection is down fails at once, it is never held for later;
 * - no retries: a command in flight when the connection drops fails, it is never sent again (a revocation
 *   must not be applied twice, minutes later, after its caller was told it failed);
 * - every command has a timeout (a Redis that stopped answering without closing, e.g. SIGSTOP);
 * - a PING every second notices such a Redis even when nothing else is asked of it, and measures the
 *   round trip.
 * Reconnection is ioredis's own, with the backoff of {@link reconnectDelayMs}; at start there is no retry:
 * a Redis unreachable then is a configuration error the operator must see (RedisUnreachableError).
 */
import { performance } from 'node:perf_hooks';

import { BackchannelError } from '@backchannel/protocol';
import { Redis, type RedisOptions } from 'ioredis';

import { RedisUnreachableError } from '../errors.js';
import { Emitter } from '../events.js';
import type { Logger } from '../logging.js';
import type { StoreHealth } from './IdentityStore.js';
import { redactRedisUrl } from './redisKeys.js';

/** First reconnection attempt after this; doubling up to RECONNECT_MAX_MS. */
const RECONNECT_FIRST_MS = 100;
const RECONNECT_MAX_MS = 2000;

/** The delay before reconnection attempt `attempt` (1-based): 100, 200, 400, … ms, at most 2 s. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(RECONNECT_FIRST_MS * 2 ** Math.max(0, attempt - 1), RECONNECT_MAX_MS);
}

export interface RedisLinkOptions {
  /** `redis://[[user]:password@]host[:port][/db]` or `rediss://` for TLS. */
  url: string;
  /** The pub/sub channel to listen on. */
  channel: string;
  logger: Logger;
  /** A message on the channel. */
  onMessage(message: string): void;
  /**
   * Runs on every new connection of the command client, before the link counts as up (the deployment
   * check). Rejecting keeps the link down with the error's message; at start, it fails the start.
   */
  onConnected(client: Redis): Promise<void>;
  /** How long any command may take, ms. Default 2000. */
  commandTimeoutMs?: number;
  /** How often the link PINGs Redis, ms. Default 1000. */
  pingIntervalMs?: number;
}

export type RedisLinkEvents = {
  down: [reason: string];
  up: [];
};

/** The connection to Redis and its health (see the module comment). */
export class RedisLink extends Emitter<RedisLinkEvents> {
  readonly #options: RedisLinkOptions;
  readonly #commands: Redis;
  readonly #subscriber: Redis;
  /** Until open() has succeeded, ioredis must not retry (a failed start is final). */
  #started = false;
  #closed = false;
  /** The start-of-connection check passed on the command client's current connection. */
  #checked = false;
  /** Why the last start-of-connection check failed; undefined once one passes. */
  #checkFailure: string | undefined;
  #subscribed = false;
  /** Why the last PING failed; undefined once one is answered. */
  #pingFailure: string | undefined;
  #pinging = false;
  #pinger: ReturnType<typeof setInterval> | undefined;
  #lastError: string | undefined;
  #up = false;
  #reason: string | undefined = 'connecting';
  /** The round trip of the last answered PING, ms. */
  lastRoundTripMs: number | undefined;
  /** Times the command connection was re-established after start. */
  reconnects = 0;

  private constructor(options: RedisLinkOptions) {
    super();
    this.#options = options;
    const clientOptions: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResubscribe: false, // re-subscribed by hand on 'ready', so that "up" means "subscribed"
      commandTimeout: options.commandTimeoutMs ?? 2000,
      connectTimeout: options.commandTimeoutMs ?? 2000,
      retryStrategy: (attempt) => (this.#started && !this.#closed ? reconnectDelayMs(attempt) : null),
    };
    this.#commands = new Redis(options.url, { ...clientOptions, connectionName: 'backchannel' });
    this.#subscriber = new Redis(options.url, { ...clientOptions, connectionName: 'backchannel-subscriber' });
    for (const client of [this.#commands, this.#subscriber]) {
      // Without a listener ioredis prints every connection error; the link reports them through its health.
      client.on('error', (error: Error) => (this.#lastError = error.message));
    }
    this.#commands.on('close', () => {
      this.#checked = false;
      this.#update();
    });
    this.#commands.on('ready', () => {
      if (!this.#started) return; // open() runs the check itself
      this.reconnects++;
      void this.#check();
    });
    this.#subscriber.on('close', () => {
      this.#subscribed = false;
      this.#update();
    });
    this.#subscriber.on('ready', () => {
      if (this.#started) void this.#subscribe();
    });
    this.#subscriber.on('message', (_channel: string, message: string) => options.onMessage(message));
  }

  /**
   * Connects both clients, runs the start-of-connection check and subscribes. Rejects with
   * RedisUnreachableError if Redis cannot be reached, or with the check's own error; nothing is left
   * open then.
   */
  static async open(options: RedisLinkOptions): Promise<RedisLink> {
    const link = new RedisLink(options);
    try {
      await Promise.all([link.#commands.connect(), link.#subscriber.connect()]);
    } catch (error) {
      link.#disconnect();
      throw new RedisUnreachableError(redactRedisUrl(options.url), link.#lastError ?? (error as Error).message, { cause: error });
    }
    try {
      await options.onConnected(link.#commands);
      await link.#subscriber.subscribe(options.channel);
    } catch (error) {
      link.#disconnect();
      // The check's own verdict (a DeploymentMismatchError) as it is; a connection that failed meanwhile as such.
      if (error instanceof BackchannelError) throw error;
      throw new RedisUnreachableError(redactRedisUrl(options.url), (error as Error).message, { cause: error });
    }
    link.#checked = true;
    link.#subscribed = true;
    link.#started = true;
    link.#up = true;
    link.#reason = undefined;
    link.#pinger = setInterval(() => void link.#ping(), options.pingIntervalMs ?? 1000);
    link.#pinger.unref();
    return link;
  }

  /** The client for commands. Use it only while {@link health} is up. */
  get commands(): Redis {
    return this.#commands;
  }

  get health(): StoreHealth {
    return { up: this.#up, reason: this.#reason };
  }

  /** Disconnects both clients at once (commands in flight fail) and stops the PINGs. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#disconnect();
    this.#up = false;
    this.#reason = 'closed';
  }

  #disconnect(): void {
    clearInterval(this.#pinger);
    this.#commands.disconnect();
    this.#subscriber.disconnect();
  }

  async #check(): Promise<void> {
    try {
      await this.#options.onConnected(this.#commands);
      this.#checked = this.#commands.status === 'ready';
      this.#checkFailure = undefined;
    } catch (error) {
      this.#checked = false;
      this.#checkFailure = error instanceof Error ? error.message : String(error);
      this.#options.logger.error({ err: error }, 'Redis connection refused by the deployment check');
    }
    this.#update();
  }

  async #subscribe(): Promise<void> {
    try {
      await this.#subscriber.subscribe(this.#options.channel);
      this.#subscribed = this.#subscriber.status === 'ready';
    } catch (error) {
      // The connection went again; its next 'ready' subscribes again.
      this.#lastError = (error as Error).message;
    }
    this.#update();
  }

  async #ping(): Promise<void> {
    if (this.#pinging || this.#closed || this.#commands.status !== 'ready') return;
    this.#pinging = true;
    const started = performance.now();
    try {
      await this.#commands.ping();
      this.lastRoundTripMs = performance.now() - started;
      this.#pingFailure = undefined;
    } catch (error) {
      this.#pingFailure = `no answer to PING: ${(error as Error).message}`;
    } finally {
      this.#pinging = false;
    }
    this.#update();
  }

  /** Recomputes up/down and emits a change (from open() on: the start itself is not a change). */
  #update(): void {
    if (this.#closed || !this.#started) return;
    const reason =
      this.#commands.status !== 'ready'
        ? `no connection to Redis (${this.#commands.status}${this.#lastError ? `; last error: ${this.#lastError}` : ''})`
        : this.#checkFailure !== undefined
          ? this.#checkFailure
          : !this.#checked
            ? 'checking the deployment record'
            : !this.#subscribed
              ? `not subscribed to revocations (subscriber connection ${this.#subscriber.status})`
              : this.#pingFailure;
    const up = reason === undefined;
    this.#reason = reason;
    if (up === this.#up) return;
    this.#up = up;
    if (up) {
      this.#lastError = undefined;
      this.#options.logger.info('Redis reachable again');
      this.safeEmit('up');
    } else {
      this.#options.logger.warn({ reason }, 'Redis unreachable');
      this.safeEmit('down', reason);
    }
  }
}
