/** report.md: machine, configuration, and one table per workload with every system's figures and the ratios. */
import type { SystemName } from '../agents/messages.js';
import { SYSTEM_LABELS } from '../systems/deployments.js';
import type { BenchResults, ClusterResults, FanoutRow, TargetedRow } from '../workloads/results.js';
import { bytesText, num, ratioText, spreadText, table } from './format.js';
import { goalSection } from './goals.js';

const PEER_NOTES = [
  'Backchannel: `packages/cli/bin/backchannel.js serve` in its own process, HTTPS/WSS signaling with the run\'s certificate, data over DTLS/SCTP; clients are the public SDK (`@backchannel/client`), Durable senders.',
  'raw node-datachannel (P2P): no server at all. Peers connect straight to each other (one reliable ordered data channel per pair, default libdatachannel settings); no server on the data path. In fan-out the sender holds one connection per receiver and sends every copy itself, so its process stands in for the server; in the memory workload a relay process holding one connection per endpoint does.',
  'node-datachannel relay (floor): the ws relay below with its data moved onto WebRTC (`bench/servers/relayServer.ts`): signaling over `ws` on HTTPS, one reliable ordered data channel per client, the same rooms, ids and framing, one DTLS certificate for every connection, everything else libdatachannel\'s default. It is the floor for a server-relayed design on this stack: what the transport costs without any of Backchannel\'s product.',
  'Socket.IO rooms (TLS): Socket.IO server over HTTPS in its own process, websocket transport only (no polling start), binary payloads, `socket.to(room).emit` / `io.to(ids).emit`, sender id stamped by the server.',
  'ws broadcast (TLS): a ~60-line relay on `ws` over HTTPS in its own process (rooms, numeric ids, sender id stamped by the server), perMessageDeflate off.',
];

export function renderReport(results: BenchResults, charts: readonly string[]): string {
  const out: string[] = [];
  const m = results.machine;
  out.push(`# Backchannel benchmark: ${results.mode} run of ${results.startedAt}`, '');
  out.push(`Took ${results.durationSeconds} s. All systems ran side by side in this one run, on loopback, on the same machine.`, '');
  const goals = goalSection(results);
  if (goals.length > 0) out.push(...goals, '');
  out.push('## Machine', '');
  out.push(
    table(
      ['what', 'value'],
      [
        ['CPU', `${m.cpuModel}, ${m.cores} cores`],
        ['memory', `${m.memoryGiB} GiB`],
        ['kernel', m.kernel],
        ['Node', m.node],
        ['OpenSSL (certificate)', m.openssl],
        ['code measured', `commit ${m.git.commit}${m.git.uncommittedPackageFiles > 0 ? ` with ${m.git.uncommittedPackageFiles} uncommitted file(s) under packages/` : ''}`],
        ...Object.entries(m.versions).map(([name, version]) => [name, version]),
        ...results.load.map((l, i) => [i === 0 ? 'load at start' : `load after workload ${i}`, `${l.loadAverage.map((x) => x.toFixed(2)).join(' ')} (${l.uptime})`]),
      ],
    ),
    '',
  );
  out.push('The machine is shared: other jobs ran during the benchmark (see the load averages), which shows as spread between runs.', '');
  out.push('## Systems and configuration', '');
  for (const note of PEER_NOTES) out.push(`- ${note}`);
  out.push('');
  out.push(
    `Backchannel's per-sender limits (SPEC §4) are raised for the benchmark through its normal configuration file (\`serve --config\`): \`${JSON.stringify(results.serverConfig)}\`. Everything else is the default (log level \`warn\`).`,
    '',
  );
  out.push('Each figure is the median over runs, with (min–max) across them. Ratios are Backchannel ÷ peer: ✓ Backchannel better, ✗ the peer better, ≈ within 5%.', '');
  if (results.errors.length > 0) out.push('## Errors', '', ...results.errors.map((e) => `- ${e.split('\n')[0]}`), '');
  if (results.warnings.length > 0) out.push('## Warnings', '', ...results.warnings.map((w) => `- ${w}`), '');
  if (results.latency) out.push(...latencySection(results), '');
  if (results.fanout) out.push(...fanoutSection(results), '');
  if (results.targeted) out.push(...targetedSection(results), '');
  if (results.join) out.push(...joinSection(results), '');
  if (results.memory) out.push(...memorySection(results), '');
  if (results.cluster) out.push(...clusterSection(results.cluster), '');
  if (charts.length > 0) out.push('## Charts', '', ...charts.map((c) => `![${c}](${c})`), '');
  return out.join('\n');
}

function peers(results: BenchResults): SystemName[] {
  return results.systems.filter((s) => s !== 'backchannel');
}

function latencySection(results: BenchResults): string[] {
  const rows = results.latency!;
  const plan = (results.plan as { latency: { ratePerSecond: number; durationMs: number; runs: number } }).latency;
  const header = ['size', 'system', 'p50 ms', 'p99 ms', 'max ms', 'lost', 'BC ÷ this, p50', 'BC ÷ this, p99'];
  const body = rows.map((r) => {
    const bc = rows.find((b) => b.system === 'backchannel' && b.size === r.size);
    const self = r.system === 'backchannel';
    return [sizeText(r.size), SYSTEM_LABELS[r.system], spreadText(r.p50), spreadText(r.p99), spreadText(r.max), String(r.lost), self ? '—' : ratioText(bc?.p50, r.p50, 'lower'), self ? '—' : ratioText(bc?.p99, r.p99, 'lower')];
  });
  return [
    '## Routed latency',
    '',
    `One sender and one receiver in two client processes, ${plan.ratePerSecond} messages/s for ${plan.durationMs} ms per run, ${plan.runs} runs per size; one-way latency from the send call to the receiver's callback.`,
    '',
    table(header, body),
  ];
}

function fanoutSection(results: BenchResults): string[] {
  const rows = results.fanout!;
  const out = ['## Fan-out throughput', '', 'One sender broadcasting 1 KiB messages; the rate doubles until p99 passes the limit or a message is lost. Figures at the highest passing rate; "per server core" divides deliveries by the server process\'s CPU seconds (all its threads).', ''];
  const best = (r: FanoutRow | undefined) => (r && r.best >= 0 ? r.steps[r.best] : undefined);
  out.push(
    table(
      ['receivers', 'system', 'highest passing rate, msg/s', 'deliveries/s', 'p99 ms', 'server cores', 'deliveries per server core-s', 'CPU µs per delivery (all processes)', 'of which clients', 'ramp stopped by', 'BC ÷ this, per core', 'BC ÷ this, deliveries/s'],
      rows.map((r) => {
        const b = best(r);
        const bc = best(rows.find((x) => x.system === 'backchannel' && x.receivers === r.receivers));
        const self = r.system === 'backchannel';
        return [
          String(r.receivers),
          SYSTEM_LABELS[r.system],
          b ? num(b.ratePerSecond) : 'none passed',
          spreadText(b?.deliveredPerSecond),
          spreadText(b?.p99),
          spreadText(b?.serverCores),
          spreadText(b?.deliveredPerServerCoreSecond),
          spreadText(b?.totalCpuMicrosPerDelivery),
          spreadText(b?.clientCpuMicrosPerDelivery),
          r.stoppedBy,
          self ? '—' : ratioText(bc?.deliveredPerServerCoreSecond, b?.deliveredPerServerCoreSecond, 'higher'),
          self ? '—' : ratioText(bc?.deliveredPerSecond, b?.deliveredPerSecond, 'higher'),
        ];
      }),
    ),
    '',
  );
  out.push(...sameRateTable(results, rows), 'Every step (p99 ms at each rate):', '');
  const rates = (n: number) => [...new Set(rows.filter((r) => r.receivers === n).flatMap((r) => r.steps.map((s) => s.ratePerSecond)))].sort((a, b) => a - b);
  for (const n of [...new Set(rows.map((r) => r.receivers))]) {
    const header = [`${n} receivers: msg/s`, ...results.systems.map((s) => SYSTEM_LABELS[s])];
    out.push(
      table(
        header,
        rates(n).map((rate) => [
          num(rate),
          ...results.systems.map((s) => {
            const step = rows.find((r) => r.system === s && r.receivers === n)?.steps.find((x) => x.ratePerSecond === rate);
            return step ? `${spreadText(step.p99)}${step.lost > 0 ? `, ${step.lost} lost` : ''}${step.passed ? '' : ' ✗'}` : '';
          }),
        ]),
      ),
      '',
    );
  }
  return out;
}

/**
 * Deliveries per server core-second grow with load (fixed costs spread over more messages), so comparing
 * each system at its own best step mixes load levels. This compares them at the highest rate all passed.
 */
function sameRateTable(results: BenchResults, rows: readonly FanoutRow[]): string[] {
  const body: string[][] = [];
  for (const n of [...new Set(rows.map((r) => r.receivers))]) {
    const group = results.systems.map((s) => rows.find((r) => r.system === s && r.receivers === n));
    const common = group.every((r) => r && r.best >= 0) ? Math.min(...group.map((r) => r!.steps[r!.best]!.ratePerSecond)) : undefined;
    if (common === undefined) continue;
    const at = (r: FanoutRow | undefined) => r?.steps.find((s) => s.ratePerSecond === common);
    const bc = at(rows.find((r) => r.system === 'backchannel' && r.receivers === n));
    for (const r of group) {
      const step = at(r);
      body.push([
        String(n),
        num(common),
        SYSTEM_LABELS[r!.system],
        spreadText(step?.serverCores),
        spreadText(step?.deliveredPerServerCoreSecond),
        spreadText(step?.p99),
        r!.system === 'backchannel' ? '—' : ratioText(bc?.deliveredPerServerCoreSecond, step?.deliveredPerServerCoreSecond, 'higher'),
      ]);
    }
  }
  if (body.length === 0) return [];
  return [
    'At the same load (the highest rate every system passed):',
    '',
    table(['receivers', 'msg/s', 'system', 'server cores', 'deliveries per server core-s', 'p99 ms', 'BC ÷ this, per core'], body),
    '',
  ];
}

function targetedSection(results: BenchResults): string[] {
  const rows = results.targeted!;
  const plan = (results.plan as { targeted: { p99LimitMs: number; ratePerSecond: number; size: number } }).targeted;
  const best = (r: TargetedRow | undefined) => (r && r.best >= 0 ? r.steps[r.best] : undefined);
  const out = [
    '## Targeted load',
    '',
    `N participants in one call, each sending ${plan.ratePerSecond} msg/s of ${plan.size} B to 1 or 5 recipients (groups of six); N steps up until p99 passes ${plan.p99LimitMs} ms or a message is lost.`,
    '',
    table(
      ['recipients', 'system', `largest N with p99 ≤ ${plan.p99LimitMs} ms`, 'p99 ms there', 'deliveries/s there', 'server cores there', 'ramp stopped by', 'BC ÷ this, N'],
      rows.map((r) => {
        const b = best(r);
        const bc = best(rows.find((x) => x.system === 'backchannel' && x.recipients === r.recipients));
        return [
          String(r.recipients),
          SYSTEM_LABELS[r.system],
          b ? String(b.participants) : 'none passed',
          spreadText(b?.p99),
          spreadText(b?.deliveredPerSecond),
          // Raw peers have no server here: the figure would be one client process's.
          r.system === 'raw' ? 'no server' : spreadText(b?.serverCores),
          r.stoppedBy,
          r.system === 'backchannel'
            ? '—'
            : bothAtPlanMaximum(r, rows.find((x) => x.system === 'backchannel' && x.recipients === r.recipients))
              ? 'both at the plan maximum'
              : ratioText(bc?.participants, b?.participants, 'higher'),
        ];
      }),
    ),
    '',
  ];
  for (const k of [...new Set(rows.map((r) => r.recipients))]) {
    const ns = [...new Set(rows.filter((r) => r.recipients === k).flatMap((r) => r.steps.map((s) => s.participants)))].sort((a, b) => a - b);
    out.push(
      table(
        [`→ ${k}: N`, ...results.systems.map((s) => `${SYSTEM_LABELS[s]} p99 ms`)],
        ns.map((n) => [
          String(n),
          ...results.systems.map((s) => {
            const step = rows.find((r) => r.system === s && r.recipients === k)?.steps.find((x) => x.participants === n);
            return step ? `${spreadText(step.p99)}${step.lost > 0 ? `, ${step.lost} lost` : ''}${step.passed ? '' : ' ✗'}` : '';
          }),
        ]),
      ),
      '',
    );
  }
  return out;
}

function joinSection(results: BenchResults): string[] {
  const rows = results.join!;
  const plan = (results.plan as { join: { joinsPerRun: number; runs: number; stormSize: number } }).join;
  const bc = rows.find((r) => r.system === 'backchannel');
  return [
    '## Join',
    '',
    `From a client's first move (connect, join the call or room) to its first message delivered to a participant already there; ${plan.joinsPerRun} sequential joins per run, ${plan.runs} runs. Storm: ${plan.stormSize} clients start at once; joins/s = ${plan.stormSize} ÷ time to the last first message.`,
    '',
    table(
      ['system', 'p50 ms', 'p99 ms', 'storm joins/s', 'storm p50 ms', 'storm p99 ms', 'failed joins', 'BC ÷ this, p50', 'BC ÷ this, joins/s'],
      rows.map((r) => [
        SYSTEM_LABELS[r.system],
        spreadText(r.p50),
        spreadText(r.p99),
        spreadText(r.joinsPerSecond),
        spreadText(r.stormP50),
        spreadText(r.stormP99),
        String(r.failures),
        r.system === 'backchannel' ? '—' : ratioText(bc?.p50, r.p50, 'lower'),
        r.system === 'backchannel' ? '—' : ratioText(bc?.joinsPerSecond, r.joinsPerSecond, 'higher'),
      ]),
    ),
  ];
}

function memorySection(results: BenchResults): string[] {
  const rows = results.memory!;
  const plan = (results.plan as { memory: { endpoints: number; roomSize: number } }).memory;
  const bc = rows.find((r) => r.system === 'backchannel');
  const count = (s: { median: number; runs: number } | undefined): string => (!s || s.runs === 0 ? '—' : s.median.toFixed(2));
  const bytes = (s: { median: number; min: number; max: number; runs: number }) =>
    s.runs === 0 ? '—' : s.runs === 1 ? bytesText(s.median) : `${bytesText(s.median)} (${bytesText(s.min)}–${bytesText(s.max)})`;
  return [
    '## Memory',
    '',
    `${plan.endpoints} endpoints in rooms of ${plan.roomSize}, a fresh server per run; RSS growth over the server's baseline divided by the endpoints, idle and then with each endpoint sending 1 msg/s of 256 B to its room; file descriptors and threads gained per idle endpoint.`,
    '',
    table(
      ['system', 'measured process', 'baseline RSS', 'per idle endpoint', 'per active endpoint', 'fds per endpoint', 'threads per endpoint', 'BC ÷ this, idle', 'BC ÷ this, active'],
      rows.map((r) => [
        SYSTEM_LABELS[r.system],
        r.measuredProcess,
        bytes(r.baselineRss),
        bytes(r.idleBytesPerEndpoint),
        bytes(r.activeBytesPerEndpoint),
        count(r.fdsPerEndpoint),
        count(r.threadsPerEndpoint),
        r.system === 'backchannel' ? '—' : ratioText(bc?.idleBytesPerEndpoint, r.idleBytesPerEndpoint, 'lower'),
        r.system === 'backchannel' ? '—' : ratioText(bc?.activeBytesPerEndpoint, r.activeBytesPerEndpoint, 'lower'),
      ]),
    ),
  ];
}

/** Both ramps ended because the plan had no larger step: their ratio says nothing. */
function bothAtPlanMaximum(a: TargetedRow, b: TargetedRow | undefined): boolean {
  const atMax = (r: TargetedRow | undefined): boolean => r !== undefined && r.best === r.steps.length - 1 && r.stoppedBy.startsWith('largest N');
  return atMax(a) && atMax(b);
}

function sizeText(bytes: number): string {
  return bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

export { peers };

function clusterSection(cluster: ClusterResults): string[] {
  const out = [
    '## Cluster (Backchannel only)',
    '',
    'One Redis and 1, 2 or 3 Backchannel nodes, each its own process, all on this machine. Fan-out: one sender on the first node broadcasting 1 KiB messages to receivers spread evenly over the nodes (each message crosses to each other node once); the rate doubles until p99 passes the limit or a message is lost. "Per server core" divides deliveries by the CPU seconds of all nodes together.',
    '',
  ];
  out.push(
    table(
      ['nodes', 'receivers', 'rate, msg/s (highest passing, or ✗ the first step, which failed)', 'deliveries/s', 'p50 ms', 'p99 ms', 'lost', 'server cores (all nodes)', 'busiest node, cores', 'deliveries per server core-s'],
      cluster.fanout.map((row) => {
        // With no step passing, the first step's figures are still what the nodes did at that load.
        const b = row.best >= 0 ? row.steps[row.best] : row.steps[0];
        const rate = b ? `${num(b.ratePerSecond)}${row.best >= 0 ? '' : ' ✗'}` : '';
        return [String(row.nodes), String(row.receivers), rate, spreadText(b?.deliveredPerSecond), spreadText(b?.p50), spreadText(b?.p99), b ? String(b.lost) : '', spreadText(b?.serverCores), b ? b.busiestNodeCores.toFixed(2) : '', spreadText(b?.deliveredPerServerCoreSecond)];
      }),
    ),
    '',
    'The cross-node hop: on two nodes, one sender and one recipient on its node, one on the other node, the same 64-byte messages at a low rate to each in turn:',
    '',
    table(
      ['recipient', 'p50 ms', 'p99 ms', 'lost'],
      cluster.hop.map((row) => [row.recipient, spreadText(row.p50), spreadText(row.p99), String(row.lost)]),
    ),
  );
  return out;
}
