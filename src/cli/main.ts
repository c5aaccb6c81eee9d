import { Command, CommanderError } from 'commander';
import { VERSION } from '../core/version.js';
import { registerCommands } from './commands/index.js';
import { EXIT_CONFIG, exitCodeFor, reportError } from './exit.js';

// `tickflow config --keys | head`: the reader closed the pipe because it has what it wanted. That
// is no error; later writes are dropped and the command ends as it would have.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

const program = new Command('tickflow')
  .description('Gap-free, exact, real-time Binance market-data pipeline')
  .version(VERSION)
  .showHelpAfterError('(run with --help for usage)')
  // Commander exits 1 on a usage error (unknown option or command, missing argument); that is the
  // user's to fix like a bad key, so it throws here instead and ends with exit 2 (README "Exit codes").
  // Subcommands inherit this setting (they are created after it).
  .exitOverride();

registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander has printed the message (or the help, or the version: exit code 0) already.
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_CONFIG;
  } else {
    // Start-up errors (bad config, unreachable source) are the user's to fix: say what, not a stack.
    reportError(err);
    process.exitCode = exitCodeFor(err);
  }
}
