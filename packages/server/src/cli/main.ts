/** The `backchannel` command line. */
import { Command } from 'commander';

import { serveCommand } from './serve.js';

const program = new Command()
  .name('backchannel')
  .description('Backchannel: real-time data messaging inside calls.')
  .showHelpAfterError()
  .addCommand(serveCommand());

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`backchannel: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
