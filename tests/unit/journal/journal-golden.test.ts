/**
 * Golden files pin the journal's on-disk formats (tests/golden/journal/): v2 is what this build writes, byte
 * for byte; v1 (written by older builds) must stay readable. records.json holds the records both files contain.
 * ft-v2/ is a fault-tolerance journal file as controller/ft-journal.ts writes it (real SQL values in a chunk,
 * a step). If a test fails, the format changed: add a new version (`JOURNAL_FORMAT_VERSION`) with its own golden
 * file and keep reading this one; do not edit the files.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { FtJournal, type StepSlice } from '../../../src/controller/ft-journal.ts';
import { SQL_VALUE_CODECS } from '../../../src/sql/values/codecs.ts';
import { SqlArray, SqlMap, SqlRow, VARIANT_NULL, Variant } from '../../../src/sql/values/collections.ts';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import {
  encodeFrame,
  FRAME_MAGIC,
  JOURNAL_FORMAT_VERSION,
  Journal,
  readJournal,
} from '../../../src/storage/journal.ts';
import { encodeSegmentPayload } from '../../../src/storage/segment.ts';

const GOLDEN = resolve(import.meta.dirname, '../../golden/journal');
const records = JSON.parse(readFileSync(join(GOLDEN, 'records.json'), 'utf8')) as unknown[];

test('journal v2 golden: this build writes exactly these bytes and reads them back', () => {
  const golden = readFileSync(join(GOLDEN, 'v2.log'));
  assert.ok(Buffer.concat(records.map(encodeFrame)).equals(golden), 'the v2 frame encoding changed');
  const r = readJournal(join(GOLDEN, 'v2.log'));
  assert.deepEqual(r.records, records);
  assert.equal(r.damage, null);
  assert.equal(r.tornBytes, 0);
});

test('journal v1 golden (older builds) is still read, and appending to it writes v2 after the v1 frames', () => {
  const r = readJournal(join(GOLDEN, 'v1.log'));
  assert.deepEqual(r.records, records);
  assert.equal(r.damage, null);
  const path = join(mkdtempSync(join(tmpdir(), 'holdfast-journal-golden-')), 'j.log');
  copyFileSync(join(GOLDEN, 'v1.log'), path);
  const { journal } = Journal.open(path);
  journal.append({ k: 's', t: 2, s: [] });
  journal.close();
  assert.deepEqual(readJournal(path).records, [...records, { k: 's', t: 2, s: [] }]);
  assert.ok(
    readFileSync(path)
      .subarray(0, readFileSync(join(GOLDEN, 'v1.log')).length)
      .equals(readFileSync(join(GOLDEN, 'v1.log'))),
  );
});

// The fault-tolerance journal as FtJournal writes it (controller/ft-journal.ts): a chunk record whose `d` is
// the checkpoint segment codec of real SQL values, and a step record, in frame format v2. A restart of this
// build must replay it exactly, and this build must still write the same bytes.
const FT_GOLDEN = join(GOLDEN, 'ft-v2');
const FT_FILE = '0000000000000001.log';
const FT_ENDPOINT = 't.api-ingress-json-insert_delete-false';
const FT_CHANGES = [
  { row: [1, 'ünïcødé', null, true], weight: 1 },
  { row: [-2, '', 3.5, false], weight: -1 },
];
const FT_STEP: StepSlice = [FT_ENDPOINT, 2, 305419896];

test(`the golden files are of the frame format this build writes (v${JOURNAL_FORMAT_VERSION})`, () => {
  assert.equal(JOURNAL_FORMAT_VERSION, 2, 'a new format version needs its own golden file, next to these');
  for (const f of ['v2.log', join('ft-v2', FT_FILE)])
    assert.ok(
      readFileSync(join(GOLDEN, f)).subarray(0, 4).equals(FRAME_MAGIC),
      `${f} starts with a v2 frame`,
    );
});

test('fault-tolerance journal golden (ft-v2): a restart replays its chunk and step exactly', () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-ft-golden-'));
  copyFileSync(join(FT_GOLDEN, FT_FILE), join(dir, FT_FILE));
  const { journal, replay } = FtJournal.open(dir, 'exactly_once', 0, []);
  journal.close();
  assert.deepEqual(replay.chunks, [{ endpoint: FT_ENDPOINT, table: 't', changes: FT_CHANGES }]);
  assert.deepEqual(replay.steps, [{ k: 's', t: 1, s: [FT_STEP] }]);
});

test('fault-tolerance journal golden (ft-v2): this build writes exactly these bytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-ft-golden-'));
  const { journal } = FtJournal.open(dir, 'exactly_once', 0, []);
  journal.appendChunk(FT_ENDPOINT, 't', FT_CHANGES);
  journal.appendStep(1, [FT_STEP]);
  journal.close();
  assert.ok(
    readFileSync(join(dir, FT_FILE)).equals(readFileSync(join(FT_GOLDEN, FT_FILE))),
    'the fault-tolerance journal encoding changed',
  );
});

// A chunk holding nested values (ARRAY, MAP, ROW, VARIANT) as FtJournal writes it since format v4 payloads went
// into the journal: `f: 4`, the values inline in their binary form instead of the codecs' JSON text. A restart
// must replay it exactly, this build must write the same bytes, and a chunk of an earlier build (v1 payload, no
// `f`) must still replay. Regenerate (only for a deliberate format change):
//   UPDATE_GOLDEN=1 npx node --test tests/unit/journal/journal-golden.test.ts
const NESTED_GOLDEN = join(GOLDEN, 'ft-nested');
const NESTED_CHANGES = [
  {
    row: [
      1,
      new SqlArray([1, null, -0, new Decimal(150n, 2), 'zoë']),
      SqlMap.of([['k', new SqlRow([2n, null])]]),
      new Variant(SqlMap.of([[new Variant('a'), new Variant(7, 'BIGINT UNSIGNED')]])),
    ],
    weight: 1,
  },
  { row: [2, new SqlArray([]), null, VARIANT_NULL], weight: -1 },
];

function exactChanges(cs: ReadonlyArray<{ row: readonly unknown[]; weight: number }>): string[] {
  return cs.map(
    (c) =>
      `${c.row.map((v) => (v !== null && typeof v === 'object' ? (v as { hashKey(): string }).hashKey() : Object.is(v, -0) ? '-0' : String(v))).join('|')} x${c.weight}`,
  );
}

test('fault-tolerance journal golden (ft-nested): nested values are a v4 payload (f: 4), replayed exactly, same bytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-ft-golden-'));
  const { journal } = FtJournal.open(dir, 'exactly_once', 0, SQL_VALUE_CODECS);
  journal.appendChunk(FT_ENDPOINT, 't', NESTED_CHANGES);
  journal.appendStep(1, [[FT_ENDPOINT, 2, 1]]);
  journal.close();
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(NESTED_GOLDEN, { recursive: true });
    copyFileSync(join(dir, FT_FILE), join(NESTED_GOLDEN, FT_FILE));
  }
  assert.ok(
    readFileSync(join(dir, FT_FILE)).equals(readFileSync(join(NESTED_GOLDEN, FT_FILE))),
    'the fault-tolerance journal encoding of nested values changed',
  );
  const rec = readJournal(join(NESTED_GOLDEN, FT_FILE)).records[0] as { f?: number; d: string };
  assert.equal(rec.f, 4);
  assert.ok(
    !Buffer.from(rec.d, 'base64').toString('latin1').includes('["A"'),
    'no JSON text of nested values',
  );
  const again = mkdtempSync(join(tmpdir(), 'holdfast-ft-golden-'));
  copyFileSync(join(NESTED_GOLDEN, FT_FILE), join(again, FT_FILE));
  const { journal: j2, replay } = FtJournal.open(again, 'exactly_once', 0, SQL_VALUE_CODECS);
  j2.close();
  assert.equal(replay.chunks.length, 1);
  const got = replay.chunks[0]?.changes ?? [];
  assert.deepEqual(exactChanges(got), exactChanges(NESTED_CHANGES));
  const arr = got[0]?.row[1] as SqlArray;
  assert.ok(Object.is(arr.items[2], -0), '-0 inside an array stays -0');
  assert.equal(String(arr.items[3]), '1.50', 'a DECIMAL keeps its scale');
});

test('a journal chunk of nested values written by an earlier build (v1 payload, JSON text, no f) still replays', () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-ft-golden-'));
  const { journal: raw } = Journal.open(join(dir, FT_FILE));
  const d = encodeSegmentPayload(
    { rows: NESTED_CHANGES.map((c) => c.row), weights: NESTED_CHANGES.map((c) => c.weight) },
    SQL_VALUE_CODECS,
  ).toString('base64');
  assert.ok(Buffer.from(d, 'base64').toString('latin1').includes('["A"'), 'the old form: JSON text');
  raw.append({ k: 'c', ep: FT_ENDPOINT, tb: 't', d });
  raw.close();
  const { journal, replay } = FtJournal.open(dir, 'exactly_once', 0, SQL_VALUE_CODECS);
  journal.close();
  assert.deepEqual(exactChanges(replay.chunks[0]?.changes ?? []), exactChanges(NESTED_CHANGES));
});
