import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ErrorCodes, TickflowError } from '../../core/errors.js';

/** One recorded frame: when it was received (local epoch ns) and the exact JSON text. */
export interface RecordedFrame {
  readonly receivedNs: bigint;
  readonly raw: string;
}

const GZIP_MAGIC = [0x1f, 0x8b];

async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === GZIP_MAGIC[0] && buffer[1] === GZIP_MAGIC[1];
  } finally {
    await handle.close();
  }
}

/** A line that is not `<receive_ns> <text>`: where it is and what it says. */
export interface BadLine {
  readonly lineNo: number;
  readonly text: string;
  readonly detail: string;
}

/** How readRecording treats a line it cannot use. */
export interface ReadRecordingOptions {
  /** Called for a line without a receive time, and reading goes on; without it such a line is an error. */
  readonly onBadLine?: (line: BadLine) => void;
}

/**
 * Streams a recording in the shared/data format — `<local_receive_ns> <json>` per line, gzipped
 * or plain (detected by the gzip magic bytes, not the name) — without loading the whole file.
 * Blank lines are skipped. A line without a timestamp goes to `onBadLine`, or is a TickflowError
 * `TF_DECODE` naming the line; a file that cannot be read to its end (a truncated gzip, an I/O
 * error) is a `TF_DECODE` error naming the last line read, after every frame before it was yielded.
 */
export async function* readRecording(path: string, options: ReadRecordingOptions = {}): AsyncGenerator<RecordedFrame> {
  let gzip: boolean;
  try {
    gzip = await isGzip(path);
  } catch (err) {
    throw new TickflowError(ErrorCodes.SOURCE_UNREACHABLE, `cannot read recording ${path}`, { cause: err });
  }
  const file = createReadStream(path);
  const input: Readable = gzip ? file.pipe(createGunzip()) : file;
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo += 1;
      if (line.trim() === '') continue;
      const space = line.indexOf(' ');
      const stamp = space > 0 ? line.slice(0, space) : '';
      if (!/^\d+$/.test(stamp)) {
        const detail = `${path}:${lineNo}: expected "<receive_ns> <json>", got "${line.slice(0, 40)}"`;
        if (options.onBadLine === undefined) throw new TickflowError(ErrorCodes.DECODE, detail);
        options.onBadLine({ lineNo, text: line, detail });
        continue;
      }
      yield { receivedNs: BigInt(stamp), raw: line.slice(space + 1) };
    }
  } catch (err) {
    if (err instanceof TickflowError) throw err;
    throw new TickflowError(ErrorCodes.DECODE, `${path}: cannot read recording after line ${lineNo}: ${(err as Error).message}`, { cause: err });
  } finally {
    lines.close();
    file.destroy();
    input.destroy();
  }
}
