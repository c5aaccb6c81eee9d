/**
 * Alerts per hour of the default rules (config alerts.rules) on the real recordings in
 * ../shared/data: the processor core and the alert engine run over each recording in event time
 * (the engine's clock is the latest event time, evaluated every second of it), with the default
 * processor settings. State rules (consumer lag, disconnects, silence, unhealed gaps) need a live
 * pipeline and are not measured here. The yardstick, in the same run: the spread warning as it was
 * before issue 12 (average spread > 3 × the window's minimum), counted per final 30 s window.
 * Usage: `npx tsx bench/alert-rates.ts`; results in docs/alerts.md.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AlertEngine } from '../src/alerts/engine.js';
import { topicOf } from '../src/bus/bus.js';
import { configSchema } from '../src/config/schema.js';
import type { MarketEvent } from '../src/core/events.js';
import { ProcessorCore } from '../src/processors/processor-core.js';
import { signalsOf } from '../src/processors/signals.js';
import { WhaleDetector } from '../src/processors/whales.js';
import { failOnProblems, printComparison, printMachine } from './support/report.js';
// The recordings' and the freqtrade file's readers are the tests' (one copy of each format).
import { freqtradeAggTrades, recordedEvents } from '../test/support/recordings.js';

const DATA = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'shared', 'data');
const config = configSchema.parse({});
const rules = config.alerts.rules.filter((r) => ['volatility', 'spread', 'volumeSpike', 'priceMove', 'whale', 'gap'].includes(r.condition));
const NO_STATE = { consumerLag: [], sourceDisconnected: [], noData: [], gapUnhealed: [] };

async function recorded(files: string[], market: 'spot' | 'usdm'): Promise<MarketEvent[]> {
  const events: MarketEvent[] = [];
  for (const file of files) {
    const path = join(DATA, file);
    if (!existsSync(path)) throw new Error(`bench needs ${path} (../shared/data beside the repo)`);
    events.push(...(await recordedEvents(path, market)).filter((e) => e.type === 'trade' || e.type === 'bookTicker'));
  }
  return events.sort((a, b) => a.ingestionTimestamp - b.ingestionTimestamp);
}

const timeOf = (e: MarketEvent): number => (e.type === 'trade' || e.type === 'aggTrade' ? e.tradeTime : e.eventTime);

interface Result {
  readonly name: string;
  readonly hours: number;
  readonly firing: Record<string, number>;
  readonly oldSpreadWindows: number;
  readonly spreadWindows: number;
}

function measure(name: string, events: readonly MarketEvent[], tradeStream: 'trade' | 'aggTrade'): Result {
  const core = new ProcessorCore({ ...config.processor, tradeStream });
  // The yardstick: the same windows judged by the old factor rule.
  const old = new ProcessorCore({ ...config.processor, tradeStream, spreadWarningFactor: 3 });
  const whales = new WhaleDetector(config.processor);
  let now = 0;
  const engine = new AlertEngine(rules, () => now);
  const firing: Record<string, number> = Object.fromEntries(rules.map((r) => [r.name, 0]));
  let oldSpreadWindows = 0;
  let spreadWindows = 0;
  let nextEvaluation = 0;
  const evaluate = () => {
    for (const t of engine.evaluate(NO_STATE)) if (t.state === 'firing') firing[t.rule.name] = (firing[t.rule.name] ?? 0) + 1;
  };
  // One partition per topic, offsets from 0, as the in-process bus delivers them.
  const offsets = new Map<string, bigint>();
  for (const event of events) {
    now = Math.max(now, timeOf(event));
    const source = `${topicOf(event)}/0`;
    const offset = offsets.get(source) ?? 0n;
    offsets.set(source, offset + 1n);
    const input = [{ source, offset, event }];
    const upserts = core.ingest(input).upserts;
    for (const u of old.ingest(input).upserts) if (u.table === 'spread_metrics' && u.row.isFinal && u.row.spreadWarning) oldSpreadWindows += 1;
    for (const u of upserts) if (u.table === 'spread_metrics' && u.row.isFinal) spreadWindows += 1;
    const signals = signalsOf(upserts, config.processor, whales);
    for (const s of signals) engine.observe(s);
    if (signals.length > 0 || now >= nextEvaluation) {
      evaluate();
      nextEvaluation = now + 1_000;
    }
  }
  const first = timeOf(events[0] as MarketEvent);
  return { name, hours: (now - first) / 3_600_000, firing, oldSpreadWindows, spreadWindows };
}

printMachine('start');
const results = [
  measure('spot BTCUSDT 2024-08-08/09', await recorded(['binance-spot-ws/btcusdt_20240808.gz', 'binance-spot-ws/btcusdt_20240809.gz'], 'spot'), 'trade'),
  measure('spot ETHUSDT 2024-08-08/09', await recorded(['binance-spot-ws/ethusdt_20240808.gz', 'binance-spot-ws/ethusdt_20240809.gz'], 'spot'), 'trade'),
  measure('USD-M BTCUSDT 2024-08-08', await recorded(['binance-usdm-ws/btcusdt_20240808.gz'], 'usdm'), 'trade'),
  measure('spot XRPETH aggTrades 2019-10-11..13', await freqtradeAggTrades(join(DATA, 'freqtrade-xrpeth', 'XRP_OLD-trades.json.gz'), 'XRPETH'), 'aggTrade'),
];

const perHour = (n: number, hours: number) => (hours > 0 ? (n / hours).toFixed(2) : '-');
console.log(`| recording | hours | ${rules.map((r) => `${r.name} /h`).join(' | ')} | old spread warning windows /h (yardstick) | spread windows /h |`);
console.log(`|---|---|${rules.map(() => '---').join('|')}|---|---|`);
for (const r of results) {
  console.log(
    `| ${r.name} | ${r.hours.toFixed(2)} | ${rules.map((rule) => perHour(r.firing[rule.name] ?? 0, r.hours)).join(' | ')} | ${perHour(r.oldSpreadWindows, r.hours)} | ${perHour(r.spreadWindows, r.hours)} |`,
  );
}
const btc = results[0] as Result;
printComparison({
  figure: 'spread-wide alerts on spot BTCUSDT',
  value: (btc.firing['spread-wide'] ?? 0) / btc.hours,
  yardstick: 'old spread warnings (avg > 3 × min) on the same windows',
  yardstickValue: btc.oldSpreadWindows / btc.hours,
  unit: 'per hour',
});
printMachine('end');
// A recording that replayed nothing, or (with bookTicker) closed no spread window, measured nothing.
failOnProblems([
  ...results.filter((r) => !(r.hours > 0)).map((r) => `${r.name}: no events replayed`),
  ...results.filter((r) => r.spreadWindows === 0 && r.name.includes('USDT')).map((r) => `${r.name}: no final spread window`),
]);
