/**
 * Aggregates OVER (PARTITION BY ... ORDER BY ... frame) and LAG/LEAD (src/sql/window-agg-plan.ts, operator
 * src/operators/window-agg.ts): a seeded stream of inserts and deletes keeps every view equal to Postgres
 * (PGlite) after every step; ORDER BY keys are unique or use explicit NULLS FIRST so both agree on the order.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import type { Row } from '../../../src/zset/value.ts';

type Rec = Record<string, unknown>;
const TABLE = 'CREATE TABLE t (id INT NOT NULL, g VARCHAR, ts TIMESTAMP NOT NULL, x INT);';

function contents(columns: Parameters<typeof rowToJson>[0], b: Batch): Rec[] {
  const out: Rec[] = [];
  b.rows.forEach((row, i) => {
    for (let k = 0; k < (b.weights[i] as number); k++) out.push(rowToJson(columns, row as Row) as Rec);
  });
  return out.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

let pg: PGlite;
before(async () => {
  pg = await PGlite.create();
  await pg.exec('CREATE TABLE t (id INT NOT NULL, g VARCHAR, ts TIMESTAMP NOT NULL, x INT)');
});
after(async () => {
  await pg.close();
});

const VIEWS: Array<[string, string?]> = [
  [
    `SELECT id, SUM(x) OVER (PARTITION BY g ORDER BY ts, id) AS running, COUNT(*) OVER (PARTITION BY g ORDER BY ts, id) AS n FROM t`,
  ],
  [
    `SELECT id, SUM(x) OVER (PARTITION BY g ORDER BY ts, id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s3,
      MAX(x) OVER (PARTITION BY g ORDER BY ts, id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS m3 FROM t`,
  ],
  [
    `SELECT id, SUM(x) OVER (ORDER BY ts RANGE BETWEEN INTERVAL '10' MINUTE PRECEDING AND CURRENT ROW) AS r10,
      MIN(x) OVER (ORDER BY ts RANGE BETWEEN INTERVAL '10' MINUTE PRECEDING AND CURRENT ROW) AS mn FROM t`,
    `SELECT id, SUM(x) OVER (ORDER BY ts RANGE BETWEEN INTERVAL '10 minutes' PRECEDING AND CURRENT ROW) AS r10,
      MIN(x) OVER (ORDER BY ts RANGE BETWEEN INTERVAL '10 minutes' PRECEDING AND CURRENT ROW) AS mn FROM t`,
  ],
  [
    `SELECT id, LAG(x) OVER (PARTITION BY g ORDER BY ts, id) AS prev, LEAD(x, 2, -1) OVER (PARTITION BY g ORDER BY ts, id) AS next2 FROM t`,
  ],
  [`SELECT g, id, COUNT(x) OVER (PARTITION BY g) AS total FROM t`],
];

test('window aggregates and LAG/LEAD stay equal to Postgres through inserts and deletes', async () => {
  const seed = 4711;
  console.log(`window-agg stream seed ${seed}`);
  let a = seed;
  const rnd = (n: number) => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a % n;
  };
  const p = await compileProgram(
    `${TABLE} ${VIEWS.map(([q], i) => `CREATE MATERIALIZED VIEW v${i} AS ${q};`).join(' ')}`,
  );
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  const live = new Map<number, Rec>();
  let nextId = 1;
  for (let step = 0; step < 25; step++) {
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
        const min = rnd(60);
        const r = {
          id: nextId++,
          g: ['a', 'b', null][rnd(3)] ?? null,
          ts: `2024-03-01 10:${String(min).padStart(2, '0')}:00`,
          x: rnd(8) === 0 ? null : rnd(20),
        };
        rows.push(rowFromJson(t, r));
        weights.push(1);
        live.set(r.id, r);
        await pg.query('INSERT INTO t VALUES ($1, $2, $3, $4)', [r.id, r.g, r.ts, r.x]);
      }
    }
    c.step(new Map([['t', { rows, weights }]]));
    for (let i = 0; i < VIEWS.length; i++) {
      const [mine, theirs] = VIEWS[i] as [string, string?];
      const got = contents(p.views.find((x) => x.name === `v${i}`)?.columns ?? [], c.contents(`v${i}`));
      const want = (await pg.query<Rec>(theirs ?? mine)).rows
        .map((r) =>
          Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
        )
        .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
      assert.deepEqual(got, want, `seed ${seed} step ${step} view v${i}`);
    }
  }
});

test('different windows in one SELECT and unsupported frames are refused', async () => {
  const code = (e: unknown) => (e as { errorCode?: string }).errorCode;
  await assert.rejects(
    compileProgram(
      `${TABLE} CREATE VIEW v AS SELECT SUM(x) OVER (PARTITION BY g), SUM(x) OVER (ORDER BY ts) FROM t;`,
    ),
    (e) => code(e) === 'SqlUnsupported',
  );
  await assert.rejects(
    compileProgram(
      `${TABLE} CREATE VIEW v AS SELECT SUM(x) OVER (ORDER BY ts GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM t;`,
    ),
    (e) => code(e) === 'SqlUnsupported',
  );
});

test('a window aggregate with the wrong number of arguments, or a NULL-typed one, is refused (as Feldera does)', async () => {
  const err = async (sel: string) => {
    try {
      await compileProgram(`${TABLE} CREATE VIEW v AS SELECT ${sel} FROM t;`);
    } catch (e) {
      return `${(e as { errorCode?: string }).errorCode}: ${(e as Error).message}`;
    }
    return 'accepted';
  };
  assert.match(await err('MAX(x, x) OVER ()'), /^SqlTypeError: MAX takes exactly one argument/);
  assert.match(await err('MIN(x, g) OVER (PARTITION BY g)'), /^SqlTypeError: MIN takes exactly one argument/);
  assert.match(await err('COUNT(NULL) OVER ()'), /^SqlTypeError: an argument of COUNT has the NULL type/);
  assert.equal(await err('ARG_MAX(x, g) OVER (), COUNT(*) OVER ()'), 'accepted');
});
