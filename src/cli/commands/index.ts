import type { Command } from 'commander';
import { registerConfig } from './config.js';

/** Every subcommand; each lives in its own module. */
export function registerCommands(program: Command): void {
  registerConfig(program);
}
