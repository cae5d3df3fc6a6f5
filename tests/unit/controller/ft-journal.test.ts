/**
 * The fault-tolerance journal on its own (files, rotation with carried data, truncation that keeps one
 * generation, torn tails, gaps) and inside a Controller: checkpoints cut in the middle of an input chunk
 * resume exactly (the `skip` count), and pushed data survives a checkpoint that is later lost.
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  existsSync,
  fdatasyncSync,
  ftruncateSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CircuitSnapshot } from '../../../src/circuit/circuit.ts';
import type {
  CheckpointEntry,
  CheckpointMeta,
  CheckpointWriter,
} from '../../../src/controller/checkpointer.ts';
import { Controller } from '../../../src/controller/controller.ts';
import { FtJournal } from '../../../src/controller/ft-journal.ts';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { compileProgram } from '../../../src/sql/program.ts';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import { DECIMAL_CODEC } from '../../../src/sql/values/decimal-codec.ts';
import { type JournalIo, readJournal } from '../../../src/storage/journal.ts';

const C = [DECIMAL_CODEC];
const change = (x: number) => ({ row: [x, `v${x}`], weight: 1 });
const dir = () => join(mkdtempSync(join(tmpdir(), 'holdfast-journal-')), 'journal');

test('records survive reopening; values round-trip exactly (bigint, Decimal, -0, null)', () => {
  const d = dir();
  const { journal } = FtJournal.open(d, 'exactly_once', 0, C);
  const rows = [
    { row: [10n ** 20n, Decimal.parse('12.340'), -0, null, 'é'], weight: 2 },
    { row: [1n, Decimal.parse('-0.5'), Number.NaN, true, ''], weight: -1 },
  ];
  journal.appendChunk('t.api', 't', rows);
  journal.appendStep(1, [['t.api', 2, 123]]);
  journal.close();
  const { replay } = FtJournal.open(d, 'exactly_once', 0, C);
  assert.equal(replay.chunks.length, 1);
  const got = replay.chunks[0]?.changes ?? [];
  assert.equal(got[0]?.row[0], 10n ** 20n);
  assert.equal(String(got[0]?.row[1] as Decimal), '12.340');
  assert.ok(Object.is(got[0]?.row[2], -0));
  assert.equal(got[0]?.weight, 2);
  assert.ok(Number.isNaN(got[1]?.row[2]));
  assert.deepEqual(replay.steps, [{ k: 's', t: 1, s: [['t.api', 2, 123]] }]);
  // at_least_once replays pushed data only
  assert.equal(FtJournal.open(d, 'at_least_once', 0, C).replay.steps.length, 0);
});

test('rotation carries unprocessed data; carried copies count only in the first file read', () => {
  const d = dir();
  const { journal } = FtJournal.open(d, 'exactly_once', 0, C);
  journal.appendChunk('t.api', 't', [change(1), change(2), change(3)]);
  journal.appendStep(1, [['t.api', 2, 0]]); // took 1 and 2
  journal.rotate(1, () => journal.appendChunk('t.api', 't', [change(3)], true));
  journal.appendChunk('t.api', 't', [change(4)]);
  journal.appendStep(2, [['t.api', 2, 0]]);
  journal.close();
  // restored at transaction 1 (that checkpoint committed): the new file alone, carry included
  let { replay } = FtJournal.open(d, 'exactly_once', 1, C);
  assert.deepEqual(
    replay.chunks.flatMap((c) => c.changes.map((x) => x.row[0])),
    [3, 4],
  );
  assert.deepEqual(
    replay.steps.map((s) => s.t),
    [2],
  );
  // the checkpoint at 1 was lost: from scratch, both files, the carried copy skipped
  ({ replay } = FtJournal.open(d, 'exactly_once', 0, C));
  assert.deepEqual(
    replay.chunks.flatMap((c) => c.changes.map((x) => x.row[0])),
    [1, 2, 3, 4],
  );
  assert.deepEqual(
    replay.steps.map((s) => s.t),
    [1, 2],
  );
});

test('truncation keeps one generation more than needed; gaps, damaged middles and step gaps are ReplayFailure', () => {
  const d = dir();
  const { journal } = FtJournal.open(d, 'exactly_once', 0, C);
  journal.appendStep(1, [['a', 1, 0]]);
  journal.rotate(1, () => {});
  journal.committed(1); // nothing older than the checkpoint before it
  assert.equal(readdirSync(d).length, 2);
  journal.appendStep(2, [['a', 1, 0]]);
  journal.rotate(2, () => {});
  journal.committed(2); // drops the file only the first checkpoint's predecessor needed
  assert.deepEqual(readdirSync(d).sort(), ['0000000000000002.log', '0000000000000003.log']);
  journal.appendStep(3, [['a', 1, 0]]);
  journal.close();
  assert.deepEqual(
    FtJournal.open(d, 'exactly_once', 1, C).replay.steps.map((s) => s.t),
    [2, 3],
  );
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return isServiceError(e) ? e.errorCode : String(e);
    }
    return 'no error';
  };
  // damage inside a file that later files depend on
  appendFileSync(join(d, '0000000000000002.log'), Buffer.from([9, 9, 9]));
  assert.equal(
    code(() => FtJournal.open(d, 'exactly_once', 1, C)),
    'ReplayFailure',
  );
  // the first file the checkpoint needs is gone
  rmSync(join(d, '0000000000000002.log'));
  assert.equal(
    code(() => FtJournal.open(d, 'exactly_once', 1, C)),
    'ReplayFailure',
  );
  // a step number skipped inside a file
  const e = dir();
  const j2 = FtJournal.open(e, 'exactly_once', 0, C).journal;
  j2.appendStep(1, []);
  j2.appendStep(3, []);
  j2.close();
  assert.equal(
    code(() => FtJournal.open(e, 'exactly_once', 0, C)),
    'ReplayFailure',
  );
  // a torn tail on the last file is cut off, with a log line
  const f = dir();
  const j3 = FtJournal.open(f, 'exactly_once', 0, C).journal;
  j3.appendStep(1, []);
  j3.close();
  appendFileSync(join(f, '0000000000000001.log'), Buffer.from([50, 0, 0, 0, 1]));
  const logs: string[] = [];
  const r = FtJournal.open(f, 'exactly_once', 0, C, { log: (m) => logs.push(m) });
  assert.equal(r.replay.steps.length, 1);
  assert.match(logs.join('\n'), /torn tail of 5 bytes/);
  // discard (the program changed): everything goes
  r.journal.close();
  assert.equal(FtJournal.open(f, 'exactly_once', 0, C, { discard: true }).replay.steps.length, 0);
  assert.ok(existsSync(f));
});

class MemoryWriter implements CheckpointWriter {
  last: { snap: CircuitSnapshot; meta: CheckpointMeta } | null = null;
  async write(snap: CircuitSnapshot, meta: CheckpointMeta) {
    this.last = { snap, meta };
    const entry: CheckpointEntry = {
      uuid: 'x',
      identifier: null,
      fingerprint: meta.fingerprint,
      size: 1,
      steps: meta.steps,
      processed_records: meta.processed_records,
    };
    return { entry, bytes: 1 };
  }
  needsFull() {
    return true;
  }
  list() {
    return [];
  }
}

test('a checkpoint cut inside an input chunk resumes exactly: the re-read records it holds are skipped', async () => {
  const program = await compileProgram(
    'CREATE TABLE t (x INT NOT NULL, s VARCHAR); CREATE MATERIALIZED VIEW v AS SELECT COUNT(*) AS n, SUM(x) AS sx FROM t;',
  );
  const a = new Controller(program, { maxStepRecords: 4 });
  const w = new MemoryWriter();
  a.enableCheckpoints(w, { intervalSecs: null, fingerprint: 'f' });
  const ep = a.inputEndpoint('t.file', 't', { replayable: true });
  a.pause();
  await a.push(ep, [1, 2, 3].map(change), 0, { position: { offset: 3 }, force: true } as never);
  await a.push(ep, [4, 5, 6].map(change), 0, { position: { offset: 6 }, force: true } as never);
  a.resume();
  // the first step takes 4 of the 6 records (chunk 1 whole, 1 record of chunk 2)
  await new Promise((r) => setImmediate(r));
  a.pause();
  a.checkpoint();
  await a.checkpointer?.flush();
  const meta = w.last?.meta as CheckpointMeta;
  assert.deepEqual(meta.inputs, { 't.file': { position: { offset: 3 }, skip: 1 } });
  // restore: the connector re-reads from offset 3 (records 4, 5, 6); record 4 is dropped
  const b = new Controller(program, {
    restore: {
      base: w.last?.snap as CircuitSnapshot,
      deltas: [],
      processedRecords: meta.processed_records,
      inputs: { 't.file': { offset: 3 } },
      skips: { 't.file': 1 },
    },
  });
  const ep2 = b.inputEndpoint('t.file', 't', { replayable: true });
  await b.push(ep2, [4, 5, 6].map(change), 0, { position: { offset: 6 } });
  await b.idle();
  assert.deepEqual(b.circuit.contents('v').rows, [[6n, 21]]); // 1..6 once each
});

test('a journal append that fails (disk full) rejects the push, leaves no partial record; the pipeline keeps running and later pushes work', async () => {
  const program = await compileProgram(
    'CREATE TABLE t (x INT NOT NULL, s VARCHAR); CREATE MATERIALIZED VIEW v AS SELECT COUNT(*) AS n, SUM(x) AS sx FROM t;',
  );
  const d = dir();
  let full = false;
  const io: JournalIo = {
    write: (fd, buf, off, len, pos) => {
      if (full) {
        writeSync(fd, buf, off, Math.min(len, 7), pos); // part of the frame lands, then ENOSPC
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
      return writeSync(fd, buf, off, len, pos);
    },
    fdatasync: (fd) => fdatasyncSync(fd),
    truncate: (fd, length) => ftruncateSync(fd, length),
  };
  const ft = FtJournal.open(d, 'exactly_once', 0, C, { io });
  const a = new Controller(program, { ft });
  const ep = a.inputEndpoint('t.api', 't', { replayable: false });
  await a.push(ep, [1, 2].map(change), 0);
  await a.idle();
  full = true;
  await assert.rejects(a.push(ep, [3].map(change), 0), (e: unknown) => {
    assert.ok(isServiceError(e, 'StorageFull'), String(e));
    assert.equal(e.httpStatus, 507);
    assert.equal(e.details.endpoint, 't.api');
    return true;
  });
  assert.equal(a.state, 'Running');
  const file = join(d, '0000000000000001.log');
  const after = readJournal(file);
  assert.equal(after.tornBytes, 0, 'no partial frame');
  assert.equal(after.damage, null);
  full = false;
  await a.push(ep, [4].map(change), 0);
  await a.idle();
  assert.deepEqual(a.circuit.contents('v').rows, [[3n, 7]]); // 1 + 2 + 4: the rejected 3 is not in
  ft.journal.close();
  // a restart replays exactly the accepted data
  const { replay } = FtJournal.open(d, 'exactly_once', 0, C);
  assert.deepEqual(
    replay.chunks.flatMap((c) => c.changes.map((x) => x.row[0])),
    [1, 2, 4],
  );
});
