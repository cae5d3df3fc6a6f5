/**
 * Registers the node:test cases of one oracle test file: a fixed block of seeds (the same every run) and a
 * block from a per-run seed (printed in the test name; random on a developer's machine, derived from the commit
 * under CI, see tests/kit/seed.ts). Environment:
 *   ORACLE_SEED=<n>     use <n> as the random block's base seed (to replay a CI failure)
 *   ORACLE_SCALE=<x>    multiply the number of cases (e.g. 0.1 for a quick run, 10 for a soak)
 * A failure message carries the seed, the replay command and the shrunk reproduction.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runSeed } from '../../kit/seed.ts';
import type { Focus } from './generate.ts';
import { runSuite, type SuiteResult } from './harness.ts';
import { PgOracle } from './pg-oracle.ts';

/** Postgres may reject a generated case (a generator gap, not an engine bug); tolerate a few. */
const MAX_PG_ERROR_RATE = 0.05;

export function oracleTests(focus: Focus, fixedBase: number, fixedCases: number, randomCases: number): void {
  const scale = Number(process.env.ORACLE_SCALE ?? '1');
  const nFixed = Math.max(1, Math.round(fixedCases * scale));
  const nRandom = Math.max(1, Math.round(randomCases * scale));
  const randomBase = runSeed(`oracle ${focus}`, 'ORACLE_SEED');
  let pg: PgOracle;
  before(async () => {
    pg = await PgOracle.create();
  });
  after(async () => {
    await pg.close();
  });

  const block = (label: string, baseSeed: number, cases: number) =>
    test(`oracle ${focus}: ${cases} ${label} cases from seed ${baseSeed} (replay one: SEED=<seed> npm run fuzz -- --cases 1 --focus ${focus})`, async (t) => {
      const r: SuiteResult = await runSuite(pg, {
        focus,
        baseSeed,
        cases,
        shrinkMs: 20000,
        maxFailures: 2,
        log: (line) => t.diagnostic(line),
      });
      const summary =
        `oracle ${focus}: ${r.cases} cases run (${r.passed} passed, ${r.failures.length} failed, ${r.pgErrors} skipped), ` +
        `${r.steps} steps, ${r.comparisons} view comparisons, ${(r.elapsedMs / 1000).toFixed(1)} s`;
      t.diagnostic(summary);
      assert.equal(r.failures.length, 0, `Holdfast differs from Postgres:\n${r.failures.join('\n\n')}`);
      assert.ok(
        r.pgErrors <= Math.ceil(r.cases * MAX_PG_ERROR_RATE),
        `${r.pgErrors} generated cases were rejected by Postgres`,
      );
    });

  block('fixed-seed', fixedBase, nFixed);
  block('random-seed', randomBase, nRandom);
}
