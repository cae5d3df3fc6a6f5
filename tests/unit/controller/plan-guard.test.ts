/**
 * A checkpoint of the same program text, written by a Holdfast whose planner built another circuit for it, is
 * refused at restore (StateRestoreError naming the relations) instead of restoring state into operators that
 * now mean something else; the same circuit restores as is.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkpointExtra, decideResume } from '../../../src/controller/bootstrap.ts';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { describe as describeProgram } from '../../../src/sql/bootstrap.ts';
import { compileProgram } from '../../../src/sql/program.ts';

const TABLE = "CREATE TABLE t (x INT, y INT) WITH ('materialized' = 'true');";
const hooks = { decide: async () => {}, bootstrapping: () => {}, log: () => {} };

async function resumeSameText(writtenBy: string, restoredBy: string) {
  const old = await compileProgram(writtenBy);
  const neu = await compileProgram(restoredBy);
  // the fingerprints are equal: the program text did not change, only the plan the planner made of it
  return decideResume(
    neu,
    describeProgram(neu),
    'same-sql',
    {
      uuid: 'cp1',
      fingerprint: 'same-sql',
      extra: checkpointExtra(describeProgram(old)),
      base: old.instantiate().snapshot(),
      deltas: [],
    },
    hooks,
  );
}

test('the same circuit restores as is', async () => {
  const p = `${TABLE} CREATE MATERIALIZED VIEW v AS SELECT x, COUNT(*) AS n FROM t GROUP BY x;`;
  const d = await resumeSameText(p, p);
  assert.equal(d.bootstrapped, false);
});

test('another circuit for the same program text is refused, naming the relations whose operators differ', async () => {
  // stands for a planner change: view v's operators differ (an aggregate then, a distinct now)
  // (w comes first, so its operators keep their node ids and it is not named)
  const then = `${TABLE} CREATE MATERIALIZED VIEW w AS SELECT y FROM t; CREATE MATERIALIZED VIEW v AS SELECT x, COUNT(*) AS n FROM t GROUP BY x;`;
  const now = `${TABLE} CREATE MATERIALIZED VIEW w AS SELECT y FROM t; CREATE MATERIALIZED VIEW v AS SELECT DISTINCT x, 1 AS n FROM t;`;
  await assert.rejects(
    resumeSameText(then, now),
    (e: unknown) =>
      isServiceError(e) &&
      e.errorCode === 'StateRestoreError' &&
      /plans v to other operators/.test(e.message) &&
      JSON.stringify(e.details).includes('"relations":["v"]'),
  );
});
