import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ErrorCodes, TickflowError } from '../core/errors.js';
import { REDACTED, redactUrl, registerSecret } from '../ops/redact.js';
import { type Config, configSchema, SECRET_KEYS } from './schema.js';

/**
 * Resolves the configuration: schema defaults, then the YAML file, then `TICKFLOW_*` environment
 * variables, then command-line values (the last wins). This is the only module that reads
 * `process.env`. The result is validated once and deep-frozen.
 *
 * Secrets come from files the way containers mount them: `TICKFLOW_<KEY>_FILE=/run/secrets/x` for
 * any key, or a value `file:/run/secrets/x` in the YAML file, environment or command line. The file
 * is read once at start-up; one trailing newline is dropped.
 */

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
type Tree = { [k: string]: Json };

const DEFAULTS = configSchema.parse({}) as unknown as Tree;
/** Leaves with no default that may still be set. */
const OPTIONAL_LEAVES: Record<string, 'string' | 'number'> = {
  'api.token': 'string',
  'store.embeddedPassword': 'string',
  'simulator.pingIntervalMs': 'number',
  'simulator.pongTimeoutMs': 'number',
  'bus.kinesis.endpoint': 'string',
  'heal.replayRestBaseUrl': 'string',
  'processor.spreadWarningFactor': 'number',
};

/**
 * Variables of the service scripts (scripts/services/kafka.sh, postgres.sh, kinesalite.sh: where
 * their private Kafka, PostgreSQL and kinesalite live, their ports and secrets) and of deploy/docker-compose.yml's
 * interpolation and the variables it sets inside the Grafana container. They share the TICKFLOW_ prefix, and users export them in the same shell, but they
 * are not tickflow settings: the loader skips them instead of refusing them as unknown. Every other
 * TICKFLOW_* variable must be a setting. test/config/load.test.ts keeps this list equal to what the
 * scripts and the compose file read.
 */
export const SERVICE_VARIABLES: ReadonlySet<string> = new Set([
  'TICKFLOW_KAFKA_DIR',
  'TICKFLOW_KINESALITE_PORT',
  'TICKFLOW_KAFKA_PORT',
  'TICKFLOW_KAFKA_CONTROLLER_PORT',
  'TICKFLOW_KAFKA_LIBS',
  'TICKFLOW_KAFKA_SASL_SSL_PORT',
  'TICKFLOW_KAFKA_SCRAM_USER',
  'TICKFLOW_KAFKA_SCRAM_PASSWORD_FILE',
  'TICKFLOW_PG_DIR',
  'TICKFLOW_PG_PORT',
  'TICKFLOW_PG_PASSWORD_FILE',
  'TICKFLOW_PG_TLS',
  'TICKFLOW_SYMBOLS',
  'TICKFLOW_SOURCE',
  'TICKFLOW_DB_PASSWORD',
  // Set by compose inside the Grafana container: its PostgreSQL data source and alert recipients
  // (deploy/grafana/code/datasources.ts, alerting.ts).
  'TICKFLOW_DB_HOST',
  'TICKFLOW_DB_NAME',
  'TICKFLOW_DB_USER',
  'TICKFLOW_DB_SSLMODE',
  'TICKFLOW_ALERT_EMAIL_TO',
]);

/** Every settable key path (`store.batchRows`) with the type of its value. */
export function configKeys(): Map<string, Json> {
  const keys = new Map<string, Json>();
  const walk = (node: Tree, prefix: string): void => {
    for (const [k, v] of Object.entries(node)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && !isRecordLeaf(path)) walk(v, path);
      else keys.set(path, v);
    }
  };
  walk(DEFAULTS, '');
  for (const [k, t] of Object.entries(OPTIONAL_LEAVES)) keys.set(k, t === 'string' ? '' : null);
  return keys;
}

function isRecordLeaf(path: string): boolean {
  return path === 'processor.whaleNotionalBySymbol';
}

const ENV_PREFIX = 'TICKFLOW_';

/** `store.batchRows` → `TICKFLOW_STORE_BATCH_ROWS`. */
export function envName(path: string): string {
  return `${ENV_PREFIX}${path
    .split('.')
    .map((seg) => seg.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
    .join('_')}`;
}

/** Turns a command-line or environment string into the type the key expects. */
export function coerce(path: string, raw: string): Json {
  const keys = configKeys();
  if (!keys.has(path)) throw unknownKey(path, raw);
  // An unset optional number has no sample value to take its type from.
  const sample = OPTIONAL_LEAVES[path] === 'number' ? 0 : (keys.get(path) as Json);
  if (typeof sample === 'number') {
    const n = Number(raw);
    return raw.trim() === '' || Number.isNaN(n) ? raw : n;
  }
  if (typeof sample === 'boolean') {
    if (/^(true|1|yes|on)$/i.test(raw)) return true;
    if (/^(false|0|no|off)$/i.test(raw)) return false;
    return raw;
  }
  if (Array.isArray(sample)) {
    // A JSON list, e.g. TICKFLOW_SINKS='[{"kind":"kinesis"}]': the only way to write a list of objects.
    if (raw.trim().startsWith('[')) {
      try {
        return JSON.parse(raw) as Json;
      } catch {
        return raw;
      }
    }
    const items = raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    return typeof sample[0] === 'number' ? items.map((s) => (Number.isNaN(Number(s)) ? s : Number(s))) : items;
  }
  if (sample !== null && typeof sample === 'object') {
    try {
      return JSON.parse(raw) as Json;
    } catch {
      return raw;
    }
  }
  return raw;
}

function unknownKey(path: string, value: unknown): TickflowError {
  const near = nearestKeys(envName(path));
  return new TickflowError(
    ErrorCodes.CONFIG_UNKNOWN_KEY,
    `unknown configuration key "${path}" (value ${shownValue(value, near)})` +
      (near.length > 0 ? `; did you mean ${near.join(', ')}?` : '') +
      ' — see README "Configuration" for every key',
  );
}

/**
 * Up to three keys a mistyped name probably meant, best first: the same words with the section
 * left out or another one in front (`TICKFLOW_LOG_LEVEL` → ops.logLevel), or a few letters off
 * (`store.batchRowz` → store.batchRows). Keys and environment variables are compared as the words
 * of their environment name, so both kinds of typo get the same help.
 */
function nearestKeys(typedEnvName: string): string[] {
  const words = (env: string) =>
    env
      .slice(ENV_PREFIX.length)
      .toLowerCase()
      .split('_')
      .filter((w) => w !== '');
  const typed = words(typedEnvName);
  const ranked: { key: string; score: number }[] = [];
  for (const key of configKeys().keys()) {
    const known = words(envName(key));
    const same = (a: readonly string[], b: readonly string[]) => a.length > 0 && a.join('_') === b.join('_');
    // The section left out (LOG_LEVEL for OPS_LOG_LEVEL), or another one in its place (KAFKA_BROKERS).
    const sectionOff =
      (typed.length < known.length && same(known.slice(-typed.length), typed)) ||
      (typed.length === known.length && typed.length > 1 && same(known.slice(1), typed.slice(1)));
    const distance = editDistance(typed.join(''), known.join(''));
    if (sectionOff || distance <= 2) ranked.push({ key, score: sectionOff ? 0 : distance });
  }
  return ranked
    .sort((a, b) => a.score - b.score)
    .slice(0, 3)
    .map((r) => r.key);
}

/** The value of a mistyped key for its error message; hidden when the key meant is a secret (API_TOKN). */
function shownValue(value: unknown, meant: readonly string[]): string {
  return meant.some((k) => (SECRET_KEYS as readonly string[]).includes(k)) ? REDACTED : JSON.stringify(value);
}

/** Levenshtein distance: insertions, deletions and substitutions of single characters. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

function setPath(tree: Tree, path: string, value: Json): void {
  const segs = path.split('.');
  let node: Tree = tree;
  for (const seg of segs.slice(0, -1)) {
    const next = node[seg];
    if (next === undefined || next === null || typeof next !== 'object' || Array.isArray(next)) node[seg] = {};
    node = node[seg] as Tree;
  }
  node[segs[segs.length - 1]!] = value;
}

function getPath(tree: unknown, path: readonly PropertyKey[]): unknown {
  let node: unknown = tree;
  for (const seg of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[seg];
  }
  return node;
}

/** Where loadConfig reads from, lowest precedence first: `file`, `env`, `overrides`. */
export interface ConfigSources {
  /** Path of a YAML file. */
  file?: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Values from the command line, by key path; strings are coerced to the key's type. */
  overrides?: Readonly<Record<string, unknown>>;
}

/**
 * The one configuration of a process, read once at start-up: defaults (schema.ts), then the YAML
 * file (`sources.file`, else TICKFLOW_CONFIG), then environment variables TICKFLOW_<SECTION>_<KEY>
 * (a `_FILE` twin reads a secret from a file), then `overrides` by key path (`store.batchRows`,
 * strings coerced to the key's type); any string value `file:<path>` is replaced by the file's
 * contents (at most 64 KiB, one trailing newline dropped). `env` defaults to process.env — the only
 * place tickflow reads it. Returns the validated, deeply frozen Config (see `validate`); durations
 * are ms, sizes bytes or rows as each key's name says.
 * @throws TickflowError TF_CONFIG_INVALID — an unreadable file, YAML that is not a mapping, a
 *   missing or empty secret file, both a variable and its `_FILE` set, a value out of range.
 * @throws TickflowError TF_CONFIG_UNKNOWN_KEY — an unknown key in the file or overrides, or an
 *   unknown TICKFLOW_* variable (the message suggests the nearest keys).
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const input: Tree = {};
  const file = sources.file ?? env.TICKFLOW_CONFIG;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new TickflowError(ErrorCodes.CONFIG_INVALID, `cannot read config file ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (err) {
      throw new TickflowError(ErrorCodes.CONFIG_INVALID, `config file ${file} is not valid YAML: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new TickflowError(ErrorCodes.CONFIG_INVALID, `config file ${file} must hold a mapping of keys`);
      }
      Object.assign(input, parsed);
    }
  }
  const byEnv = new Map([...configKeys().keys()].map((k) => [envName(k), k]));
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('TICKFLOW_') || name === 'TICKFLOW_CONFIG' || SERVICE_VARIABLES.has(name) || raw === undefined) continue;
    const fileOf = name.endsWith('_FILE') ? byEnv.get(name.slice(0, -'_FILE'.length)) : undefined;
    if (fileOf) {
      if (env[envName(fileOf)] !== undefined) {
        throw new TickflowError(ErrorCodes.CONFIG_INVALID, `both ${envName(fileOf)} and ${name} are set; keep one of them`);
      }
      setPath(input, fileOf, coerce(fileOf, readSecretFile(fileOf, raw, name)));
      continue;
    }
    const path = byEnv.get(name);
    if (!path) {
      const near = nearestKeys(name);
      throw new TickflowError(
        ErrorCodes.CONFIG_UNKNOWN_KEY,
        `unknown environment variable ${name}=${shownValue(raw, near)}; ` +
          (near.length > 0 ? `did you mean ${near.map(envName).join(', ')}? ` : '') +
          'tickflow reads TICKFLOW_<SECTION>_<KEY>, e.g. TICKFLOW_STORE_BATCH_ROWS (tickflow config --keys lists them all)',
      );
    }
    setPath(input, path, coerce(path, raw));
  }
  for (const [path, value] of Object.entries(sources.overrides ?? {})) {
    if (value === undefined) continue;
    setPath(input, path, typeof value === 'string' ? coerce(path, value) : (value as Json));
  }
  resolveFileReferences(input, '');
  return validate(input);
}

const FILE_PREFIX = 'file:';
/** Bounds what a mistyped path (a log file, /dev/zero) can make start-up read. */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

/** Replaces every string value `file:<path>` with the contents of that file. */
function resolveFileReferences(node: Tree, prefix: string): void {
  for (const [k, v] of Object.entries(node)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string' && v.startsWith(FILE_PREFIX)) {
      node[k] = coerce(path, readSecretFile(path, v.slice(FILE_PREFIX.length), `a ${FILE_PREFIX} reference`));
    } else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      resolveFileReferences(v, path);
    }
  }
}

/**
 * Reads a secret mounted as a file. Errors name the key and the file (never the contents).
 * @throws TickflowError TF_CONFIG_INVALID when the file is missing, unreadable, too large or empty.
 */
function readSecretFile(key: string, file: string, how: string): string {
  const invalid = (why: string, cause?: unknown) => new TickflowError(ErrorCodes.CONFIG_INVALID, `cannot read ${key} from ${file} (${how}): ${why}`, { cause });
  let text: string;
  try {
    const buf = readFileSync(file);
    if (buf.length > MAX_SECRET_FILE_BYTES) throw invalid(`the file holds ${buf.length} bytes; a secret file holds at most ${MAX_SECRET_FILE_BYTES}`);
    text = buf.toString('utf8');
  } catch (err) {
    if (err instanceof TickflowError) throw err;
    throw invalid((err as NodeJS.ErrnoException).code ?? errorText(err), err);
  }
  // Editors and `echo` end files with a newline that is not part of the secret.
  const value = text.replace(/\r?\n$/, '');
  if (value.length === 0) throw invalid('the file is empty');
  return value;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Parses a config tree (nested keys as in the YAML file) with the strict schema, applies defaults,
 * checks the rules that span keys (a non-loopback api.host needs api.token; backoff initialMs ≤
 * maxMs; SASL needs username and password; a client certificate needs cert and key), registers
 * the secret values with the log redactor, and returns the Config deeply frozen.
 * @throws TickflowError TF_CONFIG_UNKNOWN_KEY when a key is not in the schema (all problems in one
 *   message, one line each), else TF_CONFIG_INVALID naming the key, the value (secrets redacted)
 *   and what is allowed.
 */
export function validate(input: unknown): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) throw describe(result.error, input);
  const config = result.data;
  registerSecrets(config);
  const loopback = /^(127\.|localhost$|::1$)/.test(config.api.host);
  if (config.api.enabled && !loopback && !config.api.token) {
    throw new TickflowError(
      ErrorCodes.CONFIG_INVALID,
      `invalid value for api.host: "${config.api.host}" is not a loopback address, so api.token (TICKFLOW_API_TOKEN) must be set`,
    );
  }
  if (config.source.backoff.initialMs > config.source.backoff.maxMs) {
    throw new TickflowError(
      ErrorCodes.CONFIG_INVALID,
      `invalid value for source.backoff.initialMs: ${config.source.backoff.initialMs} exceeds source.backoff.maxMs (${config.source.backoff.maxMs})`,
    );
  }
  const sasl = config.bus.sasl;
  if (sasl.mechanism !== 'none' && (sasl.username === '' || sasl.password === '')) {
    throw new TickflowError(
      ErrorCodes.CONFIG_INVALID,
      `invalid value for bus.sasl.mechanism: "${sasl.mechanism}" needs bus.sasl.username and bus.sasl.password ` +
        '(TICKFLOW_BUS_SASL_USERNAME, TICKFLOW_BUS_SASL_PASSWORD or TICKFLOW_BUS_SASL_PASSWORD_FILE)',
    );
  }
  if ((config.bus.tls.cert === '') !== (config.bus.tls.key === '')) {
    throw new TickflowError(ErrorCodes.CONFIG_INVALID, 'invalid value for bus.tls.cert / bus.tls.key: a client certificate needs both');
  }
  if ((config.store.tls.cert === '') !== (config.store.tls.key === '')) {
    throw new TickflowError(ErrorCodes.CONFIG_INVALID, 'invalid value for store.tls.cert / store.tls.key: a client certificate needs both');
  }
  return deepFreeze(config);
}

/** Teaches the redactor the secret values of this configuration, so no log line or error can quote them. */
function registerSecrets(config: Config): void {
  for (const key of SECRET_KEYS) {
    const value = getPath(config, key.split('.'));
    if (typeof value === 'string') registerSecret(value);
  }
  const url = config.store.url;
  if (url !== 'embedded') {
    try {
      const parsed = new URL(url);
      registerSecret(parsed.password);
      registerSecret(decodeURIComponentSafe(parsed.password));
      const query = parsed.searchParams.get('password');
      if (query !== null) registerSecret(query);
    } catch {
      // Not a parseable URL: the connection fails later with the URL redacted by pattern.
    }
  }
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * A refused value as its error message shows it: a secret key's value never (secrets are only
 * registered for redaction once validation succeeds), a URL's credentials masked.
 */
function invalidValueShown(key: string, value: unknown): string {
  if ((SECRET_KEYS as readonly string[]).includes(key)) return REDACTED;
  return JSON.stringify(typeof value === 'string' ? redactUrl(value) : value);
}

function describe(error: z.ZodError, input: unknown): TickflowError {
  const lines = error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const parent = issue.path.map(String).join('.');
      return issue.keys.map((k) => unknownKey(parent ? `${parent}.${k}` : k, getPath(input, [...issue.path, k])).message).join('\n');
    }
    const key = issue.path.map(String).join('.');
    const value = getPath(input, issue.path);
    const allowed =
      issue.code === 'invalid_value' && 'values' in issue ? `one of ${(issue.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` : issue.message;
    return `invalid value for ${key}: ${invalidValueShown(key, value)} — ${allowed}`;
  });
  const unknown = error.issues.some((i) => i.code === 'unrecognized_keys');
  return new TickflowError(unknown ? ErrorCodes.CONFIG_UNKNOWN_KEY : ErrorCodes.CONFIG_INVALID, lines.join('\n'));
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
