import type { Command } from 'commander';
import { configKeys, envName } from '../../config/load.js';
import { SECRET_KEYS } from '../../config/schema.js';
import { redactConfig } from '../../ops/redact.js';
import { addConfigOptions, configFrom } from '../options.js';

/**
 * `tickflow config`: validates the configuration (flags, file, environment) and prints it resolved
 * as JSON with secrets as `***`; `--keys` lists every key, its environment variable and default.
 * A bad or unknown key fails with TF_CONFIG_INVALID / TF_CONFIG_UNKNOWN_KEY (exit 2).
 */
export function registerConfig(program: Command): void {
  const cmd = program
    .command('config')
    .description('validate the configuration and print it as resolved (or every key with --keys)')
    .option('--keys', 'list every key with its environment variable and default');
  addConfigOptions(cmd).action((opts: Record<string, unknown>) => {
    if (opts.keys) {
      for (const [key, def] of configKeys()) process.stdout.write(`${key}\t${envName(key)}\t${JSON.stringify(def)}\n`);
      return;
    }
    // Secrets print as *** (and URL passwords inside store.url): the output lands in tickets and chats.
    process.stdout.write(`${JSON.stringify(redactConfig(configFrom(opts), SECRET_KEYS), null, 2)}\n`);
  });
}
