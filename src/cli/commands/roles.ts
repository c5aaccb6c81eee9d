import type { Command } from 'commander';
import type { Role } from '../../ops/ops-server.js';
import { startOrStop } from '../exit.js';
import { addConfigOptions, configFrom } from '../options.js';

const ROLES: readonly { role: Exclude<Role, 'run'>; description: string }[] = [
  { role: 'ingest', description: 'WebSocket source → Kafka (topics binance.trades, binance.book_ticker, binance.depth, binance.klines)' },
  { role: 'store', description: 'Kafka → PostgreSQL as consumer group tickflow-store (batched, offsets committed after the write)' },
  { role: 'process', description: 'Kafka → stream processor → PostgreSQL as consumer group tickflow-process' },
  { role: 'serve', description: 'the HTTP API and dashboard over PostgreSQL, live data from Kafka' },
];

/** The distributed roles: each runs one part of `tickflow run` in its own process, over Kafka. */
export function registerRoles(program: Command): void {
  for (const { role, description } of ROLES) {
    const cmd = program.command(role).description(`${description}; needs --bus kafka`);
    addConfigOptions(cmd).action(async (opts: Record<string, unknown>) => {
      const { createRoleContext } = await import('../../pipeline/context.js');
      const roles = await import('../../pipeline/roles.js');
      const ctx = createRoleContext(role, configFrom(opts));
      ctx.shutdown.listen();
      const start = { ingest: roles.startIngestRole, store: roles.startStoreRole, process: roles.startProcessRole, serve: roles.startServeRole }[role];
      const handle = await startOrStop(ctx, () => start(ctx));
      if (!handle) return;
      ctx.logger.info({ ops: handle.opsUrl }, `tickflow ${role} running`);
    });
  }
}
