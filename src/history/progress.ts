import cliProgress from 'cli-progress';
import type { BackfillProgress } from './backfill.js';

/**
 * The backfill's progress as a cli-progress bar on stderr: the share of the period covered, rows
 * stored, rows per second and the ETA cli-progress derives from the rate. On a terminal the bar is
 * redrawn in place; otherwise (a log file, CI) cli-progress prints a plain line every `plainEveryMs`.
 */
export function progressBar(stream: NodeJS.WriteStream = process.stderr, plainEveryMs = 2_000): BackfillProgress {
  let bar: cliProgress.SingleBar | undefined;
  let started = 0;
  return {
    start(label, periodMs, coveredMs) {
      bar = new cliProgress.SingleBar({
        stream,
        format: '{label} [{bar}] {percentage}% | {rows} rows | {rate} rows/s | ETA {eta_formatted}',
        noTTYOutput: true,
        notTTYSchedule: plainEveryMs,
        etaBuffer: 50,
        hideCursor: false,
      });
      started = Date.now();
      // Seconds of history as the unit: the bar and its ETA follow the period, whatever the trade rate.
      bar.start(Math.max(1, Math.ceil(periodMs / 1_000)), Math.floor(coveredMs / 1_000), { label, rows: 0, rate: '0' });
    },
    update(coveredMs, rows) {
      const seconds = Math.max(0.001, (Date.now() - started) / 1_000);
      bar?.update(Math.floor(coveredMs / 1_000), { rows, rate: (rows / seconds).toFixed(0) });
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
