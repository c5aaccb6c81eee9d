export interface ComponentHealth {
  /** `up`: doing its job; `degraded`: working but impaired; `down`: cannot do its job. */
  readonly state: 'up' | 'degraded' | 'down';
  /** Why it is not up, in words an operator can act on. */
  readonly reason?: string;
  /** Component-specific facts: last message time per stream, reconnect count, lag, ... */
  readonly details?: Readonly<Record<string, unknown>>;
}

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

  async evaluate(): Promise<{ ready: boolean; reasons: string[]; components: Record<string, ComponentHealth> }> {
    const components: Record<string, ComponentHealth> = {};
    const reasons: string[] = [];
    for (const [name, check] of this.checks) {
      let health: ComponentHealth;
      try {
        health = await check();
      } catch (err) {
        health = { state: 'down', reason: `health check failed: ${(err as Error).message}` };
      }
      components[name] = health;
      if (health.state === 'down') reasons.push(`${name}: ${health.reason ?? 'down'}`);
    }
    if (this.shuttingDown) reasons.push('process is shutting down');
    return { ready: reasons.length === 0, reasons, components };
  }
}
