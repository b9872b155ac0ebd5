/**
 * The Prometheus view of the node's Redis link, read at scrape time like the server's other metrics: is it
 * up, how long the last PING took, how often it reconnected. Registered only when the node uses Redis.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

import type { RedisIdentityStore } from './RedisIdentityStore.js';

export function registerRedisMetrics(registry: Registry, store: RedisIdentityStore): void {
  new Gauge({
    name: 'backchannel_redis_up',
    help: '1 while the shared identity store (Redis) is usable from this node, else 0 (see /readyz for why).',
    registers: [registry],
    collect() {
      this.set(store.health.up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'backchannel_redis_roundtrip_seconds',
    help: 'Round trip of the last PING answered by Redis (one a second).',
    registers: [registry],
    collect() {
      const ms = store.lastRoundTripMs;
      if (ms === undefined) this.reset();
      else this.set(ms / 1000);
    },
  });
  new Counter({
    name: 'backchannel_redis_reconnects_total',
    help: 'Times the connection to Redis was re-established after it was lost.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(store.reconnects);
    },
  });
}
