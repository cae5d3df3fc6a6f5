/**
 * Feldera's collection aggregates over a query, `MAP(SELECT k, v ...)` and `ARRAY(SELECT ...)`
 * (collection-subqueries.ts, the `$map` aggregate of aggregates.ts): values (the largest value wins a key),
 * incrementally with deletions (a deleted row's entry leaves the map, a key's next largest value takes over),
 * correlated per outer row (no inner rows: an empty collection), queries wrapped as derived tables, errors, and
 * a randomized checkpoint → restore → continue run equal to an uninterrupted one (seed printed).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { compileProgram, rowFromJson, rowToJson, type SqlCircuit } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import { SQL_VALUE_CODECS } from '../../../src/sql/values/codecs.ts';
import { CheckpointStore } from '../../../src/storage/checkpoint-store.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { encodeRow, type Row } from '../../../src/zset/value.ts';
import { mulberry32, randInt } from '../operators/support.ts';
import { CapturingLogger, withTempDir } from '../storage/support.ts';

type Rec = Record<string, unknown>;
const TABLES = 'CREATE TABLE s (g INT, k VARCHAR, v INT); CREATE TABLE t (g INT);';

/** Compiles; `step(sRows, tRows)` (each [record, weight]) applies one step and returns view v's contents. */
async function pipeline(views: string) {
  const p = await compileProgram(TABLES + views);
  const c = p.instantiate();
  const cols = p.views.find((v) => v.name === 'v')?.columns ?? [];
  const batch = (name: string, xs: Array<[Rec, number]>) => ({
    rows: xs.map(([r]) => rowFromJson(p.table(name) as TableSchema, r)),
    weights: xs.map(([, w]) => w),
  });
  return (s: Array<[Rec, number]>, t: Array<[Rec, number]> = []): Rec[] => {
    c.step(
      new Map([
        ['s', batch('s', s)],
        ['t', batch('t', t)],
      ]),
    );
    const b = c.contents('v');
    const out: Rec[] = [];
    b.rows.forEach((r, i) => {
      assert.equal(b.weights[i], 1);
      out.push(rowToJson(cols, r as Row) as Rec);
    });
    return out.sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
  };
}

async function compileError(sql: string): Promise<{ code: string; message: string }> {
  try {
    await compileProgram(sql);
  } catch (e) {
    if (isServiceError(e)) return { code: e.errorCode, message: e.message };
    throw e;
  }
  throw new Error('expected a compile error');
}

test('MAP(SELECT k, v ...): the largest value wins; deletions retract entries; empty query → {}', async () => {
  const step = await pipeline('CREATE MATERIALIZED VIEW v AS SELECT MAP(SELECT k, v FROM s) AS m;');
  assert.deepEqual(step([]), [{ m: {} }]);
  assert.deepEqual(
    step([
      [{ g: 1, k: 'a', v: 1 }, 1],
      [{ g: 1, k: 'a', v: 5 }, 1],
      [{ g: 2, k: 'a', v: 5 }, 1],
      [{ g: 1, k: 'b', v: null }, 1],
      [{ g: 1, k: 'b', v: 2 }, 1],
      [{ g: 1, k: 'c', v: null }, 1],
    ]),
    [{ m: { a: 5, b: 2, c: null } }],
  );
  // one of two rows holding the largest value goes: it still wins
  assert.deepEqual(step([[{ g: 1, k: 'a', v: 5 }, -1]]), [{ m: { a: 5, b: 2, c: null } }]);
  // the other goes: the next largest takes over; b's 2 goes: NULL is what is left
  assert.deepEqual(
    step([
      [{ g: 2, k: 'a', v: 5 }, -1],
      [{ g: 1, k: 'b', v: 2 }, -1],
    ]),
    [{ m: { a: 1, b: null, c: null } }],
  );
  // a key's last row goes: the key leaves the map
  assert.deepEqual(
    step([
      [{ g: 1, k: 'c', v: null }, -1],
      [{ g: 1, k: 'a', v: 1 }, -1],
    ]),
    [{ m: { b: null } }],
  );
  assert.deepEqual(step([[{ g: 1, k: 'b', v: null }, -1]]), [{ m: {} }]);
});

test('correlated MAP and ARRAY subqueries: one collection per outer row, empty when nothing matches', async () => {
  const step = await pipeline(`CREATE MATERIALIZED VIEW v AS SELECT g,
      MAP(SELECT k, v FROM s WHERE s.g = t.g) AS m,
      ARRAY(SELECT v FROM s WHERE s.g = t.g) AS a,
      ARRAY(SELECT k, v * 2 AS w FROM s WHERE t.g = s.g) AS r
    FROM t;`);
  assert.deepEqual(
    step(
      [
        [{ g: 1, k: 'a', v: 3 }, 1],
        [{ g: 1, k: 'b', v: 1 }, 1],
        [{ g: 3, k: 'z', v: 9 }, 1],
      ],
      [
        [{ g: 1 }, 1],
        [{ g: 2 }, 1],
      ],
    ),
    [
      {
        g: 1,
        m: { a: 3, b: 1 },
        a: [1, 3],
        r: [
          { k: 'a', w: 6 },
          { k: 'b', w: 2 },
        ],
      },
      { g: 2, m: {}, a: [], r: [] },
    ],
  );
  assert.deepEqual(
    step([
      [{ g: 1, k: 'a', v: 3 }, -1],
      [{ g: 2, k: 'a', v: 4 }, 1],
    ]),
    [
      { g: 1, m: { b: 1 }, a: [1], r: [{ k: 'b', w: 2 }] },
      { g: 2, m: { a: 4 }, a: [4], r: [{ k: 'a', w: 8 }] },
    ],
  );
});

test('a grouped or DISTINCT query is aggregated as a derived table; ARRAY of a set operation', async () => {
  const step = await pipeline(`CREATE MATERIALIZED VIEW v AS SELECT
      MAP(SELECT k, COUNT(*) FROM s GROUP BY k) AS counts,
      ARRAY(SELECT DISTINCT g FROM s) AS gs,
      ARRAY(SELECT g FROM s UNION SELECT g + 100 FROM t) AS u;`);
  assert.deepEqual(
    step(
      [
        [{ g: 1, k: 'a', v: 1 }, 1],
        [{ g: 1, k: 'a', v: 2 }, 1],
        [{ g: 2, k: 'b', v: 2 }, 1],
      ],
      [[{ g: 1 }, 1]],
    ),
    [{ counts: { a: 2, b: 1 }, gs: [1, 2], u: [1, 2, 101] }],
  );
});

test('errors: MAP needs two columns, written out', async () => {
  let e = await compileError(`${TABLES} CREATE VIEW v AS SELECT MAP(SELECT k FROM s) AS m;`);
  assert.equal(e.code, 'SqlTypeError');
  assert.match(e.message, /MAP\(subquery\) needs a query of two columns \(key, value\); this one has 1/);
  e = await compileError(`${TABLES} CREATE VIEW v AS SELECT ARRAY(SELECT * FROM s) AS m;`);
  assert.equal(e.code, 'SqlTypeError');
  assert.match(e.message, /columns written out/);
});

// ---- checkpoint → restore → continue ------------------------------------------------------------------------

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

test('MAP and ARRAY subqueries: checkpoint → crash → restore → continue equals an uninterrupted run', async () => {
  const seed = Number(process.env.TEST_SEED ?? Date.now() % 2 ** 31);
  console.log(`collection-subqueries seed ${seed} (rerun with TEST_SEED=${seed})`);
  const rnd = mulberry32(seed);
  const program = await compileProgram(`${TABLES}
    CREATE MATERIALIZED VIEW whole AS SELECT MAP(SELECT k, v FROM s) AS m, ARRAY(SELECT v FROM s) AS a;
    CREATE MATERIALIZED VIEW per AS SELECT g, MAP(SELECT k, v FROM s WHERE s.g = t.g) AS m FROM t;`);
  const S = program.table('s') as TableSchema;
  const T = program.table('t') as TableSchema;
  const STEPS = 12;
  const live: Row[] = [];
  const inputs = Array.from({ length: STEPS }, (_, step) => {
    const rows: Row[] = [];
    const weights: number[] = [];
    for (let i = 0; i < randInt(rnd, 1, 5); i++) {
      if (live.length > 0 && rnd() < 0.4) {
        rows.push(live.splice(randInt(rnd, 0, live.length - 1), 1)[0] as Row);
        weights.push(-1);
        continue;
      }
      const row = rowFromJson(S, {
        g: randInt(rnd, 0, 3),
        k: `k${randInt(rnd, 0, 3)}`,
        v: rnd() < 0.2 ? null : randInt(rnd, 0, 9),
      });
      live.push(row);
      rows.push(row);
      weights.push(1);
    }
    const m = new Map<string, Batch>([['s', { rows, weights }]]);
    if (step === 0) {
      const ts = [0, 1, 2, 3].map((g) => rowFromJson(T, { g }));
      m.set('t', { rows: ts, weights: ts.map(() => 1) });
    }
    return m;
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
    for (let s = crashAt; s < STEPS; s++)
      assert.deepEqual(outputsOf(c.step(inputs[s] as Map<string, Batch>)), expected[s], `step ${s + 1}`);
    assert.deepEqual(stateOf(c), stateOf(a));
  });
  // the uninterrupted run's final map is the largest value per key of the rows left
  const whole = a.contents('whole');
  const cols = program.views.find((v) => v.name === 'whole')?.columns ?? [];
  const got = rowToJson(cols, whole.rows[0] as Row) as { m: Record<string, number | null> };
  const want: Record<string, number | null> = {};
  for (const r of live) {
    const k = r[1] as string;
    const v = r[2] as number | null;
    if (!(k in want) || (v !== null && (want[k] === null || v > (want[k] as number)))) want[k] = v;
  }
  assert.deepEqual(got.m, Object.fromEntries(Object.entries(want).sort(([x], [y]) => x.localeCompare(y))));
});
