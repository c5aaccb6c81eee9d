import type { Instrument } from '../core/events.js';
import { isoFromMs } from '../store/rows.js';
import type { Queryable } from '../store/database.js';

/**
 * backfill_checkpoints (migration 006): where one backfill task — an instrument, a stream and the
 * period [from, to) — resumes after a kill. Written in the same transaction as the rows it covers,
 * so after kill -9 the rows and the checkpoint agree.
 */
export interface CheckpointKey extends Instrument {
  /** `aggTrade`, `trade`, `kline_1m`, or `candles:<trade stream>` for the candle build. */
  readonly stream: string;
  /** Epoch ms, inclusive. */
  readonly from: number;
  /** Epoch ms, exclusive. */
  readonly to: number;
}

/**
 * Where a backfill task of one (instrument, stream, period) resumes: the next id (trades) or open time
 * (klines, epoch ms), or done.
 */
export interface Checkpoint {
  /** The next trade/aggTrade id to fetch. */
  readonly nextId: number | null;
  /** The next kline open time to fetch (epoch ms). */
  readonly nextTime: number | null;
  readonly done: boolean;
}

const KEY = 'exchange = $1 AND market = $2 AND symbol = $3 AND stream = $4 AND range_from = $5::timestamptz AND range_to = $6::timestamptz';

function keyParams(k: CheckpointKey): unknown[] {
  return [k.exchange, k.market, k.symbol, k.stream, isoFromMs(k.from), isoFromMs(k.to)];
}

/** The task's checkpoint, or undefined when it never ran. */
export async function loadCheckpoint(db: Queryable, key: CheckpointKey): Promise<Checkpoint | undefined> {
  const rows = await db.query<{ next_id: number | null; next_time: number | null; done: boolean }>(
    `SELECT next_id::float8 AS next_id, (extract(epoch from next_time) * 1000)::float8 AS next_time, done FROM backfill_checkpoints WHERE ${KEY}`,
    keyParams(key),
  );
  const r = rows[0];
  if (r === undefined) return undefined;
  return { nextId: r.next_id === null ? null : Number(r.next_id), nextTime: r.next_time === null ? null : Math.round(Number(r.next_time)), done: r.done };
}

/** Records where the task continues (in the caller's transaction with the rows). */
export async function saveCheckpoint(db: Queryable, key: CheckpointKey, at: Checkpoint): Promise<void> {
  await db.query(
    `INSERT INTO backfill_checkpoints (exchange, market, symbol, stream, range_from, range_to, next_id, next_time, done, updated_at)
     VALUES ($1, $2, $3, $4, $5::timestamptz, $6::timestamptz, $7, $8::timestamptz, $9, now())
     ON CONFLICT (exchange, market, symbol, stream, range_from, range_to)
     DO UPDATE SET next_id = EXCLUDED.next_id, next_time = EXCLUDED.next_time, done = EXCLUDED.done, updated_at = now()`,
    [...keyParams(key), at.nextId, at.nextTime === null ? null : isoFromMs(at.nextTime), at.done],
  );
}
