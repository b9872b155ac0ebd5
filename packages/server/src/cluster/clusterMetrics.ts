/**
 * The Prometheus view of this node's place in its cluster, read at scrape time like the server's other
 * metrics: the nodes it sees, its links, what it knows of other nodes' endpoints and agents, lost nodes,
 * and the records it sent and received. Registered only on a cluster node (with Redis); summing a metric
 * over every node's scrape gives the cluster's figure (docs/cluster.md, "Operating it").
 */
import { Counter, Gauge, type Registry } from 'prom-client';

import type { ServerStats } from '../stats.js';
import type { ClusterNode } from './ClusterNode.js';
import type { ClusterPeerCalls } from './ClusterPeerCalls.js';

export function registerClusterMetrics(registry: Registry, cluster: ClusterNode, peers: ClusterPeerCalls, stats: ServerStats): void {
  new Gauge({
    name: 'backchannel_cluster_nodes',
    help: 'Nodes in the registry as this node last read it (every second), by whether their heartbeat is current.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const alive = cluster.nodes.filter((n) => n.alive).length;
      this.set({ state: 'alive' }, alive);
      this.set({ state: 'not_beating' }, cluster.nodes.length - alive);
    },
  });
  new Gauge({
    name: 'backchannel_cluster_links_up',
    help: "This node's links to other nodes that are connected now.",
    registers: [registry],
    collect() {
      let up = 0;
      for (const link of cluster.links.values()) if (link.open) up++;
      this.set(up);
    },
  });
  new Gauge({
    name: 'backchannel_cluster_remote_endpoints',
    help: "Endpoints on other nodes in this node's calls.",
    registers: [registry],
    collect() {
      this.set(cluster.spans.size);
    },
  });
  new Gauge({
    name: 'backchannel_cluster_remote_agents',
    help: 'Agents connected to other nodes, as this node knows them (for 1:1 calls).',
    registers: [registry],
    collect() {
      this.set(peers.remoteAgentCount);
    },
  });
  new Counter({
    name: 'backchannel_cluster_nodes_lost_total',
    help: 'Nodes this node found lost (heartbeat lapsed, link down) and dropped from its calls.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(cluster.nodesLost);
    },
  });
  new Counter({
    name: 'backchannel_cluster_rejoins_total',
    help: 'Times this process found itself declared lost by the other nodes (it was frozen or cut off) and rejoined under a new node id.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(cluster.rejoins);
    },
  });
  new Counter({
    name: 'backchannel_cluster_links_silent_total',
    help: 'Links this node took down because the other node sent nothing, not even a keepalive, for the silence limit.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(cluster.silentLinks);
    },
  });
  new Counter({
    name: 'backchannel_cross_node_messages_total',
    help: 'Data frames sent to other nodes (once per node with recipients) and received from them.',
    labelNames: ['direction'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ direction: 'sent' }, stats.crossNode.messagesSent);
      this.inc({ direction: 'received' }, stats.crossNode.messagesReceived);
    },
  });
  new Counter({
    name: 'backchannel_cross_node_bytes_total',
    help: 'Bytes of the data frames (Deliver frames, header included) sent to and received from other nodes.',
    labelNames: ['direction'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ direction: 'sent' }, stats.crossNode.bytesSent);
      this.inc({ direction: 'received' }, stats.crossNode.bytesReceived);
    },
  });
}
