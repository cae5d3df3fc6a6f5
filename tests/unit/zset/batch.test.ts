import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import {
  append,
  type Batch,
  batchOf,
  consolidate,
  consolidateBy,
  emptyBatch,
  negate,
  push,
  size,
  totalWeight,
} from '../../../src/zset/batch.ts';
import { encodeRow, type Row, type Value } from '../../../src/zset/value.ts';
import { isTrulyConsolidated, mulberry32, norm } from '../operators/support.ts';

/** The definition `consolidate` must agree with: rows keyed by their `encodeRow` string, first appearance order. */
function reference(b: Batch): Array<[string, number]> {
  const at = new Map<string, number>();
  const out: Array<[string, number]> = [];
  for (let i = 0; i < b.rows.length; i++) {
    const k = encodeRow(b.rows[i] as Row);
    const j = at.get(k);
    if (j === undefined) {
      at.set(k, out.length);
      out.push([k, b.weights[i] as number]);
    } else (out[j] as [string, number])[1] += b.weights[i] as number;
  }
  return out.filter(([, w]) => w !== 0);
}

describe('batch basics', () => {
  test('push, size, batchOf, totalWeight', () => {
    const b = emptyBatch();
    assert.equal(size(b), 0);
    push(b, [1], 2);
    push(b, [2], -1);
    assert.equal(size(b), 2);
    assert.equal(totalWeight(b), 1);
    assert.deepEqual(
      batchOf([
        [[1], 2],
        [[2], -1],
      ]),
      b,
    );
  });

  test('append with a sign and negate do not alias weights', () => {
    const src = batchOf([
      [['a'], 2],
      [['b'], -3],
    ]);
    const dst = batchOf([[['c'], 1]]);
    append(dst, src, -1);
    assert.deepEqual(dst.weights, [1, -2, 3]);
    assert.deepEqual(src.weights, [2, -3]);
    const n = negate(src);
    assert.deepEqual(n.weights, [-2, 3]);
    assert.deepEqual(src.weights, [2, -3]);
    n.rows.push(['z']);
    assert.equal(src.rows.length, 2);
  });
});

describe('consolidate', () => {
  test('merges equal rows in first-appearance order and drops zeros', () => {
    const b = batchOf([
      [['b', 1], 1],
      [['a', 2], 2],
      [['b', 1], 2],
      [['c', 3], 1],
      [['a', 2], -2],
      [['d', 4], -1],
    ]);
    const c = consolidate(b);
    assert.deepEqual(c.rows, [
      ['b', 1],
      ['c', 3],
      ['d', 4],
    ]);
    assert.deepEqual(c.weights, [3, 1, -1]);
  });

  test('empty and single-entry batches', () => {
    const plain = (b: Batch) => ({ rows: b.rows, weights: b.weights });
    assert.deepEqual(plain(consolidate(emptyBatch())), plain(emptyBatch()));
    assert.deepEqual(plain(consolidate(batchOf([[[1], 0]]))), plain(emptyBatch()));
    assert.deepEqual(plain(consolidate(batchOf([[[1], 5]]))), plain(batchOf([[[1], 5]])));
    assert.deepEqual(
      plain(
        consolidate(
          batchOf([
            [[1], 3],
            [[1], -3],
          ]),
        ),
      ),
      plain(emptyBatch()),
    );
  });

  test('marks its result consolidated and trusts that mark', () => {
    const c = consolidate(
      batchOf([
        [['a'], 1],
        [['b'], 1],
        [['a'], 1],
      ]),
    );
    assert.equal(c.consolidated, true);
    assert.ok(isTrulyConsolidated(c));
    assert.equal(consolidate(c), c);
    // the mark is a promise by the producer: a batch that lies is returned as is
    const liar: Batch = { rows: [['a'], ['a']], weights: [1, -1], consolidated: true };
    assert.equal(consolidate(liar), liar);
  });

  test('uses value identity: -0 = 0, decimals by value, 1 ≠ 1n ≠ "1", NULL ≠ "null"', () => {
    const c = consolidate(
      batchOf([
        [[0], 1],
        [[-0], 1],
        [[Decimal.parse('1.50')], 1],
        [[Decimal.parse('1.5')], 1],
        [[1], 1],
        [[1n], 1],
        [['1'], 1],
        [[null], 1],
        [['null'], 1],
      ]),
    );
    assert.equal(c.rows.length, 7);
    assert.deepEqual(c.weights, [2, 2, 1, 1, 1, 1, 1]);
  });

  test('is idempotent and preserves the total weight per row', () => {
    const b = batchOf([
      [['x'], 1],
      [['y'], -1],
      [['x'], 4],
      [['y'], 1],
      [['z'], -2],
    ]);
    const once = consolidate(b);
    assert.deepEqual(consolidate(once), once);
    assert.equal(totalWeight(once), totalWeight(b));
    assert.deepEqual(norm(once), [
      ['["x"]', 5],
      ['["z"]', -2],
    ]);
  });
});

describe('consolidate: hashed rows', () => {
  // values whose equality is subtle: -0 and 0, NaN, decimals by value, 1 / 1n / '1', NULL / 'null', booleans
  const pool: Value[] = [
    0,
    -0,
    1,
    1.5,
    -2.25,
    Number.NaN,
    2 ** 40,
    1n,
    -(2n ** 70n),
    '1',
    '',
    'null',
    'é',
    null,
    true,
    false,
  ];
  const decimals = ['1.50', '1.5', '-0', '0', '12345678901234567890.5'];
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    test(`agrees with the encodeRow definition, in order, whatever the hash (SEED=${seed})`, () => {
      const rnd = mulberry32(seed);
      const b: Batch = { rows: [], weights: [] };
      for (let i = 0; i < 3000; i++) {
        const width = 1 + Math.floor(rnd() * 3);
        const row: Value[] = [];
        for (let c = 0; c < width; c++)
          row.push(
            rnd() < 0.15
              ? Decimal.parse(decimals[Math.floor(rnd() * decimals.length)] as string)
              : (pool[Math.floor(rnd() * pool.length)] as Value),
          );
        b.rows.push(row);
        b.weights.push(Math.floor(rnd() * 5) - 2);
      }
      const want = reference(b);
      // the real hash, one where everything collides (every row compared whole), and one by width
      for (const hash of [undefined, () => 0, (r: Row) => r.length]) {
        const c = hash === undefined ? consolidate(b) : consolidateBy(b, hash);
        assert.deepEqual(
          c.rows.map((r, i) => [encodeRow(r), c.weights[i]]),
          want,
          `seed ${seed}, hash ${hash === undefined ? 'hashRow' : hash.toString()}`,
        );
        assert.equal(c.consolidated, true);
        // small batches (no hash index: a scan of the distinct rows' hashes)
        for (let from = 0; from + 16 <= 400; from += 16 + (from % 5)) {
          const part: Batch = {
            rows: b.rows.slice(from, from + 2 + (from % 15)),
            weights: b.weights.slice(from, from + 2 + (from % 15)),
          };
          const cp = hash === undefined ? consolidate(part) : consolidateBy(part, hash);
          assert.deepEqual(
            cp.rows.map((r, i) => [encodeRow(r), cp.weights[i]]),
            reference(part),
            `seed ${seed}, rows ${from}..: small batch`,
          );
        }
      }
    });
  }
});
