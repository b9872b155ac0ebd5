/**
 * `backchannel stats`: the server's live call and routing figures (GET /stats) as a table, once or, with
 * --watch, refreshed every interval with rates until Ctrl-C. On a terminal each refresh redraws the
 * screen; otherwise each is printed after the last, separated by a blank line.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';

import { ExitCode, note, onInterrupt, result, runAction } from './common.js';
import { accessKeyOption, requireAccessKey, serverOption, toolCommand, type ServerFlags } from './options.js';
import { fetchStats, type ServerAccess, type StatsSnapshot } from './serverApi.js';
import { renderClusterStats, renderStats, type NodeStats, type Previous } from './statsView.js';

interface StatsFlags extends ServerFlags {
  watch: boolean;
  interval: number;
  json: boolean;
}

const CLEAR_SCREEN = '\x1b[H\x1b[2J';

export function statsCommand(): Command {
  return toolCommand('stats', "show a running server's calls, endpoints, connections, routed traffic and drops")
    .addOption(serverOption())
    .addOption(accessKeyOption())
    .addOption(new Option('--watch', 'refresh until interrupted, with rates per second').env('BACKCHANNEL_WATCH').default(false))
    .addOption(new Option('--interval <seconds>', 'refresh interval of --watch').env('BACKCHANNEL_INTERVAL').default(1).argParser(positiveSeconds))
    .addOption(new Option('--json', 'print the raw JSON of GET /stats (one line per refresh)').env('BACKCHANNEL_JSON').default(false))
    .action(
      runAction('stats', async (flags: StatsFlags) => {
        const access = { url: flags.server, accessKey: requireAccessKey(flags, 'reading the stats') };
        const first = await fetchStats(access);
        await print(first, access, flags);
        if (flags.watch) await watch(access, flags, first);
        return ExitCode.Ok;
      }),
    );
}

/**
 * A cluster node's /stats names every node of the cluster: each one's own /stats is read (with the same
 * access key: one deployment has one), the one already read reused.
 */
async function everyNode(stats: StatsSnapshot, access: ServerAccess): Promise<NodeStats[]> {
  const cluster = stats.cluster!;
  return Promise.all(
    cluster.nodes.map(async (node): Promise<NodeStats> => {
      if (node.id === cluster.node) return { id: node.id, url: node.url, alive: node.alive, stats };
      try {
        return { id: node.id, url: node.url, alive: node.alive, stats: await fetchStats({ url: node.url, accessKey: access.accessKey }) };
      } catch (error) {
        return { id: node.id, url: node.url, alive: node.alive, stats: `unreachable: ${error instanceof Error ? error.message : String(error)}` };
      }
    }),
  );
}

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0.1 || n > 3600) throw new InvalidArgumentError(`expected seconds from 0.1 to 3600, got '${value}'`);
  return n;
}

/**
 * Refreshes until SIGINT/SIGTERM (a normal end: exit 0). The first fetch already proved the address and
 * key; a later failure (a server restarting, say) is reported and retried on the next tick.
 */
async function watch(access: ServerAccess, flags: StatsFlags, first: StatsSnapshot): Promise<void> {
  let last = { stats: first, at: performance.now() };
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      fetchStats(access).then(
        async (stats) => {
          const at = performance.now();
          await print(stats, access, flags, { stats: last.stats, seconds: (at - last.at) / 1000 });
          last = { stats, at };
        },
        (error: unknown) => note(`backchannel stats: ${error instanceof Error ? error.message : String(error)}`),
      );
    }, flags.interval * 1000);
    const interrupt = onInterrupt(() => {
      clearInterval(timer);
      interrupt.dispose();
      resolve();
    });
  });
}

async function print(stats: StatsSnapshot, access: ServerAccess, flags: StatsFlags, previous?: Previous): Promise<void> {
  if (flags.json) return result(JSON.stringify(stats));
  const heading = `Backchannel at ${access.url}, ${new Date().toISOString()}`;
  let text = renderStats(stats, heading, previous);
  if (stats.cluster) text += `\n\n${renderClusterStats(await everyNode(stats, access), stats.cluster.node)}`;
  if (flags.watch && process.stdout.isTTY) process.stdout.write(CLEAR_SCREEN + text + '\n');
  else result(previous ? `\n${text}` : text);
}
