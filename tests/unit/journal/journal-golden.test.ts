/**
 * Golden files pin the journal's on-disk formats (tests/golden/journal/): v2 is what this build writes, byte
 * for byte; v1 (written by older builds) must stay readable. records.json holds the records both files contain.
 * ft-v2/ is a fault-tolerance journal file as controller/ft-journal.ts writes it (real SQL values in a chunk,
 * a step). If a test fails, the format changed: add a new version (`JOURNAL_FORMAT_VERSION`) with its own golden
 * file and keep reading this one; do not edit the files.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { FtJournal, type StepSlice } from '../../../src/controller/ft-journal.ts';
import {
  encodeFrame,
  FRAME_MAGIC,
  JOURNAL_FORMAT_VERSION,
  Journal,
  readJournal,
} from '../../../src/storage/journal.ts';

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
