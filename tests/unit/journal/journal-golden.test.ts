/**
 * Golden files pin the journal's on-disk formats (tests/golden/journal/): v2 is what this build writes, byte
 * for byte; v1 (written by older builds) must stay readable. records.json holds the records both files contain.
 * If the v2 test fails, the format changed: add a new version and keep reading this one, do not edit the file.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { encodeFrame, Journal, readJournal } from '../../../src/storage/journal.ts';

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
