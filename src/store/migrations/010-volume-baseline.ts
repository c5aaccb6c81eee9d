import type { Migration } from './migration.js';

/**
 * trade_metrics.volume_baseline: the mean volume of the windows a volume spike is judged against
 * (decimal, base asset). The alert signal states it as the spike's threshold, so a window reloaded
 * after a restart must carry the baseline it was judged with, not recompute it from a shorter history.
 */
export const migration010: Migration = {
  version: 10,
  name: 'volume-baseline',
  sql: `ALTER TABLE trade_metrics ADD COLUMN IF NOT EXISTS volume_baseline numeric;`,
};
