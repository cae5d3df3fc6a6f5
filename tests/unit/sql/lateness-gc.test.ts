/**
 * Bounded state under LATENESS through whole plans: Nexmark q5 (aggregates over HOP windows joined on the
 * window), q7 (a bid joined with its window's maximum under a time range) and q8 (two TUMBLE aggregates joined on
 * the window), a top-k and an OVER aggregate per window keep a flat amount of state over a long in-order stream, their output equals the same program
 * without LATENESS, and a circuit restored from a checkpoint taken after discards continues exactly like the
 * uninterrupted one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NEXMARK_QUERIES, nexmarkTables } from '../../../bench/nexmark/queries.ts';
import { compileNexmark, nexmarkRows } from '../../../src/connectors/transports/nexmark.ts';
import { NexmarkGenerator } from '../../../src/connectors/transports/nexmark-gen.ts';
import { compileProgram, type SqlCircuit } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { encodeRow, type Row } from '../../../src/zset/value.ts';

const TABLES = ['person', 'auction', 'bid'] as const;
const EVENTS = 30_000;
const STEP = 1_000;
/** 300 events per second of event time: 30k events span 100 s, ten 10 s windows. */
const RATE = 300;

/** Beyond Nexmark: a top-k and a window aggregate (OVER) partitioned by the 10 s window. */
const EXTRA = [
  {
    name: 'top bids per window',
    view: 'topbid',
    sql: `CREATE VIEW topbid AS SELECT auction, price, window_start FROM (
  SELECT auction, price, window_start,
    ROW_NUMBER() OVER (PARTITION BY window_start ORDER BY price DESC, auction, bidder) AS rn
  FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(date_time), INTERVAL '10' SECOND))) WHERE rn <= 3;`,
  },
  {
    name: 'previous bid per window',
    view: 'runmax',
    sql: `CREATE VIEW runmax AS SELECT auction, price, window_start,
    LAG(price) OVER (PARTITION BY window_start ORDER BY date_time, auction, bidder, price) AS prev
  FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(date_time), INTERVAL '10' SECOND));`,
  },
];

async function setup(name: string, lateness: boolean) {
  const q = [...NEXMARK_QUERIES, ...EXTRA].find((x) => x.name === name);
  if (q === undefined) throw new Error(name);
  const program = await compileProgram(
    nexmarkTables(lateness ? { lateness: 'INTERVAL 4 SECONDS' } : {}) + q.sql,
  );
  const toRow = Object.fromEntries(
    TABLES.map((t) => [
      t,
      compileNexmark(
        { relation: t, relationKind: 'table', connector: 'n', transport: 'nexmark' },
        { table: t },
        program.table(t) as TableSchema,
      ).toRow,
    ]),
  );
  const gen = new NexmarkGenerator({ seed: 1, firstEventRate: RATE });
  const inputs = (from: number) =>
    new Map<string, Batch>(
      TABLES.map((t) => {
        const rows = nexmarkRows(gen, t, from, from + STEP, toRow[t] as never);
        return [t, { rows, weights: rows.map(() => 1) }];
      }),
    );
  return { program, view: q.view, inputs };
}

function stateRows(c: SqlCircuit): number {
  let n = 0;
  for (const parts of Object.values(c.snapshot().operators))
    for (const b of Object.values(parts)) n += b.rows.length;
  return n;
}

function addTo(acc: Map<string, number>, b: Batch | undefined): void {
  if (b === undefined) return;
  b.rows.forEach((r, i) => {
    const k = encodeRow(r);
    const w = (acc.get(k) ?? 0) + (b.weights[i] as number);
    if (w === 0) acc.delete(k);
    else acc.set(k, w);
  });
}

for (const name of ['q5', 'q7', 'q8', 'top bids per window', 'previous bid per window']) {
  test(`${name} with LATENESS: flat state, the output without LATENESS, restore after discards`, async () => {
    const late = await setup(name, true);
    const plain = await setup(name, false);
    const c = late.program.instantiate();
    const p = plain.program.instantiate();
    const outLate = new Map<string, number>();
    const outPlain = new Map<string, number>();
    const state: number[] = [];
    let restored = null as SqlCircuit | null;
    for (let from = 0, s = 0; from < EVENTS; from += STEP, s++) {
      const ins = late.inputs(from);
      const out = c.step(ins);
      addTo(outLate, out.get(late.view));
      addTo(outPlain, p.step(plain.inputs(from)).get(plain.view));
      if (restored !== null) {
        const again: Map<string, Batch> = restored.step(ins);
        assert.deepEqual(
          [...(again.get(late.view)?.rows ?? [])].map(encodeRow).sort(),
          [...(out.get(late.view)?.rows ?? [])].map(encodeRow).sort(),
          `${name} step ${s}: the restored circuit differs`,
        );
      }
      state.push(stateRows(c));
      if (s === 14) {
        // a checkpoint in the middle, after many discards: a fresh circuit restored from it goes on alike
        restored = late.program.instantiate();
        restored.restore(c.snapshot());
      }
    }
    assert.equal(
      [...c.lateRecords().values()].reduce((a, b) => a + b, 0),
      0,
      'the stream is in order',
    );
    assert.deepEqual(
      [...outLate].sort(),
      [...outPlain].sort(),
      `${name}: output differs from the run without LATENESS`,
    );
    assert.ok(outLate.size > 0, `${name}: some output`);
    const half = Math.max(...state.slice(5, 15));
    const end = Math.max(...state.slice(15));
    const all = stateRows(p);
    console.log(`${name}: state ${state.join(' ')}; without LATENESS ${all}`);
    assert.ok(end <= half * 1.5, `${name}: state grows (${half} in the first half, ${end} in the second)`);
    assert.ok(end < all / 4, `${name}: ${end} rows held, ${all} without LATENESS`);
  });
}

test('a join passes a waterline only on key columns: old rows of the other side keep their groups alive', async () => {
  // ev.ts has LATENESS 0; dim rows arrive late and join old events: the join's ts column is not bounded by
  // ev.ts's waterline, so the count per ts must not discard groups (it would then restart them at 1)
  const sql = (late: string) => `CREATE TABLE ev (id INT NOT NULL, ts TIMESTAMP NOT NULL${late});
CREATE TABLE dim (id INT NOT NULL, name VARCHAR);
CREATE VIEW per_ts AS SELECT ts, COUNT(*) AS n FROM (SELECT ev.ts FROM ev JOIN dim ON ev.id = dim.id) GROUP BY ts;
CREATE VIEW per_ts_distinct AS SELECT DISTINCT ev.ts, dim.name FROM ev JOIN dim ON ev.id = dim.id;`;
  const run = async (late: string) => {
    const c = (await compileProgram(sql(late))).instantiate();
    const acc = new Map<string, number>();
    const sec = (s: number) => Date.UTC(2024, 0, 1, 0, 0, s) * 1000;
    for (let s = 0; s < 20; s++) {
      const ev = { rows: [[s % 3, sec(s)]], weights: [1] };
      // every step a dim row for id s % 3 arrives again: it joins every earlier event of that id
      const dim = { rows: [[s % 3, `n${s % 3}`]], weights: [1] };
      const out = c.step(
        new Map([
          ['ev', ev],
          ['dim', dim],
        ]),
      );
      for (const v of ['per_ts', 'per_ts_distinct']) {
        const b = out.get(v);
        b?.rows.forEach((r, i) => {
          const k = `${v} ${encodeRow(r)}`;
          const w = (acc.get(k) ?? 0) + (b.weights[i] as number);
          if (w === 0) acc.delete(k);
          else acc.set(k, w);
        });
      }
    }
    return [...acc].sort();
  };
  assert.deepEqual(await run(' LATENESS INTERVAL 0 SECONDS'), await run(''));
});

test('a table with a primary key: only LATENESS columns in the key carry a waterline (an update retracts an old row)', async () => {
  // updating id 0 retracts its old row, whose ts is far below the waterline: state grouped by ts must still hold
  // it (Feldera: a table's primary key index is discarded only by a LATENESS column in the key)
  const sql = (
    late: string,
  ) => `CREATE TABLE t (id INT NOT NULL PRIMARY KEY, ts TIMESTAMP NOT NULL${late}, v INT);
CREATE VIEW per_ts AS SELECT ts, COUNT(*) AS n, SUM(v) AS s FROM t GROUP BY ts;
CREATE VIEW d AS SELECT DISTINCT ts, v FROM t;`;
  const run = async (late: string) => {
    const c = (await compileProgram(sql(late))).instantiate();
    const acc = new Map<string, number>();
    const sec = (s: number) => Date.UTC(2024, 0, 1, 0, 0, s) * 1000;
    for (let s = 0; s < 12; s++) {
      // a new row per step; at step 6 id 0 moves to the present (not late): the table retracts its old row,
      // whose ts is 6 s below the waterline
      const rows: Row[] = [[s + 1, sec(s), s]];
      if (s === 0) rows.push([0, sec(0), 100]);
      if (s === 6) rows.push([0, sec(6), 106]);
      const out = c.step(new Map([['t', { rows, weights: rows.map(() => 1) }]]));
      for (const v of ['per_ts', 'd']) {
        const b = out.get(v);
        b?.rows.forEach((r, i) => {
          const k = `${v} ${encodeRow(r)}`;
          const w = (acc.get(k) ?? 0) + (b.weights[i] as number);
          if (w === 0) acc.delete(k);
          else acc.set(k, w);
        });
      }
    }
    return [...acc].sort();
  };
  assert.deepEqual(await run(' LATENESS INTERVAL 1 SECOND'), await run(''));
});

test('nested truncations compile in linear time (the waterline analysis binds only small arguments again)', {
  timeout: 30_000,
}, async () => {
  let e = 'ts';
  let f = 'x';
  for (let i = 0; i < 40; i++) {
    e = `FLOOR(${e} TO DAY)`;
    f = `TIMESTAMP_TRUNC(${f}, HOUR)`;
  }
  const p = await compileProgram(
    `CREATE TABLE t (ts TIMESTAMP, x TIMESTAMP); CREATE VIEW v AS SELECT ${e} AS a, ${f} AS b FROM t;`,
  );
  assert.ok(p.views.some((v) => v.name === 'v'));
});
