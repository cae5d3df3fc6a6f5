/**
 * Oracle fuzzer: Holdfast vs Postgres (PGlite) on random programs and batches, for as many cases as asked.
 *
 *   npm run fuzz -- --cases 500 [--seed 123] [--focus joins|aggregates|expressions|setops|mixed] [--shrink-ms 30000]
 *   SEED=123 npm run fuzz -- --cases 1 --focus joins     # replays the case printed by a failure
 *
 * Case i uses seed (seed + i). Without --seed/SEED a random seed is chosen and printed. Without --focus the
 * cases rotate through every focus. Exit code 1 when any case fails.
 */
import { parseArgs } from 'node:util';
import { FOCI, type Focus } from '../helpers/oracle/generate.ts';
import { runSuite, type SuiteResult } from '../helpers/oracle/harness.ts';
import { PgOracle } from '../helpers/oracle/pg-oracle.ts';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '200' },
    seed: { type: 'string' },
    focus: { type: 'string' },
    'shrink-ms': { type: 'string', default: '30000' },
    'max-failures': { type: 'string', default: '5' },
  },
});

const cases = Number(values.cases);
const seedText = values.seed ?? process.env.SEED;
const baseSeed = seedText !== undefined ? Number(seedText) >>> 0 : Math.floor(Math.random() * 2 ** 31);
const focusArg = values.focus ?? process.env.FOCUS;
if (focusArg !== undefined && !FOCI.includes(focusArg as Focus)) {
  console.error(`unknown focus '${focusArg}'; one of ${FOCI.join(', ')}`);
  process.exit(2);
}
const shrinkMs = Number(values['shrink-ms']);
const maxFailures = Number(values['max-failures']);

console.log(`oracle fuzz: ${cases} cases, seed ${baseSeed}, focus ${focusArg ?? 'all (rotating)'}`);
const pg = await PgOracle.create();
const t0 = Date.now();
let ran = 0;
let passed = 0;
let pgErrors = 0;
let steps = 0;
let comparisons = 0;
let nonEmpty = 0;
let failures = 0;
const log = (line: string) => console.log(line);

function add(r: SuiteResult): void {
  ran += r.cases;
  passed += r.passed;
  pgErrors += r.pgErrors;
  steps += r.steps;
  comparisons += r.comparisons;
  nonEmpty += r.nonEmpty;
  failures += r.failures.length;
}

if (focusArg !== undefined) {
  add(await runSuite(pg, { focus: focusArg as Focus, baseSeed, cases, shrinkMs, maxFailures, log }));
} else {
  // Rotate: case i gets focus FOCI[i % n] and seed baseSeed + i, so it replays with --seed and --focus.
  for (let i = 0; i < cases && failures < maxFailures; i++) {
    const focus = FOCI[i % FOCI.length] as Focus;
    add(
      await runSuite(pg, { focus, baseSeed: (baseSeed + i) >>> 0, cases: 1, shrinkMs, maxFailures: 1, log }),
    );
    if ((i + 1) % 100 === 0) console.log(`  ... ${i + 1} cases, ${failures} failing`);
  }
}
await pg.close();
const secs = (Date.now() - t0) / 1000;
console.log(
  `oracle fuzz: ${ran} cases run (${passed} passed, ${failures} failed, ${pgErrors} skipped by Postgres errors), ` +
    `${steps} steps, ${comparisons} view comparisons (${((100 * nonEmpty) / Math.max(1, comparisons)).toFixed(0)}% non-empty), ` +
    `${secs.toFixed(1)} s, ${(ran / secs).toFixed(1)} cases/s`,
);
process.exit(failures > 0 ? 1 : 0);
