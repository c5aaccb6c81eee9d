import { type Command, Option } from 'commander';
import { loadConfig } from '../config/load.js';
import { ErrorCodes, TickflowError } from '../core/errors.js';
import type { Config } from '../config/schema.js';

/** Friendly flags and the configuration key each one sets. `--set key=value` reaches every key. */
const FLAGS: readonly { flag: string; key: string; help: string }[] = [
  { flag: '--source <kind>', key: 'source.kind', help: 'binance | sim | replay:<file>' },
  { flag: '--market <market>', key: 'source.market', help: 'spot | usdm' },
  { flag: '--symbols <list>', key: 'source.symbols', help: 'comma-separated symbols, e.g. BTCUSDT,ETHUSDT' },
  { flag: '--streams <list>', key: 'source.streams', help: 'comma-separated: trade,aggTrade,bookTicker,depth,kline_1m' },
  { flag: '--ws-url <url>', key: 'source.wsBaseUrl', help: 'WebSocket base URL' },
  { flag: '--rest-url <url>', key: 'source.restBaseUrl', help: 'REST base URL' },
  { flag: '--speed <x>', key: 'source.speed', help: 'replay speed: 0 = as fast as possible, 1 = real time' },
  { flag: '--bus <kind>', key: 'bus.kind', help: 'memory | kafka | kinesis' },
  { flag: '--brokers <list>', key: 'bus.brokers', help: 'Kafka bootstrap brokers, host:port,...' },
  { flag: '--db <url>', key: 'store.url', help: 'embedded | postgres://user:pass@host:port/db' },
  { flag: '--data-dir <dir>', key: 'store.dataDir', help: 'folder of the embedded database' },
  { flag: '--port <port>', key: 'api.port', help: 'HTTP API and dashboard port' },
  { flag: '--host <host>', key: 'api.host', help: 'HTTP API bind address' },
  { flag: '--health-port <port>', key: 'ops.healthPort', help: 'port for /live, /ready, /health, /metrics' },
  { flag: '--log-level <level>', key: 'ops.logLevel', help: 'trace | debug | info | warn | error | silent' },
];

/**
 * Adds `-c/--config <file>`, the friendly flags (`--symbols`, `--db`, …; only those setting a key in
 * `only`, when given) and the repeatable `--set key=value` to `cmd`; configFrom turns them into a
 * Config. Returns `cmd` for chaining.
 */
export function addConfigOptions(cmd: Command, only?: readonly string[]): Command {
  cmd.option('-c, --config <file>', 'YAML configuration file (also TICKFLOW_CONFIG)');
  for (const f of FLAGS) {
    if (only && !only.includes(f.key)) continue;
    cmd.addOption(new Option(f.flag, `${f.help} [${f.key}]`));
  }
  cmd.option(
    '--set <key=value>',
    'set any configuration key, e.g. --set store.batchRows=1000 (repeatable)',
    (v: string, acc: string[]) => [...acc, v],
    [] as string[],
  );
  return cmd;
}

/** Builds the configuration from a command's parsed options. */
export function configFrom(opts: Record<string, unknown>): Config {
  const overrides: Record<string, unknown> = {};
  for (const f of FLAGS) {
    const name = f.flag
      .replace(/^--/, '')
      .replace(/ <.*$/, '')
      .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (opts[name] !== undefined) overrides[f.key] = opts[name];
  }
  for (const pair of (opts.set as string[] | undefined) ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new TickflowError(
        ErrorCodes.CONFIG_INVALID,
        `--set expects key=value, got "${pair}"${eq < 0 ? `: give the value too, e.g. --set ${pair}=<value>` : ''} (tickflow config --keys lists every key)`,
      );
    }
    overrides[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return loadConfig({ file: opts.config as string | undefined, overrides });
}
