import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeFrame, Journal, readJournal } from '../../../src/storage/journal.ts';

const fresh = () => join(mkdtempSync(join(tmpdir(), 'holdfast-journal-')), 'journal.log');

test('records round-trip in order and survive reopening', () => {
  const path = fresh();
  const { journal, read } = Journal.open(path);
  assert.equal(read.records.length, 0);
  journal.append({ step: 1, text: 'a,b\n' }, { step: 2, text: 'ünïcødé 🚀' });
  journal.append({ step: 3 });
  journal.close();
  const again = Journal.open<{ step: number }>(path);
  assert.deepEqual(
    again.read.records.map((r) => r.step),
    [1, 2, 3],
  );
  assert.equal(again.read.tornBytes, 0);
  again.journal.close();
});

test('a torn tail (any truncation point) is cut off and never read as a record', () => {
  const path = fresh();
  const { journal } = Journal.open(path);
  journal.append({ step: 1 }, { step: 2 });
  journal.close();
  const full = readFileSync(path);
  const second = encodeFrame({ step: 2 }).length;
  for (let cut = full.length - second + 1; cut < full.length; cut++) {
    writeFileSync(path, full.subarray(0, cut));
    const r = readJournal<{ step: number }>(path);
    assert.deepEqual(
      r.records.map((x) => x.step),
      [1],
      `cut at ${cut}`,
    );
    assert.equal(r.tornBytes, cut - (full.length - second));
  }
  // reopening truncates the torn bytes; appends follow the last valid record
  const { journal: j2, read } = Journal.open<{ step: number }>(path);
  assert.equal(read.records.length, 1);
  assert.equal(statSync(path).size, full.length - second);
  j2.append({ step: 3 });
  j2.close();
  assert.deepEqual(
    readJournal<{ step: number }>(path).records.map((x) => x.step),
    [1, 3],
  );
});

test('a corrupted byte stops reading at that record; garbage length fields are rejected', () => {
  const path = fresh();
  const { journal } = Journal.open(path);
  journal.append({ step: 1 }, { step: 2 }, { step: 3 });
  journal.close();
  const buf = readFileSync(path);
  const first = encodeFrame({ step: 1 }).length;
  buf[first + 10] = (buf[first + 10] as number) ^ 0xff; // inside the 2nd payload
  writeFileSync(path, buf);
  assert.deepEqual(
    readJournal<{ step: number }>(path).records.map((x) => x.step),
    [1],
  );
  const path2 = fresh();
  const huge = Buffer.alloc(8);
  huge.writeUInt32LE(0xfffffff0, 0);
  writeFileSync(path2, huge);
  assert.equal(readJournal(path2).records.length, 0);
});

test('reset empties the journal atomically; appends continue afterwards', () => {
  const path = fresh();
  const { journal } = Journal.open(path);
  journal.append({ step: 1 });
  journal.reset();
  assert.equal(statSync(path).size, 0);
  journal.append({ step: 2 });
  journal.close();
  assert.deepEqual(
    readJournal<{ step: number }>(path).records.map((x) => x.step),
    [2],
  );
  appendFileSync(path, Buffer.from([1, 2, 3]));
  truncateSync(path, statSync(path).size);
  assert.equal(readJournal(path).tornBytes, 3);
});
