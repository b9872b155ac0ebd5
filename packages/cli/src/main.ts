/** The `backchannel` command line. */
import { Command } from 'commander';

import { benchCommand } from './bench.js';
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

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`backchannel: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
