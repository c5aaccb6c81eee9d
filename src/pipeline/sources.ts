import { type Simulator, simulatorOptionsFrom, startSimulator } from '../simulator/index.js';
import { BinanceSource } from '../sources/binance/index.js';
import { ReplaySource } from '../sources/replay/source.js';
import type { Source } from '../sources/source.js';
import type { LastStoredId } from '../store/resume.js';
import type { RoleContext } from './context.js';

export interface StartedSource {
  readonly source: Source;
  /** The in-process exchange simulator behind `--source sim`. */
  readonly simulator?: Simulator;
}

/**
 * The source registry: `source.kind` picks the implementation. `sim` is the live Binance client
 * pointed at an in-process simulator, so it exercises exactly the code that talks to Binance.
 * `resumeFrom` (the last ids stored) makes a live source report what a restart missed as a gap.
 */
export async function createSource(ctx: RoleContext, options: { readonly resumeFrom?: readonly LastStoredId[] } = {}): Promise<StartedSource> {
  const { config, logger, metrics } = ctx;
  const kind = config.source.kind;
  if (kind.startsWith('replay:')) {
    return { source: new ReplaySource({ file: kind.slice('replay:'.length), config: config.source }, { logger, metrics }) };
  }
  if (kind === 'sim') {
    const simulator = await startSimulator(simulatorOptionsFrom(config));
    logger.info({ ws: simulator.wsBaseUrl, rest: simulator.restBaseUrl }, 'exchange simulator started in-process');
    ctx.shutdown.onShutdown('stop simulator', () => simulator.close(), 150);
    return {
      source: new BinanceSource(config.source, { logger, metrics }, { wsBaseUrl: simulator.wsBaseUrl, simulated: true, resumeFrom: options.resumeFrom }),
      simulator,
    };
  }
  return { source: new BinanceSource(config.source, { logger, metrics }, { resumeFrom: options.resumeFrom }) };
}
