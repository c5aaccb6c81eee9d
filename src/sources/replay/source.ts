import { existsSync } from 'node:fs';
import type { Config } from '../../config/schema.js';
import { ErrorCodes, TickflowError, errorMessage } from '../../core/errors.js';
import type { PipelineEvent } from '../../core/events.js';
import type { Logger } from '../../ops/logger.js';
import type { Metrics } from '../../ops/metrics.js';
import { FrameHandler, frameRulesFor } from '../binance/frame-handler.js';
import type { Emit, Source, SourceStatus } from '../source.js';
import { type BadLine, readRecording } from './recording.js';

/** The recording to replay (`replay:<file>`) and the source config (speed, market, symbols). */
export interface ReplayOptions {
  readonly file: string;
  readonly config: Config['source'];
}

const BATCH = 500;
/** Dead-letter reason of a recording line without a receive time. */
const MALFORMED_LINE = 'malformed_line';

/**
 * Replays a recording (`<local_receive_ns> <json>` per line, gzipped or not) through the same frame
 * handling as the live feed: parsing, dead letters, duplicate drop and gap detection. The recorded
 * receive time becomes `ingestionTimestamp`, so latency figures are those of the original session.
 * `speed` 0 replays as fast as the pipeline takes it (the bus's back-pressure paces it); 1 keeps the
 * recorded spacing; N is N times faster.
 *
 * A bad line is a dead letter and the replay goes on. A file that cannot be read to its end (a
 * truncated gzip) ends the replay: what was read is emitted, `finished` resolves, and `status()`
 * carries the error (`tickflow run` then exits non-zero; the health check reports the source down).
 */
export class ReplaySource implements Source {
  readonly finished: Promise<void>;
  private resolveFinished!: () => void;
  private stopped = false;
  private done = false;
  private error: string | undefined;
  private loop: Promise<void> | undefined;
  private readonly frames: FrameHandler;
  private readonly log: Logger;

  constructor(
    private readonly options: ReplayOptions,
    deps: { logger: Logger; metrics: Metrics },
  ) {
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    this.log = deps.logger.child({ component: 'replay', file: options.file });
    this.frames = new FrameHandler({
      ...frameRulesFor(options.config),
      origin: 'replay',
      measureLatency: false,
      // Against the recording's receive times (dueGaps below): a reordering it recorded is not a gap.
      gapGraceMs: options.config.gapGraceMs,
      logger: this.log,
      metrics: deps.metrics,
    });
  }

  async start(emit: Emit): Promise<void> {
    if (!existsSync(this.options.file)) {
      throw new TickflowError(ErrorCodes.CONFIG_INVALID, `invalid value for source.kind: replay file ${this.options.file} does not exist`);
    }
    this.log.info({ speed: this.options.config.speed }, 'replay started');
    this.loop = this.run(emit).catch((err: unknown) => {
      // Only the sink can fail here (reading errors are handled in run): nothing more can be delivered.
      this.fail(`replay stopped: ${errorMessage(err)}`);
    });
  }

  private async run(emit: Emit): Promise<void> {
    const speed = this.options.config.speed;
    let firstNs: bigint | undefined;
    let startedAt = 0;
    let batch: PipelineEvent[] = [];
    let lastFrameMs = 0;
    let lastMicros = Date.now() * 1000;
    const onBadLine = (line: BadLine): void => this.frames.reject(line.text, lastMicros, MALFORMED_LINE, line.detail, batch);
    try {
      for await (const { receivedNs, raw } of readRecording(this.options.file, { onBadLine })) {
        if (this.stopped) break;
        if (speed > 0) {
          firstNs ??= receivedNs;
          if (startedAt === 0) startedAt = performance.now();
          const due = startedAt + Number(receivedNs - firstNs) / 1e6 / speed;
          const wait = due - performance.now();
          if (wait > 1) {
            await emit(batch);
            batch = [];
            await new Promise((resolve) => setTimeout(resolve, wait));
          }
        }
        const receivedMicros = Number(receivedNs / 1000n);
        lastMicros = receivedMicros;
        lastFrameMs = Math.floor(receivedMicros / 1000);
        this.frames.handle(raw, receivedMicros, null, batch);
        this.frames.dueGaps(lastFrameMs, batch);
        if (batch.length >= BATCH) {
          await emit(batch);
          batch = [];
        }
      }
    } catch (err) {
      // An unreadable rest of the file: keep what was read, say what is wrong, end as failed.
      this.error = errorMessage(err);
    }
    // The recording is over: every hole still open is a real gap.
    this.frames.dueGaps(Number.MAX_SAFE_INTEGER, batch);
    if (batch.length > 0) await emit(batch);
    if (this.error !== undefined) {
      this.fail(this.error);
      return;
    }
    this.done = true;
    this.log.info({ ...this.frames.counts() }, 'replay finished');
    this.resolveFinished();
  }

  private fail(error: string): void {
    this.error = error;
    this.done = true;
    this.log.error({ ...this.frames.counts(), err: error }, 'replay failed: the recording could not be read to its end; what was read is emitted');
    this.resolveFinished();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  ready(): boolean {
    return !this.stopped && this.error === undefined;
  }

  status(): SourceStatus {
    const status = { kind: 'replay', connections: [], lastMessageAt: this.frames.lastMessageAt(), finished: this.done };
    return this.error === undefined ? status : { ...status, error: this.error };
  }
}
