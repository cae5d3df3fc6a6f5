/**
 * ROW_NUMBER/RANK/DENSE_RANK OVER (PARTITION BY ... ORDER BY ...) (src/sql/window-rank.ts): top-k per group with
 * the `WHERE rn <= k` bound pushed into the operator, and ranks without a bound; a seeded stream of inserts and
 * deletes is checked after every step against Postgres (PGlite), with explicit NULLS FIRST/LAST and unique
 * ORDER BY keys for ROW_NUMBER where the two would otherwise differ.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import type { Row } from '../../../src/zset/value.ts';

type Rec = Record<string, unknown>;
const TABLE = 'CREATE TABLE t (id INT NOT NULL, g VARCHAR, x INT);';

function contents(columns: Parameters<typeof rowToJson>[0], b: Batch): Rec[] {
  const out: Rec[] = [];
  b.rows.forEach((row, i) => {
    for (let k = 0; k < (b.weights[i] as number); k++) out.push(rowToJson(columns, row as Row) as Rec);
  });
  return out.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

test('top-k per group and ranks with ties; an unsupported window function is refused', async () => {
  const p = await compileProgram(`${TABLE}
    CREATE MATERIALIZED VIEW top2 AS SELECT g, id FROM (
      SELECT g, id, ROW_NUMBER() OVER (PARTITION BY g ORDER BY x DESC, id) AS rn FROM t) WHERE rn <= 2;
    CREATE MATERIALIZED VIEW ranks AS SELECT id, RANK() OVER (ORDER BY x) AS r,
      DENSE_RANK() OVER (ORDER BY x) AS r2 FROM t WHERE g = 'a';`).catch((e) => e);
  // two different ranking functions in one SELECT are refused with a clear error
  assert.equal((p as { errorCode?: string }).errorCode, 'SqlUnsupported');
  const q = await compileProgram(`${TABLE}
    CREATE MATERIALIZED VIEW top2 AS SELECT g, id FROM (
      SELECT g, id, ROW_NUMBER() OVER (PARTITION BY g ORDER BY x DESC, id) AS rn FROM t) WHERE rn <= 2;
    CREATE MATERIALIZED VIEW ranks AS SELECT id, RANK() OVER (ORDER BY x) AS r FROM t WHERE g = 'a';
    CREATE MATERIALIZED VIEW dense AS SELECT id, DENSE_RANK() OVER (ORDER BY x) AS r FROM t WHERE g = 'a';`);
  const c = q.instantiate();
  const t = q.table('t') as TableSchema;
  const rows = [
    { id: 1, g: 'a', x: 5 },
    { id: 2, g: 'a', x: 7 },
    { id: 3, g: 'a', x: 5 },
    { id: 4, g: 'b', x: 1 },
    { id: 5, g: 'a', x: 9 },
  ];
  c.step(new Map([['t', { rows: rows.map((r) => rowFromJson(t, r)), weights: rows.map(() => 1) }]]));
  const view = (n: string) => contents(q.views.find((v) => v.name === n)?.columns ?? [], c.contents(n));
  assert.deepEqual(view('top2'), [
    { g: 'a', id: 2 },
    { g: 'a', id: 5 },
    { g: 'b', id: 4 },
  ]);
  assert.deepEqual(view('ranks'), [
    { id: 1, r: 1 },
    { id: 2, r: 3 },
    { id: 3, r: 1 },
    { id: 5, r: 4 },
  ]);
  assert.deepEqual(view('dense'), [
    { id: 1, r: 1 },
    { id: 2, r: 2 },
    { id: 3, r: 1 },
    { id: 5, r: 3 },
  ]);
  await assert.rejects(
    compileProgram(`${TABLE} CREATE VIEW v AS SELECT id, NTILE(2) OVER (ORDER BY id) AS l FROM t;`),
    (e: { errorCode?: string }) => e.errorCode === 'SqlUnsupported',
  );
});

let pg: PGlite;
before(async () => {
  pg = await PGlite.create();
  await pg.exec('CREATE TABLE t (id INT NOT NULL, g VARCHAR, x INT)');
});
after(async () => {
  await pg.close();
});

test('incremental top-k per group and ranks agree with Postgres after every step', async () => {
  const seed = 2718;
  console.log(`window-rank stream seed ${seed}`);
  let a = seed;
  const rnd = (n: number) => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a % n;
  };
  const views: string[] = [
    `SELECT g, id, x FROM (SELECT g, id, x, ROW_NUMBER() OVER (PARTITION BY g ORDER BY x DESC NULLS LAST, id) AS rn FROM t) s WHERE rn <= 2`,
    `SELECT id, r FROM (SELECT id, RANK() OVER (PARTITION BY g ORDER BY x NULLS FIRST) AS r FROM t) s WHERE r < 3`,
    `SELECT id, DENSE_RANK() OVER (ORDER BY x NULLS FIRST) AS r FROM t`,
  ];
  const p = await compileProgram(
    `${TABLE} ${views.map((q, i) => `CREATE MATERIALIZED VIEW v${i} AS ${q};`).join(' ')}`,
  );
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  const live = new Map<number, Rec>();
  let nextId = 1;
  for (let step = 0; step < 30; step++) {
    const rows: Row[] = [];
    const weights: number[] = [];
    for (let k = rnd(5); k >= 0; k--) {
      if (live.size > 0 && rnd(10) < 4) {
        const ids = [...live.keys()];
        const id = ids[rnd(ids.length)] as number;
        rows.push(rowFromJson(t, live.get(id) as Rec));
        weights.push(-1);
        live.delete(id);
        await pg.query('DELETE FROM t WHERE id = $1', [id]);
      } else {
        const r = { id: nextId++, g: ['a', 'b', null][rnd(3)] ?? null, x: rnd(8) === 0 ? null : rnd(10) };
        rows.push(rowFromJson(t, r));
        weights.push(1);
        live.set(r.id, r);
        await pg.query('INSERT INTO t VALUES ($1, $2, $3)', [r.id, r.g, r.x]);
      }
    }
    c.step(new Map([['t', { rows, weights }]]));
    for (let i = 0; i < views.length; i++) {
      const got = contents(p.views.find((x) => x.name === `v${i}`)?.columns ?? [], c.contents(`v${i}`));
      const want = (await pg.query<Rec>((views[i] as string).replace(/AS r\b/, 'AS r'))).rows
        .map((r) =>
          Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
        )
        .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
      assert.deepEqual(got, want, `seed ${seed} step ${step} view v${i}`);
    }
  }
});
