/**
 * NOW() (src/sql/now-clock.ts): planning (a hidden one-row clock table joined into the views that use it, so
 * they are maintained incrementally as the clock moves) and the controller's clock (rounded to the resolution,
 * advanced by steps without input, monotonic, restored from a checkpoint, journaled and replayed under
 * exactly_once).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Controller } from '../../../src/controller/controller.ts';
import { FtJournal } from '../../../src/controller/ft-journal.ts';
import { readPipelineConfig } from '../../../src/server/pipeline-main.ts';
import { clockValue, NOW_TABLE } from '../../../src/sql/now-clock.ts';
import { compileProgram } from '../../../src/sql/program.ts';
import { SQL_VALUE_CODECS } from '../../../src/sql/values/codecs.ts';

const SQL = `CREATE TABLE t (id INT NOT NULL, ts TIMESTAMP NOT NULL);
CREATE MATERIALIZED VIEW recent AS SELECT id FROM t WHERE ts >= NOW() - INTERVAL '1' SECOND;
CREATE MATERIALIZED VIEW stamped AS SELECT id, NOW() AS n FROM t;`;

const S = 1_000_000; // µs

test('NOW() plans as a join with the clock table: views follow the clock incrementally', async () => {
  const p = await compileProgram(SQL);
  assert.equal(p.usesNow, true);
  assert.deepEqual(
    p.tables.map((t) => t.name),
    [NOW_TABLE, 't'],
  );
  const n = p.views.find((v) => v.name === 'stamped')?.columns.find((col) => col.name === 'n');
  assert.deepEqual(n?.type, { kind: 'TIMESTAMP', nullable: false }); // NOT NULL, as Feldera types NOW()
  const c = p.instantiate();
  let out = c.step(
    new Map([
      [NOW_TABLE, { rows: [[10 * S]], weights: [1] }],
      [
        't',
        {
          rows: [
            [1, 9.5 * S],
            [2, 8 * S],
          ],
          weights: [1, 1],
        },
      ],
    ]),
  );
  assert.deepEqual(out.get('recent')?.rows, [[1]]);
  assert.deepEqual(
    out.get('stamped')?.rows.sort(),
    [
      [1, 10 * S],
      [2, 10 * S],
    ].sort(),
  );
  // the clock moves: the aged row is retracted, NOW() in the select list changes
  out = c.step(new Map([[NOW_TABLE, { rows: [[10 * S], [11 * S]], weights: [-1, 1] }]]));
  assert.deepEqual(out.get('recent')?.rows, [[1]]);
  assert.deepEqual(out.get('recent')?.weights, [-1]);
  assert.equal(out.get('stamped')?.rows.length, 4);
  assert.deepEqual((await c.query('SELECT NOW() AS x')).rows, [[11 * S]]);
  // a program without NOW() has no clock table
  const plain = await compileProgram('CREATE TABLE t (x INT); CREATE VIEW v AS SELECT x FROM t;');
  assert.equal(plain.usesNow, false);
  assert.deepEqual(
    plain.tables.map((t) => t.name),
    ['t'],
  );
});

test('clockValue rounds down to the resolution', () => {
  assert.equal(clockValue(1_234.5678, 1000), 1_234_000);
  assert.equal(clockValue(1_234.5678, 1_000_000), 1_000_000);
  assert.equal(clockValue(1_234.5678, 1), 1_234_567);
});

test('the controller sets the clock at the first step, steps without input as it advances, never backwards', async () => {
  const p = await compileProgram(SQL);
  let wall = 100_000; // ms
  const c = new Controller(p, { clockResolutionUsecs: 100_000, wallClock: () => wall });
  try {
    assert.equal(c.clock, 100_000 * 1000);
    const ep = c.inputEndpoint('t.api', 't');
    await c.push(ep, [{ row: [1, 100_000 * 1000], weight: 1 }], 0);
    await c.idle();
    assert.deepEqual((await c.query('SELECT id FROM recent')).rows, [[1]]);
    const steps = c.totals.completed_steps;
    wall += 1_050; // the clock advances by 1.0 s (rounded to 100 ms): a step without input
    await waitFor(() => c.totals.completed_steps > steps);
    assert.equal(c.clock, 101_000 * 1000);
    assert.deepEqual((await c.query('SELECT id FROM recent')).rows, [[1]]); // exactly 1 s old: still in
    wall += 100;
    await waitFor(() => c.clock === 101_100 * 1000);
    assert.deepEqual((await c.query('SELECT id FROM recent')).rows, []);
    wall -= 5_000; // the wall clock jumps back: NOW() does not
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(c.clock, 101_100 * 1000);
  } finally {
    c.terminate();
  }
});

test('exactly_once: each clock move is journaled and replay reproduces it; a restore continues from the checkpoint clock', async () => {
  const p = await compileProgram(SQL);
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-now-'));
  let wall = 50_000;
  const opened = FtJournal.open(join(dir, 'journal'), 'exactly_once', 0, SQL_VALUE_CODECS, {});
  const c = new Controller(p, {
    clockResolutionUsecs: S,
    wallClock: () => wall,
    ft: opened,
  });
  const ep = c.inputEndpoint('t.api', 't');
  await c.push(ep, [{ row: [1, 50 * S], weight: 1 }], 0);
  await c.idle();
  wall = 51_000;
  await waitFor(() => c.clock === 51 * S);
  await c.push(ep, [{ row: [2, 51 * S], weight: 1 }], 0);
  await c.idle();
  wall = 52_500;
  await waitFor(() => c.clock === 52 * S);
  const before = (await c.query('SELECT id FROM recent ORDER BY id')).rows;
  const txn = c.transactionId;
  c.terminate();
  opened.journal.close();
  assert.deepEqual(before, [[2]]);

  // replay long after: the journaled clocks, not the wall clock, drive the replayed steps
  wall = 90_000;
  const again = FtJournal.open(join(dir, 'journal'), 'exactly_once', 0, SQL_VALUE_CODECS, {});
  assert.ok(
    again.replay.steps.some((s) => s.s.length === 0 && s.n === 51 * S),
    JSON.stringify(again.replay.steps),
  );
  const r = new Controller(p, {
    clockResolutionUsecs: S,
    wallClock: () => wall,
    ft: again,
    initialState: 'Paused',
  });
  r.inputEndpoint('t.api', 't');
  // HTTP input is journaled: the replay takes it from the journal's chunks
  await waitFor(() => !r.replaying);
  assert.equal(r.transactionId, txn);
  assert.equal(r.clock, 52 * S);
  assert.deepEqual((await r.query('SELECT id FROM recent ORDER BY id')).rows, before);
  r.terminate();

  // a restore from a snapshot continues from its clock (and moves on from there)
  const c2 = new Controller(p, { clockResolutionUsecs: S, wallClock: () => 10_000, initialState: 'Paused' });
  const snap = c2.circuit.snapshot();
  const clock2 = c2.clock;
  c2.terminate();
  const restored = new Controller(p, {
    clockResolutionUsecs: S,
    wallClock: () => 5_000,
    restore: { base: snap, processedRecords: 0 },
  });
  assert.equal(restored.clock, clock2);
  restored.terminate();
});

async function waitFor(f: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a pipeline config file with a clock_resolution_usecs that is not a positive integer is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-now-cfg-'));
  const file = join(dir, 'config.json');
  for (const bad of [0, 2.5, 'x']) {
    writeFileSync(file, JSON.stringify({ program_code: '', clock_resolution_usecs: bad }));
    assert.throws(
      () => readPipelineConfig(file),
      (e: Error & { errorCode?: string }) =>
        e.errorCode === 'InvalidArguments' && /clock_resolution_usecs/.test(e.message),
    );
  }
  writeFileSync(file, JSON.stringify({ program_code: '', clock_resolution_usecs: 1000 }));
  assert.equal(readPipelineConfig(file).clock_resolution_usecs, 1000);
});
