import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, TickflowError } from '../core/errors.js';

/** The file holding the PID of the tickflow process that owns a data dir. */
export const LOCK_FILE = 'tickflow.pid';

/** A held lock on a data dir: whether it was taken over from a dead owner, and its release. */
export interface DataDirLock {
  /** Whether the previous owner died without releasing the lock (its database may need recovery). */
  readonly tookOverStale: boolean;
  release(): Promise<void>;
}

/** Whether `pid` names a live process (EPERM: alive, owned by another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The error a second process gets for a data dir in use; exit code 2 like every start-up error. */
export function dataDirInUse(dir: string, pid: number, file: string): TickflowError {
  return new TickflowError(
    ErrorCodes.DATA_DIR_IN_USE,
    `data dir in use by PID ${pid}: ${dir} belongs to another running tickflow. Stop that process, or give this one its own --data-dir. If PID ${pid} is not tickflow, delete ${file}.`,
  );
}

async function readPid(file: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Claims `dir` for this process by creating `<dir>/tickflow.pid` exclusively (O_EXCL). A lock
 * left by a process that no longer runs is taken over. Two processes writing one database at once
 * is what corrupted heap and index before, so a live owner is an error, never a warning.
 *
 * @throws TickflowError `TF_DATA_DIR_IN_USE` naming the owner's PID.
 */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  const file = join(dir, LOCK_FILE);
  let tookOverStale = false;
  // Two attempts: the second after removing a stale lock; losing that race to another starter is "in use".
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return {
        tookOverStale,
        async release() {
          if ((await readPid(file)) === process.pid) await rm(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await readPid(file);
    if (owner !== undefined && processAlive(owner)) throw dataDirInUse(dir, owner, file);
    if (attempt === 0) {
      await rm(file, { force: true });
      tookOverStale = true;
    }
  }
  throw dataDirInUse(dir, (await readPid(file)) ?? 0, file);
}
