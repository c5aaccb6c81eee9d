import type { Command } from 'commander';
import type { Role } from '../../ops/ops-server.js';
import { startOrStop } from '../exit.js';
import { addConfigOptions, configFrom } from '../options.js';

const BUS = ['bus.kind', 'bus.brokers'];
const DATABASE = ['store.url', 'store.dataDir'];
const OPS = ['ops.healthPort', 'ops.logLevel'];

/**
 * Each role with the flags that act on it (`--help` lists only those; `--set key=value` still
 * reaches every key). process reads source.streams to pick the trade stream candles are built
 * from; serve reads source.symbols for the symbols it offers.
 */
const ROLES: readonly { role: Exclude<Role, 'run'>; description: string; flags: readonly string[] }[] = [
  {
    role: 'ingest',
    description: 'WebSocket source → Kafka (topics binance.trades, binance.book_ticker, binance.depth, binance.klines)',
    flags: ['source.kind', 'source.market', 'source.symbols', 'source.streams', 'source.wsBaseUrl', 'source.restBaseUrl', 'source.speed', ...BUS, ...OPS],
  },
  {
    role: 'store',
    description: 'Kafka → PostgreSQL as consumer group tickflow-store (batched, offsets committed after the write)',
    flags: [...BUS, ...DATABASE, ...OPS],
  },
  {
    role: 'process',
    description: 'Kafka → stream processor → PostgreSQL as consumer group tickflow-process',
    flags: ['source.streams', ...BUS, ...DATABASE, ...OPS],
  },
  {
    role: 'serve',
    description: 'the HTTP API and dashboard over PostgreSQL, live data from Kafka',
    flags: ['source.market', 'source.symbols', ...BUS, ...DATABASE, 'api.port', 'api.host', ...OPS],
  },
];

/** The distributed roles: each runs one part of `tickflow run` in its own process, over Kafka. */
export function registerRoles(program: Command): void {
  for (const { role, description, flags } of ROLES) {
    const cmd = program.command(role).description(`${description}; needs --bus kafka`);
    addConfigOptions(cmd, flags).action(async (opts: Record<string, unknown>) => {
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
