/**
 * LATENESS end to end in the SQL engine: both syntaxes, what program info shows, late rows dropped from tables
 * and views (with the waterline of the previous step), the count, checkpoint (snapshot + deltas) and restore
 * continuing with the same drops, and the compile errors for misuse.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkpointExtra, decideResume } from '../../../src/controller/bootstrap.ts';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { describe as describeProgram } from '../../../src/sql/bootstrap.ts';
import { compileProgram, rowFromJson, type SqlCircuit } from '../../../src/sql/program.ts';
import { programInfo } from '../../../src/sql/program-info.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { mulberry32 } from '../operators/support.ts';

const PROGRAM = `CREATE TABLE purchase (
  ts TIMESTAMP NOT NULL LATENESS INTERVAL 1 HOUR,
  amount BIGINT LATENESS 5,
  note VARCHAR
) WITH ('append_only' = 'true');
CREATE MATERIALIZED VIEW big AS SELECT ts, amount FROM purchase WHERE amount > 0;
LATENESS big.ts INTERVAL '30' MINUTES;
CREATE MATERIALIZED VIEW total AS SELECT COUNT(*) AS n, SUM(amount) AS s FROM purchase;
`;

function show(b: Batch | undefined): string[] {
  const out: string[] = [];
  for (let i = 0; i < (b?.rows.length ?? 0); i++)
    out.push(
      `${JSON.stringify(b?.rows[i], (_k, v) => (typeof v === 'bigint' ? Number(v) : v))}x${b?.weights[i]}`,
    );
  return out.sort();
}

async function compiled() {
  const p = await compileProgram(PROGRAM);
  const table = p.tables[0];
  assert.ok(table);
  const rec = (ts: string, amount: number | null) => rowFromJson(table, { ts, amount, note: null });
  return { p, rec };
}

function feed(c: SqlCircuit, rows: ReturnType<typeof rowFromJson>[], weight = 1) {
  return c.step(new Map([['purchase', { rows, weights: rows.map(() => weight) }]]));
}

describe('LATENESS', () => {
  test('program info shows each annotated column’s lateness as written', async () => {
    const { p } = await compiled();
    const info = programInfo(p) as { schema: { inputs: Array<{ fields: Array<Record<string, unknown>> }> } };
    const fields = info.schema.inputs[0]?.fields ?? [];
    assert.deepEqual(
      fields.map((f) => [f.name, f.lateness]),
      [
        ['ts', 'INTERVAL 1 HOUR'],
        ['amount', '5'],
        ['note', undefined],
      ],
    );
    assert.equal(p.views.find((v) => v.name === 'big')?.columns[0]?.lateness, "INTERVAL '30' MINUTES");
  });

  test('rows late for the waterline of earlier steps are dropped on input, counted, and never reach a view', async () => {
    const { p, rec } = await compiled();
    const c = p.instantiate();
    // one step: no waterline yet, rows two hours apart both count
    let out = feed(c, [rec('2024-01-01 10:00:00', 10), rec('2024-01-01 08:00:00', 20)]);
    assert.deepEqual(show(out.get('total')), ['[2,30]x1']);
    // the waterline of ts is now 09:00: 08:59:59 is late, 09:00:00 is not; amount's is 20 − 5 = 15
    out = feed(c, [
      rec('2024-01-01 08:59:59', 100),
      rec('2024-01-01 09:00:00', 100),
      rec('2024-01-01 11:00:00', 14),
    ]);
    assert.deepEqual(show(out.get('total')), ['[2,30]x-1', '[3,130]x1']);
    assert.deepEqual([...c.lateRecords()], [['purchase', 2]]);
    // a late deletion is dropped too (the row stays)
    out = feed(c, [rec('2024-01-01 08:00:00', 20)], -1);
    assert.deepEqual(show(out.get('total')), []);
    assert.deepEqual([...c.lateRecords()], [['purchase', 3]]);
  });

  test('LATENESS on a view column drops the view’s late rows (downstream of the table’s filter)', async () => {
    const { p, rec } = await compiled();
    const c = p.instantiate();
    feed(c, [rec('2024-01-01 10:00:00', 10)]);
    // the table's waterline is 09:00 and lets 09:15 through; the view's is 09:30
    const out = feed(c, [rec('2024-01-01 09:15:00', 50), rec('2024-01-01 09:45:00', 50)]);
    assert.equal(show(out.get('big')).length, 1);
    assert.match(show(out.get('big'))[0] ?? '', /x1$/);
    assert.deepEqual(show(out.get('total')), ['[1,10]x-1', '[3,110]x1']);
  });

  test('checkpoint and restore: the waterline and the count survive, and replay drops the same rows', async () => {
    const { p, rec } = await compiled();
    const steps = [
      [rec('2024-01-01 10:00:00', 10)],
      [rec('2024-01-01 12:00:00', 10), rec('2024-01-01 08:30:00', 10)],
      [rec('2024-01-01 10:59:00', 30), rec('2024-01-01 11:00:00', 30)],
      [rec('2024-01-01 11:30:00', 40), rec('2024-01-01 13:00:00', 40)],
    ];
    const straight = p.instantiate();
    const expected = steps.map((s) => show(feed(straight, s).get('total')));
    // checkpoint after step 1 (base) and step 2 (delta), then a fresh circuit restores and continues
    const first = p.instantiate();
    first.trackChanges(true);
    feed(first, steps[0] ?? []);
    const base = first.snapshot();
    feed(first, steps[1] ?? []);
    const delta = first.takeDelta();
    const restored = p.instantiate();
    restored.restore(base, [delta]);
    assert.deepEqual([...restored.lateRecords()], [['purchase', 1]]);
    assert.deepEqual(show(feed(restored, steps[2] ?? []).get('total')), expected[2]);
    assert.deepEqual(show(feed(restored, steps[3] ?? []).get('total')), expected[3]);
    assert.deepEqual([...restored.lateRecords()], [...straight.lateRecords()]);
    assert.deepEqual([...straight.lateRecords()], [['purchase', 2]]);
  });

  test('numeric and TIME columns: a waterline outside the type (underflow, midnight wrap) is no waterline', async () => {
    const p = await compileProgram(
      'CREATE TABLE t (s SMALLINT LATENESS 2, tm TIME LATENESS INTERVAL 1 HOUR, n DECIMAL(10,2) LATENESS 1.5);',
    );
    const t = p.tables[0];
    assert.ok(t);
    const c = p.instantiate();
    const step = (o: Record<string, unknown>) =>
      show(c.step(new Map([['t', { rows: [rowFromJson(t, o)], weights: [1] }]])).get('t') ?? undefined);
    step({ s: -32768, tm: '00:10:00', n: '10.00' });
    // -32768 − 2 does not fit a SMALLINT and 00:10 − 1 h wraps: neither column has a waterline yet
    step({ s: -32768, tm: '00:05:00', n: '8.50' });
    assert.deepEqual([...c.lateRecords()], [['t', 0]]);
    // DECIMAL: 8.49 < 10.00 − 1.5
    step({ s: 0, tm: '00:05:00', n: '8.49' });
    assert.deepEqual([...c.lateRecords()], [['t', 1]]);
  });

  test('a key column with LATENESS does not make the table materialized by itself', async () => {
    const p = await compileProgram(
      'CREATE TABLE k (ts TIMESTAMP NOT NULL LATENESS INTERVAL 1 DAY PRIMARY KEY, v INT); CREATE TABLE m (id INT PRIMARY KEY, ts DATE LATENESS INTERVAL 2 DAYS);',
    );
    assert.equal(p.tables[0]?.materialized, false);
    assert.equal(p.tables[1]?.materialized, true);
  });

  const errors: Array<[string, string, string, RegExp]> = [
    [
      'unknown column',
      'CREATE TABLE t (a INT); CREATE VIEW v AS SELECT a FROM t; LATENESS v.zz 5;',
      'SqlNameError',
      /"zz".*line 1, column 59/,
    ],
    [
      'unknown relation',
      'CREATE TABLE t (a INT);\nLATENESS nope.a 5;',
      'SqlNameError',
      /"nope".*line 2, column 1/,
    ],
    ['not a name', 'CREATE TABLE t (a INT); LATENESS 5;', 'SqlSyntaxError', /LATENESS view\.column/],
    ['no expression', 'CREATE TABLE t (a INT LATENESS, b INT);', 'SqlSyntaxError', /needs an expression/],
    [
      'varchar column',
      "CREATE TABLE t (a VARCHAR LATENESS 'x');",
      'SqlTypeError',
      /date, time, timestamp or numeric/,
    ],
    [
      'number on a timestamp',
      'CREATE TABLE t (ts TIMESTAMP LATENESS 5);',
      'SqlTypeError',
      /must be an interval/,
    ],
    [
      'interval on a number',
      'CREATE TABLE t (a BIGINT LATENESS INTERVAL 1 HOUR);',
      'SqlTypeError',
      /must be a number/,
    ],
    ['not a constant', 'CREATE TABLE t (a INT, b INT LATENESS a);', 'SqlTypeError', /must be a constant/],
    [
      'twice',
      'CREATE TABLE t (a INT LATENESS 1);\nLATENESS t.a 2;',
      'SqlNameError',
      /more than one LATENESS.*line 2/,
    ],
  ];
  for (const [name, sql, code, message] of errors) {
    test(`misuse is a coded compile error: ${name}`, async () => {
      await assert.rejects(compileProgram(sql), (e) => {
        assert.ok(isServiceError(e), String(e));
        assert.equal(e.errorCode, code, e.message);
        assert.match(e.message, message);
        return true;
      });
    });
  }

  test('positions after a LATENESS clause are unchanged (errors further on point at the right place)', async () => {
    await assert.rejects(
      compileProgram(
        'CREATE TABLE t (ts TIMESTAMP LATENESS INTERVAL 1 HOUR, a INT);\nCREATE VIEW v AS SELECT zz FROM t;',
      ),
      /line 2, column 25/,
    );
  });
});

describe('LATENESS bounds the state of a windowed aggregation', () => {
  const program = (lateness: string) => `CREATE TABLE ev (ts TIMESTAMP NOT NULL ${lateness}, v BIGINT);
CREATE VIEW per_min AS SELECT window_start, window_end, COUNT(*) AS c, SUM(v) AS s
  FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end;
CREATE VIEW per_hop AS SELECT window_start, MAX(v) AS m
  FROM TABLE(HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '3' MINUTES)) WHERE v > 10 GROUP BY window_start;
CREATE VIEW per_ts AS SELECT ts, COUNT(*) AS c FROM ev GROUP BY ts;
CREATE VIEW per_grp AS SELECT TUMBLE_START(ts, INTERVAL '2' MINUTES) AS w, TUMBLE_END(ts, INTERVAL '2' MINUTES) AS e,
  MIN(v) AS lo FROM ev GROUP BY TUMBLE(ts, INTERVAL '2' MINUTES);`;

  /** Rows held by the circuit's aggregates (their "output" state: one row per group). */
  const groups = (c: SqlCircuit): number => {
    let n = 0;
    for (const [k, st] of Object.entries(c.snapshot().operators))
      if (k.endsWith(':aggregate')) n += st.output?.rows.length ?? 0;
    return n;
  };

  test('an endless stream keeps a flat number of groups, with the same output as without LATENESS', async () => {
    const seed = Number(process.env.SEED ?? 77);
    console.log(`bounded windows seed ${seed}`);
    const rnd = mulberry32(seed);
    const bounded = await compileProgram(program('LATENESS INTERVAL 5 MINUTES'));
    const unbounded = await compileProgram(program(''));
    const b = bounded.instantiate();
    const u = unbounded.instantiate();
    b.trackChanges(true);
    const table = bounded.tables[0];
    assert.ok(table);
    const sums = new Map<string, Map<string, number>>();
    const acc = (tag: string, out: Map<string, Batch>) => {
      for (const [view, batch] of out)
        for (const line of show(batch)) {
          const [row, w] = line.split('x');
          const m = sums.get(`${tag}:${view}`) ?? new Map<string, number>();
          m.set(row as string, (m.get(row as string) ?? 0) + Number(w));
          sums.set(`${tag}:${view}`, m);
        }
    };
    const start = Date.UTC(2024, 0, 1);
    const sizes: number[] = [];
    let base = b.snapshot();
    const deltas = [];
    let warm = bounded.instantiate(); // a warm standby: applies each checkpoint's delta
    warm.restore(base);
    for (let s = 0; s < 600; s++) {
      // 10 s per step; rows up to 4 minutes old (never late), so both programs see the same rows
      const rows = [];
      for (let i = 0; i < 4; i++) {
        const t = start + s * 10_000 - Math.floor(rnd() * 240_000);
        rows.push(
          rowFromJson(table, {
            ts: new Date(t).toISOString().replace('T', ' ').slice(0, 23),
            v: Math.floor(rnd() * 50),
          }),
        );
      }
      const batch = { rows, weights: rows.map(() => 1) };
      acc('b', b.step(new Map([['ev', batch]])));
      acc('u', u.step(new Map([['ev', batch]])));
      if (s % 100 === 99) {
        // measured on a copy restored from the checkpoint chain (a snapshot of b would re-base its deltas)
        deltas.push(b.takeDelta());
        warm.circuit.applyDelta(deltas[deltas.length - 1] as (typeof deltas)[number]);
        const copy = bounded.instantiate();
        copy.restore(base, deltas);
        sizes.push(groups(copy));
      }
      if (s === 299) {
        base = b.snapshot();
        deltas.length = 0;
        warm = bounded.instantiate();
        warm.restore(base);
      }
    }
    assert.deepEqual([...b.lateRecords()], [['ev', 0]]);
    // the outputs agree: closed windows keep their rows downstream, nothing is retracted
    for (const v of ['per_min', 'per_hop', 'per_ts', 'per_grp']) {
      const nz = (m: Map<string, number> | undefined) => [...(m ?? [])].filter(([, w]) => w !== 0).sort();
      assert.deepEqual(nz(sums.get(`b:${v}`)), nz(sums.get(`u:${v}`)), `seed ${seed} view ${v}`);
    }
    // state is flat: the groups of the last few minutes only (windows of ≤ 10 minutes, 24 distinct ts/min)
    console.log(`groups held every 100 steps: ${sizes.join(', ')}; without LATENESS: ${groups(u)}`);
    assert.ok(Math.max(...sizes) < 300, `seed ${seed}: ${sizes.join(', ')}`);
    assert.ok(groups(u) > 2000, 'without LATENESS every group is kept');
    // the purged state restores (base + deltas) and applies warm (delta by delta): both continue like b
    const r = bounded.instantiate();
    r.restore(base, deltas);
    const t = start + 600 * 10_000;
    const last = [
      rowFromJson(table, { ts: new Date(t).toISOString().replace('T', ' ').slice(0, 23), v: 42 }),
    ];
    const batch = { rows: last, weights: [1] };
    const outOf = (c: SqlCircuit) => [...c.step(new Map([['ev', batch]]))].map(([k, x]) => [k, show(x)]);
    const want = outOf(b);
    assert.deepEqual(outOf(r), want);
    assert.deepEqual(outOf(warm), want);
    assert.equal(groups(r), groups(b));
    assert.equal(groups(warm), groups(b));
  });
});

describe('LATENESS and changed programs', () => {
  const resume = async (oldSql: string, newSql: string) => {
    const old = await compileProgram(oldSql);
    const neu = await compileProgram(newSql);
    const c = old.instantiate();
    return decideResume(
      neu,
      describeProgram(neu),
      'new',
      {
        uuid: 'cp1',
        fingerprint: 'old',
        extra: checkpointExtra(describeProgram(old)),
        base: c.snapshot(),
        deltas: [],
      },
      { decide: async () => {}, bootstrapping: () => {}, log: () => {} },
    );
  };
  const T = "CREATE TABLE t (ts TIMESTAMP LATENESS INTERVAL 1 HOUR, x INT) WITH ('materialized' = 'true');";
  const P = "CREATE TABLE t (ts TIMESTAMP, x INT) WITH ('materialized' = 'true');";

  test('as in Feldera, a program with LATENESS (old or new) is not bootstrapped after a change', async () => {
    for (const [a, b, re] of [
      [
        `${T} CREATE VIEW v AS SELECT x FROM t;`,
        `${T} CREATE VIEW v AS SELECT x + 1 AS x FROM t;`,
        /new version.*'t'.*\n.*checkpointed version.*'t'/,
      ],
      [
        `${P} CREATE VIEW v AS SELECT x FROM t;`,
        `${T} CREATE VIEW v AS SELECT x FROM t;`,
        /new version of the program has relations with lateness: 't'/,
      ],
      [
        `${T} CREATE VIEW v AS SELECT x FROM t;`,
        `${P} CREATE VIEW v AS SELECT x FROM t;`,
        /checkpointed version of the program has relations with lateness: 't'/,
      ],
    ] as const) {
      await assert.rejects(resume(a, b), (e) => {
        assert.ok(isServiceError(e) && e.errorCode === 'BootstrapNotAllowed', String(e));
        assert.match(e.message, re);
        return true;
      });
    }
  });

  test('the same program with LATENESS (or only whitespace changed) resumes', async () => {
    const sql = `${T} CREATE VIEW v AS SELECT x FROM t;`;
    const d = await resume(sql, `${sql}\n-- a comment`);
    assert.equal(d.bootstrapped, false);
  });
});
