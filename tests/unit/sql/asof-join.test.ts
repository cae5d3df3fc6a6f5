/**
 * LEFT ASOF JOIN (src/sql/asof-syntax.ts, asof-plan.ts, operators/asof-join.ts) end to end: a scenario with
 * updates and deletes on both sides, the forms Feldera refuses (clear coded errors), and a seeded stream of
 * inserts and deletes checked after every step against Postgres (PGlite), where the ASOF join is written as a
 * LATERAL subquery (the latest right row at or before the left row's timestamp, ties to the greatest id).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import type { Row } from '../../../src/zset/value.ts';

type Rec = Record<string, unknown>;
const TABLES = `CREATE TABLE trades (id INT NOT NULL PRIMARY KEY, sym VARCHAR, ts TIMESTAMP, qty INT);
  CREATE TABLE quotes (id INT NOT NULL PRIMARY KEY, sym VARCHAR, ts TIMESTAMP, px DECIMAL(8, 2));`;

function contents(columns: Parameters<typeof rowToJson>[0], b: Batch): Rec[] {
  const out: Rec[] = [];
  b.rows.forEach((row, i) => {
    const w = b.weights[i] as number;
    assert.ok(w > 0, `weight ${w} in a view's contents`);
    for (let k = 0; k < w; k++) out.push(rowToJson(columns, row as Row) as Rec);
  });
  return out.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

test('each trade takes the latest quote of its symbol at or before it; updates and deletes on both sides', async () => {
  const p = await compileProgram(`${TABLES}
    CREATE MATERIALIZED VIEW v AS SELECT t.id, q.id AS qid, q.px
      FROM trades t LEFT ASOF JOIN quotes q MATCH_CONDITION (t.ts >= q.ts) ON t.sym = q.sym
      WHERE t.qty > 0;`);
  const c = p.instantiate();
  const trades = p.table('trades') as TableSchema;
  const quotes = p.table('quotes') as TableSchema;
  const step = (t: Array<[Rec, number]>, q: Array<[Rec, number]>) =>
    c.step(
      new Map([
        ['trades', { rows: t.map(([r]) => rowFromJson(trades, r)), weights: t.map(([, w]) => w) }],
        ['quotes', { rows: q.map(([r]) => rowFromJson(quotes, r)), weights: q.map(([, w]) => w) }],
      ]),
    );
  const view = () => contents(p.views.find((v) => v.name === 'v')?.columns ?? [], c.contents('v'));
  step(
    [
      [{ id: 1, sym: 'A', ts: '2024-01-01 10:00:00', qty: 5 }, 1],
      [{ id: 2, sym: 'A', ts: '2024-01-01 09:00:00', qty: 5 }, 1],
      [{ id: 3, sym: 'B', ts: '2024-01-01 10:00:00', qty: 5 }, 1],
      [{ id: 4, sym: null, ts: '2024-01-01 10:00:00', qty: 5 }, 1],
      [{ id: 5, sym: 'A', ts: null, qty: 5 }, 1],
      [{ id: 6, sym: 'A', ts: '2024-01-01 11:00:00', qty: 0 }, 1],
    ],
    [
      [{ id: 10, sym: 'A', ts: '2024-01-01 09:30:00', px: '1.50' }, 1],
      [{ id: 11, sym: 'A', ts: '2024-01-01 10:00:00', px: 1.75 }, 1],
      [{ id: 12, sym: 'A', ts: '2024-01-01 10:30:00', px: 9.99 }, 1],
      [{ id: 13, sym: 'B', ts: '2024-01-01 10:00:01', px: '3.00' }, 1],
    ],
  );
  assert.deepEqual(view(), [
    { id: 1, qid: 11, px: 1.75 },
    { id: 2, qid: null, px: null },
    { id: 3, qid: null, px: null },
    { id: 4, qid: null, px: null },
    { id: 5, qid: null, px: null },
  ]);
  // delete the matched quote: trade 1 falls back to the earlier one; a B quote arrives; trade 2 moves later
  step(
    [
      [{ id: 2, sym: 'A', ts: '2024-01-01 09:00:00', qty: 5 }, -1],
      [{ id: 2, sym: 'A', ts: '2024-01-01 12:00:00', qty: 5 }, 1],
    ],
    [
      [{ id: 11, sym: 'A', ts: '2024-01-01 10:00:00', px: 1.75 }, -1],
      [{ id: 14, sym: 'B', ts: '2024-01-01 09:59:59', px: '2.00' }, 1],
    ],
  );
  assert.deepEqual(view(), [
    { id: 1, qid: 10, px: 1.5 },
    { id: 2, qid: 12, px: 9.99 },
    { id: 3, qid: 14, px: 2 },
    { id: 4, qid: null, px: null },
    { id: 5, qid: null, px: null },
  ]);
});

test('expressions in MATCH_CONDITION and ON, composite keys, and a join above the ASOF join', async () => {
  const p = await compileProgram(`CREATE TABLE l (k1 INT, k2 VARCHAR, t INT);
    CREATE TABLE r (k1 BIGINT, k2 VARCHAR, t INT, v VARCHAR);
    CREATE TABLE d (v VARCHAR, label VARCHAR);
    CREATE MATERIALIZED VIEW v AS SELECT l.k1, l.t, r.t AS rt, d.label
      FROM l LEFT ASOF JOIN r MATCH_CONDITION (l.t + 1 >= r.t * 2) ON l.k1 = r.k1 AND UPPER(l.k2) = r.k2
      LEFT JOIN d ON r.v = d.v;`);
  const c = p.instantiate();
  const ins = (name: string, rows: Rec[]) =>
    [
      name,
      { rows: rows.map((r) => rowFromJson(p.table(name) as TableSchema, r)), weights: rows.map(() => 1) },
    ] as const;
  c.step(
    new Map([
      ins('l', [
        { k1: 1, k2: 'a', t: 9 },
        { k1: 1, k2: 'b', t: 9 },
      ]),
      ins('r', [
        { k1: 1, k2: 'A', t: 5, v: 'x' },
        { k1: 1, k2: 'A', t: 4, v: 'y' },
        { k1: 1, k2: 'a', t: 1, v: 'y' },
      ]),
      ins('d', [{ v: 'x', label: 'X' }]),
    ]),
  );
  assert.deepEqual(contents(p.views[0]?.columns ?? [], c.contents('v')), [
    { k1: 1, t: 9, rt: 5, label: 'X' },
    { k1: 1, t: 9, rt: null, label: null },
  ]);
});

test('forms Feldera refuses get a coded error that shows the accepted form; an alias named asof still works', async () => {
  const T = 'CREATE TABLE a (k INT, ts INT); CREATE TABLE b (k INT, ts INT);';
  const refused: Array<[string, string]> = [
    ['SELECT * FROM a ASOF JOIN b MATCH_CONDITION (a.ts >= b.ts) ON a.k = b.k', 'SqlUnsupported'],
    ['SELECT * FROM a RIGHT ASOF JOIN b MATCH_CONDITION (a.ts >= b.ts) ON a.k = b.k', 'SqlUnsupported'],
    ['SELECT a.k FROM a LEFT ASOF JOIN b MATCH_CONDITION (a.ts = b.ts) ON a.k = b.k', 'SqlUnsupported'],
    ['SELECT a.k FROM a LEFT ASOF JOIN b MATCH_CONDITION (a.ts <= b.ts) ON a.k = b.k', 'SqlUnsupported'],
    ['SELECT a.k FROM a LEFT ASOF JOIN b MATCH_CONDITION (b.ts >= a.ts) ON a.k = b.k', 'SqlUnsupported'],
    ['SELECT a.k FROM a LEFT ASOF JOIN b MATCH_CONDITION (a.ts >= a.k) ON a.k = b.k', 'SqlUnsupported'],
    [
      'SELECT a.k FROM a LEFT ASOF JOIN b MATCH_CONDITION (a.ts >= b.ts) ON a.k = b.k OR a.k = 1',
      'SqlUnsupported',
    ],
    ['SELECT a.k FROM a LEFT ASOF JOIN b MATCH_CONDITION (a.ts >= b.ts) ON a.k < b.k', 'SqlUnsupported'],
    ['SELECT a.k FROM a LEFT ASOF JOIN b MATCH_CONDITION (a.ts >= b.ts) USING (k)', 'SqlUnsupported'],
    ['SELECT a.k FROM a LEFT ASOF JOIN b ON a.k = b.k', 'SqlSyntaxError'],
    ['SELECT a.k FROM a LEFT ASOF JOIN b MATCH_CONDITION a.ts <= b.ts ON a.k = b.k', 'SqlUnsupported'],
    [
      'SELECT a.k FROM a LEFT ASOF JOIN b MATCH_CONDITION a.ts >= b.ts ON a.k = b.k OR a.k = 1',
      'SqlUnsupported',
    ],
    ['SELECT a.k FROM a LEFT ASOF JOIN b MATCH_CONDITION a.ts >= b.ts ON a.k < b.k', 'SqlUnsupported'],
    ['SELECT a.k FROM a LEFT ASOF JOIN b MATCH_CONDITION ON a.k = b.k', 'SqlSyntaxError'],
  ];
  for (const [q, code] of refused) {
    const e = await compileProgram(`${T} CREATE VIEW v AS ${q};`).then(
      () => null,
      (x: { errorCode?: string; message?: string }) => x,
    );
    assert.equal(e?.errorCode, code, `${q}: ${e?.message}`);
    assert.match(e?.message ?? '', /MATCH_CONDITION|ASOF|ON/, q);
    assert.match(e?.message ?? '', /line \d+, column \d+/, q);
  }
  const ok = await compileProgram(`${T} CREATE VIEW v AS SELECT asof.k FROM a asof JOIN b ON asof.k = b.k;`);
  assert.equal(ok.views.length, 1);
  // no ON: every left row looks at all right rows
  const noOn = await compileProgram(
    `${T} CREATE MATERIALIZED VIEW v AS SELECT a.ts, b.ts AS bts FROM a LEFT ASOF JOIN b MATCH_CONDITION (a.ts >= b.ts);`,
  );
  const c = noOn.instantiate();
  const rows = (n: string, rs: Rec[]) =>
    [
      n,
      { rows: rs.map((r) => rowFromJson(noOn.table(n) as TableSchema, r)), weights: rs.map(() => 1) },
    ] as const;
  c.step(
    new Map([
      rows('a', [{ k: 1, ts: 5 }]),
      rows('b', [
        { k: 2, ts: 4 },
        { k: 3, ts: 6 },
      ]),
    ]),
  );
  assert.deepEqual(contents(noOn.views[0]?.columns ?? [], c.contents('v')), [{ ts: 5, bts: 4 }]);
});

let pg: PGlite;
before(async () => {
  pg = await PGlite.create();
  await pg.exec(
    'CREATE TABLE l (id INT NOT NULL, k INT, ts INT); CREATE TABLE r (id INT NOT NULL, k INT, ts INT)',
  );
});
after(async () => {
  await pg.close();
});

test('incremental LEFT ASOF JOIN agrees with Postgres (LATERAL ... ORDER BY ts DESC LIMIT 1) after every step', async () => {
  const seed = Number(process.env.ASOF_SQL_SEED ?? 4711);
  console.log(`asof-join SQL stream seed ${seed} (ASOF_SQL_SEED=${seed} to replay)`);
  let a = seed;
  const rnd = (n: number) => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a % n;
  };
  const p = await compileProgram(`CREATE TABLE l (id INT NOT NULL, k INT, ts INT);
    CREATE TABLE r (id INT NOT NULL, k INT, ts INT);
    CREATE MATERIALIZED VIEW v AS SELECT l.id, r.id AS rid
      FROM l LEFT ASOF JOIN r MATCH_CONDITION (l.ts >= r.ts) ON l.k = r.k;`);
  const oracle = `SELECT l.id, x.id AS rid FROM l LEFT JOIN LATERAL (SELECT r.id FROM r
      WHERE r.k = l.k AND r.ts <= l.ts ORDER BY r.ts DESC, r.id DESC LIMIT 1) x ON true`;
  const c = p.instantiate();
  const live = { l: new Map<number, Rec>(), r: new Map<number, Rec>() };
  let nextId = 1;
  for (let step = 0; step < 40; step++) {
    const batches = new Map<string, { rows: Row[]; weights: number[] }>();
    for (const side of ['l', 'r'] as const) {
      const t = p.table(side) as TableSchema;
      const rows: Row[] = [];
      const weights: number[] = [];
      for (let k = rnd(4); k >= 0; k--) {
        const m = live[side];
        if (m.size > 0 && rnd(10) < 4) {
          const ids = [...m.keys()];
          const id = ids[rnd(ids.length)] as number;
          rows.push(rowFromJson(t, m.get(id) as Rec));
          weights.push(-1);
          m.delete(id);
          await pg.query(`DELETE FROM ${side} WHERE id = $1`, [id]);
        } else {
          const rec = { id: nextId++, k: rnd(9) === 0 ? null : rnd(3), ts: rnd(9) === 0 ? null : rnd(12) };
          rows.push(rowFromJson(t, rec));
          weights.push(1);
          m.set(rec.id, rec);
          await pg.query(`INSERT INTO ${side} VALUES ($1, $2, $3)`, [rec.id, rec.k, rec.ts]);
        }
      }
      batches.set(side, { rows, weights });
    }
    c.step(batches);
    const got = contents(p.views[0]?.columns ?? [], c.contents('v'));
    const want = (await pg.query<Rec>(oracle)).rows.sort((x, y) =>
      JSON.stringify(x).localeCompare(JSON.stringify(y)),
    );
    assert.deepEqual(got, want, `seed ${seed} step ${step}`);
  }
});

test('MATCH_CONDITION without parentheses (as Feldera writes Nexmark q13) means the same', async () => {
  const T = 'CREATE TABLE a (id INT, k INT, ts INT); CREATE TABLE b (id INT, k INT, ts INT);';
  const views = [
    'SELECT a.id, b.id AS bid FROM a LEFT ASOF JOIN b MATCH_CONDITION (a.ts >= b.ts) ON a.k = b.k',
    'SELECT a.id, b.id AS bid FROM a LEFT ASOF JOIN b MATCH_CONDITION a.ts >= b.ts ON a.k = b.k',
    `SELECT x.id, s.id AS bid FROM (SELECT *, ts AS p, MOD(k, 3) AS m FROM a) x
       LEFT ASOF JOIN b AS s
       MATCH_CONDITION x.p >= s.ts
       ON x.m = s.k AND x.m + 0 = s.k`,
    `SELECT x.id, s.id AS bid FROM (SELECT *, ts AS p, MOD(k, 3) AS m FROM a) x
       LEFT ASOF JOIN b AS s MATCH_CONDITION (x.p >= s.ts) ON x.m = s.k AND x.m + 0 = s.k`,
  ];
  const p = await compileProgram(
    `${T} ${views.map((v, i) => `CREATE MATERIALIZED VIEW v${i} AS ${v};`).join(' ')}`,
  );
  const c = p.instantiate();
  const ta = p.table('a') as TableSchema;
  const tb = p.table('b') as TableSchema;
  const rows = (t: TableSchema, n: number, off: number) =>
    Array.from({ length: n }, (_, i) => rowFromJson(t, { id: off + i, k: (i * 7) % 5, ts: (i * 13) % 17 }));
  c.step(new Map([['a', { rows: rows(ta, 30, 0), weights: new Array(30).fill(1) }]]));
  c.step(new Map([['b', { rows: rows(tb, 20, 100), weights: new Array(20).fill(1) }]]));
  const view = (i: number) =>
    contents(p.views.find((v) => v.name === `v${i}`)?.columns ?? [], c.contents(`v${i}`));
  assert.equal(view(0).length, 30);
  assert.ok(view(0).some((r) => r.bid !== null));
  assert.deepEqual(view(1), view(0));
  assert.deepEqual(view(2), view(3));
});
