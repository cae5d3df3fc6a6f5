/**
 * The CSV parser (connectors/formats/csv-parser.ts) against a model: a character-at-a-time reader of Feldera's
 * CSV rules (a quote opens a quoted section only as a field's first character; `""` inside it is a quote; line
 * breaks inside it belong to the field; after it everything up to the delimiter is literal; records end at
 * `\n` or `\r\n`, a lone `\r` is a character; a blank line is no record). Random texts over an alphabet of the
 * characters that matter (delimiters, quotes, CR, LF, NULL spellings), with every delimiter tried: the parser
 * must give the same rows, the same errors (line, record number, text) as the model. Randomised: the seed is
 * printed, and `CSV_MODEL_SEED=n` replays a run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csvParserConfig, parseCsv } from '../../../../src/connectors/formats/index.ts';
import { compileProgram } from '../../../../src/sql/program.ts';
import { Prng } from '../../../helpers/oracle/prng.ts';

const program = await compileProgram('CREATE TABLE t (a VARCHAR, b INT, c VARCHAR NOT NULL);');
const table = program.table('t');
if (!table) throw new Error('no table t');

const seed = Number(process.env.CSV_MODEL_SEED ?? Date.now() % 1_000_000);
console.log(`csv model seed: ${seed} (replay with CSV_MODEL_SEED=${seed})`);

interface ModelRecord {
  fields: Array<{ text: string; quoted: boolean }>;
  line: number;
  raw: string;
}

/** The model: one character at a time. */
function modelRecords(text: string, delim: string): ModelRecord[] {
  const out: ModelRecord[] = [];
  let pos = 0;
  let line = 1;
  while (pos < text.length) {
    const first = line;
    const begin = pos;
    const fields: Array<{ text: string; quoted: boolean }> = [];
    let field = '';
    let quoted = false;
    let atStart = true;
    let done = false;
    while (!done) {
      if (pos >= text.length) {
        fields.push({ text: field, quoted });
        break;
      }
      const ch = text.charAt(pos);
      if (atStart && ch === '"') {
        atStart = false;
        quoted = true;
        pos++;
        for (;;) {
          if (pos >= text.length) break;
          const q = text.charAt(pos);
          if (q === '"' && text.charAt(pos + 1) === '"') {
            field += '"';
            pos += 2;
          } else if (q === '"') {
            pos++;
            break;
          } else {
            if (q === '\n') line++;
            field += q;
            pos++;
          }
        }
      } else if (ch === delim) {
        fields.push({ text: field, quoted });
        field = '';
        quoted = false;
        atStart = true;
        pos++;
      } else if (ch === '\n' || (ch === '\r' && text.charAt(pos + 1) === '\n')) {
        fields.push({ text: field, quoted });
        pos += ch === '\r' ? 2 : 1;
        line++;
        done = true;
      } else {
        atStart = false;
        field += ch;
        pos++;
      }
    }
    let raw = text.slice(begin, pos);
    if (raw.endsWith('\r\n')) raw = raw.slice(0, -2);
    else if (raw.endsWith('\n')) raw = raw.slice(0, -1);
    const blank = fields.length === 1 && fields[0]?.text === '' && !fields[0]?.quoted;
    if (!blank) out.push({ fields, line: first, raw });
  }
  return out;
}

/** What parseCsv must return for the model's records (NULL rules of the table's three columns). */
function expected(text: string, delim: string, headers: boolean) {
  const rows: unknown[] = [];
  const errors: unknown[] = [];
  const recs = modelRecords(text, delim);
  recs.forEach((rec, k) => {
    if (k === 0 && headers) return;
    const cell = (j: number, isString: boolean): { v: string | null } | { bad: string } => {
      const f = rec.fields[j];
      if (f === undefined) return { v: null };
      if (!f.quoted && (f.text === 'NULL' || f.text === 'null')) return { v: null };
      if (!f.quoted && f.text === '' && !isString) return { v: null };
      if (!isString && !/^\s*[+-]?\d+\s*$/.test(f.text)) return { bad: 'b' };
      return { v: f.text };
    };
    const a = cell(0, true);
    const b = cell(1, false);
    const c = cell(2, true);
    const bad = 'bad' in b ? 'b' : 'v' in c && c.v === null ? 'c' : null;
    if (bad !== null) errors.push({ field: bad, line: rec.line, event: k + 1, text: rec.raw });
    else
      rows.push([
        'v' in a ? a.v : null,
        'v' in b && b.v !== null ? Number(b.v) : null,
        'v' in c ? c.v : null,
      ]);
  });
  return { events: recs.length, rows, errors };
}

const ALPHABET = [
  'a',
  'b',
  ' ',
  '1',
  '7',
  '-',
  ',',
  ';',
  '\t',
  '"',
  '"',
  '\n',
  '\n',
  '\r',
  '\r\n',
  'NULL',
  'null',
];

test('random CSV texts parse as the character-at-a-time model reads them (every delimiter, quotes, CR/LF)', () => {
  const rng = new Prng(seed);
  for (let round = 0; round < 2000; round++) {
    let text = '';
    for (let k = rng.int(0, 40); k > 0; k--) text += ALPHABET[rng.int(0, ALPHABET.length - 1)];
    const delim = [',', ';', '\t', 'a'][rng.int(0, 3)] as string;
    const headers = rng.chance(0.2);
    const r = parseCsv(table, csvParserConfig({ delimiter: delim, headers: String(headers) }), text);
    const got = {
      events: r.events,
      rows: r.changes.map((c) => c.row.map((v) => (typeof v === 'bigint' ? Number(v) : v))),
      errors: r.errors.map((e) => ({
        field: e.field,
        line: Number(/^line (\d+):/.exec(e.description)?.[1]),
        event: e.event_number,
        text: e.invalid_text,
      })),
    };
    assert.deepEqual(
      got,
      expected(text, delim, headers),
      `seed ${seed} round ${round}: ${JSON.stringify({ text, delim, headers })}`,
    );
  }
});
