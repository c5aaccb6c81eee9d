import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { configSchema, type Config } from '../../src/config/schema.js';
import { REPO_ROOT } from './data.js';

const SCRIPT = join(REPO_ROOT, 'scripts', 'services', 'kafka.sh');
const run = promisify(execFile);

/** Bootstrap address of the broker scripts/services/kafka.sh runs (127.0.0.1:9092 by default). */
export function kafkaBrokers(): string[] {
  try {
    return [execFileSync('bash', [SCRIPT, 'bootstrap'], { encoding: 'utf8' }).trim()];
  } catch {
    return ['127.0.0.1:9092'];
  }
}

/** A topic/group prefix no other test run uses, so parallel runs on one broker never collide. */
export function uniquePrefix(name: string): string {
  return `t-${name}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** config.bus for a test: every topic named under `prefix`. */
export function kafkaBusConfig(prefix: string, overrides: Partial<Config['bus']> = {}): Config['bus'] {
  const base = configSchema.parse({ bus: { kind: 'kafka', brokers: kafkaBrokers() } }).bus;
  const topics = Object.fromEntries(Object.entries(base.topics).map(([id, name]) => [id, `${prefix}.${name}`])) as Config['bus']['topics'];
  return { ...base, topics, ...overrides };
}

/**
 * Runs one of Kafka's own Java tools (console producer/consumer, ProducerPerformance) from the
 * jars kafka.sh installed, with `input` on stdin; resolves with stdout.
 */
export async function kafkaTool(mainClass: string, args: readonly string[], input?: string): Promise<string> {
  const classpath = execFileSync('bash', [SCRIPT, 'classpath'], { encoding: 'utf8' }).trim();
  const log4j = join(REPO_ROOT, '.tickflow', 'kafka', 'tools-log4j2.properties');
  const child = run('java', ['-Xmx256m', `-Dlog4j2.configurationFile=${log4j}`, '-cp', classpath, mainClass, ...args], {
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000,
  });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  } else {
    child.child.stdin?.end();
  }
  return (await child).stdout;
}
