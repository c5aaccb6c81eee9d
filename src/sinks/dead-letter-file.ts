import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { PipelineEvent } from '../core/events.js';

/** One line of a sink's dead-letter file (JSON Lines). */
export interface SinkDeadLetter {
  /** Epoch ms at which the record was given up. */
  readonly at: number;
  readonly sink: string;
  /** The destination it was meant for (a Kinesis stream name). */
  readonly destination: string;
  /** Stable reason code: a FailureReason (`throttled`, `http_5xx`, `network`, `rejected`, ...), `record_too_large`, `encode_failed`. */
  readonly reason: string;
  /** The last error message, for an operator. */
  readonly detail: string;
  readonly attempts: number;
  readonly partitionKey: string;
  /** The record bytes exactly as they would have been sent, base64. */
  readonly data: string;
  readonly codec: string;
  /** The event itself, readable without decoding `data`. */
  readonly event: PipelineEvent;
}

/** Where a sink's dead letters go: `<dataDir>/dead-letters/sink-<name>.jsonl`. */
export function deadLetterPath(dataDir: string, sink: string): string {
  return join(dataDir, 'dead-letters', `sink-${sink}.jsonl`);
}

/**
 * An append-only JSON Lines file of records a sink gave up on: nothing a sink cannot deliver is
 * dropped silently. Appends are serialized, one write per call, so lines never interleave.
 */
export class DeadLetterFile {
  private tail: Promise<void> = Promise.resolve();
  private madeDir = false;

  constructor(readonly path: string) {}

  /** Appends the letters; rejects when the file cannot be written (the caller keeps them). */
  append(letters: readonly SinkDeadLetter[]): Promise<void> {
    const text = `${letters.map((l) => JSON.stringify(l)).join('\n')}\n`;
    const write = this.tail.then(async () => {
      if (!this.madeDir) {
        await mkdir(dirname(this.path), { recursive: true });
        this.madeDir = true;
      }
      await appendFile(this.path, text, 'utf8');
    });
    this.tail = write.catch(() => undefined);
    return write;
  }
}
