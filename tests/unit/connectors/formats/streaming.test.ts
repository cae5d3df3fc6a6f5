/**
 * Streaming input parsing (connectors/formats/streaming.ts): an input cut into random pieces parses to the
 * same changes, errors and event/line numbers as the whole text, for JSON (every update format, array=true)
 * and CSV (quotes, doubled quotes, line breaks in fields, CRLF, headers, bad records). Randomised: the seed is
 * printed, and `STREAMING_SEED=n` replays a run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  csvParserConfig,
  JsonValueScanner,
  jsonParserConfig,
  NOT_PARSED,
  type ParseResult,
  parseCsv,
  parseJson,
  streamingInputParser,
} from '../../../../src/connectors/formats/index.ts';
import { compileProgram } from '../../../../src/sql/program.ts';
import { Prng } from '../../../helpers/oracle/prng.ts';

const program = await compileProgram(
  'CREATE TABLE t (id INT NOT NULL PRIMARY KEY, name VARCHAR, amount DECIMAL(10,2));',
);
const table = program.table('t');
if (!table) throw new Error('no table t');

const seed = Number(process.env.STREAMING_SEED ?? Date.now() % 1_000_000);
console.log(`streaming parser seed: ${seed} (replay with STREAMING_SEED=${seed})`);

function pieces(rng: Prng, text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    const n = rng.chance(0.3) ? rng.int(1, 3) : rng.int(1, 40);
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}

function streamed(format: string, opts: Record<string, unknown>, parts: string[]): ParseResult {
  const p = streamingInputParser(format, opts)(table as NonNullable<typeof table>);
  const total: ParseResult = { changes: [], errors: [], numErrors: 0 };
  const add = (r: ParseResult) => {
    total.changes.push(...r.changes);
    total.errors.push(...r.errors);
    total.numErrors += r.numErrors;
  };
  for (const part of parts) add(p.write(part));
  add(p.end());
  return total;
}

function comparable(r: ParseResult) {
  return {
    changes: r.changes.map((c) => JSON.stringify(c, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))),
    errors: r.errors,
    numErrors: r.numErrors,
  };
}

const NAMES = ['a', 'b c', 'quo"te', 'new\nline', 'q"\n"x', 'comma,', 'brace{[', 'back\\slash', 'é ü 😀', ''];

function jsonRow(rng: Prng): string {
  const name = NAMES[rng.int(0, NAMES.length - 1)] as string;
  return rng.chance(0.5)
    ? JSON.stringify({ id: rng.int(0, 50), name, amount: rng.int(0, 9999) / 100 })
    : JSON.stringify([rng.int(0, 50), name, null]);
}

function jsonEvent(rng: Prng, uf: string): string {
  const bad = rng.chance(0.08);
  if (bad)
    return ['{"insert": {"id": "x"}}', '{broken', '42', 'garbage here', '"str"', '[1,'][
      rng.int(0, 5)
    ] as string;
  switch (uf) {
    case 'raw':
      return jsonRow(rng);
    case 'weighted':
      return `{"weight": ${rng.int(-2, 3)}, "data": ${jsonRow(rng)}}`;
    case 'debezium':
      return `{"payload": {"op": "c", "before": null, "after": ${jsonRow(rng)}}}`;
    default:
      return rng.chance(0.8) ? `{"insert": ${jsonRow(rng)}}` : `{"delete": ${jsonRow(rng)}}`;
  }
}

const SEPS = ['\n', ' ', '\r\n', '\n\n', '\t', ''];

test('JSON in random pieces parses like the whole text (every update format, array=true)', () => {
  const rng = new Prng(seed);
  for (let round = 0; round < 300; round++) {
    const uf = ['raw', 'insert_delete', 'weighted', 'debezium'][rng.int(0, 3)] as string;
    const array = rng.chance(0.3);
    const opts = { update_format: uf, array: String(array) };
    const values: string[] = [];
    for (let k = rng.int(0, 12); k > 0; k--) {
      if (array) {
        const items: string[] = [];
        for (let j = rng.int(0, 4); j > 0; j--) items.push(jsonEvent(rng, uf).replace(/^garbage here$/, '7'));
        values.push(rng.chance(0.05) ? '{"not": "an array"}' : `[${items.join(', ')}]`);
      } else values.push(jsonEvent(rng, uf));
    }
    let text = '';
    for (const v of values) text += v + (SEPS[rng.int(0, SEPS.length - 1)] as string);
    if (rng.chance(0.2)) text = text.trimEnd();
    const whole = parseJson(table, jsonParserConfig(opts), text);
    const parts = pieces(rng, text);
    assert.deepEqual(
      comparable(streamed('json', opts, parts)),
      comparable(whole),
      `seed ${seed} round ${round}: ${JSON.stringify(parts)}`,
    );
  }
});

const LINE_VALUES = [
  '{"insert": {"id": 1, "name": "}"}}',
  '{"insert": {"id": 2, "name": "x\\"}"}}',
  '{"insert": {"id": 3}} {"insert": {"id": 4}}',
  '{"insert": {"id": 5}}{"delete": {"id": 5}}',
  '{"insert":\n  {"id": 6,\n   "name": "pretty"}\n}',
  '{"insert": {"id": 7}}   \t',
  '{"insert": {"id": 8}}\r',
  '{"insert": {"id": [}}',
  '{"insert": {"id": 9}} 42',
  '{}',
  '{"a": "{"}',
  '[{"insert": {"id": 10}}]',
  '["{", 1]',
  '{"insert": {"id": 11, "name": "é 😀 \\u00e9"}}',
];

test('JSON lines taken whole (parsed once, no scan) give what the scan gives, in large pieces too', () => {
  const rng = new Prng(seed + 2);
  for (let round = 0; round < 300; round++) {
    const array = rng.chance(0.2);
    const opts = { array: String(array) };
    let text = '';
    for (let k = rng.int(0, 40); k > 0; k--)
      text += `${
        rng.chance(0.5)
          ? (LINE_VALUES[rng.int(0, LINE_VALUES.length - 1)] as string)
          : jsonEvent(rng, 'insert_delete')
      }${rng.chance(0.9) ? '\n' : (SEPS[rng.int(0, SEPS.length - 1)] as string)}`;
    if (rng.chance(0.2)) text = text.trimEnd();
    const whole = comparable(parseJson(table, jsonParserConfig(opts), text));
    assert.deepEqual(
      comparable(streamed('json', opts, [text])),
      whole,
      `seed ${seed} round ${round}: ${text}`,
    );
    const cut = rng.int(0, text.length);
    assert.deepEqual(
      comparable(streamed('json', opts, [text.slice(0, cut), text.slice(cut)])),
      whole,
      `seed ${seed} round ${round}: cut ${cut} of ${text}`,
    );
  }
});

test('NDJSON lines are parsed by the scanner whole; after 16 lines that do not parse whole, it only scans', () => {
  const scanner = new JsonValueScanner();
  const values: string[] = [];
  const parsed: unknown[] = [];
  scanner.take(scanner.write('{"insert": {"id": 1}}\n  [1, {"a": "]"}]  \n{"x": 1}', values, parsed));
  // the last value's line has not ended: the scan finds it
  assert.deepEqual(values, ['{"insert": {"id": 1}}', '[1, {"a": "]"}]', '{"x": 1}']);
  assert.deepEqual(parsed, [{ insert: { id: 1 } }, [1, { a: ']' }], NOT_PARSED]);
  const pretty = new JsonValueScanner();
  const pv: string[] = [];
  const pp: unknown[] = [];
  const lines = Array.from({ length: 20 }, (_, i) => `{"id": ${i}} {"id": ${i}}`).join('\n');
  pretty.take(pretty.write(`${lines}\n{"id": 99}\n`, pv, pp));
  assert.equal(pv.length, 41);
  // a line holding two values: the first is scanned (a miss), the second (ending its line) parsed whole
  assert.deepEqual(pp.slice(0, 2), [NOT_PARSED, { id: 0 }]);
  // 16 misses: from then on every value is scanned
  assert.ok(
    pp.slice(32).every((v) => v === NOT_PARSED),
    'after 16 misses the scanner stops trying lines whole',
  );
  const fresh = new JsonValueScanner();
  const fv: string[] = [];
  const fp: unknown[] = [];
  fresh.take(fresh.write('{"id": 1} {"id": 2}\n{"id": 3}\n', fv, fp));
  assert.deepEqual(fp, [NOT_PARSED, { id: 2 }, { id: 3 }]);
});

function csvField(rng: Prng, v: string): string {
  if (rng.chance(0.4) || /[",\n\r]/.test(v)) return `"${v.replace(/"/g, '""')}"`;
  return v;
}

test('CSV in random pieces parses like the whole text (quotes, line breaks in fields, CRLF, headers)', () => {
  const rng = new Prng(seed + 1);
  for (let round = 0; round < 300; round++) {
    const headers = rng.chance(0.3);
    const opts = { headers: String(headers) };
    const lines: string[] = [];
    if (headers) lines.push('id,name,amount');
    for (let k = rng.int(0, 12); k > 0; k--) {
      if (rng.chance(0.08)) {
        lines.push(['x,y,z', ',,', 'NULL,a,1', '"unterminated,1', ''][rng.int(0, 4)] as string);
        continue;
      }
      const name = NAMES[rng.int(0, NAMES.length - 1)] as string;
      lines.push(`${csvField(rng, String(rng.int(0, 50)))},${csvField(rng, name)},${rng.int(0, 9999) / 100}`);
    }
    const eol = rng.chance(0.3) ? '\r\n' : '\n';
    let text = lines.join(eol);
    if (rng.chance(0.7)) text += eol;
    const whole = parseCsv(table, csvParserConfig(opts), text);
    const parts = pieces(rng, text);
    assert.deepEqual(
      comparable(streamed('csv', opts, parts)),
      comparable(whole),
      `seed ${seed} round ${round}: ${JSON.stringify(parts)}`,
    );
  }
});

test('a piece boundary inside a doubled quote or an escape waits for the next piece', () => {
  const csv = '1,"a""\nb",2\n';
  for (let cut = 1; cut < csv.length; cut++) {
    const r = streamed('csv', {}, [csv.slice(0, cut), csv.slice(cut)]);
    assert.equal(r.numErrors, 0, `cut ${cut}`);
    assert.equal(r.changes[0]?.row[1], 'a"\nb', `cut ${cut}`);
  }
  const json = '{"insert": {"id": 1, "name": "x\\"}}y"}}\n';
  for (let cut = 1; cut < json.length; cut++) {
    // an empty piece between (a chunk holding only part of a UTF-8 sequence decodes to '') changes nothing
    const r = streamed('json', {}, [json.slice(0, cut), '', json.slice(cut)]);
    assert.equal(r.numErrors, 0, `cut ${cut}`);
    assert.equal(r.changes[0]?.row[1], 'x"}}y', `cut ${cut}`);
  }
});
