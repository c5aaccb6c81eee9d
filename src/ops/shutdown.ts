import { errorMessage } from '../core/errors.js';
import { monotonicMs } from '../core/clock.js';
import type { HealthRegistry } from './health.js';
import type { Logger } from './logger.js';

/**
 * Order of the standard shutdown steps; lower runs first, equal orders run in registration order.
 * Data is safe when each step only hands on what the previous one made durable: stop reading so
 * nothing new arrives, flush producer and writer buffers, commit the offsets of what was flushed,
 * close the database, and close the HTTP servers last so probes answer "shutting down" until the end.
 */
export const ShutdownOrder = {
  stopReading: 100,
  flushBuffers: 200,
  commitOffsets: 300,
  closeDatabase: 400,
  closeServers: 500,
} as const;

/** The part of `process` the coordinator listens to; tests pass an EventEmitter. */
export interface SignalSource {
  on(event: 'SIGTERM' | 'SIGINT', listener: (signal: NodeJS.Signals) => void): unknown;
  off(event: 'SIGTERM' | 'SIGINT', listener: (signal: NodeJS.Signals) => void): unknown;
}

/**
 * What the ShutdownCoordinator marks (health), logs, how long the whole sequence may take (ms), and
 * which signals and exit it uses.
 */
export interface ShutdownOptions {
  readonly health: HealthRegistry;
  readonly logger: Logger;
  /** config.ops.shutdownTimeoutMs: the whole sequence must finish within this. */
  readonly timeoutMs: number;
  readonly signals?: SignalSource;
  readonly exit?: (code: number) => void;
}

/** Exit code after a second signal: the shell's code for an interrupted process (128 + SIGINT). */
export const FORCED_EXIT_CODE = 130;

interface Step {
  readonly name: string;
  readonly fn: () => unknown;
  readonly order: number;
  readonly seq: number;
}

/**
 * Runs the registered steps once, on the first SIGTERM/SIGINT or on `shutdown()`, then exits: 0 when
 * every step succeeded, 1 when one failed or the sequence outlived `timeoutMs` (the log names the
 * step that hung). A second signal exits at once with 130, for an operator who will not wait.
 */
export class ShutdownCoordinator {
  private readonly steps: Step[] = [];
  private readonly log: Logger;
  private readonly signals: SignalSource;
  private readonly exit: (code: number) => void;
  private seq = 0;
  private running: Promise<void> | undefined;
  private exited = false;
  private deadline: NodeJS.Timeout | undefined;
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (this.running) {
      this.log.warn({ signal }, 'second signal: exiting now without finishing shutdown');
      this.finish(FORCED_EXIT_CODE);
      return;
    }
    void this.shutdown(`received ${signal}`);
  };

  constructor(private readonly options: ShutdownOptions) {
    this.log = options.logger.child({ component: 'shutdown' });
    this.signals = options.signals ?? process;
    this.exit = options.exit ?? ((code) => process.exit(code));
  }

  /** Registers a step; returns a function that removes it (for parts closed earlier). */
  onShutdown(name: string, fn: () => unknown, order: number): () => void {
    const step: Step = { name, fn, order, seq: this.seq++ };
    this.steps.push(step);
    return () => {
      const i = this.steps.indexOf(step);
      if (i >= 0) this.steps.splice(i, 1);
    };
  }

  /** Starts listening for SIGTERM and SIGINT. */
  listen(): this {
    this.signals.on('SIGTERM', this.onSignal);
    this.signals.on('SIGINT', this.onSignal);
    return this;
  }

  /** Stops listening (the steps stay registered). */
  dispose(): void {
    this.signals.off('SIGTERM', this.onSignal);
    this.signals.off('SIGINT', this.onSignal);
  }

  get shuttingDown(): boolean {
    return this.running !== undefined;
  }

  /**
   * Runs the steps and exits, as a signal would; for a run that ends by itself (a replay reached
   * its end) or that could not start. `exitCode` is the code when the run itself failed (start-up:
   * 2 for a configuration error); with 0 the code says whether every step succeeded. Calling it
   * again returns the same sequence.
   */
  shutdown(reason: string, exitCode = 0): Promise<void> {
    this.running ??= this.runSteps(reason, exitCode);
    return this.running;
  }

  private async runSteps(reason: string, exitCode: number): Promise<void> {
    this.options.health.markShuttingDown();
    const steps = [...this.steps].sort((a, b) => a.order - b.order || a.seq - b.seq);
    this.log.info({ reason, steps: steps.map((s) => s.name), timeoutMs: this.options.timeoutMs }, 'shutting down');
    let current = '(none)';
    const started = monotonicMs();
    this.deadline = setTimeout(() => {
      this.log.error(
        { step: current, timeoutMs: this.options.timeoutMs },
        `shutdown did not finish within ${this.options.timeoutMs} ms: step "${current}" hung; exiting`,
      );
      this.finish(exitCode !== 0 ? exitCode : 1);
    }, this.options.timeoutMs);
    let failed = 0;
    for (const step of steps) {
      if (this.exited) return;
      current = step.name;
      const stepStarted = monotonicMs();
      this.log.info({ step: step.name, order: step.order }, 'shutdown step');
      try {
        await step.fn();
        this.log.info({ step: step.name, ms: Math.round(monotonicMs() - stepStarted) }, 'shutdown step done');
      } catch (err) {
        // Later steps still run: a failed flush must not keep the database open. Each step acts
        // only on what earlier steps made durable, so continuing cannot commit unwritten data.
        failed++;
        this.log.error({ step: step.name, err: errorMessage(err) }, 'shutdown step failed');
      }
    }
    if (this.exited) return;
    const code = exitCode !== 0 ? exitCode : failed > 0 ? 1 : 0;
    this.log.info({ ms: Math.round(monotonicMs() - started), failedSteps: failed, exitCode: code }, 'shutdown complete');
    this.finish(code);
  }

  private finish(code: number): void {
    if (this.exited) return;
    this.exited = true;
    clearTimeout(this.deadline);
    this.dispose();
    this.exit(code);
  }
}
