/** The `backchannel` command line. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { Command } from 'commander';

import { chatCommand } from './chat.js';
import { receiveFileCommand } from './receiveFile.js';
import { sendFileCommand } from './sendFile.js';
import { serveCommand } from './serve.js';
import { statsCommand } from './stats.js';
import { tokenCommand } from './token.js';

const program = new Command()
  .name('backchannel')
  .description('Backchannel: real-time data messaging inside calls.')
  .showHelpAfterError()
  .addCommand(serveCommand())
  .addCommand(tokenCommand())
  .addCommand(chatCommand())
  .addCommand(sendFileCommand())
  .addCommand(receiveFileCommand())
  .addCommand(statsCommand())
  .addCommand(benchCommand());

/**
 * `backchannel bench`: runs the repository's benchmark suite (bench/run.ts, TypeScript through tsx), passing
 * every argument on; `backchannel bench --help` lists them. Needs a checkout with dev dependencies installed.
 */
function benchCommand(): Command {
  const runner = fileURLToPath(new URL('../../../../bench/run.ts', import.meta.url));
  return new Command('bench')
    .description('benchmark Backchannel against raw node-datachannel, Socket.IO and ws (repository checkouts; see docs/benchmarks.md)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action((_options: unknown, command: Command) => {
      const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), runner, ...command.args], { stdio: 'inherit' });
      process.on('SIGTERM', () => child.kill('SIGTERM'));
      child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)));
    });
}

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`backchannel: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
