/**
 * The ordered key form of nested values (key-codec tag 0x22, `collections.ts` "ordered key encoding"): over random
 * nested values (ARRAY, MAP, ROW, VARIANT with remembered types; numbers, bigints and DECIMALs mixed, -0, NaN,
 * ±Infinity, DECIMAL scales, NULL inside, lone surrogates, NUL characters), byte equality is SQL key equality
 * (`hashKey()`), byte order is {@link compareAny}'s order wherever it tells two values apart, and decoding gives
 * back an equal value. Randomised: the seed is printed (SEED=n reruns it).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  compareAny,
  decodeNestedKey,
  encodeNestedKey,
  SqlArray,
  SqlMap,
  SqlRow,
  VARIANT_KEY_TYPES,
  Variant,
} from '../../../../src/sql/values/collections.ts';
import { Decimal } from '../../../../src/sql/values/decimal.ts';
import {
  ByteWriter,
  compareBytes,
  decodeKeyValue,
  encodeKeyValue,
  K_OBJ,
  K_ORD,
  skipKeyValue,
} from '../../../../src/zset/key-codec.ts';
import { buildBatch, traceLayout } from '../../../../src/zset/trace.ts';
import type { ObjectValue, Value } from '../../../../src/zset/value.ts';

const SEED = Number(process.env.SEED ?? Math.floor(Math.random() * 1e6));
console.log(`nested-key-order: SEED=${SEED}`);

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const NUMBERS = [
  0,
  -0,
  1,
  -1,
  2,
  1.5,
  -1.5,
  0.1,
  1e-7,
  123456789,
  2 ** 53,
  2 ** 70,
  -(2 ** 70),
  1e21,
  5e-324,
];
const SPECIAL = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1.7976931348623157e308];
const BIGINTS = [0n, 1n, -1n, 2n, 100n, 2n ** 63n, -(2n ** 63n) - 1n, 2n ** 130n, 10n ** 25n];
const STRINGS = [
  '',
  'a',
  'ab',
  'b',
  'a\0',
  '\0',
  'zoë',
  '日本',
  '🦀',
  '\ud800',
  '\udc00',
  'x\ud800y',
  '\uffff',
  'é',
];
const TYPES = [undefined, ...VARIANT_KEY_TYPES.slice(0, 4), 'AAA', 'ZZZ', 'CUSTOM TYPE'];

function gen(r: () => number, depth: number): Value {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const k = Math.floor(r() * (depth > 0 ? 12 : 7));
  switch (k) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return r() < 0.15 ? pick(SPECIAL) : r() < 0.5 ? pick(NUMBERS) : Math.round((r() - 0.5) * 2000) / 8;
    case 3:
      return pick(BIGINTS);
    case 4: {
      // DECIMAL: equal values at several scales (1.5, 1.50), small and huge
      const u = pick([0n, 1n, 15n, 150n, -15n, 1500n, 10n ** 30n + 1n, 7n]);
      return new Decimal(u, Math.floor(r() * 4));
    }
    case 5:
    case 6:
      return pick(STRINGS);
    case 7:
    case 8:
      return new SqlArray(Array.from({ length: Math.floor(r() * 4) }, () => gen(r, depth - 1)));
    case 9:
      return SqlMap.of(
        Array.from({ length: Math.floor(r() * 3) }, () => [gen(r, depth - 1), gen(r, depth - 1)] as const),
      );
    case 10:
      return new SqlRow(Array.from({ length: Math.floor(r() * 3) }, () => gen(r, depth - 1)));
    default:
      return new Variant(gen(r, depth - 1), pick(TYPES));
  }
}

function genNested(r: () => number): ObjectValue {
  for (;;) {
    const v = gen(r, 3);
    if (v instanceof SqlArray || v instanceof SqlMap || v instanceof SqlRow || v instanceof Variant) return v;
  }
}

function keyBytes(v: Value): Buffer {
  const w = new ByteWriter(32);
  encodeKeyValue(w, v, null);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

const sign = (x: number): number => (x < 0 ? -1 : x > 0 ? 1 : 0);

test('byte equality is key equality and byte order is SQL order, over random nested values', () => {
  const r = rng(SEED);
  const values = Array.from({ length: 700 }, () => genNested(r));
  const bytes = values.map(keyBytes);
  for (let i = 0; i < values.length; i++) {
    const b = bytes[i] as Buffer;
    assert.equal(b[0], K_ORD, 'a nested key goes inline in its ordered form');
    assert.equal(skipKeyValue(b, 0, b.length), b.length, 'the key form is self-delimiting');
    const back = decodeKeyValue(b, { pos: 0 }, b.length, null) as ObjectValue;
    assert.equal(
      back.hashKey(),
      (values[i] as ObjectValue).hashKey(),
      `decodes to an equal value (SEED=${SEED})`,
    );
    assert.ok(keyBytes(back).equals(b), 'the decoded value encodes to the same bytes');
  }
  let ties = 0;
  for (let i = 0; i < values.length; i++)
    for (let j = i + 1; j < values.length; j++) {
      const a = values[i] as ObjectValue;
      const b = values[j] as ObjectValue;
      const ba = bytes[i] as Buffer;
      const bb = bytes[j] as Buffer;
      const byBytes = sign(compareBytes(ba, 0, ba.length, bb, 0, bb.length));
      assert.equal(
        byBytes === 0,
        a.hashKey() === b.hashKey(),
        `byte equality ≠ key equality for ${a.hashKey()} / ${b.hashKey()} (SEED=${SEED})`,
      );
      const bySql = sign(compareAny(a, b));
      if (bySql !== 0)
        assert.equal(byBytes, bySql, `order differs: ${a.hashKey()} / ${b.hashKey()} (SEED=${SEED})`);
      else ties++;
    }
  assert.ok(ties > 0, 'the generator makes equal values');
});

test('the edge cases: -0 = 0, DECIMAL 1.5 = 1.50, NaN = NaN, 1 ≠ 1n, NULL first in a ROW and last in an ARRAY', () => {
  const eq = (a: ObjectValue, b: ObjectValue) => assert.ok(keyBytes(a).equals(keyBytes(b)));
  const lt = (a: ObjectValue, b: ObjectValue) => {
    const x = keyBytes(a);
    const y = keyBytes(b);
    assert.ok(compareBytes(x, 0, x.length, y, 0, y.length) < 0, `${a.hashKey()} < ${b.hashKey()}`);
  };
  eq(new SqlArray([-0]), new SqlArray([0]));
  eq(new SqlArray([new Decimal(15n, 1)]), new SqlArray([new Decimal(150n, 2)]));
  eq(new SqlArray([Number.NaN]), new SqlArray([Number.NaN]));
  assert.ok(!keyBytes(new SqlArray([1])).equals(keyBytes(new SqlArray([1n]))));
  lt(new SqlRow([null]), new SqlRow([1]));
  lt(new SqlArray([1]), new SqlArray([null]));
  lt(new SqlArray([1]), new SqlArray([1, 0]));
  lt(new SqlArray([-(2 ** 70)]), new SqlArray([-1.5]));
  lt(new SqlArray([new Decimal(-15n, 1)]), new SqlArray([-1]));
  lt(new SqlArray([0.1]), new SqlArray([new Decimal(11n, 2)]));
  lt(new SqlArray([Number.POSITIVE_INFINITY]), new SqlArray([Number.NaN]));
  lt(new SqlArray(['\uffff']), new SqlArray(['🦀']));
  lt(new Variant(1), new Variant(1, 'BIGINT'));
  lt(SqlMap.of([['a', 2]]), SqlMap.of([['b', 1]]));
  // numbers equal in order, different as keys: the kind decides only after every component (here the type)
  lt(new Variant(new Decimal(10n, 1)), new Variant(1, 'BIGINT UNSIGNED'));
  lt(new SqlArray([new Variant(1n), 1]), new SqlArray([new Variant(1), 2]));
  // a VARIANT with an empty type name would tie with an untyped one: it goes by hash key
  assert.equal(keyBytes(new Variant(1, ''))[0], K_OBJ);
  // a DECIMAL key comes back at the smallest scale that holds it; a double and a bigint as they were
  const w = new ByteWriter();
  encodeNestedKey(w, new SqlArray([new Decimal(1500n, 3), 2 ** 70, -(2n ** 100n), -0]));
  const back = decodeNestedKey(w.buf, { pos: 0 }, w.pos) as SqlArray;
  const [d, f, big, z] = back.items;
  assert.ok(d instanceof Decimal && d.unscaled === 15n && d.scale === 1);
  assert.equal(f, 2 ** 70);
  assert.equal(big, -(2n ** 100n));
  assert.ok(Object.is(z, 0));
});

test('a batch keyed by nested values holds no object table and scans them in SQL order', () => {
  const r = rng(SEED + 1);
  const keys = Array.from({ length: 200 }, () => new SqlArray([gen(r, 1), gen(r, 1)]));
  const b = buildBatch(
    traceLayout(2, [0]),
    keys.map((k, i) => [k, i]),
    keys.map(() => 1),
  );
  assert.equal(b.objects, null, 'no object table: nested keys are inline');
  const got = b.rows.map((row) => row[0] as Value);
  for (let i = 1; i < got.length; i++)
    assert.ok(compareAny(got[i - 1] as Value, got[i] as Value) <= 0, `keys out of SQL order (SEED=${SEED})`);
});

test("a double's key is its shortest round-trip decimal's (the comparator's view of it), but for the kind byte", () => {
  const r = rng(SEED + 2);
  const gens = [
    () => r() * 1000,
    () => Math.round(r() * 1e6) / 1000,
    () => (r() - 0.5) * 1e-5,
    () => r() * 1e14,
    () => 1 / (1 + Math.floor(r() * 1000)),
    () => r() * 1e20,
    () => -Math.round(r() * 1e5) / 100,
  ];
  const primary = (v: Value) => {
    const b = keyBytes(new SqlArray([v]));
    return b.subarray(0, b.length - 1).toString('hex'); // the last byte is the kind
  };
  for (const g of gens)
    for (let i = 0; i < 3000; i++) {
      const x = g();
      if (Number.isInteger(x)) continue;
      assert.equal(primary(x), primary(Decimal.parse(String(x))), `${x} (SEED=${SEED})`);
    }
});
