import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeAggregate } from '../../../src/sql/aggregates.ts';
import { sqlType } from '../../../src/sql/sql-type.ts';
import type { Value } from '../../../src/zset/value.ts';
import { mulberry32, randInt } from '../operators/support.ts';

const BIGINT = sqlType('BIGINT', false);

test('MIN/MAX: random inserts and deletes, groups growing past the flat form and shrinking back = the multiset', () => {
  const seed = Number(process.env.EXTREME_SEED ?? 2612);
  const rnd = mulberry32(seed);
  for (const name of ['min', 'max'] as const) {
    const acc = makeAggregate(name, 0, BIGINT, false).create();
    const held = new Map<number, number>();
    for (let s = 0; s < 6000; s++) {
      // phases: grow to ~100 distinct values, shrink to a few, grow again (crossing 32 both ways)
      const growing = Math.floor(s / 1000) % 2 === 0;
      const live = [...held.keys()];
      let v: number;
      let w: number;
      if (live.length > 0 && (!growing || rnd() < 0.3) && rnd() < 0.9) {
        v = live[randInt(rnd, 0, live.length - 1)] as number;
        w = -randInt(rnd, 1, held.get(v) as number);
      } else {
        v = randInt(rnd, -60, 60);
        w = randInt(rnd, 1, 3);
      }
      acc.add(v, w);
      const n = (held.get(v) ?? 0) + w;
      if (n === 0) held.delete(v);
      else held.set(v, n);
      const want = held.size === 0 ? null : (name === 'min' ? Math.min : Math.max)(...held.keys());
      assert.equal(acc.result(), want, `seed ${seed} ${name} change ${s} (${held.size} distinct)`);
    }
  }
});

test('MIN/MAX: NULLs are ignored; an empty group is NULL again', () => {
  const acc = makeAggregate('max', 0, BIGINT, false).create();
  acc.add(null, 1);
  assert.equal(acc.result(), null);
  acc.add(5, 1);
  acc.add(null, 1);
  assert.equal(acc.result(), 5);
  acc.add(5, -1);
  assert.equal(acc.result(), null);
});

test('MIN/MAX memory shape: a small group is one flat array (no map, no heap); a large one moves to the heap and back', () => {
  const acc = makeAggregate('min', 0, BIGINT, false).create() as unknown as {
    flat: Value[] | null;
    counts: Map<unknown, unknown> | null;
    add(v: Value, w: number): void;
    result(): Value;
  };
  for (let v = 15; v >= 1; v--) acc.add(v, 1);
  assert.equal(acc.counts, null, 'no map for 15 values');
  assert.equal(acc.flat?.length, 30, 'each distinct value and its count');
  for (let v = 16; v <= 40; v++) acc.add(v, 2);
  assert.equal(acc.flat, null);
  assert.equal((acc.counts as Map<unknown, unknown> | null)?.size, 40);
  for (let v = 1; v <= 35; v++) acc.add(v, v <= 15 ? -1 : -2);
  assert.equal(acc.result(), 36);
  assert.deepEqual(acc.flat, [36, 2, 37, 2, 38, 2, 39, 2, 40, 2]);
});
