import { redactConfig } from './redact.js';

/** The state of one component as its check reports it (/health `components`). */
export interface ComponentHealth {
  /** `up`: doing its job; `degraded`: working but impaired; `down`: cannot do its job. */
  readonly state: 'up' | 'degraded' | 'down';
  /** Why it is not up, in words an operator can act on. */
  readonly reason?: string;
  /** Component-specific facts: last message time per stream, reconnect count, lag, ... */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** A component's check; it should answer quickly (every probe runs it). */
export type HealthCheck = () => ComponentHealth | Promise<ComponentHealth>;

/** Components register a check; /ready and /health evaluate all of them. */
export class HealthRegistry {
  private readonly checks = new Map<string, HealthCheck>();
  private shuttingDown = false;

  register(component: string, check: HealthCheck): void {
    this.checks.set(component, check);
  }

  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Runs every check at once. A check that throws or does not answer within `timeoutMs` counts as
   * down, so one hung dependency (a database ping without a socket timeout) cannot hang the probes.
   */
  async evaluate(timeoutMs = 2_000): Promise<{ ready: boolean; shuttingDown: boolean; reasons: string[]; components: Record<string, ComponentHealth> }> {
    const entries = await Promise.all([...this.checks].map(async ([name, check]) => [name, await runCheck(check, timeoutMs)] as const));
    const components: Record<string, ComponentHealth> = {};
    const reasons: string[] = [];
    for (const [name, health] of entries) {
      components[name] = health;
      if (health.state === 'down') reasons.push(`${name}: ${health.reason ?? 'down'}`);
    }
    if (this.shuttingDown) reasons.push('process is shutting down');
    // /health and /api/pipeline show these to anyone who can reach the port: no secret may be in them.
    return redactConfig({ ready: reasons.length === 0, shuttingDown: this.shuttingDown, reasons, components });
  }
}

async function runCheck(check: HealthCheck, timeoutMs: number): Promise<ComponentHealth> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ComponentHealth>((resolve) => {
    timer = setTimeout(() => resolve({ state: 'down', reason: `health check did not answer within ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(check), timeout]);
  } catch (err) {
    return { state: 'down', reason: `health check failed: ${(err as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}
