/**
 * Aggregates over a decorrelated NOW() in a derived table's select list (src/sql/clock-lift.ts): planned below
 * the one-row cross join with the clock, so a clock tick costs one change per group, not a pass over the table
 * (Nexmark q12). The views must equal an independent computation after every step (random inserts, deletes and
 * clock moves), whether the plan lifts the aggregate (keys from the table or the clock, arguments from the
 * table) or cannot (an argument or a WHERE reading the clock, a CTE read twice), and a lifted plan holds state
 * per group, not per row.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NOW_TABLE } from '../../../src/sql/now-clock.ts';
import { compileProgram } from '../../../src/sql/program.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { mulberry32 as rng } from '../operators/support.ts';

const S = 1_000_000; // µs
const W = 10 * S; // the views' window

const SQL = `CREATE TABLE bid (bidder INT NOT NULL, price INT NOT NULL);
CREATE VIEW lifted AS
SELECT bidder, COUNT(*) AS c, SUM(price) AS s, TUMBLE_START(p, INTERVAL '10' SECOND) AS ws
FROM (SELECT *, NOW() AS p FROM bid) B
GROUP BY bidder, TUMBLE(p, INTERVAL '10' SECOND);
CREATE VIEW clock_key AS
SELECT COUNT(*) AS c, p FROM (SELECT *, NOW() AS p FROM bid) B GROUP BY p;
CREATE VIEW global AS
SELECT COUNT(*) AS c, MAX(price) AS m FROM (SELECT bidder, price, NOW() AS p FROM bid) B;
CREATE VIEW arg_reads_clock AS
SELECT bidder, MAX(p) AS mp FROM (SELECT *, NOW() AS p FROM bid) B GROUP BY bidder;
CREATE VIEW filtered AS
SELECT bidder, COUNT(*) AS c FROM (SELECT *, NOW() AS p FROM bid) B WHERE price > 50 GROUP BY bidder, p;
CREATE VIEW cte_twice AS
WITH b AS (SELECT *, NOW() AS p FROM bid)
SELECT x.bidder, x.c, y.n FROM (SELECT bidder, COUNT(*) AS c FROM b GROUP BY bidder, p) x
JOIN (SELECT COUNT(*) AS n, p FROM b GROUP BY p) y ON TRUE;`;

type Row = readonly unknown[];
/** A row's identity (BIGINT results come back as bigint: compared as numbers). */
const key = (r: Row) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? Number(v) : v));

function addInto(acc: Map<string, number>, b: Batch): void {
  b.rows.forEach((r, i) => {
    const k = key(r);
    const w = (acc.get(k) ?? 0) + (b.weights[i] as number);
    if (w === 0) acc.delete(k);
    else acc.set(k, w);
  });
}

function expected(bids: readonly (readonly [number, number])[], clock: number): Record<string, Row[]> {
  const by = new Map<number, number[]>();
  for (const [b, p] of bids) by.set(b, [...(by.get(b) ?? []), p]);
  const ws = Math.floor(clock / W) * W;
  const bidders = [...by.keys()];
  return {
    lifted: bidders.map((b) => {
      const ps = by.get(b) as number[];
      return [b, ps.length, ps.reduce((x, y) => x + y, 0), ws];
    }),
    clock_key: bids.length === 0 ? [] : [[bids.length, clock]],
    global: [[bids.length, bids.length === 0 ? null : Math.max(...bids.map(([, p]) => p))]],
    arg_reads_clock: bidders.map((b) => [b, clock]),
    filtered: bidders
      .map((b) => [b, (by.get(b) as number[]).filter((p) => p > 50).length])
      .filter(([, c]) => (c as number) > 0),
    cte_twice: bids.length === 0 ? [] : bidders.map((b) => [b, (by.get(b) as number[]).length, bids.length]),
  };
}

function asSet(rows: Row[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rows) m.set(key(r), (m.get(key(r)) ?? 0) + 1);
  return m;
}

test('aggregates over NOW() in a derived table equal an independent computation as rows and the clock change', async () => {
  const p = await compileProgram(SQL);
  const c = p.instantiate();
  const random = rng(20261207);
  const bids: Array<[number, number]> = [];
  const views = new Map<string, Map<string, number>>();
  let clock = 5 * S;
  for (let step = 0; step < 60; step++) {
    const input = new Map<string, Batch>();
    const rows: Array<[number, number]> = [];
    const weights: number[] = [];
    const n = Math.floor(random() * 12);
    for (let i = 0; i < n; i++) {
      if (bids.length > 0 && random() < 0.3) {
        const [old] = bids.splice(Math.floor(random() * bids.length), 1) as [[number, number]];
        rows.push(old);
        weights.push(-1);
      } else {
        const row: [number, number] = [Math.floor(random() * 6), Math.floor(random() * 100)];
        bids.push(row);
        rows.push(row);
        weights.push(1);
      }
    }
    // step 40 deletes every row (groups vanish; the global aggregate keeps its one row)
    if (step === 40)
      for (const r of bids.splice(0)) {
        rows.push(r);
        weights.push(-1);
      }
    if (rows.length > 0) input.set('bid', { rows, weights });
    if (step === 0) input.set(NOW_TABLE, { rows: [[clock]], weights: [1] });
    else if (random() < 0.4) {
      const next = clock + Math.floor(random() * 8) * S; // sometimes within the window, sometimes not
      input.set(NOW_TABLE, { rows: [[clock], [next]], weights: [-1, 1] });
      clock = next;
    }
    const out = c.step(input);
    for (const [name, b] of out) {
      const acc = views.get(name) ?? new Map<string, number>();
      views.set(name, acc);
      addInto(acc, b);
    }
    const want = expected(bids, clock);
    for (const [name, rowsWanted] of Object.entries(want))
      assert.deepEqual(views.get(name) ?? new Map(), asSet(rowsWanted), `${name} after step ${step}`);
  }
});

test('an aggregate over NOW() in a derived table holds state per group, not per row of the table', async () => {
  const p = await compileProgram(`CREATE TABLE bid (bidder INT NOT NULL, price INT NOT NULL);
CREATE VIEW q12 AS
SELECT bidder, COUNT(*) AS c, TUMBLE_START(p, INTERVAL '10' SECOND) AS ws
FROM (SELECT *, NOW() AS p FROM bid) B
GROUP BY bidder, TUMBLE(p, INTERVAL '10' SECOND);`);
  const c = p.instantiate();
  let changes = 0;
  for (let step = 0; step < 20; step++) {
    const rows = Array.from({ length: 100 }, (_, i) => [i % 10, step * 100 + i]);
    const input = new Map<string, Batch>([['bid', { rows, weights: rows.map(() => 1) }]]);
    // the clock moves to another window at every step
    input.set(
      NOW_TABLE,
      step === 0 ? { rows: [[0]], weights: [1] } : { rows: [[(step - 1) * W], [step * W]], weights: [-1, 1] },
    );
    const out = c.step(input);
    if (step === 19) changes = out.get('q12')?.rows.length ?? 0;
  }
  let stateRows = 0;
  for (const parts of Object.values(c.snapshot().operators))
    for (const b of Object.values(parts)) stateRows += b.rows.length;
  // 2,000 bids of 10 bidders: the aggregate's groups, the cross join's copy of them, the clock's row
  assert.ok(stateRows < 100, `state rows ${stateRows}`);
  // a tick retracts and re-inserts each group's row once
  assert.equal(changes, 20);
  // a tick within the same window changes nothing
  const same = c.step(new Map([[NOW_TABLE, { rows: [[19 * W], [19 * W + S]], weights: [-1, 1] }]]));
  assert.equal(same.get('q12')?.rows.length ?? 0, 0);
});
