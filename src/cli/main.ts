import { Command } from 'commander';
import { VERSION } from '../core/version.js';
import { registerCommands } from './commands/index.js';
import { exitCodeFor, reportError } from './exit.js';

// `tickflow config --keys | head`: the reader closed the pipe because it has what it wanted. That
// is no error; later writes are dropped and the command ends as it would have.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

const program = new Command('tickflow')
  .description('Gap-free, exact, real-time Binance market-data pipeline')
  .version(VERSION)
  .showHelpAfterError('(run with --help for usage)');

registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Start-up errors (bad config, unreachable source) are the user's to fix: say what, not a stack.
  reportError(err);
  process.exitCode = exitCodeFor(err);
}
