import type { TestContext } from 'node:test';
import WebSocket, { type ClientOptions } from 'ws';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait.js';

/** Starts a simulator that the test stops. */
export async function simulator(t: TestContext, options: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  const sim = await startSimulator({ symbols: ['BTCUSDT', 'ETHUSDT'], tradesPerSecond: 50, bookTickersPerSecond: 20, ...options });
  t.after(() => sim.close());
  return sim;
}

/** A plain `ws` client that keeps every frame it received. */
export class TestClient {
  readonly frames: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly pings: string[] = [];
  private readonly ws: WebSocket;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => this.frames.push(String(data)));
    ws.on('ping', (payload) => this.pings.push(String(payload)));
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => resolve({ code, reason: String(reason) }));
    });
  }

  static async open(t: TestContext, url: string, options: ClientOptions = {}): Promise<TestClient> {
    const ws = new WebSocket(url, options);
    const client = new TestClient(ws);
    t.after(() => ws.terminate());
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(value: unknown): void {
    this.ws.send(typeof value === 'string' ? value : JSON.stringify(value));
  }

  /** Parsed frames (malformed ones are skipped). */
  json(): unknown[] {
    return this.frames.flatMap((f) => {
      try {
        return [JSON.parse(f) as unknown];
      } catch {
        return [];
      }
    });
  }

  /** Resolves with the first frame (parsed) for which `match` holds, waiting for more frames as needed. */
  async waitFor<T = Record<string, unknown>>(match: (msg: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
    return this.until(() => (this.json() as T[]).find(match), what, timeoutMs);
  }

  /** Waits until `count` frames have arrived. */
  async waitForFrames(count: number, timeoutMs = 15_000): Promise<void> {
    await this.until(() => (this.frames.length >= count ? true : undefined), `${count} frames`, timeoutMs);
  }

  /** waitFor (test/support/wait.ts) polling this client's frames every 10 ms. */
  until<T>(probe: () => T | undefined, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
    return waitFor(what, probe, { limitMs: timeoutMs, everyMs: 10 }) as Promise<NonNullable<T>>;
  }

  close(): void {
    this.ws.close();
  }

  terminate(): void {
    this.ws.terminate();
  }
}
