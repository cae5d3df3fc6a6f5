import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import {
  encodeColumns,
  encodeRow,
  encodeValue,
  type ObjectValue,
  type Row,
  sameRow,
  sameValue,
  type Value,
} from '../../../src/zset/value.ts';

describe('encodeValue', () => {
  test('equal values encode alike', () => {
    assert.equal(encodeValue(0), encodeValue(-0));
    assert.equal(encodeValue(Number.NaN), encodeValue(Number.NaN));
    assert.equal(encodeValue(Decimal.parse('1.50')), encodeValue(Decimal.parse('1.5')));
    assert.equal(encodeValue(Decimal.parse('0.00')), encodeValue(Decimal.parse('0')));
    assert.equal(encodeValue(Decimal.parse('-0.00')), encodeValue(Decimal.parse('0')));
    assert.equal(encodeValue('x'), encodeValue('x'));
    assert.equal(encodeValue(12n), encodeValue(12n));
  });

  test('values of different types or contents never collide', () => {
    const values: Value[] = [
      null,
      'null',
      '~',
      '',
      0,
      1,
      -1,
      1.5,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.NaN,
      0n,
      1n,
      -1n,
      '0',
      '1',
      'n1;',
      'b1;',
      't',
      'f',
      'true',
      true,
      false,
      Decimal.parse('1'),
      Decimal.parse('1.5'),
      Decimal.parse('-1.5'),
      Decimal.parse('15'),
      'o1;',
      's1:a',
    ];
    const seen = new Map<string, Value>();
    for (const v of values) {
      const k = encodeValue(v);
      assert.ok(!seen.has(k), `${String(v)} collides with ${String(seen.get(k))}: ${k}`);
      seen.set(k, v);
    }
  });

  test('rejects non-values', () => {
    assert.throws(() => encodeValue(undefined as unknown as Value), TypeError);
  });
});

describe('encodeRow', () => {
  const distinct: Row[][] = [
    [['s1:a'], ['s', 'a'], ['s1', ':a'], ['s1:', 'a'], ['', 's1:a'], ['s1:a', '']],
    [['ab', 'c'], ['a', 'bc'], ['abc'], ['abc', ''], ['', 'abc']],
    [[null], ['null'], ['~'], [], [null, null]],
    [[1], [1n], ['1'], [true], [Decimal.parse('1')]],
    [[1, 2], [12], ['1', '2'], ['12'], [1, '2'], ['1', 2]],
    [['a;', 'b'], ['a', ';b'], ['a;b']],
    [['2:ab'], ['2', ':ab'], [2, 'ab']],
    [[''], [], ['', '']],
    [[Decimal.parse('1.5'), 1], [Decimal.parse('1.51')], [Decimal.parse('15'), 1]],
  ];
  for (const group of distinct) {
    test(`no collision among ${JSON.stringify(group, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`, () => {
      const keys = group.map(encodeRow);
      assert.equal(new Set(keys).size, keys.length, keys.join(' | '));
    });
  }

  test('-0 and 0 give the same row key; so do equal decimals of different scales', () => {
    assert.equal(encodeRow([-0, 'a']), encodeRow([0, 'a']));
    assert.equal(encodeRow([Decimal.parse('2.10'), null]), encodeRow([Decimal.parse('2.1'), null]));
  });

  test('encodeColumns encodes the chosen columns in the given order', () => {
    const r: Row = [1, 'x', null, 2n];
    assert.equal(encodeColumns(r, [1, 3]), encodeRow(['x', 2n]));
    assert.equal(encodeColumns(r, [3, 1]), encodeRow([2n, 'x']));
    assert.equal(encodeColumns(r, []), '');
    assert.notEqual(encodeColumns(r, [0, 1]), encodeColumns(r, [1, 0]));
  });

  test('object values whose hashKey contains the separator stay unambiguous', {}, () => {
    const obj = (k: string): ObjectValue => ({ hashKey: () => k });
    // o{a;n1}; vs o{a}; followed by the number 1: both would encode as "oa;n1;"
    assert.notEqual(encodeRow([obj('a;n1')]), encodeRow([obj('a'), 1]));
  });
});

describe('sameValue / sameRow', () => {
  test('identity semantics', () => {
    assert.ok(sameValue(null, null));
    assert.ok(sameValue(0, -0));
    assert.ok(sameValue(Number.NaN, Number.NaN));
    assert.ok(sameValue(Decimal.parse('1.0'), Decimal.parse('1')));
    assert.ok(!sameValue(1, 1n));
    assert.ok(!sameValue(1, '1'));
    assert.ok(!sameValue(null, 'null'));
    assert.ok(!sameValue(null, 0));
    assert.ok(!sameValue(Decimal.parse('1.1'), Decimal.parse('1.01')));
    assert.ok(!sameValue(true, 1));
  });

  test('rows compare element-wise and by length', () => {
    assert.ok(sameRow([1, 'a', null], [1, 'a', null]));
    assert.ok(!sameRow([1, 'a'], [1, 'a', null]));
    assert.ok(!sameRow([1, 'a'], [1, 'b']));
    assert.ok(sameRow([], []));
  });

  test('sameRow agrees with encodeRow equality on a sample', () => {
    const vals: Value[] = [
      null,
      0,
      -0,
      1,
      1n,
      '1',
      '',
      true,
      false,
      Decimal.parse('1'),
      Decimal.parse('1.00'),
      Number.NaN,
    ];
    for (const a of vals)
      for (const b of vals) {
        assert.equal(sameRow([a], [b]), encodeRow([a]) === encodeRow([b]), `${String(a)} vs ${String(b)}`);
      }
  });
});
