/**
 * Engine suite: Holdfast's incremental engine vs @tanstack/db-ivm on the same data and batch boundaries.
 * Each (workload, engine, run) is a fresh child process running `worker.ts`; runs are interleaved across
 * engines so drift on the machine affects both alike. Results: `bench/results/engine-vs-db-ivm.json` and the
 * `engine` section of BENCHMARKS.md (default full runs only;
 * `--quick`, subsets and other sizes write the git-ignored `engine-vs-db-ivm.tmp-scratch.json`).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runWorker } from '../lib/child.ts';
import { int, type MachineInfo, machineInfo, median, replaceSection } from '../lib/report.ts';
import type { Suite, SuiteOptions } from '../suite.ts';
import { type DbIvmVariant, ENGINES, type EngineName, RESULT_PREFIX, type WorkerResult } from './engine.ts';
import { WORKLOADS, type WorkloadName } from './workload.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const WORKER = join(here, 'worker.ts');
const HOLDFAST_PROGRAM = join(root, 'src', 'sql', 'program.ts');

const DESCRIPTIONS: Record<WorkloadName, string> = {
  region: 'A · region: inserts, join + COUNT per region (50 groups)',
  customer: 'B · customer: inserts, join + COUNT per customer (10k groups)',
  mixed: 'C · mixed: 70% insert / 20% update / 10% delete, per region',
};

interface EngineSummary {
  medianSeconds: number;
  /** Median CPU seconds of the streaming phase (user + system). */
  medianCpuSeconds: number;
  rowsPerSec: number;
  peakHeapMiB: number;
  retainedHeapMiB: number;
  medianLoadSeconds: number;
  medianSetupSeconds: number;
  runs: Array<Omit<WorkerResult, 'contents' | 'engine' | 'workload' | 'changes' | 'batch' | 'correct'>>;
}

interface WorkloadSummary {
  description: string;
  groups: number;
  engines: Partial<Record<EngineName, EngineSummary>>;
  /** Holdfast rows/s ÷ db-ivm rows/s. */
  ratio: number | null;
  /** The same by CPU seconds: db-ivm's median CPU seconds ÷ Holdfast's (what a shared, loaded machine keeps). */
  cpuRatio: number | null;
}

interface Report {
  suite: 'engine';
  machine: MachineInfo;
  config: {
    changes: number;
    batch: number;
    runs: number;
    seed: number;
    customers: number;
    regions: number;
    dbIvmVariant: DbIvmVariant;
    timed: string;
    /** 1-minute load average at the start and at the end. */
    loadAverage: number[];
  };
  workloads: Partial<Record<WorkloadName, WorkloadSummary>>;
}

function pickList<T extends string>(value: string | undefined, all: readonly T[], what: string): T[] {
  if (value === undefined) return [...all];
  const picked = value.split(',').map((s) => s.trim()) as T[];
  for (const p of picked)
    if (!all.includes(p)) throw new Error(`unknown ${what} '${p}' (one of ${all.join(', ')})`);
  return picked;
}

function summarize(results: WorkerResult[]): EngineSummary {
  const medianSeconds = median(results.map((r) => r.seconds));
  const changes = results[0]?.changes ?? 0;
  return {
    medianSeconds,
    medianCpuSeconds: median(results.map((r) => r.cpuSeconds)),
    rowsPerSec: changes / medianSeconds,
    peakHeapMiB: median(results.map((r) => r.peakHeapMiB)),
    retainedHeapMiB: median(results.map((r) => r.retainedHeapMiB)),
    medianLoadSeconds: median(results.map((r) => r.loadSeconds)),
    medianSetupSeconds: median(results.map((r) => r.setupSeconds)),
    runs: results.map(
      ({ contents: _c, engine: _e, workload: _w, changes: _n, batch: _b, correct: _k, ...rest }) => rest,
    ),
  };
}

function mib(n: number | undefined): string {
  return n === undefined ? '—' : `${Math.round(n)} MiB`;
}

function markdown(report: Report): string {
  const c = report.config;
  const m = report.machine;
  const lines = [
    `Measured ${m.date.slice(0, 10)} on ${m.cpus}× ${m.cpuModel}, Node ${m.node}; ${int(c.changes)} order changes ` +
      `per workload in batches of ${int(c.batch)}, ${int(c.customers)} customers over ${c.regions} regions; ` +
      `median of ${c.runs} run${c.runs === 1 ? '' : 's'}, each in a fresh process. ` +
      `Rows/s = order changes ÷ streaming time (customer load and setup excluded). Peak heap = max ` +
      '`heapUsed` sampled after every batch (median over runs). db-ivm pipeline: ' +
      `\`${c.dbIvmVariant}\` variant (see bench/README.md). Ratio by CPU = db-ivm's median CPU seconds ` +
      "(user + system) of the streaming phase ÷ Holdfast's: on a loaded machine it moves less than wall time. " +
      `1-minute load average ${c.loadAverage.map((x) => x.toFixed(1)).join(' → ')}.`,
    '',
    '| workload | Holdfast rows/s | db-ivm rows/s | ratio | ratio by CPU | Holdfast peak heap | db-ivm peak heap |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const w of WORKLOADS) {
    const s = report.workloads[w];
    if (s === undefined) continue;
    const h = s.engines.holdfast;
    const d = s.engines['db-ivm'];
    lines.push(
      `| ${s.description} | ${h ? int(h.rowsPerSec) : '—'} | ${d ? int(d.rowsPerSec) : '—'} | ` +
        `${s.ratio === null ? '—' : `${s.ratio.toFixed(2)}×`} | ` +
        `${s.cpuRatio === null ? '—' : `${s.cpuRatio.toFixed(2)}×`} | ${mib(h?.peakHeapMiB)} | ${mib(d?.peakHeapMiB)} |`,
    );
  }
  lines.push('', `Raw numbers (all runs): \`bench/results/engine-vs-db-ivm.json\`.`);
  return lines.join('\n');
}

const INTRO = `# Benchmarks

Figures below come from \`npm run bench\` on a small shared 2-core VM. Absolute numbers move with the machine;
only the ratios between engines measured in the same run are meaningful.

Run everything with \`npm run bench\`, a quick smoke run with \`npm run bench -- --quick\`, or one suite with
\`npm run bench -- --only engine\`. See [bench/README.md](bench/README.md) for what each suite measures.

## Engine: Holdfast vs @tanstack/db-ivm

Streaming order changes through \`orders JOIN customers\` + \`COUNT(*)\` per group, both engines fed the same
rows with the same batch boundaries; each engine's final view is checked against the other and against a
directly computed answer.
`;

async function run(options: SuiteOptions): Promise<void> {
  const f = options.flags;
  const quick = options.quick;
  const changes = f.orders !== undefined ? Number(f.orders) : quick ? 100_000 : 1_000_000;
  const batch = f.batch !== undefined ? Number(f.batch) : 1000;
  const runs = f.runs !== undefined ? Number(f.runs) : quick ? 1 : 3;
  const seed = f.seed !== undefined ? Number(f.seed) : 42;
  const variant = (f.variant ?? 'reduce') as DbIvmVariant;
  if (variant !== 'reduce' && variant !== 'groupBy') throw new Error(`--variant must be reduce or groupBy`);
  for (const [k, v] of [
    ['orders', changes],
    ['batch', batch],
    ['runs', runs],
  ] as const)
    if (!Number.isInteger(v) || v <= 0) throw new Error(`--${k} must be a positive integer`);
  const workloads = pickList(f.workloads, WORKLOADS, 'workload');
  let engines = pickList(f.engines, ENGINES, 'engine');
  if (engines.includes('holdfast') && !existsSync(HOLDFAST_PROGRAM)) {
    console.warn(`! ${HOLDFAST_PROGRAM} not found: skipping the holdfast engine`);
    engines = engines.filter((e) => e !== 'holdfast');
  }

  console.log(
    `engine suite: ${int(changes)} changes, batch ${batch}, ${runs} run(s), engines ${engines.join(', ')}, ` +
      `db-ivm variant ${variant}`,
  );
  const report: Report = {
    suite: 'engine',
    machine: machineInfo(),
    config: {
      changes,
      batch,
      runs,
      seed,
      customers: 10_000,
      regions: 50,
      dbIvmVariant: variant,
      timed:
        'streaming phase only: order changes fed batch by batch, output consumed; customer load and setup excluded (reported separately)',
      loadAverage: [loadavg()[0] ?? 0],
    },
    workloads: {},
  };

  const failures: string[] = [];
  for (const workload of workloads) {
    const results = new Map<EngineName, WorkerResult[]>(engines.map((e) => [e, []]));
    for (let r = 0; r < runs; r++) {
      for (const engine of engines) {
        const args = [engine, workload, String(changes), String(batch), String(seed), variant];
        const res = await runWorker<WorkerResult>(WORKER, args, RESULT_PREFIX);
        console.log(
          `  ${workload.padEnd(8)} ${engine.padEnd(8)} run ${r + 1}/${runs}: ${res.seconds.toFixed(3)} s, ` +
            `${res.cpuSeconds.toFixed(3)} CPU s, ${int(res.rowsPerSec)} rows/s, peak heap ${Math.round(res.peakHeapMiB)} MiB` +
            `${res.correct ? '' : '  ✗ WRONG RESULT'}`,
        );
        if (!res.correct)
          failures.push(`${engine}/${workload} run ${r + 1}: view differs from the expected contents`);
        results.get(engine)?.push(res);
      }
    }
    // Cross-check: every run of every engine must produce the same final view.
    const reference = JSON.stringify(results.get(engines[0] as EngineName)?.[0]?.contents);
    for (const [engine, rs] of results)
      for (const [i, res] of rs.entries())
        if (JSON.stringify(res.contents) !== reference)
          failures.push(`${engine}/${workload} run ${i + 1}: view differs from ${engines[0]} run 1`);

    const summary: WorkloadSummary = {
      description: DESCRIPTIONS[workload],
      groups: results.get(engines[0] as EngineName)?.[0]?.contents.length ?? 0,
      engines: {},
      ratio: null,
      cpuRatio: null,
    };
    for (const [engine, rs] of results) summary.engines[engine] = summarize(rs);
    const h = summary.engines.holdfast;
    const d = summary.engines['db-ivm'];
    if (h !== undefined && d !== undefined) {
      summary.ratio = h.rowsPerSec / d.rowsPerSec;
      summary.cpuRatio = d.medianCpuSeconds / h.medianCpuSeconds;
    }
    report.workloads[workload] = summary;
  }

  report.config.loadAverage.push(loadavg()[0] ?? 0);
  if (failures.length > 0) {
    throw new Error(`engine suite: results are WRONG:\n  ${failures.join('\n  ')}`);
  }

  const md = markdown(report);
  console.log(`\n${md}\n`);
  // Only the default full configuration (both engines, all workloads, default sizes) is the published result;
  // anything else (quick, subsets, other sizes) goes to a git-ignored scratch file.
  const canonical =
    !quick &&
    f.orders === undefined &&
    f.batch === undefined &&
    f.seed === undefined &&
    workloads.length === WORKLOADS.length &&
    engines.length === ENGINES.length;
  const resultsDir = join(here, '..', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, canonical ? 'engine-vs-db-ivm.json' : 'engine-vs-db-ivm.tmp-scratch.json');
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${file}`);
  if (canonical) {
    replaceSection(join(root, 'BENCHMARKS.md'), 'engine', md, INTRO);
    console.log(`updated ${join(root, 'BENCHMARKS.md')} (engine section)`);
  } else {
    console.log('not the default full configuration: BENCHMARKS.md left unchanged');
  }
}

export const engineSuite: Suite = {
  name: 'engine',
  description: 'Holdfast engine vs @tanstack/db-ivm: join + group-by count under streaming order changes',
  run,
};
