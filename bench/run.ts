/**
 * Benchmark entry: `npm run bench [-- --quick] [--only engine,...] [suite flags]`.
 *
 * Suites register below (loaded lazily, so one suite's imports never affect another's). Add later suites
 * (checkpoints, sync, ...) as `bench/<name>/suite.ts` exporting a {@link Suite} and list them here.
 */
import { parseArgs } from 'node:util';
import type { Suite } from './suite.ts';

const SUITES: Record<string, () => Promise<Suite>> = {
  engine: async () => (await import('./engine/suite.ts')).engineSuite,
  ingest: async () => (await import('./ingest/suite.ts')).ingestSuite,
  'ingest-memory': async () => (await import('./ingest-memory/suite.ts')).ingestMemorySuite,
  checkpoint: async () => (await import('./checkpoint/suite.ts')).checkpointSuite,
  ft: async () => (await import('./ft/suite.ts')).ftSuite,
  sync: async () => (await import('./sync/suite.ts')).syncSuite,
  standby: async () => (await import('./standby/suite.ts')).standbySuite,
  nexmark: async () => (await import('./nexmark/suite.ts')).nexmarkSuite,
  objinput: async () => (await import('./objinput/suite.ts')).objinputSuite,
  nested: async () => (await import('./nested/suite.ts')).nestedSuite,
  spill: async () => (await import('./spill/suite.ts')).spillSuite,
  'ordered-lateness': async () => (await import('./ordered-lateness/suite.ts')).orderedLatenessSuite,
  'state-memory': async () => (await import('./state-memory/suite.ts')).stateMemorySuite,
};

const USAGE = `usage: npm run bench -- [--quick] [--only <suite,...>] [--list]
  engine suite flags: --orders N  --batch N  --runs N  --seed N
                      --engines holdfast,db-ivm  --workloads region,customer,mixed  --variant reduce|groupBy
  checkpoint suite flags: --runs N (default 3; any value writes the scratch file only)
  sync suite flags: --runs N (default 3; any value writes the scratch file only); needs rclone (installed with
                    apt-get when missing)
  standby suite flags: --runs N (default 3; any value writes the scratch file only); --quick skips 5M rows;
                     --rows N,M,... state sizes (default 100,000,1,000,000,5,000,000; any value writes the
                     scratch file only)
  spill suite flags: --rows N (default 20,000,000) --heap MiB (the spilling run's heap, default 512); either
                     writes the scratch file only; the in-memory run gets the same heap (its failure point is
                     reported) unless it is the default size
  nexmark suite flags: --events N (default 500,000; quick 50,000; any value writes the scratch file only)
                       (environment: HOLDFAST_NEXMARK_STORAGE_MIB=N runs the queries with storage, sealed
                       trace batches of at least N MiB in batch files, as a pipeline with storage)
                       --queries q0,q5,... (a subset; writes the scratch file only)
                       --merge (replace those queries' results in bench/results/nexmark.json and rewrite the
                         BENCHMARKS.md section after each query; the other queries keep theirs, with their size)
  nested suite flags: --events N,M,... (default 100,000,300,000,1,000,000; quick 20,000; any value writes the
    scratch file only)
  ordered-lateness suite flags: --runs N (default 3; any value writes the scratch file only)
  state-memory suite flags: --rows N,M,... state sizes (default 1,000,000,5,000,000; quick 200,000; any value
                     writes the scratch file only); --before DIR also measures the checkout at DIR (an older
                     commit with its node_modules, e.g. from \`git worktree add\`) in the same run`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      orders: { type: 'string' },
      batch: { type: 'string' },
      runs: { type: 'string' },
      seed: { type: 'string' },
      engines: { type: 'string' },
      workloads: { type: 'string' },
      variant: { type: 'string' },
      events: { type: 'string' },
      rows: { type: 'string' },
      heap: { type: 'string' },
      queries: { type: 'string' },
      merge: { type: 'boolean', default: false },
      before: { type: 'string' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const names = values.only === undefined ? Object.keys(SUITES) : values.only.split(',').map((s) => s.trim());
  for (const name of names)
    if (!(name in SUITES))
      throw new Error(`unknown suite '${name}' (available: ${Object.keys(SUITES).join(', ')})`);
  if (values.list) {
    for (const name of names)
      console.log(`${name}: ${(await (SUITES[name] as () => Promise<Suite>)()).description}`);
    return;
  }
  const { quick, only: _only, list: _list, help: _help, ...flags } = values;
  const t0 = performance.now();
  for (const name of names) {
    const suite = await (SUITES[name] as () => Promise<Suite>)();
    console.log(`== ${suite.name}: ${suite.description}${quick ? ' (quick)' : ''}`);
    await suite.run({ quick, flags });
  }
  console.log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

try {
  await main();
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
}
