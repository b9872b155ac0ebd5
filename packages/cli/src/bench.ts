/**
 * `backchannel bench`: runs the repository's benchmark suite (@backchannel/bench, bench/run.ts, TypeScript
 * through tsx), passing every argument on; `backchannel bench --help` lists them. The suite is a repository
 * tool, not shipped with this package: it is found through its package export, and without it the command
 * says so.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { Command } from 'commander';

export function benchCommand(): Command {
  return new Command('bench')
    .description('benchmark Backchannel against raw node-datachannel, Socket.IO and ws (repository checkouts; see docs/benchmarks.md)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action((_options: unknown, command: Command) => {
      const { runner, loader } = benchSuite();
      const child = spawn(process.execPath, ['--import', loader, runner, ...command.args], { stdio: 'inherit' });
      process.on('SIGTERM', () => child.kill('SIGTERM'));
      child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)));
    });
}

/** The suite's runner and the tsx loader it runs under (the suite's own dependency). */
function benchSuite(): { runner: string; loader: string } {
  try {
    const runner = fileURLToPath(import.meta.resolve('@backchannel/bench/run'));
    const loader = pathToFileURL(createRequire(runner).resolve('tsx')).href;
    return { runner, loader };
  } catch (error) {
    throw new Error('the benchmark runs from a checkout of the Backchannel repository with its dependencies installed (npm install): @backchannel/bench is not installed here', {
      cause: error,
    });
  }
}
