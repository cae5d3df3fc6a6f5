import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import { encodeRow } from '../../../src/zset/value.ts';
import { ZSetMap } from '../../../src/zset/zset-map.ts';
import { norm } from '../operators/support.ts';

describe('ZSetMap', () => {
  test('add returns before/after weights and removes entries that reach zero', () => {
    const m = new ZSetMap();
    assert.deepEqual(m.add(['a'], 2), [0, 2]);
    assert.deepEqual(m.add(['a'], 3), [2, 5]);
    assert.deepEqual(m.add(['b'], -1), [0, -1]);
    assert.equal(m.size, 2);
    assert.deepEqual(m.add(['a'], -5), [5, 0]);
    assert.equal(m.size, 1);
    assert.equal(m.weightOf(['a']), 0);
    assert.equal(m.get(encodeRow(['a'])), undefined);
    assert.equal(m.weightOf(['b']), -1);
  });

  test('adding weight 0 to an absent row stores nothing', () => {
    const m = new ZSetMap();
    assert.deepEqual(m.add(['a'], 0), [0, 0]);
    assert.equal(m.size, 0);
    m.add(['a'], 1);
    assert.deepEqual(m.add(['a'], 0), [1, 1]);
    assert.equal(m.size, 1);
  });

  test('rows equal by value share an entry (keeps the first representative)', () => {
    const m = new ZSetMap();
    m.add([Decimal.parse('2.50'), -0], 1);
    m.add([Decimal.parse('2.5'), 0], 1);
    assert.equal(m.size, 1);
    const [e] = [...m.entries()];
    assert.equal(e?.weight, 2);
    assert.equal((e?.row[0] as Decimal | undefined)?.scale, 2);
  });

  test('explicit keys are used as given', () => {
    const m = new ZSetMap();
    m.add(['x'], 1, 'k');
    m.add(['y'], 1, 'k');
    assert.equal(m.size, 1);
    assert.equal(m.weightOf(['anything'], 'k'), 2);
  });

  test('toBatch in insertion order, entries, clear', () => {
    const m = new ZSetMap();
    m.add(['b'], 1);
    m.add(['a'], 2);
    m.add(['c'], -1);
    m.add(['b'], -1);
    m.add(['b'], 7);
    const b = m.toBatch();
    assert.deepEqual(b.rows, [['a'], ['c'], ['b']]);
    assert.deepEqual(b.weights, [2, -1, 7]);
    assert.deepEqual(norm(b), [
      ['["a"]', 2],
      ['["b"]', 7],
      ['["c"]', -1],
    ]);
    assert.equal([...m.entries()].length, 3);
    m.clear();
    assert.equal(m.size, 0);
    assert.deepEqual(m.toBatch(), { rows: [], weights: [] });
  });
});
