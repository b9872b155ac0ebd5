/**
 * Prometheus metrics (prom-client), one registry per server. The hot path only bumps the plain counters
 * of ServerStats; the Prometheus view is computed from them when scraped, so metrics cost nothing per
 * message except the routing-latency histogram.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

import type { CallManager } from './calls/CallManager.js';
import type { GroupCall } from './calls/GroupCall.js';
import type { ServerStats } from './stats.js';

export interface Metrics {
  readonly registry: Registry;
  /** Time from a data frame's arrival to its copies being handed to the recipients' transports. */
  observeRouting(ms: number): void;
}

/** A counter whose value is read from `value()` at scrape time. */
function counterFrom(registry: Registry, name: string, help: string, labelNames: string[], values: () => [Record<string, string>, number][]): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of values()) this.inc(labels, value);
    },
  });
}

function gaugeFrom(registry: Registry, name: string, help: string, labelNames: string[], values: () => [Record<string, string>, number][]): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of values()) this.set(labels, value);
    },
  });
}

export function createMetrics(stats: ServerStats, callManager: () => CallManager, connections: () => number): Metrics {
  const registry = new Registry();
  const allCalls = (): Iterable<GroupCall> => callManager().calls.values();
  collectDefaultMetrics({ register: registry, prefix: 'backchannel_process_' });

  gaugeFrom(registry, 'backchannel_retained_bytes', "Bytes of retained messages (senders with retain: 'last'), all calls.", [], () => [
    [{}, [...allCalls()].reduce((sum, call) => sum + call.retained.bytes, 0)],
  ]);
  gaugeFrom(registry, 'backchannel_retained_messages', "Retained messages (one per session with retain: 'last' at most), all calls.", [], () => [
    [{}, [...allCalls()].reduce((sum, call) => sum + call.retained.messages, 0)],
  ]);
  gaugeFrom(registry, 'backchannel_calls', 'Group calls with at least one endpoint.', [], () => [[{}, callManager().calls.size]]);
  gaugeFrom(registry, 'backchannel_endpoints', 'Call endpoints, by whether their data transport is up.', ['state'], () => {
    let admitted = 0;
    let connecting = 0;
    for (const call of allCalls()) {
      for (const e of call.endpoints.values()) {
        if (e.admitted) admitted++;
        else connecting++;
      }
    }
    return [
      [{ state: 'connected' }, admitted],
      [{ state: 'connecting' }, connecting],
    ];
  });
  gaugeFrom(registry, 'backchannel_signaling_connections', 'Open signaling WebSockets.', [], () => [[{}, connections()]]);
  gaugeFrom(registry, 'backchannel_peer_connections', 'Server peer connections by state.', ['state'], () => {
    const byState = new Map<string, number>();
    for (const call of allCalls()) {
      for (const e of call.endpoints.values()) {
        const state = e.peer?.state() ?? 'none';
        byState.set(state, (byState.get(state) ?? 0) + 1);
      }
    }
    return [...byState].map(([state, n]) => [{ state }, n]);
  });
  gaugeFrom(registry, 'backchannel_send_queue_bytes', 'Bytes queued toward endpoints and not yet sent, by reliability.', ['reliability'], () => {
    let durable = 0;
    let lossy = 0;
    for (const call of allCalls()) {
      for (const e of call.endpoints.values()) {
        durable += e.peer?.bufferedAmount('durable') ?? 0;
        lossy += e.peer?.bufferedAmount('lossy') ?? 0;
      }
    }
    return [
      [{ reliability: 'durable' }, durable],
      [{ reliability: 'lossy' }, lossy],
    ];
  });
  const byClass = (field: 'messages' | 'bytes') => (): [Record<string, string>, number][] =>
    (['durable', 'lossy'] as const).flatMap((reliability) =>
      (['high', 'normal'] as const).map((priority): [Record<string, string>, number] => [{ reliability, priority }, stats.routed[reliability][priority][field]]),
    );
  counterFrom(registry, 'backchannel_messages_routed_total', 'Data messages accepted for routing.', ['reliability', 'priority'], byClass('messages'));
  counterFrom(registry, 'backchannel_bytes_routed_total', 'Payload bytes accepted for routing.', ['reliability', 'priority'], byClass('bytes'));
  counterFrom(registry, 'backchannel_deliveries_total', 'Message copies handed to recipients.', [], () => [[{}, stats.deliveries]]);
  counterFrom(registry, 'backchannel_drops_total', 'Messages (or copies, for slow receivers) dropped, by reason.', ['reason'], () =>
    Object.entries(stats.drops).map(([reason, n]) => [{ reason }, n]),
  );
  counterFrom(registry, 'backchannel_endpoint_departures_total', 'Endpoints that left group calls, by reason (Left: a clean leave).', ['reason'], () =>
    Object.entries(stats.departures).map(([reason, n]) => [{ reason }, n]),
  );
  counterFrom(registry, 'backchannel_limit_hits_total', 'Times a limit refused something, by limit.', ['limit'], () =>
    Object.entries(stats.limitHits).map(([limit, n]) => [{ limit }, n]),
  );
  counterFrom(registry, 'backchannel_malformed_total', 'Input that could not be parsed, by kind.', ['kind'], () => [
    [{ kind: 'frame' }, stats.malformedFrames],
    [{ kind: 'signaling' }, stats.malformedSignaling],
  ]);
  const routing = new Histogram({
    name: 'backchannel_routing_latency_seconds',
    help: 'Time from a data frame arriving to its copies being handed to the recipients’ transports.',
    buckets: [0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.05],
    registers: [registry],
  });
  return { registry, observeRouting: (ms) => routing.observe(ms / 1000) };
}
