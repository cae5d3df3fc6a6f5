/**
 * KeyIndex (`src/zset/key-index.ts`) against `Map`: random sequences of set / delete / get on numeric keys
 * (integers, fractions, −0, large doubles), or on bigints (within ±2^53 and beyond), and, mid-sequence, keys
 * of other kinds (which move the index into a Map), comparing every answer, the size and the insertion order of keys() and values(). Replay one
 * sequence with `SEED=<n>`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyIndex } from '../../../src/zset/key-index.ts';
import { mulberry32 } from '../operators/support.ts';

const SEEDS = process.env.SEED !== undefined ? [Number(process.env.SEED)] : [1, 2, 3, 4, 5, 6, 7, 8];

function keyFor(rnd: () => number, pool: number, numericOnly: boolean, big: boolean): unknown {
  const r = rnd();
  const i = Math.floor(rnd() * pool);
  if (big && (numericOnly || r < 0.9)) {
    // BIGINT keys, some at the edge of the range held as numbers and beyond it
    if (r < 0.02) return 2n ** 53n - 1n - BigInt(i);
    if (r < 0.03 && !numericOnly) return 2n ** 60n + BigInt(i);
    return BigInt(i) - 100n;
  }
  if (r < 0.7) return i;
  if (r < 0.8) return i + 0.5;
  if (r < 0.85) return i === 0 ? -0 : -i;
  if (r < 0.9) return 2 ** 40 + i * 2 ** 20;
  if (numericOnly) return i * 3;
  if (r < 0.95) return `k${i}`;
  return BigInt(i);
}

for (const seed of SEEDS) {
  test(`KeyIndex answers as Map does (SEED=${seed})`, () => {
    const rnd = mulberry32(seed);
    const ix = new KeyIndex<number>();
    const m = new Map<unknown, number>();
    const pool = 1 + Math.floor(rnd() * 5000);
    const ops = 20_000;
    // the first half numbers only (the typed-array mode), then any key in about half the seeds
    const mixed = seed % 2 === 0;
    const big = seed % 4 >= 2;
    for (let n = 0; n < ops; n++) {
      const k = keyFor(rnd, pool, !mixed || n < ops / 2, big);
      const r = rnd();
      const at = `op ${n}, key ${String(k)} (SEED=${seed})`;
      if (r < 0.55) {
        ix.set(k, n);
        m.set(k, n);
      } else if (r < 0.8) assert.equal(ix.delete(k), m.delete(k), at);
      else assert.equal(ix.get(k), m.get(k), at);
      if (n % 997 === 0 || n === ops - 1) {
        assert.equal(ix.size, m.size, at);
        assert.deepEqual([...ix.keys()], [...m.keys()], at);
        assert.deepEqual([...ix.values()], [...m.values()], at);
        assert.deepEqual([...ix], [...m], at);
      }
    }
    ix.clear();
    m.clear();
    assert.equal(ix.size, 0);
    ix.set(3, 1);
    assert.equal(ix.get(3), 1);
    assert.deepEqual([...ix.keys()], [3]);
  });
}

test('KeyIndex: -0 and 0 are one key, reported as 0; a key deleted and set again moves to the end', () => {
  const ix = new KeyIndex<string>();
  ix.set(-0, 'a');
  ix.set(1, 'b');
  assert.equal(ix.get(0), 'a');
  assert.ok(Object.is([...ix.keys()][0], 0));
  ix.delete(0);
  ix.set(0, 'c');
  assert.deepEqual([...ix.keys()], [1, 0]);
  assert.deepEqual([...ix.values()], ['b', 'c']);
});

test('KeyIndex: bigint keys come back as bigints; 1n and 1 are different keys', () => {
  const ix = new KeyIndex<string>();
  ix.set(5n, 'a');
  ix.set(-7n, 'b');
  assert.equal(ix.get(5n), 'a');
  assert.equal(ix.get(5), undefined);
  assert.deepEqual([...ix.keys()], [5n, -7n]);
  ix.set(5, 'c');
  assert.equal(ix.get(5), 'c');
  assert.equal(ix.get(5n), 'a');
  assert.deepEqual(
    [...ix],
    [
      [5n, 'a'],
      [-7n, 'b'],
      [5, 'c'],
    ],
  );
});

test('KeyIndex: NaN is a key (as in a Map)', () => {
  const ix = new KeyIndex<number>();
  ix.set(1, 1);
  ix.set(Number.NaN, 2);
  assert.equal(ix.get(Number.NaN), 2);
  assert.equal(ix.get(1), 1);
  assert.equal(ix.size, 2);
});

test('KeyIndex: a million keys, most deleted, keep their order through growth', () => {
  const ix = new KeyIndex<number>();
  for (let i = 0; i < 1_000_000; i++) ix.set(i * 7, i);
  for (let i = 0; i < 1_000_000; i++) if (i % 10 !== 0) ix.delete(i * 7);
  for (let i = 0; i < 1_000; i++) ix.set(-i - 1, i);
  assert.equal(ix.size, 101_000);
  const keys = [...ix.keys()] as number[];
  assert.equal(keys[0], 0);
  assert.equal(keys[99_999], 999_990 * 7);
  assert.equal(keys[100_000], -1);
  assert.equal(ix.get(70), 10);
  assert.equal(ix.get(77), undefined);
});
