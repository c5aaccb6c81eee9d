import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Instrument } from '../../src/core/events.js';
import { type Window, WindowEngine, type WindowKind } from '../../src/processors/window-engine.js';

const A: Instrument = { exchange: 'binance', market: 'spot', symbol: 'A' };
const B: Instrument = { exchange: 'binance', market: 'spot', symbol: 'B' };

/** A window kind that sums numbers; empty windows hold 0. */
const sum: WindowKind<number, { total: number }> = {
  name: 'sum',
  sizeMs: 10,
  retain: 3,
  create: (n) => ({ total: n }),
  add: (s, n) => {
    s.total += n;
  },
  fill: () => ({ total: 0 }),
};

const view = (ws: readonly Window<{ total: number }>[]) => ws.map((w) => [w.start, w.state.total, w.final, w.complete]);

test('redelivered offsets are ignored in open and in closed windows', () => {
  const e = new WindowEngine(sum);
  assert.equal(e.apply('p', 0n, A, 1, 5, -Infinity).kind, 'open');
  assert.equal(e.apply('p', 0n, A, 1, 5, -Infinity).kind, 'duplicate');
  const out: Window<{ total: number }>[] = [];
  e.advance('p', 10, out);
  assert.deepEqual(view(out), [[0, 5, true, false]]);
  assert.equal(e.apply('p', 0n, A, 1, 5, 10).kind, 'duplicate');
  assert.equal(e.apply('p', 1n, A, 2, 5, 10).kind, 'late');
});

test('gaps between windows are filled, and a window after an observed one is complete', () => {
  const e = new WindowEngine(sum);
  e.apply('p', 0n, A, 1, 1, -Infinity);
  e.apply('p', 1n, A, 35, 2, 1);
  const out: Window<{ total: number }>[] = [];
  e.advance('p', 40, out);
  assert.deepEqual(view(out), [
    [0, 1, true, false],
    [10, 0, true, true],
    [20, 0, true, true],
    [30, 2, true, true],
  ]);
  assert.deepEqual(
    e.history(A, 100).map((w) => w.start),
    [10, 20, 30],
    'only `retain` closed windows are kept',
  );
});

test('restored final windows make replayed offsets no-ops and later ones late; forget drops a source', () => {
  const e = new WindowEngine(sum);
  e.restore({ instrument: A, start: 0, end: 10, source: '', state: { total: 7 }, maxOffset: 4n, complete: true });
  assert.equal(e.apply('p', 4n, A, 3, 1, -Infinity).kind, 'duplicate');
  const late = e.apply('p', 5n, A, 3, 1, -Infinity);
  assert.equal(late.kind, 'late');
  const corrected = e.correct('p', 5n, A, 3, 1, late.kind === 'late' ? late.window : undefined);
  assert.deepEqual([corrected?.state.total, corrected?.maxOffset], [8, 5n]);
  e.apply('p', 6n, A, 15, 1, -Infinity);
  e.apply('q', 0n, B, 15, 1, -Infinity);
  assert.equal(e.minOpenOffset('p'), 6n);
  e.forget('p');
  assert.equal(e.minOpenOffset('p'), undefined);
  assert.equal(e.minOpenOffset('q'), 0n);
  assert.equal(e.openCount(), 1);
});

test('one bad event never causes unbounded work: a window at time 0 followed by today fills only maxFillWindows empty windows', () => {
  const e = new WindowEngine(sum, { maxFillWindows: 5 });
  e.apply('p', 0n, A, 0, 1, -Infinity);
  const today = 1_723_161_600_000;
  e.apply('p', 1n, A, today, 2, 0);
  const out: Window<{ total: number }>[] = [];
  e.advance('p', today + 10, out);
  // 1970's window, the five latest empty windows before today's, today's: not 172 billion windows.
  assert.deepEqual(
    out.map((w) => w.start),
    [0, today - 50, today - 40, today - 30, today - 20, today - 10, today],
  );
  assert.deepEqual(
    e.history(A, Infinity).map((w) => w.start),
    [today - 20, today - 10, today],
  );
});
