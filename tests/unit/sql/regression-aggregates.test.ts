/**
 * The regression aggregates REGR_COUNT, REGR_SXX, REGR_SYY, REGR_SXY, REGR_AVGX, REGR_AVGY, REGR_SLOPE,
 * REGR_INTERCEPT, REGR_R2, COVAR_POP, COVAR_SAMP and CORR: grouped and global, through inserts and deletes,
 * against PGlite (DOUBLE results, compared to 1e-9 relative: Postgres accumulates differently).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { compileProgram } from '../../../src/sql/program.ts';
import type { Row } from '../../../src/zset/value.ts';
import { prng } from './values/pg-oracle.ts';

const FNS = [
  'REGR_COUNT',
  'REGR_SXX',
  'REGR_SYY',
  'REGR_SXY',
  'REGR_AVGX',
  'REGR_AVGY',
  'REGR_SLOPE',
  'REGR_INTERCEPT',
  'REGR_R2',
  'COVAR_POP',
  'COVAR_SAMP',
  'CORR',
];

let pg: PGlite;
before(async () => {
  pg = await PGlite.create();
});
after(async () => {
  await pg.close();
});

const near = (a: unknown, b: unknown): boolean => {
  if (a === null || b === null) return a === b;
  const [x, y] = [Number(a), Number(b)];
  return Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y));
};

test('regression aggregates agree with PGlite through inserts and deletes', async () => {
  const seed = Number(process.env.SEED ?? Date.now() % 100000);
  console.log(`regression aggregates: seed ${seed}`);
  const rnd = prng(seed);
  const cols = FNS.map((f, i) => `${f}(y, x) AS a${i}`).join(', ');
  const query = `SELECT g, ${cols} FROM t GROUP BY g`;
  const p = await compileProgram(
    `CREATE TABLE t (g INT, y DOUBLE, x INT); CREATE MATERIALIZED VIEW v AS ${query}; CREATE MATERIALIZED VIEW w AS SELECT ${cols} FROM t;`,
  );
  const c = p.instantiate();
  await pg.exec('CREATE TABLE t (g INT, y DOUBLE PRECISION, x INT)');
  const live: Row[] = [];
  for (let step = 0; step < 6; step++) {
    const rows: Row[] = [];
    const weights: number[] = [];
    for (let i = 0; i < 8; i++) {
      if (live.length > 0 && rnd() < 0.3) {
        const r = live.splice(Math.floor(rnd() * live.length), 1)[0] as Row;
        rows.push(r);
        weights.push(-1);
        await pg.query(
          'DELETE FROM t WHERE ctid = (SELECT ctid FROM t WHERE g = $1 AND y IS NOT DISTINCT FROM $2 AND x IS NOT DISTINCT FROM $3 LIMIT 1)',
          r as unknown[],
        );
      } else {
        const r: Row = [
          Math.floor(rnd() * 3),
          rnd() < 0.1 ? null : Math.round(rnd() * 400) / 4 - 50,
          rnd() < 0.1 ? null : Math.floor(rnd() * 20) - 5,
        ];
        live.push(r);
        rows.push(r);
        weights.push(1);
        await pg.query('INSERT INTO t VALUES ($1, $2, $3)', r as unknown[]);
      }
    }
    c.step(new Map([['t', { rows, weights }]]));
    for (const [view, sql] of [
      ['v', query],
      ['w', `SELECT ${cols} FROM t`],
    ] as const) {
      const want = (await pg.query<unknown[]>(sql, [], { rowMode: 'array' })).rows;
      const got = c.contents(view).rows;
      const key = (r: readonly unknown[]) => String(view === 'v' ? r[0] : 0);
      const byKey = new Map(want.map((r) => [key(r), r]));
      assert.equal(got.length, want.length, `seed ${seed} step ${step} ${view}: row count`);
      for (const r of got) {
        const w = byKey.get(key(r));
        assert.ok(w, `seed ${seed}: group ${key(r)}`);
        r.forEach((v, i) => {
          assert.ok(near(v, w[i]), `seed ${seed} step ${step} ${view} column ${i}: ours ${v} pg ${w[i]}`);
        });
      }
    }
  }
});
