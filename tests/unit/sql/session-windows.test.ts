/**
 * TABLE(SESSION(...)) (src/sql/windows.ts, src/operators/session-window.ts), as Feldera's docs define it: rows
 * per key whose times are less than the gap apart form a session; window_start is its first row's time,
 * window_end its last row's time plus the gap. Checked on the docs' example, with named arguments and without a
 * key, and over random inserts and deletes (which merge and split sessions) against an independent computation,
 * with a restore from a checkpoint in the middle.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProgram, rowFromJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Row } from '../../../src/zset/value.ts';
import type { Rec } from './pg-stream.ts';
import { contents } from './pg-stream.ts';

const TABLE = 'CREATE TABLE orders (id INT NOT NULL, product VARCHAR, rowtime TIMESTAMP);';

async function run(view: string, rows: Rec[]): Promise<Rec[]> {
  const p = await compileProgram(`${TABLE} CREATE MATERIALIZED VIEW v AS ${view};`);
  const c = p.instantiate();
  const t = p.table('orders') as TableSchema;
  c.step(new Map([['orders', { rows: rows.map((r) => rowFromJson(t, r)), weights: rows.map(() => 1) }]]));
  return contents(p.views.find((x) => x.name === 'v')?.columns ?? [], c.contents('v'));
}

const at = (hm: string) => `2024-01-01 ${hm}:00`;

test("SESSION: the docs' example (10-minute gap), a key, named arguments, NULL times", async () => {
  const times = ['10:00', '10:04', '10:13', '10:20', '10:32', '10:36', '10:40', '10:51'];
  const rows: Rec[] = times.map((t, i) => ({ id: i, product: 'a', rowtime: at(t) }));
  rows.push(
    { id: 100, product: 'b', rowtime: at('10:05') },
    { id: 101, product: null, rowtime: at('10:06') },
  );
  rows.push({ id: 102, product: 'a', rowtime: null });
  const byKey = await run(
    `SELECT id, window_start, window_end FROM TABLE(SESSION(TABLE orders, DESCRIPTOR(rowtime), DESCRIPTOR(product), INTERVAL '10' MINUTE))`,
    rows,
  );
  const want = (ids: number[], s: string, e: string) =>
    ids.map((id) => ({ id, window_start: at(s), window_end: at(e) }));
  assert.deepEqual(
    byKey.sort((x, y) => (x.id as number) - (y.id as number)),
    [
      ...want([0, 1, 2, 3], '10:00', '10:30'),
      ...want([4, 5, 6], '10:32', '10:50'),
      ...want([7], '10:51', '11:01'),
      ...want([100], '10:05', '10:15'), // its own key
      ...want([101], '10:06', '10:16'), // a NULL key is a key like any other
    ],
  );
  // without a key, all rows are one timeline: b's 10:05 and the NULL key's 10:06 join the first session
  const named = await run(
    `SELECT id, window_start, window_end FROM TABLE(SESSION(DATA => TABLE orders, TIMECOL => DESCRIPTOR(rowtime), SIZE => INTERVAL '10' MINUTE))`,
    rows,
  );
  assert.deepEqual(
    named.sort((x, y) => (x.id as number) - (y.id as number)),
    [
      ...want([0, 1, 2, 3], '10:00', '10:30'),
      ...want([4, 5, 6], '10:32', '10:50'),
      ...want([7], '10:51', '11:01'),
      ...want([100, 101], '10:00', '10:30'),
    ],
  );
  await assert.rejects(
    run(`SELECT * FROM TABLE(SESSION(TABLE orders, DESCRIPTOR(nope), INTERVAL '1' MINUTE))`, []),
    /column "nope" does not exist/,
  );
});

/** Independent sessions: per key, sort by time, split where the gap is ≥ size. */
function sessions(rows: readonly { id: number; k: string | null; t: number }[], gap: number): string[] {
  const keys = new Map<string | null, { id: number; t: number }[]>();
  for (const r of rows) keys.set(r.k, [...(keys.get(r.k) ?? []), r]);
  const out: string[] = [];
  for (const list of keys.values()) {
    list.sort((a, b) => a.t - b.t || a.id - b.id);
    let i = 0;
    while (i < list.length) {
      let j = i + 1;
      while (j < list.length && (list[j] as { t: number }).t - (list[j - 1] as { t: number }).t < gap) j++;
      for (let x = i; x < j; x++)
        out.push(
          `${(list[x] as { id: number }).id}:${(list[i] as { t: number }).t}:${(list[j - 1] as { t: number }).t + gap}`,
        );
      i = j;
    }
  }
  return out.sort();
}

test('SESSION over random inserts and deletes equals an independent computation, also after a restore', async () => {
  const seed = Number(process.env.SEED ?? Date.now() % 100_000);
  console.log(`session windows seed ${seed}`);
  let x = seed >>> 0;
  const rnd = () => {
    x = (x * 1103515245 + 12345) >>> 0;
    return x / 4294967296;
  };
  const p = await compileProgram(
    `CREATE TABLE e (id INT NOT NULL, k VARCHAR, t TIMESTAMP NOT NULL);
     CREATE VIEW v AS SELECT id, window_start, window_end
       FROM TABLE(SESSION(TABLE e, DESCRIPTOR(t), DESCRIPTOR(k), INTERVAL '5' SECOND));`,
  );
  let c = p.instantiate();
  const SEC = 1_000_000;
  const live: { id: number; k: string | null; t: number }[] = [];
  const out = new Map<string, number>();
  let next = 0;
  for (let s = 0; s < 60; s++) {
    const rows: Row[] = [];
    const weights: number[] = [];
    for (let n = 0; n < 4; n++) {
      if (live.length > 0 && rnd() < 0.3) {
        const r = live.splice(Math.floor(rnd() * live.length), 1)[0] as {
          id: number;
          k: string | null;
          t: number;
        };
        rows.push([r.id, r.k, r.t]);
        weights.push(-1);
      } else {
        const r = {
          id: next++,
          k: ['a', 'b', null][Math.floor(rnd() * 3)] as string | null,
          t: Math.floor(rnd() * 120) * SEC,
        };
        live.push(r);
        rows.push([r.id, r.k, r.t]);
        weights.push(1);
      }
    }
    const o = c.step(new Map([['e', { rows, weights }]])).get('v');
    o?.rows.forEach((r, i) => {
      const key = `${r[0]}:${r[1]}:${r[2]}`;
      const w = (out.get(key) ?? 0) + (o.weights[i] as number);
      if (w === 0) out.delete(key);
      else out.set(key, w);
    });
    const got = [...out].flatMap(([k, w]) => Array.from({ length: w }, () => k)).sort();
    assert.deepEqual(got, sessions(live, 5 * SEC), `seed ${seed} step ${s}`);
    if (s === 30) {
      const snap = c.snapshot();
      c = p.instantiate();
      c.restore(snap);
    }
  }
});

test('SESSION under LATENESS: closed sessions leave the state, the output equals the run without LATENESS, restore agrees', async () => {
  const seed = Number(process.env.SEED ?? Date.now() % 100_000);
  console.log(`session windows lateness seed ${seed}`);
  let x = seed >>> 0;
  const rnd = () => {
    x = (x * 1103515245 + 12345) >>> 0;
    return x / 4294967296;
  };
  const SEC = 1_000_000;
  const sql = (late: string) => `CREATE TABLE e (id INT NOT NULL, k VARCHAR, t TIMESTAMP NOT NULL${late});
     CREATE VIEW v AS SELECT id, k, window_start, window_end
       FROM TABLE(SESSION(TABLE e, DESCRIPTOR(t), DESCRIPTOR(k), INTERVAL '3' SECOND));`;
  const pl = await compileProgram(sql(' LATENESS INTERVAL 4 SECONDS'));
  const pn = await compileProgram(sql(''));
  let cl = pl.instantiate();
  const cn = pn.instantiate();
  const outL = new Map<string, number>();
  const outN = new Map<string, number>();
  const add = (acc: Map<string, number>, b: { rows: Row[]; weights: number[] } | undefined) =>
    b?.rows.forEach((r, i) => {
      const key = JSON.stringify(r);
      const w = (acc.get(key) ?? 0) + (b.weights[i] as number);
      if (w === 0) acc.delete(key);
      else acc.set(key, w);
    });
  const live: Row[] = [];
  let next = 0;
  const state: number[] = [];
  for (let s = 0; s < 200; s++) {
    // time moves 1 s per step; rows come up to 4 s late (never beyond the lateness); some are deleted
    const now = s;
    const rows: Row[] = [];
    const weights: number[] = [];
    for (let n = 0; n < 2; n++) {
      const fresh = live.filter((r) => (r[2] as number) >= (now - 4) * SEC);
      if (fresh.length > 0 && rnd() < 0.2) {
        const r = fresh[Math.floor(rnd() * fresh.length)] as Row;
        live.splice(live.indexOf(r), 1);
        rows.push(r);
        weights.push(-1);
      } else if (rnd() < 0.5) {
        const r: Row = [
          next++,
          ['a', 'b'][Math.floor(rnd() * 2)] as string,
          Math.max(0, now - Math.floor(rnd() * 4)) * SEC,
        ];
        live.push(r);
        rows.push(r);
        weights.push(1);
      }
    }
    const input = new Map([['e', { rows, weights }]]);
    add(outL, cl.step(input).get('v'));
    add(outN, cn.step(input).get('v'));
    assert.deepEqual([...outL].sort(), [...outN].sort(), `seed ${seed} step ${s}`);
    let n = 0;
    for (const parts of Object.values(cl.snapshot().operators))
      for (const b of Object.values(parts)) n += b.rows.length;
    state.push(n);
    if (s === 100) {
      const snap = cl.snapshot();
      cl = pl.instantiate();
      cl.restore(snap);
    }
  }
  assert.equal(
    [...cl.lateRecords().values()].reduce((a, b) => a + b, 0),
    0,
    'no row was late',
  );
  const late = Math.max(...state.slice(100));
  console.log(`session state: at most ${late} rows in the second half; ${live.length} live rows`);
  assert.ok(late < live.length / 4, `seed ${seed}: ${late} rows held of ${live.length}`);
});
