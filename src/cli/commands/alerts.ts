import type { Command } from 'commander';
import { ErrorCodes, TickflowError } from '../../core/errors.js';
import { addConfigOptions, configFrom } from '../options.js';

/** `tickflow alerts list` prints the rules; `tickflow alerts test <rule>` sends a sample notification of one. */
export function registerAlerts(program: Command): void {
  const alerts = program.command('alerts').description('alert rules (alerts.rules): list them, or send a test notification');
  addConfigOptions(alerts.command('list').description('print every rule: condition, threshold(s), for, noData, notifiers')).action(
    async (opts: Record<string, unknown>) => {
      const { formatDuration } = await import('../../alerts/conditions.js');
      const config = configFrom(opts);
      const rows = config.alerts.rules.map((r) => [
        r.name,
        r.condition,
        [String(r.threshold), ...Object.entries(r.thresholds).map(([s, v]) => `${s}=${v}`)].join(' '),
        formatDuration(r.for),
        r.noData,
        r.repeat > 0 ? formatDuration(r.repeat) : 'never',
        r.notify.filter((k) => config.alerts[k].enabled).join(',') || '(no enabled notifier)',
      ]);
      const header = ['rule', 'condition', 'threshold', 'for', 'noData', 'repeat', 'notify'];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
      for (const row of [header, ...rows])
        process.stdout.write(
          `${row
            .map((c, i) => c.padEnd(widths[i] as number))
            .join('  ')
            .trimEnd()}\n`,
        );
    },
  );
  addConfigOptions(
    alerts
      .command('test')
      .argument('<rule>', 'the rule name')
      .description('send a sample notification of <rule> to its enabled notifiers (nothing is recorded)'),
  ).action(async (ruleName: string, opts: Record<string, unknown>) => {
    const { createNotifiers } = await import('../../alerts/notifier.js');
    const { sendTestNotification } = await import('../../alerts/service.js');
    const { silentLogger } = await import('../../ops/logger.js');
    const config = configFrom(opts);
    const notifiers = createNotifiers(config.alerts, { logger: silentLogger() });
    try {
      const { notification, sent } = await sendTestNotification(config, ruleName, notifiers);
      if (sent.length === 0) {
        throw new TickflowError(
          ErrorCodes.CONFIG_INVALID,
          `rule ${ruleName} has no enabled notifier: enable alerts.smtp or alerts.webhook (and list it in the rule's notify)`,
        );
      }
      process.stdout.write(`sent "${notification.subject}" via ${sent.join(', ')}\n`);
    } finally {
      await Promise.all(Object.values(notifiers).map((n) => n.close()));
    }
  });
}
