/**
 * Calcite's group windows (`GROUP BY TUMBLE(ts, size [, offset])` with `TUMBLE_START`/`TUMBLE_END`) agree with
 * the `TABLE(TUMBLE(...))` table function on random data, incrementally, in nested queries; misuse is coded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProgram, rowFromJson } from '../../../src/sql/program.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { mulberry32, norm } from '../operators/support.ts';

const SQL = `CREATE TABLE t (ts TIMESTAMP, d DATE, v BIGINT);
CREATE VIEW g AS SELECT TUMBLE_START(ts, INTERVAL '1' HOUR) AS s, TUMBLE_END(ts, INTERVAL '1' HOUR) AS e,
  COUNT(*) AS c, SUM(v) AS total FROM t GROUP BY TUMBLE(ts, INTERVAL '1' HOUR);
CREATE VIEW f AS SELECT window_start AS s, window_end AS e, COUNT(*) AS c, SUM(v) AS total
  FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' HOUR)) GROUP BY window_start, window_end;
CREATE VIEW go AS SELECT TUMBLE_START(ts, INTERVAL '1' HOUR, INTERVAL '15' MINUTES) AS s, COUNT(*) AS c
  FROM t GROUP BY TUMBLE(ts, INTERVAL '1' HOUR, INTERVAL '15' MINUTES);
CREATE VIEW fo AS SELECT window_start AS s, COUNT(*) AS c
  FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' HOUR, INTERVAL '15' MINUTES)) GROUP BY window_start;
CREATE VIEW nested AS SELECT TUMBLE_START(s, INTERVAL '1' DAY) AS day, SUM(c) AS c
  FROM (SELECT TUMBLE_START(ts, INTERVAL '1' HOUR) AS s, COUNT(*) AS c FROM t GROUP BY TUMBLE(ts, INTERVAL '1' HOUR))
  GROUP BY TUMBLE(s, INTERVAL '1' DAY);
CREATE VIEW daily AS SELECT TUMBLE_START(ts, INTERVAL '1' DAY) AS day, COUNT(*) AS c FROM t GROUP BY TUMBLE(ts, INTERVAL '1' DAY);
CREATE VIEW castdate AS SELECT CAST(d AS TIMESTAMP) AS s, COUNT(*) AS c FROM t GROUP BY CAST(d AS TIMESTAMP);
CREATE VIEW bydate AS SELECT TUMBLE_START(d, INTERVAL '1' DAY) AS s, COUNT(*) AS c FROM t GROUP BY TUMBLE(d, INTERVAL '1' DAY);`;

test('GROUP BY TUMBLE equals the TUMBLE table function, step by step', async () => {
  const seed = Number(process.env.SEED ?? 4242);
  console.log(`group windows seed ${seed}`);
  const rnd = mulberry32(seed);
  const p = await compileProgram(SQL);
  const table = p.tables[0];
  assert.ok(table);
  const c = p.instantiate();
  const acc = new Map<string, Batch>();
  const add = (name: string, b: Batch | undefined) => {
    const a = acc.get(name) ?? { rows: [], weights: [] };
    for (let i = 0; i < (b?.rows.length ?? 0); i++) {
      a.rows.push(b?.rows[i] ?? []);
      a.weights.push(b?.weights[i] ?? 0);
    }
    acc.set(name, a);
  };
  const live: ReturnType<typeof rowFromJson>[] = [];
  for (let s = 0; s < 40; s++) {
    const rows: ReturnType<typeof rowFromJson>[] = [];
    const weights: number[] = [];
    for (let i = 0; i < 5; i++) {
      if (live.length > 0 && rnd() < 0.3) {
        rows.push(live.splice(Math.floor(rnd() * live.length), 1)[0] as ReturnType<typeof rowFromJson>);
        weights.push(-1);
        continue;
      }
      const t = Date.UTC(2024, 0, 1) + Math.floor(rnd() * 3 * 86_400_000);
      const iso = new Date(t).toISOString();
      const r = rowFromJson(table, {
        ts: rnd() < 0.1 ? null : iso.replace('T', ' ').slice(0, 19),
        d: iso.slice(0, 10),
        v: Math.floor(rnd() * 100),
      });
      live.push(r);
      rows.push(r);
      weights.push(1);
    }
    const out = c.step(new Map([['t', { rows, weights }]]));
    for (const [k, b] of out) add(k, b);
    const zs = (n: string) => norm(acc.get(n) ?? { rows: [], weights: [] });
    // rows whose time is NULL: the group form groups them under a NULL window (GROUP BY of a NULL key), the
    // table function leaves them out (Feldera: in no window); every other window agrees
    const windowed = (n: string) => zs(n).filter(([row]) => !String(row).startsWith('[null'));
    assert.deepEqual(windowed('g'), zs('f'), `seed ${seed} step ${s}`);
    assert.deepEqual(windowed('go'), zs('fo'), `seed ${seed} step ${s}`);
  }
  // the nested roll-up equals the direct daily window; a DATE counts as its midnight
  const z = (n: string) => norm(acc.get(n) ?? { rows: [], weights: [] });
  assert.ok(z('nested').length > 1);
  assert.deepEqual(z('nested'), z('daily'));
  assert.deepEqual(z('bydate'), z('castdate'));
});

test('TUMBLE group-window misuse is a coded error', async () => {
  for (const [sql, re] of [
    [
      "SELECT TUMBLE_START(v, INTERVAL '1' HOUR) FROM t GROUP BY TUMBLE(v, INTERVAL '1' HOUR)",
      /TIMESTAMP or DATE/,
    ],
    ["SELECT COUNT(*) FROM t GROUP BY TUMBLE(ts, INTERVAL '0' HOUR)", /must be positive/],
    ['SELECT COUNT(*) FROM t GROUP BY TUMBLE(ts, v)', /constant day-time interval/],
  ] as const) {
    await assert.rejects(
      compileProgram(`CREATE TABLE t (ts TIMESTAMP, v BIGINT); CREATE VIEW x AS ${sql};`),
      (e) => {
        assert.equal((e as { errorCode?: string }).errorCode, 'SqlTypeError', String(e));
        assert.match(String((e as Error).message), re);
        return true;
      },
    );
  }
});
