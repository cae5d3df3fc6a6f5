/**
 * Nested values (ARRAY, MAP, ROW, VARIANT) through checkpoints: a seeded random stream of inserts and deletes
 * into a table of nested columns feeds views that keep nested values in operator state (GROUP BY an array,
 * DISTINCT maps, ARRAY_AGG, a join on array keys); the circuit is checkpointed to a real store after every
 * step (full or delta, with the SQL layer's codecs), "crashes" at a random step, is restored into a fresh
 * instance and continues: every later output and the final state must equal an uninterrupted run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProgram, rowFromJson, type SqlCircuit } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import { SQL_VALUE_CODECS } from '../../../src/sql/values/codecs.ts';
import { CheckpointStore } from '../../../src/storage/checkpoint-store.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { encodeRow, type Row } from '../../../src/zset/value.ts';
import { mulberry32, randInt } from '../operators/support.ts';
import { CapturingLogger, withTempDir } from '../storage/support.ts';

const SQL = `
  CREATE TYPE pt AS (x INT NOT NULL, tag VARCHAR);
  CREATE TABLE t (id INT, a INT ARRAY, m MAP<VARCHAR, INT ARRAY>, p pt, j VARIANT, d DECIMAL(6, 2) ARRAY);
  CREATE TABLE u (a INT ARRAY, label VARCHAR);
  CREATE MATERIALIZED VIEW by_array AS SELECT a, COUNT(*) AS n, ARRAY_AGG(p) AS ps FROM t GROUP BY a;
  CREATE MATERIALIZED VIEW maps AS SELECT DISTINCT m, j FROM t;
  CREATE MATERIALIZED VIEW joined AS SELECT t.id, u.label, t.d FROM t JOIN u ON t.a = u.a;
  CREATE MATERIALIZED VIEW un AS SELECT id, e, i FROM t, UNNEST(a) WITH ORDINALITY AS u(e, i);
  CREATE MATERIALIZED VIEW agg AS SELECT ARRAY_AGG(id ORDER BY id DESC) AS ids, ARRAY_AGG(DISTINCT p) AS pts FROM t;`;

const STEPS = 10;

function norm(b: Batch): Array<[string, number]> {
  const m = new Map<string, number>();
  b.rows.forEach((r, i) => {
    const k = encodeRow(r as Row);
    m.set(k, (m.get(k) ?? 0) + (b.weights[i] as number));
  });
  return [...m].filter(([, w]) => w !== 0).sort((x, y) => (x[0] < y[0] ? -1 : 1));
}
const outputsOf = (m: Map<string, Batch>) => Object.fromEntries([...m].map(([k, b]) => [k, norm(b)]));
const stateOf = (c: SqlCircuit) =>
  Object.entries(c.snapshot().operators).map(([k, st]) => [
    k,
    Object.entries(st).map(([n, b]) => [n, norm(b)]),
  ]);

test('nested values: checkpoint → crash → restore → continue equals an uninterrupted run', async () => {
  const seed = Number(process.env.TEST_SEED ?? 0x5e93);
  console.log(`nested-checkpoint seed ${seed} (rerun with TEST_SEED=${seed})`);
  const rnd = mulberry32(seed);
  const program = await compileProgram(SQL);
  const t = program.table('t') as TableSchema;
  const u = program.table('u') as TableSchema;
  const arrays = [[1, 2], [2, 1], [null, 3], [], [7]];
  const live: Row[] = [];
  const inputs = Array.from({ length: STEPS }, (_, s) => {
    const rows: Row[] = [];
    const weights: number[] = [];
    for (let i = 0; i < randInt(rnd, 1, 4); i++) {
      if (live.length > 0 && rnd() < 0.3) {
        const [gone] = live.splice(randInt(rnd, 0, live.length - 1), 1);
        rows.push(gone as Row);
        weights.push(-1);
        continue;
      }
      const a = arrays[randInt(rnd, 0, arrays.length - 1)];
      const row = rowFromJson(t, {
        id: s * 10 + i,
        a,
        m: rnd() < 0.5 ? { k: a, z: null } : { q: [s] },
        p: { x: randInt(rnd, 0, 3), tag: rnd() < 0.5 ? null : `t${randInt(rnd, 0, 2)}` },
        j: { s, nested: [1.5, { deep: a }] },
        d: [randInt(rnd, 0, 9) / 4, null],
      });
      live.push(row);
      rows.push(row);
      weights.push(1);
    }
    const step = new Map([['t', { rows, weights }]]);
    if (s === 0)
      step.set('u', {
        rows: arrays.map((a, i) => rowFromJson(u, { a, label: `L${i}` })),
        weights: arrays.map(() => 1),
      });
    return step as Map<string, Batch>;
  });
  const a = program.instantiate();
  const expected = inputs.map((x) => outputsOf(a.step(x)));
  const crashAt = randInt(rnd, 1, STEPS - 1);
  await withTempDir(async (dir) => {
    const codecs = [...SQL_VALUE_CODECS];
    const store = new CheckpointStore(dir, { codecs, logger: new CapturingLogger(), maxChain: 3 });
    const b = program.instantiate();
    b.trackChanges(true);
    for (let s = 0; s < crashAt; s++) {
      assert.deepEqual(outputsOf(b.step(inputs[s] as Map<string, Batch>)), expected[s]);
      const meta = { fingerprint: 'fp', processed_records: s + 1, inputs: { all: { step: s + 1 } } };
      if (await store.needsCompaction()) await store.write(b.snapshot(), meta);
      else await store.write(b.takeDelta(), meta, { delta: true });
    }
    const read = await new CheckpointStore(dir, { codecs, logger: new CapturingLogger() }).readLatest();
    assert.ok(read !== null);
    const c = program.instantiate();
    c.restore(read.snapshot, read.deltas);
    assert.equal(read.manifest.steps, crashAt);
    for (let s = crashAt; s < STEPS; s++)
      assert.deepEqual(outputsOf(c.step(inputs[s] as Map<string, Batch>)), expected[s], `step ${s + 1}`);
    assert.deepEqual(stateOf(c), stateOf(a));
  });
});
