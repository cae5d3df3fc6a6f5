/**
 * State-memory suite (issue 16's memory target: ≤ 250 bytes of process memory per state row): the standby and
 * checkpoint benchmarks' table — `t (id BIGINT PRIMARY KEY, k INT, v BIGINT)` with `COUNT(*)` and `SUM(v)` per
 * `k` (1,000 groups) — at 1M and 5M rows, in fresh processes started with the pipeline processes' Node flags
 * (`PIPELINE_NODE_FLAGS`, the manager's). Per size, `worker.ts` measures, after two full GCs and above the process
 * with the program compiled and no rows: the JS heap in use, heap plus array buffers (the traces' columnar
 * batches live outside the JS heap), and RSS —
 * - *ingested*: right after the rows were stepped in (10,000 per step), with no checkpoint yet: the trace heads
 *   still hold the latest changes as JS rows, up to the head budget (`zset/head-budget.ts`);
 * - *checkpointed*: after two checkpoints' captures, built as a checkpoint builds them (a pipeline with fault
 *   tolerance);
 * - *restored*: in another fresh process, after a cold start's read of that checkpoint from its store (every
 *   segment hash-checked and decoded) and restore.
 * State rows: the table's rows (the 1,000 groups' rows are left out of the count). `--before DIR` measures the
 * checkout at DIR the same way in the same run (alternating; with the Node flags that checkout's manager gives
 * pipelines), for the figures before a change.
 * Results: `bench/results/state-memory.json` and the `state-memory` section of BENCHMARKS.md (full runs only).
 */

import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { PIPELINE_NODE_FLAGS } from '../../src/manager/supervisor.ts';
import { runWorker } from '../lib/child.ts';
import { int, machineInfo, writeSuiteResults } from '../lib/report.ts';
import type { Suite, SuiteOptions } from '../suite.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const WORKER = join(import.meta.dirname, 'worker.ts');
/** The issue's target, bytes of process memory per state row. */
const TARGET_BYTES = 250;

interface Point {
  heapUsed: number;
  arrayBuffers: number;
  rss: number;
}
interface IngestResult {
  rows: number;
  ingestSeconds: number;
  baseline: Point;
  ingested: Point;
  checkpointed: Point | null;
}
interface RestoreResult {
  rows: number;
  restoreSeconds: number;
  baseline: Point;
  restored: Point;
}

/** Bytes per row above the baseline: heap, heap + array buffers, RSS. */
interface PerRow {
  heap: number;
  heapAndBuffers: number;
  rss: number;
}

const perRow = (p: Point, base: Point, rows: number): PerRow => ({
  heap: Math.round((p.heapUsed - base.heapUsed) / rows),
  heapAndBuffers: Math.round((p.heapUsed + p.arrayBuffers - base.heapUsed - base.arrayBuffers) / rows),
  rss: Math.round((p.rss - base.rss) / rows),
});

interface Measured {
  rows: number;
  ingestSeconds: number;
  restoreSeconds: number;
  ingested: PerRow;
  checkpointed: PerRow | null;
  restored: PerRow;
  rssMiB: { baseline: number; ingested: number; restored: number };
}

/** The Node flags `root`'s manager gives its pipeline processes (none if that checkout has no such list). */
async function pipelineFlags(root: string): Promise<readonly string[]> {
  if (root === ROOT) return PIPELINE_NODE_FLAGS;
  try {
    const m = (await import(join(root, 'src/manager/supervisor.ts'))) as { PIPELINE_NODE_FLAGS?: string[] };
    return m.PIPELINE_NODE_FLAGS ?? [];
  } catch {
    return [];
  }
}

/** How the table names an older checkout: its commit (`git rev-parse --short HEAD`), else its directory's name. */
function checkoutName(dir: string): string {
  try {
    const sha = execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (/^[0-9a-f]{7,}$/.test(sha)) return `commit \`${sha}\``;
  } catch {
    // not a git checkout (an exported tree): its name
  }
  return `\`${basename(dir)}\``;
}

async function measure(root: string, rows: number): Promise<Measured> {
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-state-memory-'));
  try {
    const opts = { nodeFlags: await pipelineFlags(root) };
    const a = await runWorker<IngestResult>(WORKER, [root, 'ingest', String(rows), dir], 'MEMORY ', opts);
    const b = await runWorker<RestoreResult>(WORKER, [root, 'restore', String(rows), dir], 'MEMORY ', opts);
    const mib = (x: number) => Math.round(x / 2 ** 20);
    return {
      rows,
      ingestSeconds: a.ingestSeconds,
      restoreSeconds: b.restoreSeconds,
      ingested: perRow(a.ingested, a.baseline, rows),
      checkpointed: a.checkpointed === null ? null : perRow(a.checkpointed, a.baseline, rows),
      restored: perRow(b.restored, b.baseline, rows),
      rssMiB: { baseline: mib(a.baseline.rss), ingested: mib(a.ingested.rss), restored: mib(b.restored.rss) },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const cell = (p: PerRow | null): string => (p === null ? '—' : `${p.heap} / ${p.heapAndBuffers} / ${p.rss}`);
const worst = (m: Measured): number =>
  Math.max(
    ...[m.ingested, m.checkpointed, m.restored].flatMap((p) => (p === null ? [] : [p.heapAndBuffers, p.rss])),
  );

export const stateMemorySuite: Suite = {
  name: 'state-memory',
  description:
    'process memory per state row (heap, heap + array buffers, RSS) of the standby table at 1M and 5M rows',
  async run(o: SuiteOptions): Promise<void> {
    const sizes =
      o.flags.rows?.split(',').map((s) => Number(s.replaceAll('_', '').trim())) ??
      (o.quick ? [200_000] : [1_000_000, 5_000_000]);
    for (const n of sizes)
      if (!Number.isInteger(n) || n < 10_000) throw new Error(`state-memory: bad row count ${n}`);
    const before = o.flags.before === undefined ? null : resolve(o.flags.before);
    const loads = [loadavg()[0] as number];
    const now: Measured[] = [];
    const then: Measured[] = [];
    for (const n of sizes) {
      if (before !== null) {
        then.push(await measure(before, n));
        console.log(`  ${int(n)} rows, before (${before}): ${JSON.stringify(then.at(-1))}`);
      }
      now.push(await measure(ROOT, n));
      console.log(`  ${int(n)} rows: ${JSON.stringify(now.at(-1))}`);
      loads.push(loadavg()[0] as number);
    }
    const rowsOf = (ms: readonly Measured[], label: string) =>
      ms
        .map(
          (m) =>
            `| ${int(m.rows)} | ${label} | ${cell(m.ingested)} | ${cell(m.checkpointed)} | ${cell(m.restored)} | ${m.ingestSeconds.toFixed(1)} s | ${m.restoreSeconds.toFixed(2)} s | ${worst(m) <= TARGET_BYTES ? 'yes' : 'no'} |`,
        )
        .join('\n');
    const md = `## State memory per row (\`npm run bench -- --only state-memory\`)

The standby/checkpoint benchmarks' table (\`t (id BIGINT PRIMARY KEY, k INT, v BIGINT)\` with \`COUNT(*)\`, \`SUM(v)\`
per \`k\`, 1,000 groups), in fresh processes with the pipeline processes' Node flags (\`${PIPELINE_NODE_FLAGS.join(' ')}\`).
Bytes per state row above the process with the program compiled and no rows, after two full GCs: **heap / heap +
array buffers / RSS**. *Ingested*: right after the rows were stepped in, no checkpoint yet (the trace heads hold
the latest changes as JS rows up to the head budget); *checkpointed*: after two checkpoints' captures, built as a
checkpoint builds them; *restored*: a fresh process after reading that checkpoint back (hash-checked, decoded) and
restoring it. Target (issue 16): ≤ ${TARGET_BYTES} bytes per row of heap + array buffers and of RSS at every point.
Load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} (${machineInfo().cpus} CPUs, shared).

| rows | code | ingested | checkpointed | restored | ingest | restore | ≤ ${TARGET_BYTES} B |
| ---: | --- | --- | --- | --- | ---: | ---: | --- |
${rowsOf(now, 'this commit')}${then.length > 0 && before !== null ? `\n${rowsOf(then, `before (${checkoutName(before)})`)}` : ''}

Raw numbers: \`bench/results/state-memory.json\`.
`;
    writeSuiteResults(
      ROOT,
      'state-memory',
      !o.quick && o.flags.rows === undefined,
      {
        machine: machineInfo(),
        loadAverage: { min: Math.min(...loads), max: Math.max(...loads) },
        now,
        before: then,
      },
      md,
    );
  },
};
