/**
 * `ORDER BY ... LIMIT` in views (Feldera: top-k; ORDER BY alone is ignored, a view is a multiset): hand-checked
 * cases for Feldera's NULL ordering (NULL is the smallest value, the opposite of Postgres's default), hidden
 * sort keys and OFFSET, and a seeded incremental stream of inserts and deletes checked after every step against
 * Postgres (PGlite) running the same query with explicit NULLS FIRST/LAST, where the two agree.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import type { Row } from '../../../src/zset/value.ts';

type Rec = Record<string, unknown>;

const TABLE = 'CREATE TABLE t (id INT NOT NULL, x INT, s VARCHAR);';

async function run(sql: string, rows: Rec[]): Promise<Rec[]> {
  const p = await compileProgram(`${sql} CREATE MATERIALIZED VIEW v2 AS SELECT id FROM t;`);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  c.step(new Map([['t', { rows: rows.map((r) => rowFromJson(t, r)), weights: rows.map(() => 1) }]]));
  return contents(p.views.find((v) => v.name === 'v')?.columns ?? [], c.contents('v'));
}

function contents(columns: Parameters<typeof rowToJson>[0], b: Batch): Rec[] {
  const out: Rec[] = [];
  b.rows.forEach((row, i) => {
    for (let k = 0; k < (b.weights[i] as number); k++) out.push(rowToJson(columns, row as Row) as Rec);
  });
  return out.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

const ROWS: Rec[] = [
  { id: 1, x: 3, s: 'c' },
  { id: 2, x: null, s: 'n' },
  { id: 3, x: 1, s: 'a' },
  { id: 4, x: 2, s: null },
  { id: 5, x: 1, s: 'a' },
];

test('ascending puts NULL first and descending last by default (Feldera), NULLS FIRST/LAST override', async () => {
  const asc = await run(`${TABLE} CREATE MATERIALIZED VIEW v AS SELECT x FROM t ORDER BY x LIMIT 2;`, ROWS);
  assert.deepEqual(asc, [{ x: 1 }, { x: null }]);
  const desc = await run(
    `${TABLE} CREATE MATERIALIZED VIEW v AS SELECT x FROM t ORDER BY x DESC LIMIT 1;`,
    ROWS,
  );
  assert.deepEqual(desc, [{ x: 3 }]);
  const last = await run(
    `${TABLE} CREATE MATERIALIZED VIEW v AS SELECT x FROM t ORDER BY x NULLS LAST LIMIT 4;`,
    ROWS,
  );
  assert.deepEqual(last, [{ x: 1 }, { x: 1 }, { x: 2 }, { x: 3 }]);
  const first = await run(
    `${TABLE} CREATE MATERIALIZED VIEW v AS SELECT x FROM t ORDER BY x DESC NULLS FIRST LIMIT 2;`,
    ROWS,
  );
  assert.deepEqual(first, [{ x: 3 }, { x: null }]);
});

test('ORDER BY without LIMIT does not change a view; duplicates count towards the limit', async () => {
  const all = await run(`${TABLE} CREATE MATERIALIZED VIEW v AS SELECT s FROM t ORDER BY s DESC;`, ROWS);
  assert.equal(all.length, 5);
  const dup = await run(
    `${TABLE} CREATE MATERIALIZED VIEW v AS SELECT s FROM t WHERE s IS NOT NULL ORDER BY s LIMIT 2;`,
    ROWS,
  );
  assert.deepEqual(dup, [{ s: 'a' }, { s: 'a' }]);
});

test('sort keys not in the select list, positions, aliases, expressions and OFFSET', async () => {
  assert.deepEqual(
    await run(`${TABLE} CREATE MATERIALIZED VIEW v AS SELECT s FROM t ORDER BY id DESC LIMIT 2;`, ROWS),
    [{ s: 'a' }, { s: null }],
  );
  assert.deepEqual(
    await run(`${TABLE} CREATE MATERIALIZED VIEW v AS SELECT id, x FROM t ORDER BY 2 DESC, 1 LIMIT 1;`, ROWS),
    [{ id: 1, x: 3 }],
  );
  assert.deepEqual(
    await run(
      `${TABLE} CREATE MATERIALIZED VIEW v AS SELECT id AS k FROM t ORDER BY k LIMIT 2 OFFSET 1;`,
      ROWS,
    ),
    [{ k: 2 }, { k: 3 }],
  );
  assert.deepEqual(
    await run(`${TABLE} CREATE MATERIALIZED VIEW v AS SELECT id FROM t ORDER BY id % 3, id LIMIT 2;`, ROWS),
    [{ id: 1 }, { id: 3 }],
  );
  assert.deepEqual(
    await run(
      `${TABLE} CREATE MATERIALIZED VIEW v AS SELECT x, COUNT(*) AS n FROM t GROUP BY x ORDER BY n DESC, x LIMIT 1;`,
      ROWS,
    ),
    [{ x: 1, n: 2 }],
  );
});

test('a LIMIT in a subquery applies, in views and in ad-hoc queries', async () => {
  const sql = `${TABLE} CREATE MATERIALIZED VIEW v AS SELECT COUNT(*) AS n FROM (SELECT id FROM t ORDER BY id LIMIT 2) s;`;
  assert.deepEqual(await run(sql, ROWS), [{ n: 2 }]);
  const p = await compileProgram(`${sql} CREATE MATERIALIZED VIEW v2 AS SELECT id FROM t;`);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  c.step(new Map([['t', { rows: ROWS.map((r) => rowFromJson(t, r)), weights: ROWS.map(() => 1) }]]));
  const res = await c.query('SELECT s.id FROM (SELECT id FROM v2 ORDER BY id DESC LIMIT 2) s ORDER BY s.id');
  assert.deepEqual(res.rows, [[4], [5]]);
});

test('LIMIT must be a constant', async () => {
  await assert.rejects(
    compileProgram(`${TABLE} CREATE MATERIALIZED VIEW v AS SELECT id FROM t ORDER BY id LIMIT -1;`),
    (e: Error & { errorCode?: string }) => e.errorCode === 'SqlUnsupported',
  );
});

let pg: PGlite;
before(async () => {
  pg = await PGlite.create();
});
after(async () => {
  await pg.close();
});

test('incremental inserts and deletes keep the view equal to Postgres after every step', async () => {
  const seed = 1807;
  console.log(`order-limit stream seed ${seed}`);
  let a = seed >>> 0;
  const rnd = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const views: Array<[string, string]> = [
    [
      'SELECT id, x FROM t ORDER BY x NULLS FIRST, id LIMIT 3',
      'SELECT id, x FROM t ORDER BY x NULLS FIRST, id LIMIT 3',
    ],
    [
      'SELECT x FROM t ORDER BY x DESC NULLS LAST LIMIT 4 OFFSET 2',
      'SELECT x FROM t ORDER BY x DESC NULLS LAST LIMIT 4 OFFSET 2',
    ],
    ['SELECT s FROM t ORDER BY id DESC LIMIT 2', 'SELECT s FROM t ORDER BY id DESC LIMIT 2'],
  ];
  const program = `${TABLE} ${views.map(([q], i) => `CREATE MATERIALIZED VIEW v${i} AS ${q};`).join(' ')}`;
  const p = await compileProgram(program);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  await pg.exec('CREATE TABLE t (id INT NOT NULL, x INT, s VARCHAR)');
  const live = new Map<number, Rec>();
  let nextId = 1;
  for (let step = 0; step < 40; step++) {
    const rows: Row[] = [];
    const weights: number[] = [];
    for (let k = Math.floor(rnd() * 4); k >= 0; k--) {
      if (live.size > 0 && rnd() < 0.4) {
        const ids = [...live.keys()];
        const id = ids[Math.floor(rnd() * ids.length)] as number;
        rows.push(rowFromJson(t, live.get(id) as Rec));
        weights.push(-1);
        live.delete(id);
        await pg.query('DELETE FROM t WHERE id = $1', [id]);
      } else {
        const r = {
          id: nextId++,
          x: rnd() < 0.2 ? null : Math.floor(rnd() * 6),
          s: `s${Math.floor(rnd() * 3)}`,
        };
        rows.push(rowFromJson(t, r));
        weights.push(1);
        live.set(r.id, r);
        await pg.query('INSERT INTO t VALUES ($1, $2, $3)', [r.id, r.x, r.s]);
      }
    }
    c.step(new Map([['t', { rows, weights }]]));
    for (let i = 0; i < views.length; i++) {
      const got = contents(p.views.find((v) => v.name === `v${i}`)?.columns ?? [], c.contents(`v${i}`));
      const want = (await pg.query<Rec>((views[i] as [string, string])[1])).rows.sort((x, y) =>
        JSON.stringify(x).localeCompare(JSON.stringify(y)),
      );
      assert.deepEqual(got, want, `seed ${seed} step ${step} view v${i}`);
    }
  }
});
