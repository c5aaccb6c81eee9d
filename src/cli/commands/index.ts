import type { Command } from 'commander';
import { registerBackfill } from './backfill.js';
import { registerAlerts } from './alerts.js';
import { registerConfig } from './config.js';
import { registerImport } from './import.js';
import { registerVerify } from './verify.js';
import { registerRoles } from './roles.js';
import { registerRun } from './run.js';
import { registerSimulate } from './simulate.js';

/** Every subcommand; each lives in its own module. */
export function registerCommands(program: Command): void {
  registerConfig(program);
  registerRun(program);
  registerRoles(program);
  registerSimulate(program);
  registerImport(program);
  registerVerify(program);
  registerBackfill(program);
  registerAlerts(program);
}
