/**
 * Common subexpressions within a statement (planner.ts `#shared`): the same window table function call (alias
 * aside) and the same aggregate of the same relation's columns are planned once and read twice (Nexmark q5's two
 * subqueries over one HOP). The shared plan must give what the statement gives with its subqueries as separate
 * views (planned apart: nothing is shared across statements), after every step of random inserts and deletes;
 * subqueries that differ (another aggregate, a WHERE) are not merged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProgram } from '../../../src/sql/program.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { mulberry32 as rng } from '../operators/support.ts';

const TABLE = 'CREATE TABLE bid (auction INT NOT NULL, price INT NOT NULL, ts TIMESTAMP(3) NOT NULL);';
const HOP = 'TABLE(HOP(TABLE bid, DESCRIPTOR(ts), INTERVAL 2 SECOND, INTERVAL 10 SECOND))';
const COUNTS = (alias: string, extra = '') => `SELECT ${alias}.auction, COUNT(*) AS num, window_start AS ws
  FROM ${HOP} AS ${alias} ${extra} GROUP BY ${alias}.auction, window_start, window_end`;
const MAXES = (inner: string) => `SELECT MAX(C.num) AS maxn, C.ws FROM (${inner}) AS C GROUP BY C.ws`;

/** q5's shape, and two near misses that must not be merged (another aggregate; a WHERE on one side). */
const QUERIES: Record<string, { one: string; apart: string }> = {
  q5: {
    one: `SELECT A.auction, A.num FROM (${COUNTS('B1')}) A JOIN (${MAXES(COUNTS('B2'))}) M
      ON A.ws = M.ws AND A.num >= M.maxn`,
    apart: `CREATE VIEW a AS ${COUNTS('B1')};
      CREATE VIEW m AS ${MAXES(COUNTS('B2'))};
      CREATE VIEW v AS SELECT a.auction, a.num FROM a JOIN m ON a.ws = m.ws AND a.num >= m.maxn;`,
  },
  sum: {
    one: `SELECT A.auction, A.num, S.s FROM (${COUNTS('B1')}) A JOIN (SELECT B2.auction, SUM(price) AS s,
      window_start AS ws FROM ${HOP} AS B2 GROUP BY B2.auction, window_start, window_end) S
      ON A.auction = S.auction AND A.ws = S.ws`,
    apart: `CREATE VIEW a AS ${COUNTS('B1')};
      CREATE VIEW s AS SELECT B2.auction, SUM(price) AS s, window_start AS ws FROM ${HOP} AS B2
        GROUP BY B2.auction, window_start, window_end;
      CREATE VIEW v AS SELECT a.auction, a.num, s.s FROM a JOIN s ON a.auction = s.auction AND a.ws = s.ws;`,
  },
  filtered: {
    one: `SELECT A.auction, A.num, F.num AS big FROM (${COUNTS('B1')}) A
      JOIN (${COUNTS('B2', 'WHERE price > 50')}) F ON A.auction = F.auction AND A.ws = F.ws`,
    apart: `CREATE VIEW a AS ${COUNTS('B1')};
      CREATE VIEW f AS ${COUNTS('B2', 'WHERE price > 50')};
      CREATE VIEW v AS SELECT a.auction, a.num, f.num AS big FROM a JOIN f ON a.auction = f.auction AND a.ws = f.ws;`,
  },
};

const key = (r: readonly unknown[]) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? Number(v) : v));

function addInto(acc: Map<string, number>, b: Batch | undefined): void {
  if (b === undefined) return;
  b.rows.forEach((r, i) => {
    const k = key(r);
    const w = (acc.get(k) ?? 0) + (b.weights[i] as number);
    if (w === 0) acc.delete(k);
    else acc.set(k, w);
  });
}

for (const [name, q] of Object.entries(QUERIES))
  test(`${name}: one statement (subplans shared where identical) = its subqueries as separate views`, async () => {
    const one = (await compileProgram(`${TABLE} CREATE VIEW v AS ${q.one};`)).instantiate();
    const apart = (await compileProgram(`${TABLE} ${q.apart}`)).instantiate();
    const random = rng(5150);
    const live: Array<[number, number, number]> = [];
    const got = new Map<string, number>();
    const want = new Map<string, number>();
    for (let step = 0; step < 80; step++) {
      const rows: Array<[number, number, number]> = [];
      const weights: number[] = [];
      for (let i = Math.floor(random() * 8); i > 0; i--) {
        if (live.length > 0 && random() < 0.25) {
          rows.push(live.splice(Math.floor(random() * live.length), 1)[0] as [number, number, number]);
          weights.push(-1);
        } else {
          const r: [number, number, number] = [
            Math.floor(random() * 4),
            Math.floor(random() * 100),
            (step * 500 + Math.floor(random() * 3000)) * 1000,
          ];
          live.push(r);
          rows.push(r);
          weights.push(1);
        }
      }
      const input = new Map<string, Batch>([['bid', { rows, weights }]]);
      addInto(got, one.step(input).get('v'));
      addInto(want, apart.step(input).get('v'));
      assert.deepEqual(got, want, `${name} after step ${step}`);
    }
    assert.ok(want.size > 0, 'the view holds rows');
  });

test("q5's two subqueries read one HOP and one aggregate of it", async () => {
  const c = (await compileProgram(`${TABLE} CREATE VIEW v AS ${QUERIES.q5?.one};`)).instantiate();
  const aggregates = Object.keys(c.snapshot().operators).filter((k) => k.endsWith(':aggregate'));
  // the per-window counts (shared) and the per-window maximum over them
  assert.equal(aggregates.length, 2, aggregates.join(' '));
});
