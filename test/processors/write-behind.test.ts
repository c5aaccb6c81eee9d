import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Upsert } from '../../src/processors/processor-core.js';
import { type SafePositions, WriteBehind } from '../../src/processors/write-behind.js';

/** A row standing for the n-th produced upsert (the writer under test never looks inside). */
const row = (n: number): Upsert => ({ table: 'late_events', row: { offset: BigInt(n) } }) as unknown as Upsert;
const at = (offset: number): SafePositions => new Map([['trades/0', BigInt(offset)]]);

/**
 * A writer like UpsertWriter: it keeps what it could not write and writes that first next time.
 * Each write waits until the test releases it, so the test decides what is in flight.
 */
function gatedWriter() {
  const log: string[] = [];
  let kept: Upsert[] = [];
  let fail = false;
  const gates: (() => void)[] = [];
  const write = async (upserts: readonly Upsert[]): Promise<void> => {
    const rows = [...kept, ...upserts];
    kept = rows;
    await new Promise<void>((resolve) => gates.push(resolve));
    if (fail) {
      log.push(`failed ${rows.length}`);
      throw new Error('database down');
    }
    kept = [];
    log.push(`wrote ${rows.map((u) => String((u.row as unknown as { offset: bigint }).offset)).join(',')}`);
  };
  const commit = async (positions: SafePositions): Promise<void> => {
    log.push(`commit ${positions.get('trades/0')}`);
  };
  return {
    log,
    write,
    commit,
    /** Lets the oldest waiting write finish and waits until its commit has run. */
    release: async () => {
      while (gates.length === 0) await new Promise((resolve) => setImmediate(resolve));
      gates.shift()!();
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    },
    setFailing: (v: boolean) => (fail = v),
  };
}

test('rows produced while a write is in flight go out together in the next write, committed once after it with their positions', async () => {
  const w = gatedWriter();
  const writes = new WriteBehind({ write: w.write, commit: w.commit, maxQueuedRows: 100 });
  writes.add([row(1)], at(1));
  // The first write is in flight; three more batches arrive meanwhile.
  writes.add([row(2)], at(2));
  writes.add([row(3), row(4)], at(3));
  writes.add([], at(5));
  assert.equal(writes.queuedRows, 3);
  await w.release();
  assert.deepEqual(w.log, ['wrote 1', 'commit 1'], 'the first write commits only what its own rows made safe');
  await w.release();
  assert.deepEqual(w.log.slice(2), ['wrote 2,3,4', 'commit 5'], 'one write and one commit for the three batches');
  await writes.settle();
  assert.equal(w.log.length, 4, 'nothing left to write');
});

test('a failed write commits nothing, keeps its rows and fails admit until a retry writes them; then one commit covers all', async () => {
  const w = gatedWriter();
  const writes = new WriteBehind({ write: w.write, commit: w.commit, maxQueuedRows: 100 });
  w.setFailing(true);
  writes.add([row(1)], at(1));
  writes.add([row(2)], at(2));
  await w.release();
  assert.deepEqual(w.log, ['failed 1']);
  // Rows produced after the failure are queued, but no write starts until a retry is asked for.
  writes.add([row(3)], at(3));
  const refused = assert.rejects(writes.admit(), /database down/);
  await w.release();
  await refused;
  assert.deepEqual(w.log, ['failed 1', 'failed 3'], 'the retry wrote the kept rows with the queued ones');
  w.setFailing(false);
  const admitted = writes.admit();
  await w.release();
  await admitted;
  assert.deepEqual(w.log.slice(2), ['wrote 1,2,3', 'commit 3'], 'written once the database is back, then committed');
});

test('admit waits while the queue behind the write in flight is at its bound', async () => {
  const w = gatedWriter();
  const writes = new WriteBehind({ write: w.write, commit: w.commit, maxQueuedRows: 2 });
  writes.add([row(1)], at(1));
  writes.add([row(2), row(3)], at(3));
  let admitted = false;
  const waiting = writes.admit().then(() => (admitted = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(admitted, false, 'two rows queued behind the write in flight: the caller waits');
  await w.release();
  await waiting;
  assert.equal(admitted, true, 'the queue went out in the next write');
  assert.equal(writes.queuedRows, 0);
  await w.release();
  await writes.settle();
  assert.deepEqual(w.log, ['wrote 1', 'commit 1', 'wrote 2,3', 'commit 3']);
});
