/**
 * Pins how nested SQL values (ARRAY, MAP, ROW, VARIANT) are stored in checkpoint segments: a committed
 * payload (`tests/golden/nested-values/payload.hex`) must decode to the same values, and encoding those values
 * must give the same bytes. Regenerate only for an intended format change: `UPDATE_GOLDEN=1`.
 * Also: equal values built differently (map entry order, DECIMAL scale, -0) have one hash key.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { SQL_VALUE_CODECS } from '../../../../src/sql/values/codecs.ts';
import { SqlArray, SqlMap, SqlRow, VARIANT_NULL, Variant } from '../../../../src/sql/values/collections.ts';
import { Decimal } from '../../../../src/sql/values/decimal.ts';
import { decodeSegmentPayload, encodeSegmentPayload } from '../../../../src/storage/segment.ts';
import { batchOf } from '../../../../src/zset/batch.ts';
import type { Row } from '../../../../src/zset/value.ts';

const GOLDEN = resolve(import.meta.dirname, '../../../golden/nested-values/payload.hex');

function rows(): Row[] {
  return [
    [1, new SqlArray([1, null, 3])],
    [2, new SqlArray([new SqlArray(['a', 'é\u{1F600}']), new SqlArray([])])],
    [
      3,
      SqlMap.of([
        ['b', new Decimal(1234n, 2)],
        ['a', null],
      ]),
    ],
    [4, new SqlRow([7n, 'x', new SqlArray([true, false]), SqlMap.of([[1, new SqlRow([null])]])])],
    [
      5,
      new Variant(SqlMap.of([[new Variant('k'), new Variant(new SqlArray([new Variant(1), VARIANT_NULL]))]])),
    ],
    [6, new SqlArray([-0.5, Number.NaN, 2 ** 60, -(2n ** 70n)])],
  ];
}

test('nested values: the committed segment payload decodes to the same values and re-encodes byte for byte', () => {
  const batch = batchOf(rows().map((r) => [r, 1] as const));
  const bytes = encodeSegmentPayload(batch, [...SQL_VALUE_CODECS]);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, `${bytes.toString('hex')}\n`);
  const golden = Buffer.from(readFileSync(GOLDEN, 'utf8').trim(), 'hex');
  assert.equal(bytes.toString('hex'), golden.toString('hex'));
  const back = decodeSegmentPayload(golden, [...SQL_VALUE_CODECS]);
  assert.equal(back.rows.length, 6);
  back.rows.forEach((r, i) => {
    const want = rows()[i] as Row;
    for (let c = 0; c < r.length; c++) {
      const got = r[c];
      const exp = want[c];
      if (typeof exp === 'object' && exp !== null) {
        assert.equal((got as SqlArray).constructor, exp.constructor);
        assert.equal((got as SqlArray).hashKey(), exp.hashKey(), `row ${i} column ${c}`);
      } else assert.equal(got, exp);
    }
  });
});

test('nested values: a segment using a nested codec that is not registered fails clearly', () => {
  const bytes = encodeSegmentPayload(batchOf([[[new SqlArray([1])], 1]]), [...SQL_VALUE_CODECS]);
  assert.throws(() => decodeSegmentPayload(bytes, []), /sql-array/);
});

test('nested values: equal values have one hash key whatever their construction', () => {
  assert.equal(
    SqlMap.of([
      ['a', 1],
      ['b', 2],
    ]).hashKey(),
    SqlMap.of([
      ['b', 2],
      ['a', 1],
    ]).hashKey(),
  );
  assert.equal(new SqlArray([new Decimal(10n, 1)]).hashKey(), new SqlArray([new Decimal(100n, 2)]).hashKey());
  assert.equal(new SqlArray([-0]).hashKey(), new SqlArray([0]).hashKey());
  assert.notEqual(new SqlArray([1, 2]).hashKey(), new SqlArray([12]).hashKey());
  assert.notEqual(new SqlArray(['1']).hashKey(), new SqlArray([1]).hashKey());
  assert.notEqual(new SqlArray([null]).hashKey(), new SqlArray([]).hashKey());
  assert.notEqual(new SqlRow([1]).hashKey(), new SqlArray([1]).hashKey());
  // a repeated key keeps the last value
  assert.equal(
    SqlMap.of([
      ['a', 1],
      ['a', 2],
    ]).get('a'),
    2,
  );
});
