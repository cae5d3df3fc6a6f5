/**
 * LATENESS end to end in the SQL engine: both syntaxes, what program info shows, late rows dropped from tables
 * and views (with the waterline of the previous step), the count, checkpoint (snapshot + deltas) and restore
 * continuing with the same drops, and the compile errors for misuse.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { compileProgram, rowFromJson, type SqlCircuit } from '../../../src/sql/program.ts';
import { programInfo } from '../../../src/sql/program-info.ts';
import type { Batch } from '../../../src/zset/batch.ts';

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
