/**
 * The program diff (Feldera's PipelineDiff) and the bootstrap plan/step: every category, sorting, transitive
 * modification, connectors, the empty diff, descriptions without secrets, and that bootstrapped state equals a
 * fresh run of the new program.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { bootstrap, describe, planBootstrap } from '../../../src/sql/bootstrap.ts';
import { compileProgram } from '../../../src/sql/program.ts';
import { diffPrograms, isEmptyDiff, parseProgramDescription } from '../../../src/sql/program-diff.ts';
import { type Batch, consolidate } from '../../../src/zset/batch.ts';

const desc = async (sql: string) => describe(await compileProgram(sql));

const conn = (name: string, path: string, extra = '') =>
  `{"name": "${name}", "transport": {"name": "file_input", "config": {"path": "${path}"}}, "format": {"name": "csv"}${extra}}`;

const P1 = `CREATE TABLE t (id INT PRIMARY KEY, x INT) WITH ('connectors' = '[${conn('a', '/a')}, ${conn('b', '/b')}]');
CREATE TABLE gone (y INT) WITH ('connectors' = '[${conn('g', '/g')}]');
CREATE TABLE u (z INT);
CREATE VIEW keep AS SELECT id FROM t;
CREATE MATERIALIZED VIEW vb AS SELECT SUM(x) AS s FROM t;
CREATE VIEW vc AS SELECT s FROM vb;
CREATE VIEW vd AS SELECT y FROM gone;
CREATE VIEW ve WITH ('connectors' = '[{"name": "o", "transport": {"name": "file_output", "config": {"path": "/o"}}, "format": {"name": "json"}}]') AS SELECT z FROM u;`;

// t: connector a modified (path), b unchanged, c added; gone removed; u modified (column type); vb modified
// (definition) so vc is modified transitively; ve modified through u; keep unchanged; new view zz added.
const P2 = `CREATE TABLE t (id INT PRIMARY KEY, x INT) WITH ('connectors' = '[${conn('a', '/a2')}, ${conn('b', '/b', ', "paused": false')}, ${conn('c', '/c')}]');
CREATE TABLE u (z BIGINT);
CREATE TABLE added (q INT);
CREATE   VIEW keep AS SELECT id -- a comment and whitespace are not a change
  FROM t;
CREATE MATERIALIZED VIEW vb AS SELECT SUM(x) + 0 AS s FROM t;
CREATE VIEW vc AS SELECT s FROM vb;
CREATE VIEW ve WITH ('connectors' = '[{"name": "o", "transport": {"name": "file_output", "config": {"path": "/o2"}}, "format": {"name": "json"}}, {"name": "p", "transport": {"name": "null_output"}}]') AS SELECT z FROM u;
CREATE VIEW zz AS SELECT q FROM added;
CREATE VIEW aa AS SELECT id FROM t;`;

test('diff: every category, sorted, transitive, connectors by endpoint', async () => {
  const d = diffPrograms(await desc(P1), await desc(P2));
  assert.deepEqual(d, {
    program_diff: {
      added_tables: ['added'],
      removed_tables: ['gone'],
      modified_tables: ['u'],
      added_views: ['aa', 'zz'],
      removed_views: ['vd'],
      modified_views: ['vb', 'vc', 've'],
    },
    program_diff_error: null,
    added_input_connectors: ['t.c'],
    modified_input_connectors: ['t.a'],
    // gone.g is not listed: its table was removed
    removed_input_connectors: [],
    added_output_connectors: ['ve.p'],
    modified_output_connectors: ['ve.o'],
    removed_output_connectors: [],
  });
  assert.equal(isEmptyDiff(d), false);
});

test('diff: removed connectors of a kept relation are listed; identical programs give an empty diff', async () => {
  const a = await desc(P1);
  assert.ok(isEmptyDiff(diffPrograms(a, await desc(`${P1}\n-- only a comment`))));
  const noConn = P1.replace(/WITH \('connectors' = '\[\{"name": "a".*?\]'\)/, '');
  const d = diffPrograms(a, await desc(noConn));
  assert.deepEqual(d.removed_input_connectors, ['t.a', 't.b']);
  assert.deepEqual(d.program_diff?.modified_tables, []);
  assert.equal(isEmptyDiff(d), false);
});

test('diff: a checkpoint without a description gives program_diff null (never empty)', async () => {
  const d = diffPrograms(parseProgramDescription(null), await desc(P1));
  assert.equal(d.program_diff, null);
  assert.match(d.program_diff_error ?? '', /old version/);
  assert.equal(isEmptyDiff(d), false);
  assert.equal(parseProgramDescription({ version: 99, relations: [] }), null);
});

test('description holds hashes only: no SQL text, no connector config', async () => {
  const text = JSON.stringify(await desc(P1.replace('/a', '/secret-path?token=hunter2')));
  assert.doesNotMatch(text, /hunter2|secret|SELECT|file_input/);
  assert.ok(parseProgramDescription(JSON.parse(text)));
});

const rowsOf = (b: Batch) =>
  b.rows
    .map((r, i) => `${JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? `${v}` : v))}x${b.weights[i]}`)
    .sort();

test('bootstrap: kept state maps over, rebuilt views equal a fresh run of the new program', async () => {
  const old = await compileProgram(`CREATE TABLE t (id INT PRIMARY KEY, x INT);
CREATE TABLE n (k INT) WITH ('materialized' = 'true');
CREATE MATERIALIZED VIEW same AS SELECT COUNT(*) AS c FROM t;
CREATE MATERIALIZED VIEW changed AS SELECT SUM(x) AS s FROM t;`);
  const neuSql = `CREATE TABLE t (id INT PRIMARY KEY, x INT);
CREATE TABLE n (k INT) WITH ('materialized' = 'true');
CREATE MATERIALIZED VIEW added AS SELECT t.x, n.k FROM t JOIN n ON t.id = n.k;
CREATE MATERIALIZED VIEW same AS SELECT COUNT(*) AS c FROM t;
CREATE MATERIALIZED VIEW changed AS SELECT MAX(x) AS s FROM t;`;
  const neu = await compileProgram(neuSql);
  const c = old.instantiate();
  const steps = [
    {
      t: {
        rows: [
          [1, 10],
          [2, 20],
        ],
        weights: [1, 1],
      },
      n: { rows: [[1], [3]], weights: [1, 1] },
    },
    {
      t: {
        rows: [
          [2, 25],
          [3, 5],
        ],
        weights: [1, 1],
      },
      n: { rows: [[2]], weights: [1] },
    },
  ];
  c.trackChanges(true);
  c.step(steps[0] as never);
  const base = c.snapshot();
  c.step(steps[1] as never);
  const delta = c.takeDelta();
  const plan = planBootstrap(describe(old), describe(neu));
  assert.deepEqual(plan.rebuilt, ['added', 'changed']);
  assert.deepEqual(plan.feed, ['n', 't']);
  const r = bootstrap(neu, { base, deltas: [delta] }, plan);
  assert.deepEqual([...r.outputs.keys()].sort(), ['added', 'changed']);
  const b = neu.instantiate();
  b.restore(r.state.base, r.state.deltas);
  const fresh = neu.instantiate();
  for (const s of steps) fresh.step(s as never);
  for (const v of ['added', 'same', 'changed'])
    assert.deepEqual(rowsOf(b.contents(v)), rowsOf(fresh.contents(v)), v);
  assert.deepEqual(rowsOf(consolidate(r.outputs.get('added') as Batch)), rowsOf(fresh.contents('added')));
  // continuing: the same outputs as the fresh run; the unchanged view emits nothing spurious
  const next = { t: { rows: [[4, 1]], weights: [1] } };
  const o1 = b.step(next as never);
  const o2 = fresh.step(next as never);
  for (const v of ['added', 'same', 'changed'])
    assert.deepEqual(rowsOf(o1.get(v) as Batch), rowsOf(o2.get(v) as Batch));
  assert.deepEqual(rowsOf(b.step(new Map()).get('same') as Batch), []);
});

test('bootstrap: a rebuilt view over a non-materialized table is BootstrapNotAllowed', async () => {
  const old = await compileProgram('CREATE TABLE t (x INT); CREATE VIEW v AS SELECT x FROM t;');
  const neu = await compileProgram('CREATE TABLE t (x INT); CREATE VIEW v AS SELECT x + 1 AS x FROM t;');
  assert.throws(
    () => planBootstrap(describe(old), describe(neu)),
    (e: unknown) =>
      isServiceError(e) && e.errorCode === 'BootstrapNotAllowed' && /'t'.*materializ/s.test(e.message),
  );
  // a modified table is rebuilt empty: nothing to read from the checkpoint, so it is allowed
  const neu2 = await compileProgram('CREATE TABLE t (x BIGINT); CREATE VIEW v AS SELECT x FROM t;');
  const plan = planBootstrap(describe(old), describe(neu2));
  assert.deepEqual(plan.rebuilt, ['t', 'v']);
  assert.deepEqual(plan.feed, []);
});
