/**
 * JSON records → rows (sql/records.ts). `rowFromJson` reads each column through a per-column reader that
 * answers the common JSON shapes of the simplest types (BIGINT, INTEGER, DOUBLE, BOOLEAN, unbounded VARCHAR),
 * and strings of the other scalar types, without `parseJsonValue`'s general dispatch: every value, of every
 * shape, must give what `parseJsonValue` gives (or the same error). Also: column lookup (exact, then case-insensitive), duplicate keys, defaults and
 * NOT NULL errors in column order.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { compileProgram, rowFromJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import { parseJsonValue } from '../../../src/sql/values/format.ts';

const program = await compileProgram(`CREATE TABLE t (
  b BIGINT, i INTEGER, s SMALLINT, d DOUBLE, f REAL, o BOOLEAN, v VARCHAR, v3 VARCHAR(3), c CHAR(2),
  m DECIMAL(6,2), ts TIMESTAMP, dt DATE, u UUID, arr INT ARRAY, vv VARIANT, "Quoted" INT,
  n INT NOT NULL DEFAULT 7
);
CREATE TABLE k (id BIGINT NOT NULL PRIMARY KEY, x INT NOT NULL, y INT NOT NULL);`);
const t = program.table('t') as TableSchema;
const k = program.table('k') as TableSchema;

const VALUES: unknown[] = [
  null,
  0,
  -0,
  1,
  -1,
  2.5,
  -2.5,
  1e21,
  2147483647,
  2147483648,
  -2147483648,
  -2147483649,
  32768,
  2 ** 53 - 1,
  2 ** 53,
  -(2 ** 53),
  Number.MAX_VALUE,
  1e-7,
  true,
  false,
  '',
  '12',
  ' 12 ',
  '-0',
  '2.5',
  'abc',
  'abcd',
  'true',
  't',
  '9223372036854775807',
  '9223372036854775808',
  '2026-01-01 00:00:00',
  '2026-02-30',
  '[1, 2]',
  '123e4567-e89b-12d3-a456-426614174000',
  'é😀x',
  [],
  [1, 2],
  {},
  { a: 1 },
];

const big = (_k: string, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v);

/** What a call gives: its value (as text, bigint/-0 distinguished) or its error. */
function outcome(f: () => unknown): string {
  try {
    const v = f();
    if (Object.is(v, -0)) return 'value -0';
    return `value ${typeof v} ${JSON.stringify(v, big)}`;
  } catch (e) {
    if (!isServiceError(e)) throw e;
    return `error ${e.errorCode} ${e.message} ${JSON.stringify(e.details, big)}`;
  }
}

test('every column reads every JSON value exactly as parseJsonValue does (value or error)', () => {
  const n = t.columns.findIndex((c) => c.name === 'n');
  for (const [i, col] of t.columns.entries()) {
    if (i === n) continue;
    for (const v of VALUES) {
      const key = col.name;
      const want = outcome(() => parseJsonValue(v, col.type, col.name));
      const got = outcome(() => (rowFromJson(t, { [key]: v, n: 1 }) as unknown[])[i]);
      assert.equal(got, want, `column ${col.name} (${col.type.kind}), value ${JSON.stringify(v)}`);
    }
  }
});

test('INTEGER -0 is read as 0, BIGINT as 0n, DOUBLE keeps -0', () => {
  const row = rowFromJson(t, { i: -0, b: -0, d: -0, n: 1 }) as unknown[];
  const at = (name: string) => row[t.columns.findIndex((c) => c.name === name)];
  assert.ok(Object.is(at('i'), 0));
  assert.equal(at('b'), 0n);
  assert.ok(Object.is(at('d'), -0));
});

test('names: exact first, then case-insensitive for unquoted columns; the last duplicate wins', () => {
  const at = (row: unknown, name: string) => (row as unknown[])[t.columns.findIndex((c) => c.name === name)];
  assert.equal(at(rowFromJson(t, { I: 5, n: 1 }), 'i'), 5);
  assert.equal(at(rowFromJson(t, { Quoted: 5, n: 1 }), 'Quoted'), 5);
  assert.equal(at(rowFromJson(t, { i: 1, I: 2, n: 1 }), 'i'), 2);
  assert.throws(
    () => rowFromJson(t, { nope: 1 }),
    (e: unknown) => isServiceError(e) && /has no column 'nope'/.test(e.message),
  );
});

test('a missing column takes its DEFAULT, a null stays null; the first NOT NULL column left null is named', () => {
  const at = (row: unknown, name: string) => (row as unknown[])[t.columns.findIndex((c) => c.name === name)];
  assert.equal(at(rowFromJson(t, {}), 'n'), 7);
  assert.equal(at(rowFromJson(t, {}), 'v'), null);
  assert.throws(
    () => rowFromJson(t, { n: null }),
    (e: unknown) => isServiceError(e) && e.details.column === 'n' && /record sets it to null/.test(e.message),
  );
  assert.throws(
    () => rowFromJson(k, { id: 1, y: null }),
    (e: unknown) => isServiceError(e) && e.details.column === 'x' && /record does not set it/.test(e.message),
  );
  assert.throws(
    () => rowFromJson(k, { id: 1, x: 1, y: null }),
    (e: unknown) => isServiceError(e) && e.details.column === 'y' && /sets it to null/.test(e.message),
  );
  // a delete needs only the key
  assert.deepEqual(rowFromJson(k, { id: 1 }, { keyOnly: true }), [1n, null, null]);
  assert.throws(
    () => rowFromJson(k, { x: 1 }, { keyOnly: true }),
    (e: unknown) => isServiceError(e),
  );
});
