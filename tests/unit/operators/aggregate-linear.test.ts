/**
 * Linear aggregates (COUNT, SUM, AVG, VAR/STDDEV, BOOL_AND/OR, COUNT_IF): the operator keeps one state row per
 * group (its accumulators' saved state) instead of the input rows, and restores by loading it. These tests check
 * that the state is per group, that full and incremental checkpoints restore bit-identical accumulators (sums of
 * doubles that cancel, DECIMAL display scales, integer totals beyond 2^53), that a checkpoint written before
 * this mode (the input rows in state "input") still restores, and that purged groups leave the state.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StateBatches } from '../../../src/circuit/operator.ts';
import {
  type AggregateFunction,
  type AggregateOperator,
  aggregate,
} from '../../../src/operators/aggregate.ts';
import { makeAggregate } from '../../../src/sql/aggregates.ts';
import { sqlType } from '../../../src/sql/sql-type.ts';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import { type Batch, emptyBatch } from '../../../src/zset/batch.ts';
import type { Row, Value } from '../../../src/zset/value.ts';
import { mulberry32, norm, randInt, step1 } from './support.ts';

const BIG = sqlType('BIGINT');
const DBL = sqlType('DOUBLE');
const DEC = sqlType('DECIMAL', true, { precision: 20, scale: 4 });
const BOOL = sqlType('BOOLEAN');

// Input rows: [group, i BIGINT, d DOUBLE, m DECIMAL, b BOOLEAN]
const LINEAR: AggregateFunction[] = [
  makeAggregate('count', -1, null, false),
  makeAggregate('count', 2, DBL, false),
  makeAggregate('sum', 1, BIG, false),
  makeAggregate('sum', 2, DBL, false),
  makeAggregate('avg', 3, DEC, false),
  makeAggregate('sum', 3, DEC, false),
  makeAggregate('var_samp', 2, DBL, false),
  makeAggregate('stddev_pop', 1, BIG, false),
  makeAggregate('bool_and', 4, BOOL, false),
];

const make = (): AggregateOperator => aggregate({ keyCount: 1, functions: LINEAR });
const asParts = (s: StateBatches): Record<string, Batch[]> =>
  Object.fromEntries(Object.entries(s).map(([k, v]) => [k, [v]]));

const DOUBLES = [0.1, 0.2, 0.3, 1e16, -1e16, 1 / 3, 2 ** -40, -0.7, 123456.789];
const SCALES = ['1', '1.5', '2.25', '0.0001', '-3.125'];

function randomRow(rnd: () => number): Row {
  return [
    `g${randInt(rnd, 0, 4)}`,
    rnd() < 0.1 ? 2n ** 60n + BigInt(randInt(rnd, 0, 9)) : BigInt(randInt(rnd, -50, 50)),
    rnd() < 0.1 ? null : (DOUBLES[randInt(rnd, 0, DOUBLES.length - 1)] as number),
    Decimal.parse(SCALES[randInt(rnd, 0, SCALES.length - 1)] as string),
    rnd() < 0.5,
  ];
}

describe('aggregate with linear accumulators', () => {
  test('the state is one row per group, not the input rows', () => {
    const op = make();
    const batch = emptyBatch();
    for (let i = 0; i < 1000; i++) {
      batch.rows.push([`g${i % 3}`, BigInt(i), i / 7, Decimal.fromInt(i), true]);
      batch.weights.push(1);
    }
    step1(op, batch);
    const snap = op.snapshot();
    assert.equal(snap.input?.rows.length, 0, 'no input rows kept');
    assert.equal(snap.accs?.rows.length, 3, 'one state row per group');
    assert.equal(op.inputEntryCount, 3);
  });

  test('random steps with full and incremental checkpoints: restored operators answer exactly as the original', () => {
    const seed = 4242;
    const rnd = mulberry32(seed);
    const original = make();
    original.trackChanges(true);
    let base: StateBatches = original.snapshot();
    const deltas: StateBatches[] = [];
    const live: Row[] = [];
    for (let s = 0; s < 120; s++) {
      const batch = emptyBatch();
      for (let i = randInt(rnd, 1, 6); i > 0; i--) {
        if (live.length > 0 && rnd() < 0.45) {
          const [r] = live.splice(randInt(rnd, 0, live.length - 1), 1);
          batch.rows.push(r as Row);
          batch.weights.push(-1);
        } else {
          const r = randomRow(rnd);
          live.push(r);
          batch.rows.push(r);
          batch.weights.push(1);
        }
      }
      step1(original, batch);
      if (s % 10 === 9) deltas.push(original.takeDelta());
      if (s % 40 === 39) {
        base = original.snapshot();
        deltas.length = 0;
      }
      if (s % 10 === 9) {
        // a fresh operator from base + deltas must continue exactly like the original
        const restored = make();
        restored.restore(
          Object.fromEntries(
            Object.keys(base).map((k) => [k, [base[k] as Batch, ...deltas.map((d) => d[k] ?? emptyBatch())]]),
          ),
        );
        const probe = emptyBatch();
        const r = randomRow(rnd);
        probe.rows.push(r);
        probe.weights.push(1);
        const fork = make();
        fork.restore(asParts(original.snapshot()));
        original.trackChanges(true);
        assert.deepEqual(
          norm(step1(restored, probe)),
          norm(step1(fork, probe)),
          `seed ${seed}, step ${s}: base + ${deltas.length} deltas`,
        );
      }
    }
  });

  test('a double sum that cancels and DECIMAL display scales survive a checkpoint bit for bit', () => {
    const a = make();
    const rows: Row[] = [
      ['g', 1n, null, Decimal.parse('0.0001'), true],
      ['g', 2n, 1e16, Decimal.parse('1.5'), true],
      ['g', 3n, 0.1, Decimal.parse('2'), false],
      ['g', 4n, -1e16, Decimal.parse('2.25'), true],
    ];
    step1(a, { rows, weights: [1, 1, 1, 1] });
    const b = make();
    b.restore(asParts(a.snapshot()));
    // removing the row with four decimals: the sum's display scale drops to two, in both
    const change: Batch = { rows: [rows[0] as Row], weights: [-1] };
    assert.deepEqual(norm(step1(b, change)), norm(step1(a, change)));
    const more: Batch = { rows: [['g', 2n ** 62n, 0.2, Decimal.parse('0.25'), true]], weights: [1] };
    const outA = step1(a, more);
    assert.deepEqual(norm(step1(b, more)), norm(outA));
    const now = outA.rows[outA.weights.indexOf(1)] as Row;
    // 1e16 + 0.1 - 1e16 + 0.2, summed exactly then rounded (a running double sum would say 0.2 or 2)
    assert.equal(now[4], 0.30000000000000004);
    assert.equal((now[6] as Decimal).toString(), '6.00');
  });

  test('a checkpoint that kept the input rows (written before linear state) restores', () => {
    const a = make();
    const rows: Row[] = [
      ['x', 5n, 1.5, Decimal.parse('1.25'), true],
      ['x', 7n, 2.5, Decimal.parse('2'), true],
      ['y', 1n, null, Decimal.parse('3'), false],
    ];
    const out = step1(a, { rows, weights: [1, 1, 1] });
    const old: Record<string, Batch[]> = {
      input: [{ rows, weights: [1, 1, 1] }],
      meta: [{ rows: [[true]], weights: [1] }],
      output: [{ rows: out.rows.map((r) => [r[0] as Value, ...r]), weights: out.weights }],
    };
    const b = make();
    b.restore(old);
    const change: Batch = { rows: [rows[1] as Row], weights: [-1] };
    assert.deepEqual(norm(step1(b, change)), norm(step1(a, change)));
    assert.equal(b.snapshot().accs?.rows.length, 2);
  });

  test('aggregates with a non-linear function keep the input rows', () => {
    const op = aggregate({
      keyCount: 1,
      functions: [LINEAR[2] as AggregateFunction, makeAggregate('max', 1, BIG, false)],
    });
    step1(op, {
      rows: [
        ['g', 1n, null, null, null],
        ['g', 2n, null, null, null],
      ],
      weights: [1, 1],
    });
    const snap = op.snapshot();
    assert.equal(snap.accs?.rows.length, 0);
    assert.ok((snap.input?.rows.length ?? 0) > 0);
  });

  test('a purged group leaves the state, and the delta says so', () => {
    let wl: Value = null;
    const op = aggregate({
      keyCount: 1,
      functions: [makeAggregate('sum', 1, BIG, false)],
      purge: { key: 0, below: () => wl, compare: (x, y) => (x as number) - (y as number) },
    });
    op.trackChanges(true);
    step1(op, {
      rows: [
        [1, 10n],
        [2, 20n],
        [3, 30n],
      ],
      weights: [1, 1, 1],
    });
    op.takeDelta();
    wl = 3;
    step1(op, { rows: [[3, 1n]], weights: [1] });
    const delta = op.takeDelta().accs as Batch;
    const removed = delta.rows.filter((_, i) => delta.weights[i] === -1).map((r) => r[0]);
    assert.deepEqual(removed.sort(), [1, 2, 3], 'groups 1 and 2 purged, group 3 changed');
    assert.equal(op.snapshot().accs?.rows.length, 1);
  });

  test('random programs: the restore law holds for random weights', () => {
    const rnd = mulberry32(99);
    const a = make();
    let b = make();
    const live: Row[] = [];
    for (let s = 0; s < 80; s++) {
      const batch = emptyBatch();
      for (let i = randInt(rnd, 0, 4); i > 0; i--) {
        if (live.length > 0 && rnd() < 0.4) {
          batch.rows.push(live.splice(randInt(rnd, 0, live.length - 1), 1)[0] as Row);
          batch.weights.push(-1);
        } else {
          const r = randomRow(rnd);
          live.push(r);
          batch.rows.push(r);
          batch.weights.push(1);
        }
      }
      assert.deepEqual(norm(step1(b, batch)), norm(step1(a, batch)), `step ${s}`);
      if (s % 5 === 4) {
        const snap = b.snapshot();
        b = make();
        b.restore(asParts(snap));
      }
    }
  });
});
