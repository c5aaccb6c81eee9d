import { Command } from 'commander';
import { TickflowError } from '../core/errors.js';
import { redactSecrets } from '../ops/redact.js';
import { registerCommands } from './commands/index.js';

const program = new Command('tickflow')
  .description('Gap-free, exact, real-time Binance market-data pipeline')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)');

registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Start-up errors (bad config, unreachable source) are the user's to fix: say what, not a stack.
  if (err instanceof TickflowError) {
    process.stderr.write(`tickflow: ${err.code}: ${redactSecrets(err.message)}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`tickflow: ${redactSecrets(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n`);
    process.exitCode = 1;
  }
}
