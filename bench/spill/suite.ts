/**
 * Spill suite (issue 16, state beyond memory): the standby benchmark's table (`t (id BIGINT PRIMARY KEY, k INT,
 * v BIGINT)` + `COUNT(*)`, `SUM(v)` per `k`) with N rows, built in a pipeline-like process under a small
 * `--max-old-space-size`, with storage's spilling on (trace batches of at least `min_storage_bytes` in batch files,
 * read through a `cache_mib` block cache), beside the same run all in memory (no spilling; it gets a heap large
 * enough for its head). Per run, each phase in its own process (`worker.ts`): build (ingest N ascending rows,
 * then update a sample of rows at random ids, then a full checkpoint), restore (a fresh process reads the
 * checkpoint and restores — with spilling it opens the batch files — then checks the table's N rows and the
 * view against the generator). Reported: ingest and update throughput (wall and CPU, and the spill/memory
 * ratio), peak RSS and heap, checkpoint and restore seconds, files on disk.
 *
 * Full run: 20M rows, spill under a 512 MiB heap with a 64 MiB cache, memory under 4 GiB; `--quick`: 1M rows,
 * 256 MiB heap, 16 MiB cache (a smoke test, printed only); `--rows N --heap MiB`: N rows, both runs under that
 * heap (the in-memory run may run out of it: its last progress line is reported; scratch file only). Workers
 * print a progress line every 1M rows ingested. Results: `bench/results/spill.json` and the `spill`
 * section of BENCHMARKS.md (full runs).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runWorker } from '../lib/child.ts';
import { int, machineInfo, writeSuiteResults } from '../lib/report.ts';
import type { Suite, SuiteOptions } from '../suite.ts';
import { RESULT_PREFIX } from './common.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const WORKER = join(import.meta.dirname, 'worker.ts');

interface Size {
  readonly rows: number;
  readonly updates: number;
  readonly spillHeapMiB: number;
  readonly memoryHeapMiB: number;
  readonly cacheMiB: number;
  readonly minStorageBytes: number;
}

const FULL: Size = {
  rows: 20_000_000,
  updates: 200_000,
  spillHeapMiB: 512,
  memoryHeapMiB: 4096,
  cacheMiB: 64,
  minStorageBytes: 10 * 2 ** 20,
};
const QUICK: Size = {
  rows: 1_000_000,
  updates: 20_000,
  spillHeapMiB: 256,
  memoryHeapMiB: 1024,
  cacheMiB: 16,
  minStorageBytes: 2 ** 20,
};

type Result = Record<string, number | boolean | string | Record<string, number>>;

function dirBytes(dir: string): number {
  let n = 0;
  try {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const s = statSync(p);
      n += s.isDirectory() ? dirBytes(p) : s.size;
    }
  } catch {
    // missing
  }
  return n;
}

async function runMode(
  mode: 'spill' | 'memory',
  size: Size,
): Promise<{ build: Result; restore: Result; disk: Record<string, number> }> {
  const dir = mkdtempSync(join(tmpdir(), `holdfast-bench-spill-${mode}-`));
  try {
    const args = (phase: string) => [
      phase,
      mode,
      dir,
      String(size.rows),
      String(size.cacheMiB),
      String(size.minStorageBytes),
      String(size.updates),
    ];
    const heapMiB = mode === 'spill' ? size.spillHeapMiB : size.memoryHeapMiB;
    console.log(`  ${mode}: building ${int(size.rows)} rows under --max-old-space-size=${heapMiB} ...`);
    const build = await runWorker<Result>(WORKER, args('build'), RESULT_PREFIX, { heapMiB });
    const disk = { spillBytes: dirBytes(join(dir, 'spill')), checkpointBytes: dirBytes(join(dir, 'store')) };
    console.log(`  ${mode}: restoring ...`);
    const restore = await runWorker<Result>(WORKER, args('restore'), RESULT_PREFIX, { heapMiB });
    return { build, restore, disk };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const num = (r: Result, k: string): number => r[k] as number;
const f2 = (x: number): string => x.toFixed(2);

function markdown(
  size: Size,
  spill: Awaited<ReturnType<typeof runMode>>,
  mem: Awaited<ReturnType<typeof runMode>>,
  load: number[],
): string {
  const rate = (r: Result, k: string): string => int(Math.round(size.rows / num(r, k)));
  const urate = (r: Result, k: string): string => int(Math.round(size.updates / num(r, k)));
  const rows: Array<[string, string, string]> = [
    ['heap limit (`--max-old-space-size`)', `${size.spillHeapMiB} MiB`, `${size.memoryHeapMiB} MiB`],
    [
      'ingest: wall s (rows/s)',
      `${f2(num(spill.build, 'ingestSeconds'))} (${rate(spill.build, 'ingestSeconds')})`,
      `${f2(num(mem.build, 'ingestSeconds'))} (${rate(mem.build, 'ingestSeconds')})`,
    ],
    [
      'ingest: CPU s (rows/CPU s)',
      `${f2(num(spill.build, 'ingestCpuSeconds'))} (${rate(spill.build, 'ingestCpuSeconds')})`,
      `${f2(num(mem.build, 'ingestCpuSeconds'))} (${rate(mem.build, 'ingestCpuSeconds')})`,
    ],
    [
      `${int(size.updates)} updates at random ids: wall s / CPU s (updates/CPU s)`,
      `${f2(num(spill.build, 'updateSeconds'))} / ${f2(num(spill.build, 'updateCpuSeconds'))} (${urate(spill.build, 'updateCpuSeconds')})`,
      `${f2(num(mem.build, 'updateSeconds'))} / ${f2(num(mem.build, 'updateCpuSeconds'))} (${urate(mem.build, 'updateCpuSeconds')})`,
    ],
    [
      'peak RSS while building (baseline: compiled program, no state)',
      `${int(num(spill.build, 'peakRssMiB'))} MiB (${int(num(spill.build, 'baselineRssMiB'))})`,
      `${int(num(mem.build, 'peakRssMiB'))} MiB (${int(num(mem.build, 'baselineRssMiB'))})`,
    ],
    [
      'peak heap while building',
      `${int(num(spill.build, 'peakHeapMiB'))} MiB`,
      `${int(num(mem.build, 'peakHeapMiB'))} MiB`,
    ],
    [
      'full checkpoint: s (bytes written)',
      `${f2(num(spill.build, 'checkpointSeconds'))} (${int(num(spill.build, 'checkpointBytes'))})`,
      `${f2(num(mem.build, 'checkpointSeconds'))} (${int(num(mem.build, 'checkpointBytes'))})`,
    ],
    [
      'on disk: spill files / checkpoint store',
      `${int(spill.disk.spillBytes ?? 0)} / ${int(spill.disk.checkpointBytes ?? 0)} B`,
      `— / ${int(mem.disk.checkpointBytes ?? 0)} B`,
    ],
    [
      'restore (fresh process): wall s / CPU s',
      `${f2(num(spill.restore, 'restoreSeconds'))} / ${f2(num(spill.restore, 'restoreCpuSeconds'))}`,
      `${f2(num(mem.restore, 'restoreSeconds'))} / ${f2(num(mem.restore, 'restoreCpuSeconds'))}`,
    ],
    [
      'RSS after restore (after a GC) / peak RSS of the restore process',
      `${int(num(spill.restore, 'rssAfterRestoreMiB'))} / ${int(num(spill.restore, 'peakRssMiB'))} MiB`,
      `${int(num(mem.restore, 'rssAfterRestoreMiB'))} / ${int(num(mem.restore, 'peakRssMiB'))} MiB`,
    ],
    [
      'state verified after restore (N table rows, view = generator)',
      String(spill.restore.verified),
      String(mem.restore.verified),
    ],
    [
      'block cache: bound / peak, hits / misses (build)',
      `${int(size.cacheMiB)} / ${f2((spill.build.cache as Record<string, number>).peakMiB ?? 0)} MiB, ${int((spill.build.cache as Record<string, number>).hits ?? 0)} / ${int((spill.build.cache as Record<string, number>).misses ?? 0)}`,
      '—',
    ],
  ];
  const ratio = num(mem.build, 'ingestCpuSeconds') / num(spill.build, 'ingestCpuSeconds');
  const ratioWall = num(mem.build, 'ingestSeconds') / num(spill.build, 'ingestSeconds');
  return [
    `${int(size.rows)} rows of \`t (id BIGINT PRIMARY KEY, k INT, v BIGINT)\` with \`COUNT(*)\`, \`SUM(v)\` per \`k\` (1,000 groups), ingested in steps of 10,000 ascending ids, then ${int(size.updates)} rows updated at random ids, then a full checkpoint; a fresh process restores it and checks the state. Spill: storage on, \`min_storage_bytes\` ${int(size.minStorageBytes)}, \`cache_mib\` ${size.cacheMiB}, \`compression\` default (zstd per 16 KiB block). Memory: no spilling. Load average ${load.map((x) => x.toFixed(1)).join(' → ')} (2 shared cores: compare CPU seconds).`,
    '',
    `**Ingest throughput, spill / all in memory: ${f2(ratio)}× by CPU, ${f2(ratioWall)}× by wall time.**`,
    '',
    '| | spill | all in memory |',
    '| --- | ---: | ---: |',
    ...rows.map(([a, b, c]) => `| ${a} | ${b} | ${c} |`),
  ].join('\n');
}

/** The last `SPILL_PROGRESS` line of a failed worker's output (how far it got), or null. */
function lastProgress(message: string): Record<string, number> | null {
  const lines = message.split('\n').filter((l) => l.startsWith('SPILL_PROGRESS '));
  const last = lines.at(-1);
  return last === undefined
    ? null
    : (JSON.parse(last.slice('SPILL_PROGRESS '.length)) as Record<string, number>);
}

export const spillSuite: Suite = {
  name: 'spill',
  description:
    'state beyond memory: N rows under a small heap with spilling on, against the same run in memory',
  async run(opts: SuiteOptions): Promise<void> {
    const { rows, heap } = opts.flags;
    let size = opts.quick ? QUICK : FULL;
    // --rows / --heap: the issue's own figure (e.g. 50M rows under 2 GiB); the in-memory run gets the same heap,
    // and where it runs out of heap is reported instead of its figures
    if (rows !== undefined || heap !== undefined) {
      const n = rows === undefined ? size.rows : Number(rows.replace(/_/g, ''));
      const h = heap === undefined ? size.spillHeapMiB : Number(heap);
      if (!Number.isInteger(n) || n <= 0 || !Number.isInteger(h) || h <= 0)
        throw new Error('--rows and --heap must be positive integers');
      size = { ...size, rows: n, spillHeapMiB: h, memoryHeapMiB: h };
    }
    const custom = size !== FULL && size !== QUICK;
    const load0 = loadavg()[0] ?? 0;
    const spill = await runMode('spill', size);
    let mem: Awaited<ReturnType<typeof runMode>> | null = null;
    let memoryFailed: { error: string; lastProgress: Record<string, number> | null } | null = null;
    try {
      mem = await runMode('memory', size);
    } catch (e) {
      if (!custom) throw e;
      const error = (e as Error).message;
      memoryFailed = {
        error: error.includes('heap out of memory')
          ? 'JavaScript heap out of memory'
          : (error.split('\n')[0] ?? ''),
        lastProgress: lastProgress(error),
      };
      console.log(
        `  memory: failed (${memoryFailed.error}); last progress ${JSON.stringify(memoryFailed.lastProgress)}`,
      );
    }
    const load1 = loadavg()[0] ?? 0;
    const report = { machine: machineInfo(), load: [load0, load1], size, spill, memory: mem, memoryFailed };
    const text =
      mem !== null
        ? markdown(size, spill, mem, [load0, load1])
        : `${int(size.rows)} rows under --max-old-space-size=${size.spillHeapMiB}: spill ${JSON.stringify(spill.build)}; memory failed: ${JSON.stringify(memoryFailed)}`;
    writeSuiteResults(ROOT, 'spill', !opts.quick && !custom, report, text);
  },
};
