/**
 * Ordered state (top-k, OVER windows, ASOF join: `operators/sorted-multiset.ts`, `asof-join.ts`) through real
 * checkpoints: a seeded stream of inserts and deletes feeds views planned onto those operators; the circuit runs
 * with tiny trace heads (so seals and merges happen between checkpoints), is checkpointed to a real store after
 * every step (full or delta), "crashes" at a random step, is restored into a fresh instance and continues: every
 * later output and the final state must equal an uninterrupted run. The full checkpoints must hold the ordered
 * operators' state as trace segments (format v2), several per state once the traces have sealed more than once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProgram, rowFromJson, type SqlCircuit } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import { SQL_VALUE_CODECS } from '../../../src/sql/values/codecs.ts';
import { CheckpointStore } from '../../../src/storage/checkpoint-store.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { setTraceHeadMin, TraceParts } from '../../../src/zset/trace.ts';
import { encodeRow, type Row } from '../../../src/zset/value.ts';
import { mulberry32, randInt } from '../operators/support.ts';
import { CapturingLogger, withTempDir } from '../storage/support.ts';

const SQL = `
  CREATE TABLE t (id INT NOT NULL, g VARCHAR, ts TIMESTAMP NOT NULL, x INT);
  CREATE TABLE q (id INT NOT NULL, g VARCHAR, ts TIMESTAMP, px DOUBLE);
  CREATE MATERIALIZED VIEW top2 AS SELECT id, g, x FROM (
    SELECT id, g, x, ROW_NUMBER() OVER (PARTITION BY g ORDER BY x DESC, id) AS rn FROM t) s WHERE rn <= 2;
  CREATE MATERIALIZED VIEW lowest AS SELECT id, x FROM t ORDER BY x, id LIMIT 3 OFFSET 1;
  CREATE MATERIALIZED VIEW running AS SELECT id, g,
    SUM(x) OVER (PARTITION BY g ORDER BY ts ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s,
    LAG(x) OVER (PARTITION BY g ORDER BY ts, id) AS prev FROM t;
  CREATE MATERIALIZED VIEW asof AS SELECT t.id, q.id AS qid, q.px
    FROM t LEFT ASOF JOIN q MATCH_CONDITION (t.ts >= q.ts) ON t.g = q.g;`;

const STEPS = 24;

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

test('top-k, OVER and ASOF state: checkpoint → crash → restore → continue equals an uninterrupted run', async () => {
  const seed = Number(process.env.TEST_SEED ?? 0x0de4);
  console.log(`ordered-checkpoint seed ${seed} (rerun with TEST_SEED=${seed})`);
  const rnd = mulberry32(seed);
  const oldHead = setTraceHeadMin(2);
  try {
    const program = await compileProgram(SQL);
    const t = program.table('t') as TableSchema;
    const q = program.table('q') as TableSchema;
    const groups = ['a', 'b', null, 'c'];
    const liveT: Row[] = [];
    const liveQ: Row[] = [];
    const ts = (s: number) =>
      `2024-01-01 00:${String(s).padStart(2, '0')}:${String(randInt(rnd, 0, 59)).padStart(2, '0')}`;
    const inputs = Array.from({ length: STEPS }, (_, s) => {
      const step = new Map<string, Batch>();
      for (const [name, schema, live] of [
        ['t', t, liveT],
        ['q', q, liveQ],
      ] as const) {
        const rows: Row[] = [];
        const weights: number[] = [];
        for (let i = randInt(rnd, 1, 4); i > 0; i--) {
          if (live.length > 0 && rnd() < 0.3) {
            const [gone] = live.splice(randInt(rnd, 0, live.length - 1), 1);
            rows.push(gone as Row);
            weights.push(-1);
            continue;
          }
          const g = groups[randInt(rnd, 0, groups.length - 1)];
          const row =
            name === 't'
              ? rowFromJson(schema, {
                  id: s * 10 + i,
                  g,
                  ts: ts(s),
                  x: rnd() < 0.1 ? null : randInt(rnd, 0, 9),
                })
              : rowFromJson(schema, {
                  id: s * 10 + i,
                  g,
                  ts: rnd() < 0.1 ? null : ts(s),
                  px: randInt(rnd, 0, 99) / 4,
                });
          live.push(row);
          rows.push(row);
          weights.push(1);
        }
        step.set(name, { rows, weights });
      }
      return step;
    });
    const a = program.instantiate();
    const expected = inputs.map((x) => outputsOf(a.step(x)));
    const crashAt = randInt(rnd, STEPS / 2, STEPS - 2);
    await withTempDir(async (dir) => {
      const codecs = [...SQL_VALUE_CODECS];
      const store = new CheckpointStore(dir, { codecs, logger: new CapturingLogger(), maxChain: 3 });
      const b = program.instantiate();
      b.trackChanges(true);
      let traceStates = 0;
      for (let s = 0; s < crashAt; s++) {
        assert.deepEqual(outputsOf(b.step(inputs[s] as Map<string, Batch>)), expected[s]);
        const meta = { fingerprint: 'fp', processed_records: s + 1, inputs: { all: { step: s + 1 } } };
        if (await store.needsCompaction()) {
          const snap = b.snapshot();
          for (const st of Object.values(snap.operators))
            for (const part of Object.values(st))
              if (part instanceof TraceParts && part.parts.length > 1) traceStates++;
          await store.write(snap, meta);
        } else await store.write(b.takeDelta(), meta, { delta: true });
      }
      assert.ok(traceStates > 0, 'full checkpoints hold states of several trace batches');
      const read = await new CheckpointStore(dir, { codecs, logger: new CapturingLogger() }).readLatest();
      assert.ok(read !== null);
      const c = program.instantiate();
      c.restore(read.snapshot, read.deltas);
      assert.equal(read.manifest.steps, crashAt);
      for (let s = crashAt; s < STEPS; s++)
        assert.deepEqual(outputsOf(c.step(inputs[s] as Map<string, Batch>)), expected[s], `step ${s + 1}`);
      assert.deepEqual(stateOf(c), stateOf(a));
    });
  } finally {
    setTraceHeadMin(oldHead);
  }
});

test('a checkpoint written before the traces (plain input rows, v1 segments) restores and continues alike', async () => {
  const program = await compileProgram(SQL);
  const t = program.table('t') as TableSchema;
  const q = program.table('q') as TableSchema;
  const tRow = (id: number, g: string | null, s: number, x: number | null) =>
    rowFromJson(t, { id, g, ts: `2024-01-01 00:00:${String(s).padStart(2, '0')}`, x });
  const qRow = (id: number, g: string | null, s: number | null, px: number) =>
    rowFromJson(q, { id, g, ts: s === null ? null : `2024-01-01 00:00:${String(s).padStart(2, '0')}`, px });
  const steps: Array<Map<string, Batch>> = [
    new Map([
      [
        't',
        {
          rows: [tRow(1, 'a', 5, 3), tRow(2, 'a', 7, 9), tRow(3, 'b', 1, null), tRow(4, null, 2, 4)],
          weights: [1, 1, 1, 1],
        },
      ],
      [
        'q',
        {
          rows: [qRow(1, 'a', 4, 1.5), qRow(2, 'a', 6, 2.5), qRow(3, 'b', null, 9), qRow(4, 'b', 0, 7)],
          weights: [1, 1, 1, 1],
        },
      ],
    ]),
    new Map([
      ['t', { rows: [tRow(2, 'a', 7, 9), tRow(5, 'b', 3, 8)], weights: [-1, 1] }],
      ['q', { rows: [qRow(2, 'a', 6, 2.5), qRow(5, 'a', 6, 3.5)], weights: [-1, 1] }],
    ]),
    new Map([
      ['t', { rows: [tRow(6, 'a', 8, 1), tRow(1, 'a', 5, 3)], weights: [1, -1] }],
      ['q', { rows: [qRow(6, 'b', 2, 4)], weights: [1] }],
    ]),
  ];
  const a = program.instantiate();
  for (const s of steps.slice(0, 2)) a.step(s);
  // the state as checkpoints wrote it before the traces: plain batches of input rows (the ASOF join's under its old names)
  const snap = a.snapshot();
  const old: Record<string, Record<string, Batch>> = {};
  let converted = 0;
  for (const [k, st] of Object.entries(snap.operators)) {
    old[k] = {};
    for (const [name, b] of Object.entries(st)) {
      const ordered = /:(top-k|window-agg|asof-join)$/.test(k);
      if (ordered) converted++;
      // the ASOF join's states were "left" / "right", input rows; now "leftByKey" / "rightByKey", [key, ts, row..]
      const strip = k.endsWith(':asof-join');
      (old[k] as Record<string, Batch>)[strip ? name.replace('ByKey', '') : name] = ordered
        ? {
            rows: b.rows.map((r) => (strip ? (r as Row).slice(2) : [...(r as Row)])),
            weights: [...b.weights],
          }
        : b;
    }
  }
  assert.ok(converted >= 5, `ordered states converted: ${converted}`);
  await withTempDir(async (dir) => {
    const codecs = [...SQL_VALUE_CODECS];
    const meta = { fingerprint: 'fp', processed_records: 2, inputs: { all: { step: 2 } } };
    await new CheckpointStore(dir, { codecs, logger: new CapturingLogger() }).write(
      { steps: 2, operators: old },
      meta,
    );
    const read = await new CheckpointStore(dir, { codecs, logger: new CapturingLogger() }).readLatest();
    assert.ok(read !== null);
    for (const [k, st] of Object.entries(read.snapshot.operators))
      if (/:(top-k|window-agg|asof-join)$/.test(k))
        for (const b of Object.values(st))
          assert.ok(!(b instanceof TraceParts), `${k} read back as plain rows`);
    const c = program.instantiate();
    c.restore(read.snapshot, read.deltas);
    assert.deepEqual(stateOf(c), stateOf(a));
    const s = steps[2] as Map<string, Batch>;
    assert.deepEqual(outputsOf(c.step(s)), outputsOf(a.step(s)));
    assert.deepEqual(stateOf(c), stateOf(a));
  });
});
