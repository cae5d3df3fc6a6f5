/** json-u64.ts: integers beyond 2^53 survive a parse/stringify round trip; everything else parses as JSON.parse does. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonInteger, parseJson, stringifyJson } from '../../../src/util/json-u64.ts';

const MAX_U64 = '18446744073709551615';

test('a u64 beyond 2^53 parses to an exact bigint and is written back as the same JSON integer', () => {
  const text = `{"fingerprint":${MAX_U64},"small":42,"float":1.5e+300,"neg":-9007199254740993,"s":"12345678901234567890"}`;
  const v = parseJson(text) as Record<string, unknown>;
  assert.equal(v.fingerprint, BigInt(MAX_U64));
  assert.equal(v.neg, -9007199254740993n);
  assert.equal(v.small, 42);
  assert.equal(v.float, 1.5e300);
  assert.equal(v.s, '12345678901234567890');
  assert.equal(stringifyJson(v), text);
});

test("'raw' keeps the digits for values only passed on: JSON.stringify writes them back unchanged", () => {
  const text = `{"checkpoints":[{"fingerprint":${MAX_U64}}]}`;
  assert.equal(JSON.stringify(parseJson(text, 'raw')), text);
  assert.equal(JSON.stringify({ a: jsonInteger(2n ** 63n) }), `{"a":${2n ** 63n}}`);
});

test('text without a long digit run parses exactly as JSON.parse', () => {
  const text = '{"a":[1,2.5,null,true,"x"],"b":{"c":9007199254740991}}';
  assert.deepEqual(parseJson(text), JSON.parse(text));
  assert.throws(() => parseJson('{"a":'), SyntaxError);
});
