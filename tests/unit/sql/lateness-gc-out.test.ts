/**
 * Bounded state under LATENESS beyond the first operator (issue 18's leftovers): waterlines out of top-k, OVER and
 * SESSION (so an aggregate downstream discards too), grouping sets / ROLLUP discarding per set, OVER with a RANGE
 * frame discarding rows no frame can need again, ASOF JOIN discarding rows that can no longer match, and views
 * comparing a column with NOW(). For each program: a long stream that respects the waterlines (with
 * retractions) gives the same output as the program without LATENESS, the state stays flat while the plain
 * program's grows, and the discards are ordinary state changes — a copy restored from base + deltas and a warm
 * copy that applied the deltas continue exactly like the original. Randomised: the seed is printed (SEED=n).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProgram, type SqlCircuit } from '../../../src/sql/program.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { encodeRow, type Row } from '../../../src/zset/value.ts';
import { mulberry32 } from '../operators/support.ts';

const SEED = Number(process.env.SEED ?? Math.floor(Math.random() * 1e6));
console.log(`lateness-gc-out: SEED=${SEED}`);

const T0 = Date.UTC(2024, 0, 1) * 1000;
const SEC = 1_000_000;
const STEPS = 60;

const table = (late: boolean, extra = '') =>
  `CREATE TABLE ev (k INT NOT NULL, ts TIMESTAMP NOT NULL${late ? ' LATENESS INTERVAL 2 SECONDS' : ''}, v INT NOT NULL);${extra}\n`;

const tumble = `TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '2' SECONDS))`;

/** Step s's changes: `n` rows with times in [s − 1, s + 1) s (never late), and one retraction of step s − 1's. */
function events(seed: number, n: number, keys: number): (s: number) => Map<string, Batch> {
  const made: Row[][] = [];
  return (s) => {
    while (made.length <= s) {
      const rand = mulberry32(seed * 1000 + made.length);
      const t = made.length;
      made.push(
        Array.from({ length: n }, () => [
          Math.floor(rand() * keys),
          T0 + Math.floor((t - 1 + rand() * 2) * SEC),
          Math.floor(rand() * 100),
        ]),
      );
    }
    const rows: Row[] = [...(made[s] as Row[])];
    const weights = rows.map(() => 1);
    const prev = made[s - 1];
    if (prev !== undefined) {
      rows.push(prev[0] as Row);
      weights.push(-1);
    }
    return new Map([['ev', { rows, weights }]]);
  };
}

function stateRows(c: SqlCircuit): number {
  let n = 0;
  for (const parts of Object.values(c.snapshot().operators))
    for (const b of Object.values(parts)) n += b.rows.length;
  return n;
}

function addAll(acc: Map<string, number>, out: Map<string, Batch>): void {
  for (const [view, b] of out)
    b.rows.forEach((r, i) => {
      const k = `${view} ${encodeRow(r)}`;
      const w = (acc.get(k) ?? 0) + (b.weights[i] as number);
      if (w === 0) acc.delete(k);
      else acc.set(k, w);
    });
}

const norm = (out: Map<string, Batch>) =>
  [...out]
    .flatMap(([v, b]) => b.rows.map((r, i) => `${v} ${encodeRow(r)} ${b.weights[i]}`))
    .filter((x) => !x.endsWith(' 0'))
    .sort();

/**
 * Runs `views` over the stream with and without LATENESS; checks outputs, flat state, restore and warm apply.
 * `clock(s)`, when given, is the NOW() value (µs) of step s.
 */
async function check(
  name: string,
  views: string,
  o: {
    rows?: number;
    keys?: number;
    extra?: (late: boolean) => string;
    clock?: (s: number) => number;
    /** False: the state may grow (checked by the caller). */
    flat?: boolean;
    /** Further inputs of step s. */
    more?: (s: number) => [string, Batch][];
  } = {},
): Promise<{ late: number[]; plain: number }> {
  const late = await compileProgram(table(true, o.extra?.(true)) + views);
  const plain = await compileProgram(table(false, o.extra?.(false)) + views);
  const input = events(SEED, o.rows ?? 12, o.keys ?? 4);
  const withClock = (s: number, m0: Map<string, Batch>): Map<string, Batch> => {
    const m = new Map([...m0, ...(o.more?.(s) ?? [])]);
    if (o.clock === undefined) return m;
    const rows: Row[] = [[o.clock(s)]];
    const weights = [1];
    if (s > 0) {
      rows.push([o.clock(s - 1)]);
      weights.push(-1);
    }
    return new Map([...m, ['now', { rows, weights }]]);
  };
  const c = late.instantiate();
  const p = plain.instantiate();
  c.trackChanges(true);
  const base = c.snapshot();
  const deltas: ReturnType<SqlCircuit['takeDelta']>[] = [];
  const warm = late.instantiate();
  warm.restore(base);
  let restored: SqlCircuit | null = null;
  let warmActive = false;
  const outLate = new Map<string, number>();
  const outPlain = new Map<string, number>();
  const state: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const ins = withClock(s, input(s));
    const out = c.step(ins);
    addAll(outLate, out);
    addAll(outPlain, p.step(ins));
    if (restored !== null)
      assert.deepEqual(norm(restored.step(ins)), norm(out), `${name} step ${s}: the restored copy differs`);
    if (warmActive)
      assert.deepEqual(norm(warm.step(ins)), norm(out), `${name} step ${s}: the warm copy differs`);
    if (warmActive) state.push(stateRows(c));
    else {
      // the warm copy applies every step's delta (and is what the state is counted on, since a snapshot of the
      // original would start its deltas afresh); a copy restored from base + deltas joins at step 30, the warm
      // copy itself starts stepping at step 40
      const d = c.takeDelta();
      deltas.push(d);
      warm.circuit.applyDelta(d);
      state.push(stateRows(warm));
      if (s === 29) {
        restored = late.instantiate();
        restored.restore(base, deltas);
      }
      if (s === 39) warmActive = true;
    }
  }
  assert.equal(
    [...c.lateRecords().values()].reduce((a, b) => a + b, 0),
    0,
    `${name}: the stream is in order`,
  );
  assert.deepEqual(
    [...outLate].sort(),
    [...outPlain].sort(),
    `${name}: output differs from the run without LATENESS`,
  );
  assert.ok(outLate.size > 0, `${name}: some output`);
  const all = stateRows(p);
  console.log(`${name}: state ${state.join(' ')}; without LATENESS ${all}`);
  const mid = Math.max(...state.slice(15, 30));
  const end = Math.max(...state.slice(45));
  if (o.flat !== false) {
    assert.ok(end <= mid * 1.3 + 10, `${name}: state grows (${mid} at steps 15-29, ${end} at 45-59)`);
    assert.ok(end < all / 3, `${name}: ${end} rows held at the end, ${all} without LATENESS`);
  }
  return { late: state, plain: all };
}

test('top-k out: its partition key keeps the waterline, an aggregate over the top-k discards', async () => {
  await check(
    'top-k',
    `CREATE VIEW top2 AS SELECT k, v, window_start FROM (
  SELECT k, v, window_start, ROW_NUMBER() OVER (PARTITION BY window_start ORDER BY v DESC, k, ts) AS rn FROM ${tumble})
  WHERE rn <= 2;
CREATE VIEW o AS SELECT window_start, COUNT(*) AS n, SUM(v) AS s FROM top2 GROUP BY window_start;`,
  );
});

test('OVER out: the partition key keeps the waterline, an aggregate over the running sums discards', async () => {
  await check(
    'over',
    `CREATE VIEW runs AS SELECT k, v, window_start, SUM(v) OVER (PARTITION BY window_start ORDER BY ts) AS run
  FROM ${tumble};
CREATE VIEW o AS SELECT window_start, MAX(run) AS m, COUNT(*) AS n FROM runs GROUP BY window_start;`,
  );
});

test('OVER with RANGE frames over the LATENESS column: old rows leave the partitions, the order column keeps a waterline', async () => {
  await check(
    'range',
    `CREATE VIEW roll AS SELECT k, ts, v,
  SUM(v) OVER (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL '3' SECONDS PRECEDING AND CURRENT ROW) AS s3,
  COUNT(*) OVER (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL '1' SECOND PRECEDING AND INTERVAL '1' SECOND FOLLOWING) AS c
  FROM ev;
CREATE VIEW o AS SELECT ts, SUM(s3) AS a, SUM(c) AS b FROM roll GROUP BY ts;`,
  );
});

test('SESSION out: window_end keeps the time waterline, an aggregate per session discards closed ones', async () => {
  await check(
    'session',
    `CREATE VIEW sess AS SELECT k, window_start, window_end, COUNT(*) AS n, SUM(v) AS s
  FROM TABLE(SESSION(TABLE ev, DESCRIPTOR(ts), DESCRIPTOR(k), INTERVAL '0.4' SECOND))
  GROUP BY k, window_start, window_end;`,
    { rows: 8, keys: 8 },
  );
});

test('grouping sets and ROLLUP under LATENESS: each set discards, a column every set keeps has a waterline', async () => {
  await check(
    'grouping sets',
    `CREATE VIEW g AS SELECT window_start, k, COUNT(*) AS n, SUM(v) AS s FROM ${tumble}
  GROUP BY GROUPING SETS ((window_start, k), (window_start));
CREATE VIEW r AS SELECT window_start, k, COUNT(*) AS n, MAX(v) AS m FROM ${tumble} GROUP BY ROLLUP(window_start, k);
CREATE VIEW o AS SELECT window_start, SUM(n) AS n FROM g GROUP BY window_start;`,
  );
});

test('ASOF JOIN under LATENESS: left rows below the right waterline and shadowed right rows leave the state', async () => {
  await check(
    'asof',
    `CREATE VIEW l AS SELECT k, ts, v FROM ev WHERE v % 2 = 0;
CREATE VIEW r AS SELECT k, ts, v FROM ev WHERE v % 2 = 1;
CREATE VIEW a AS SELECT l.k, l.ts, l.v, r.v AS rv, r.ts AS rts
  FROM l LEFT ASOF JOIN r MATCH_CONDITION (l.ts >= r.ts) ON l.k = r.k;
CREATE VIEW o AS SELECT ts, COUNT(*) AS n, SUM(rv) AS s FROM a GROUP BY ts;`,
  );
});

test('ASOF JOIN with a waterline on the right only: left rows of any age still match (only left rows go)', async () => {
  // the left table has no LATENESS and gets rows up to 30 s old: right rows must all stay, left rows below the
  // right waterline go (right changes never reach them again)
  const old = (s: number): [string, Batch][] => {
    const rand = mulberry32(SEED * 7919 + s);
    const rows: Row[] = Array.from({ length: 4 }, () => [
      Math.floor(rand() * 4),
      T0 + Math.floor((s - rand() * 30) * SEC),
      Math.floor(rand() * 100),
    ]);
    return [['lt', { rows, weights: rows.map(() => 1) }]];
  };
  const { late, plain } = await check(
    'asof right only',
    `CREATE VIEW a AS SELECT lt.k, lt.ts, lt.v, ev.v AS rv, ev.ts AS rts
  FROM lt LEFT ASOF JOIN ev MATCH_CONDITION (lt.ts >= ev.ts) ON lt.k = ev.k;`,
    {
      extra: () => 'CREATE TABLE lt (k INT NOT NULL, ts TIMESTAMP NOT NULL, v INT NOT NULL);',
      more: old,
      flat: false,
    },
  );
  // the right rows stay (12 a step): about half of what the plain program holds, not a constant
  assert.ok((late.at(-1) as number) < plain * 0.75, `left rows are discarded (${late.at(-1)} of ${plain})`);
});

test('NOW() temporal filters: rows that aged out leave the state (not only the output), with or without LATENESS', async () => {
  const { late, plain } = await check(
    'now',
    `CREATE VIEW recent AS SELECT k, ts, v FROM ev WHERE ts >= NOW() - INTERVAL 3 SECONDS;
CREATE VIEW per_k AS SELECT k, COUNT(*) AS n, SUM(v) AS s FROM ev
  WHERE ts BETWEEN NOW() - INTERVAL 5 SECONDS AND NOW() + INTERVAL 1 SECOND GROUP BY k;
CREATE VIEW stamped AS SELECT k, NOW() AS seen FROM ev WHERE k = 0 AND ts > NOW() - INTERVAL 2 SECONDS;
CREATE VIEW settled AS SELECT k, ts FROM ev WHERE ts <= NOW() - INTERVAL 1 SECOND AND ts > NOW() - INTERVAL 4 SECONDS;`,
    { clock: (s) => T0 + s * SEC, flat: false },
  );
  // the clock bounds the state of both programs (the LATENESS one has it too): flat in both
  const mid = Math.max(...late.slice(15, 30));
  const end = Math.max(...late.slice(45));
  assert.ok(end <= mid * 1.3 + 10, `now: state grows (${mid} at steps 15-29, ${end} at 45-59)`);
  assert.ok(plain <= mid * 1.3 + 10, `now: the program without LATENESS holds ${plain} rows at the end`);
});

test('emit_final on a waterline passed on by SESSION: each closed session sent once, as the plain view has it', async () => {
  const body = `SELECT k, window_start, window_end, COUNT(*) AS n, SUM(v) AS s
  FROM TABLE(SESSION(TABLE ev, DESCRIPTOR(ts), DESCRIPTOR(k), INTERVAL '0.4' SECOND)) GROUP BY k, window_start, window_end`;
  const p = await compileProgram(
    `${table(true)}CREATE VIEW fin WITH ('emit_final' = 'window_end') AS ${body};
CREATE VIEW live AS ${body};`,
  );
  const c = p.instantiate();
  const input = events(SEED, 8, 8);
  const fin = new Map<string, number>();
  const live = new Map<string, number>();
  for (let s = 0; s < STEPS; s++) {
    const out = c.step(input(s));
    const f = out.get('fin');
    f?.rows.forEach((r, i) => {
      assert.ok((f.weights[i] as number) > 0, `step ${s}: a final row is never retracted`);
      const k = encodeRow(r);
      assert.ok(!fin.has(k), `step ${s}: a final row is sent once`);
      fin.set(k, f.weights[i] as number);
    });
    addAll(live, new Map([['', out.get('live') ?? { rows: [], weights: [] }]]));
  }
  assert.ok(fin.size > 20, `sessions closed: ${fin.size}`);
  for (const [k, w] of fin) assert.equal(live.get(` ${k}`), w, `final row ${k} is the live view's`);
});

test('a global ORDER BY ts DESC LIMIT over a LATENESS column keeps the rows above the waterline plus the limit', async () => {
  const { late } = await check(
    'order-desc',
    `CREATE VIEW latest AS SELECT k, ts, v FROM ev ORDER BY ts DESC LIMIT 5;
CREATE VIEW latest_trunc AS SELECT k, v FROM ev ORDER BY TIMESTAMP_TRUNC(ts, SECOND) DESC, v, k LIMIT 3 OFFSET 1;`,
  );
  // about three steps' rows are above the waterline (two seconds of lateness, ~12 rows a step) plus 5 and 4
  assert.ok(Math.max(...late.slice(45)) < 12 * 4 * 2 + 20, `state ${late.slice(45).join(' ')}`);
});

test('a global ORDER BY ts ASC LIMIT over a LATENESS column: once the window is below the waterline it is final', async () => {
  const { late } = await check(
    'order-asc',
    `CREATE VIEW oldest AS SELECT k, ts, v FROM ev ORDER BY ts LIMIT 4;
CREATE VIEW oldest_rn AS SELECT k, ts, v FROM (
  SELECT k, ts, v, ROW_NUMBER() OVER (ORDER BY ts, k, v) AS rn FROM ev) WHERE rn <= 3;`,
  );
  // the 4 + 3 oldest rows (and the LATENESS filter's maximum): later rows are discarded as they arrive
  assert.ok(Math.max(...late.slice(10)) <= 10, `state ${late.slice(10).join(' ')}`);
});

test('ORDER BY a column without a waterline keeps every row (nothing is provably out of reach)', async () => {
  const { late, plain } = await check(
    'order-v',
    'CREATE VIEW top_v AS SELECT k, ts, v FROM ev ORDER BY v DESC LIMIT 5;',
    {
      flat: false,
    },
  );
  assert.ok(Math.max(...late.slice(45)) > plain / 2, `${late.slice(45).join(' ')} vs ${plain}`);
});
