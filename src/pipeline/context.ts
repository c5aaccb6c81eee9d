import type { Config } from '../config/schema.js';
import { HealthRegistry } from '../ops/health.js';
import { createLogger, type Logger } from '../ops/logger.js';
import { createMetrics, type Metrics } from '../ops/metrics.js';
import type { Role } from '../ops/ops-server.js';
import { ShutdownCoordinator, type SignalSource } from '../ops/shutdown.js';

/** What every role is built from: the frozen config and the process-wide operability parts. */
export interface RoleContext {
  readonly role: Role;
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: HealthRegistry;
  readonly shutdown: ShutdownCoordinator;
}

/** What tests replace in a role's context: the logger, the signal source and the exit function. */
export interface ContextOptions {
  readonly logger?: Logger;
  /** Tests pass an emitter and an exit function so that a shutdown does not end the test runner. */
  readonly signals?: SignalSource;
  readonly exit?: (code: number) => void;
}

/**
 * The parts every role is built from: `config`, a logger tagged with the role (pino, at
 * ops.logLevel/logFormat unless `options.logger`), fresh Prometheus metrics and health registry, and a
 * ShutdownCoordinator bounded by ops.shutdownTimeoutMs. Listens to no signal until ctx.shutdown.listen().
 */
export function createRoleContext(role: Role, config: Config, options: ContextOptions = {}): RoleContext {
  const logger = (options.logger ?? createLogger({ level: config.ops.logLevel, format: config.ops.logFormat })).child({ role });
  const health = new HealthRegistry();
  const shutdown = new ShutdownCoordinator({
    health,
    logger,
    timeoutMs: config.ops.shutdownTimeoutMs,
    ...(options.signals ? { signals: options.signals } : {}),
    ...(options.exit ? { exit: options.exit } : {}),
  });
  return { role, config, logger, metrics: createMetrics(), health, shutdown };
}

/** The parts every component constructor takes. */
export function deps(ctx: RoleContext) {
  return { config: ctx.config, logger: ctx.logger, metrics: ctx.metrics, health: ctx.health };
}
