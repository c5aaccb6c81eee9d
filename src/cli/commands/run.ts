import type { Command } from 'commander';
import { errorMessage } from '../../core/errors.js';
import { startOrStop } from '../exit.js';
import { addConfigOptions, configFrom } from '../options.js';

/**
 * `tickflow run`: the whole pipeline in one process (source → bus → store + processor + API and
 * dashboard). A replay source shuts down when the recording ends (exit 0), or exits 1 when it could
 * not be read to its end; `--keep-serving` keeps the API up after a replay until Ctrl-C.
 */
export function registerRun(program: Command): void {
  const cmd = program
    .command('run')
    .description('run the whole pipeline in one process: source → bus → PostgreSQL (embedded by default) + stream processor + dashboard')
    .option('--keep-serving', 'after a replay ends, keep the API and dashboard up until Ctrl-C');
  addConfigOptions(cmd).action(async (opts: Record<string, unknown>) => {
    // Imported on use so that `--help` and config errors answer without loading the pipeline.
    const { createRoleContext } = await import('../../pipeline/context.js');
    const { startRun } = await import('../../pipeline/run.js');
    const { startStatusLine } = await import('../../pipeline/status-line.js');
    const ctx = createRoleContext('run', configFrom(opts));
    ctx.shutdown.listen();
    const pipeline = await startOrStop(ctx, () => startRun(ctx));
    if (!pipeline) return;
    const { statusLine } = ctx.config.ops;
    if (statusLine === 'on' || (statusLine === 'auto' && process.stderr.isTTY)) {
      const stop = startStatusLine(pipeline.source, () => pipeline.ingest.totals());
      ctx.shutdown.onShutdown('clear status line', stop, 0);
    }
    if (ctx.config.source.kind.startsWith('replay:')) {
      const failure = await pipeline.drained.then(
        () => undefined,
        (err: unknown) => errorMessage(err),
      );
      // A recording that cannot be read to its end never leaves the process serving as if all was well.
      if (failure !== undefined) {
        ctx.logger.error({ err: failure }, 'replay failed; exiting non-zero');
        await ctx.shutdown.shutdown(`replay failed: ${failure}`, 1);
      } else if (!opts.keepServing) await ctx.shutdown.shutdown('replay finished');
    }
  });
}
