import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { configSchema, type Config } from '../../src/config/schema.js';
import { stopWhenIdle } from './cli.js';
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
  });
  // A JVM on a loaded machine starts slowly but busily: four console consumers at once outlived a
  // fixed 60 s timeout (exit 143). The tools end on their own (--timeout-ms, stdin closed, the admin
  // client's timeouts); one that stood still for a minute is hung and stopped.
  const watch = stopWhenIdle(child.child, 60_000);
  if (input !== undefined) {
    child.child.stdin?.end(input);
  } else {
    child.child.stdin?.end();
  }
  try {
    return (await child).stdout;
  } finally {
    watch.stop();
  }
}

/** One record as Kafka's console consumer prints it with its key and headers: headers `k:v,k:v`, key and value as text. */
export interface ConsoleRecord {
  readonly headers: string;
  readonly key: string;
  readonly value: string;
}

/**
 * Reads `count` records of `topic` from the beginning with Kafka's own console consumer, which gives
 * up after `timeoutMs` without a new record (it then returns what it read).
 */
export async function consoleConsume(brokers: readonly string[], topic: string, count: number, timeoutMs: number): Promise<ConsoleRecord[]> {
  const out = await kafkaTool('org.apache.kafka.tools.consumer.ConsoleConsumer', [
    '--bootstrap-server',
    brokers.join(','),
    '--topic',
    topic,
    '--from-beginning',
    '--max-messages',
    String(count),
    '--timeout-ms',
    String(timeoutMs),
    '--property',
    'print.key=true',
    '--property',
    'print.headers=true',
    '--property',
    'key.separator=|',
    '--property',
    'headers.separator=,',
  ]);
  return out
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [headers = '', key = '', ...value] = line.split('|');
      return { headers, key, value: value.join('|') };
    });
}

/** Where cleanups go: a TestContext, or a file-wide list run by a top-level `after`. */
export interface Cleanup {
  after(fn: () => Promise<void>): void;
}

export interface PrivateBroker {
  readonly brokers: string[];
  /** Its folder (storage, logs/server.log, tls/ when secure). */
  readonly dir: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The SASL_SSL listener of a private broker: SCRAM user and password file, CA in `<dir>/tls/ca.pem`. */
export interface SecureListener {
  readonly user: string;
  readonly passwordFile: string;
}

export interface SecureBroker extends PrivateBroker {
  /** host:port of the SASL_SSL listener (SCRAM-SHA-512, SCRAM-SHA-256, PLAIN; client certificate required). */
  readonly secureBrokers: string[];
  /** The self-signed CA that signed the listener's certificate (PEM). */
  readonly caFile: string;
  /** The client certificate and key the listener requires (mutual TLS), signed by the same CA. */
  readonly clientCert: string;
  readonly clientKey: string;
}

/**
 * A second single-node broker on free ports with its own storage, for tests that stop and
 * restart Kafka without disturbing the shared one. Stopped and deleted when the test ends.
 */
export async function privateBroker(t: Cleanup): Promise<PrivateBroker>;
/** The same with a SASL_SSL listener too (scripts/services/kafka.sh, TICKFLOW_KAFKA_SASL_SSL_PORT). */
export async function privateBroker(t: Cleanup, secure: SecureListener): Promise<SecureBroker>;
export async function privateBroker(t: Cleanup, secure?: SecureListener): Promise<PrivateBroker | SecureBroker> {
  const [port, controllerPort] = [await freePort(), await freePort()];
  const securePort = secure ? await freePort() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'tickflow-kafka-'));
  const env = {
    ...process.env,
    TICKFLOW_KAFKA_DIR: dir,
    TICKFLOW_KAFKA_PORT: String(port),
    TICKFLOW_KAFKA_CONTROLLER_PORT: String(controllerPort),
    TICKFLOW_KAFKA_LIBS: join(REPO_ROOT, '.tickflow', 'kafka', 'libs'),
    KAFKA_HEAP_OPTS: '-Xms128m -Xmx384m',
    ...(secure
      ? {
          TICKFLOW_KAFKA_SASL_SSL_PORT: String(securePort),
          TICKFLOW_KAFKA_SCRAM_USER: secure.user,
          TICKFLOW_KAFKA_SCRAM_PASSWORD_FILE: secure.passwordFile,
        }
      : {}),
  };
  const script = (command: string) => run('bash', [SCRIPT, command], { env, timeout: 180_000 }).then(() => undefined);
  t.after(async () => {
    await script('stop');
    rmSync(dir, { recursive: true, force: true });
  });
  await script('ensure');
  const broker = { brokers: [`127.0.0.1:${port}`], dir, start: () => script('ensure'), stop: () => script('stop') };
  const tls = join(dir, 'tls');
  return secure
    ? {
        ...broker,
        secureBrokers: [`127.0.0.1:${securePort}`],
        caFile: join(tls, 'ca.pem'),
        clientCert: join(tls, 'client.pem'),
        clientKey: join(tls, 'client.key'),
      }
    : broker;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
