/**
 * The `backchannel stats` table: one snapshot of GET /stats as aligned plain-text sections, and, given the
 * previous snapshot, rates per second. Pure: text in, text out, so that its output can be read by people
 * and by scripts (integers are printed whole, no units or separators).
 */
import type { StatsSnapshot } from './serverApi.js';

type Cell = string | number;

const CLASSES = [
  ['durable', 'high', 'Durable High'],
  ['durable', 'normal', 'Durable Normal'],
  ['lossy', 'high', 'Lossy High'],
  ['lossy', 'normal', 'Lossy Normal'],
] as const;

/** Two snapshots and the seconds between them, for the rate columns. */
export interface Previous {
  stats: StatsSnapshot;
  seconds: number;
}

export function renderStats(stats: StatsSnapshot, heading: string, previous?: Previous): string {
  const rate = (now: number, before: number | undefined, scale = 1): string =>
    previous && before !== undefined && previous.seconds > 0 ? ((now - before) / previous.seconds / scale).toFixed(1) : '';
  const withRates = previous !== undefined;
  const before = previous?.stats;

  const live = table(
    ['live', 'count'],
    [
      ['calls', stats.calls],
      ['endpoints', stats.endpoints],
      ['connections', stats.connections],
    ],
  );

  const routedRows: Cell[][] = CLASSES.map(([reliability, priority, label]) => {
    const now = stats.routed[reliability][priority];
    const then = before?.routed[reliability][priority];
    return [label, now.messages, now.bytes, ...(withRates ? [rate(now.messages, then?.messages), rate(now.bytes * 8, then && then.bytes * 8, 1000)] : [])];
  });
  const total = sumRouted(stats);
  const totalBefore = before && sumRouted(before);
  routedRows.push([
    'all',
    total.messages,
    total.bytes,
    ...(withRates ? [rate(total.messages, totalBefore?.messages), rate(total.bytes * 8, totalBefore && totalBefore.bytes * 8, 1000)] : []),
  ]);
  routedRows.push(['deliveries (copies)', stats.deliveries, '', ...(withRates ? [rate(stats.deliveries, before?.deliveries), ''] : [])]);
  const routed = table(['routed', 'messages', 'bytes', ...(withRates ? ['msg/s', 'kbit/s'] : [])], routedRows);

  const dropEntries = Object.entries(stats.drops);
  const dropRows: Cell[][] = dropEntries.map(([reason, count]) => [reason, count, ...(withRates ? [rate(count, before?.drops[reason as keyof typeof stats.drops])] : [])]);
  const dropTotal = dropEntries.reduce((sum, [, count]) => sum + count, 0);
  dropRows.push(['all', dropTotal, ...(withRates ? [rate(dropTotal, before && Object.values(before.drops).reduce((s, n) => s + n, 0))] : [])]);
  const drops = table(['drops by reason', 'count', ...(withRates ? ['/s'] : [])], dropRows);

  const other = table(
    ['other', 'count'],
    [
      ...Object.entries(stats.limitHits).map(([kind, count]): Cell[] => [`limit hit: ${kind}`, count]),
      ['malformed frames', stats.malformedFrames],
      ['malformed signaling', stats.malformedSignaling],
      ['sender sessions closed', stats.sessionsClosed],
      ['recipient lists set', stats.recipientListsSet],
    ],
  );
  const sections = [heading, '', live, '', routed, '', drops, '', other];
  if (stats.cluster) {
    const cross = stats.crossNode;
    const crossBefore = before?.crossNode;
    sections.push(
      '',
      table(
        ['cross-node', 'messages', 'bytes', ...(withRates ? ['msg/s', 'kbit/s'] : [])],
        [
          ['sent', cross.messagesSent, cross.bytesSent, ...(withRates ? [rate(cross.messagesSent, crossBefore?.messagesSent), rate(cross.bytesSent * 8, crossBefore && crossBefore.bytesSent * 8, 1000)] : [])],
          ['received', cross.messagesReceived, cross.bytesReceived, ...(withRates ? [rate(cross.messagesReceived, crossBefore?.messagesReceived), rate(cross.bytesReceived * 8, crossBefore && crossBefore.bytesReceived * 8, 1000)] : [])],
        ],
      ),
    );
  }
  return sections.join('\n');
}

/** One node's figures for the cluster table: its /stats, or why it could not be read. */
export interface NodeStats {
  id: string;
  url: string;
  alive: boolean;
  stats: StatsSnapshot | string;
}

/**
 * The `backchannel stats` table of every node of a cluster, with the cluster's totals: the nodes the
 * registry holds, each with its live figures and what crossed to and from other nodes.
 */
export function renderClusterStats(nodes: readonly NodeStats[], self: string): string {
  const rows: Cell[][] = [];
  const total = { calls: 0, endpoints: 0, connections: 0, sent: 0, received: 0, deliveries: 0 };
  for (const node of nodes) {
    const name = `${node.id.slice(0, 8)}${node.id === self ? ' (this)' : ''}`;
    if (typeof node.stats === 'string') {
      rows.push([name, node.url, node.alive ? 'yes' : 'no', '', '', '', '', '', '', node.stats]);
      continue;
    }
    const s = node.stats;
    rows.push([name, node.url, node.alive ? 'yes' : 'no', s.calls, s.endpoints, s.connections, s.deliveries, s.crossNode.messagesSent, s.crossNode.messagesReceived, '']);
    total.calls += s.calls;
    total.endpoints += s.endpoints;
    total.connections += s.connections;
    total.deliveries += s.deliveries;
    total.sent += s.crossNode.messagesSent;
    total.received += s.crossNode.messagesReceived;
  }
  rows.push(['cluster', `${nodes.length} nodes`, String(nodes.filter((n) => n.alive).length), total.calls, total.endpoints, total.connections, total.deliveries, total.sent, total.received, '']);
  // A call spanning nodes is counted once on each of its nodes: the cluster's row counts calls per node.
  return table(['node', 'url', 'beating', 'calls', 'endpoints', 'connections', 'deliveries', 'sent to nodes', 'from nodes', 'note'], rows);
}

function sumRouted(stats: StatsSnapshot): { messages: number; bytes: number } {
  let messages = 0;
  let bytes = 0;
  for (const [reliability, priority] of CLASSES) {
    messages += stats.routed[reliability][priority].messages;
    bytes += stats.routed[reliability][priority].bytes;
  }
  return { messages, bytes };
}

/** Columns separated by two spaces; the first left-aligned, the others right-aligned. */
export function table(header: string[], rows: Cell[][]): string {
  const lines = [header, ...rows].map((row) => row.map(String));
  const widths = header.map((_, column) => Math.max(...lines.map((line) => (line[column] ?? '').length)));
  return lines
    .map((line) => line.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ').trimEnd())
    .join('\n');
}
