/**
 * One measurement of the spill suite, in a process of its own (run with `--max-old-space-size`).
 *
 * `worker.ts build <spill|memory> <dir> <rows> <cacheMiB> <minStorageBytes> <updates>`: the standby benchmark's
 * program (`t` with a BIGINT primary key, `COUNT(*)`, `SUM(v)` per `k` over 1,000 groups), N rows inserted in
 * steps of 10,000 (ascending ids), then `updates` rows updated at random ids (steps of 10,000: point lookups of
 * old rows spread over the whole state), then a full checkpoint into `<dir>/store` (files fsynced).
 * `worker.ts restore <spill|memory> <dir> <rows> <cacheMiB> <minStorageBytes> <updates>`: a fresh process reads
 * the newest checkpoint and restores a circuit (with spilling: opens the batch files), then checks the state: the
 * table's entries sum to N rows (every batch read), and the view's counts and sums equal what the generator says.
 * Prints `SPILL_RESULT <json>`.
 */
import { join } from 'node:path';
import { compileProgram } from '../../src/sql/program.ts';
import { SQL_VALUE_CODECS } from '../../src/sql/values/codecs.ts';
import { CheckpointStore } from '../../src/storage/checkpoint-store.ts';
import { enableSpill } from '../../src/storage/spill.ts';
import { BLOCK_CACHE, FileBatch, newEntryView } from '../../src/zset/batch-file.ts';
import { traceBatchesOf } from '../../src/zset/trace.ts';
import type { Row } from '../../src/zset/value.ts';
import { GROUPS, PROGRAM } from '../standby/primary.ts';

import { RESULT_PREFIX } from './common.ts';

const BATCH = 10_000;

function mix(x: number): number {
  let h = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}
const groupOf = (id: number): number => mix(id) % GROUPS;
const vOf = (id: number, version: number): number => mix(id * 31 + version * 7919) % 1_000_000;
const rowOf = (id: number, version: number): Row => [BigInt(id), groupOf(id), BigInt(vOf(id, version))];
/** The ids the update phase changes (distinct, pseudo-random over [0, n)). */
function updatedIds(n: number, updates: number): number[] {
  const out = new Set<number>();
  for (let i = 0; out.size < updates; i++) out.add(mix(i * 2654435761 + 17) % n);
  return [...out];
}

const [phase, mode, dir, rowsArg, cacheArg, minArg, updArg] = process.argv.slice(2);
if (dir === undefined || updArg === undefined || (mode !== 'spill' && mode !== 'memory'))
  throw new Error(
    'usage: worker.ts build|restore spill|memory <dir> <rows> <cacheMiB> <minStorageBytes> <updates>',
  );
const n = Number(rowsArg);
const updates = Number(updArg);
if (mode === 'spill')
  enableSpill(
    join(dir, 'spill'),
    {
      minStorageBytes: Number(minArg),
      cacheMib: Number(cacheArg),
      compression: process.env.SPILL_COMPRESSION === 'none' ? 'none' : 'default',
    },
    SQL_VALUE_CODECS,
  );

let peakRss = 0;
let peakHeap = 0;
const sample = (): void => {
  const m = process.memoryUsage();
  if (m.rss > peakRss) peakRss = m.rss;
  if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
};
const timer = setInterval(sample, 50);
const MiB = 2 ** 20;

const program = await compileProgram(PROGRAM);
const circuit = program.instantiate();
globalThis.gc?.();
/** RSS of the process with the program compiled and no state (what the state adds is measured over it). */
const baselineRss = process.memoryUsage().rss;
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
/**
 * Progress on stderr every {@link PROGRESS_EVERY} ingested rows (`SPILL_PROGRESS <json>`: rows, wall and CPU
 * seconds since the ingest began, heap and RSS now): when a run dies (out of heap) or is stopped, its last line says
 * how far it got and at what rate.
 */
const PROGRESS_EVERY = 1_000_000;
const progress = (rows: number, t0: number, c0: number): void => {
  const m = process.memoryUsage();
  process.stderr.write(
    `SPILL_PROGRESS ${JSON.stringify({
      rows,
      seconds: +((performance.now() - t0) / 1000).toFixed(2),
      cpuSeconds: +(cpu() - c0).toFixed(2),
      heapMiB: Math.round(m.heapUsed / MiB),
      rssMiB: Math.round(m.rss / MiB),
    })}\n`,
  );
};
const store = new CheckpointStore(join(dir, 'store'), { codecs: SQL_VALUE_CODECS });
const out: Record<string, unknown> = { phase, mode, rows: n };

if (phase === 'build') {
  const t0 = performance.now();
  const c0 = cpu();
  for (let at = 0; at < n; at += BATCH) {
    const rows: Row[] = [];
    for (let id = at; id < Math.min(n, at + BATCH); id++) rows.push(rowOf(id, 0));
    circuit.step(new Map([['t', { rows, weights: new Array<number>(rows.length).fill(1) }]]));
    sample();
    if ((at + BATCH) % PROGRESS_EVERY === 0) progress(at + BATCH, t0, c0);
  }
  out.ingestSeconds = (performance.now() - t0) / 1000;
  out.ingestCpuSeconds = cpu() - c0;
  const ids = updatedIds(n, updates);
  const t1 = performance.now();
  const c1 = cpu();
  for (let at = 0; at < ids.length; at += BATCH) {
    const rows: Row[] = ids.slice(at, at + BATCH).map((id) => rowOf(id, 1));
    circuit.step(new Map([['t', { rows, weights: new Array<number>(rows.length).fill(1) }]]));
    sample();
  }
  out.updateSeconds = (performance.now() - t1) / 1000;
  out.updateCpuSeconds = cpu() - c1;
  const t2 = performance.now();
  const r = await store.write(circuit.snapshot(), {
    fingerprint: 'spill-bench',
    processed_records: n + updates,
  });
  out.checkpointSeconds = (performance.now() - t2) / 1000;
  out.checkpointBytes = r.bytesWritten;
  out.checkpointFiles = r.filesWritten;
} else {
  const t0 = performance.now();
  const c0 = cpu();
  const read = await store.readLatest();
  if (read === null) throw new Error('no checkpoint to restore');
  circuit.restore(read.snapshot, read.deltas);
  out.restoreSeconds = (performance.now() - t0) / 1000;
  out.restoreCpuSeconds = cpu() - c0;
  globalThis.gc?.();
  out.rssAfterRestoreMiB = process.memoryUsage().rss / 2 ** 20;
  sample();
  // verify: the table's entries (every batch read once) and the view against the generator
  const t1 = performance.now();
  let tableRows = 0;
  let fileBatches = 0;
  let memoryBatches = 0;
  const v = newEntryView();
  for (const [op, states] of Object.entries(circuit.snapshot().operators))
    for (const b of Object.values(states)) {
      const parts = traceBatchesOf(b);
      if (parts === null || !op.includes('table')) continue;
      for (const p of parts) {
        if (p instanceof FileBatch) fileBatches++;
        else memoryBatches++;
        for (let i = 0; i < p.length; i++) {
          p.view(i, v);
          tableRows += v.w;
        }
      }
    }
  const updated = new Set(updatedIds(n, updates));
  let wantS = 0;
  const wantSample = { c: 0, s: 0 };
  for (let id = 0; id < n; id++) {
    const val = vOf(id, updated.has(id) ? 1 : 0);
    wantS += val;
    if (groupOf(id) === 7) {
      wantSample.c++;
      wantSample.s += val;
    }
  }
  const agg = circuit.contents('agg');
  let c = 0;
  let s = 0;
  let sampleRow: Row | undefined;
  for (let i = 0; i < agg.rows.length; i++) {
    const row = agg.rows[i] as Row;
    c += Number(row[1]) * (agg.weights[i] as number);
    s += Number(row[2]) * (agg.weights[i] as number);
    if (row[0] === 7) sampleRow = row;
  }
  out.verifySeconds = (performance.now() - t1) / 1000;
  out.verified =
    tableRows === n &&
    c === n &&
    s === wantS &&
    sampleRow !== undefined &&
    Number(sampleRow[1]) === wantSample.c &&
    Number(sampleRow[2]) === wantSample.s;
  out.tableRows = tableRows;
  out.fileBatches = fileBatches;
  out.memoryBatches = memoryBatches;
  if (out.verified !== true)
    throw new Error(
      `state after restore differs: ${JSON.stringify({ tableRows, c, s, wantS, sampleRow: String(sampleRow), wantSample })}`,
    );
}
clearInterval(timer);
sample();
out.baselineRssMiB = baselineRss / MiB;
out.peakRssMiB = peakRss / MiB;
out.peakHeapMiB = peakHeap / MiB;
out.cache = {
  maxMiB: BLOCK_CACHE.maxBytes / MiB,
  peakMiB: BLOCK_CACHE.peakBytes / MiB,
  hits: BLOCK_CACHE.hits,
  misses: BLOCK_CACHE.misses,
};
process.stdout.write(
  `${RESULT_PREFIX}${JSON.stringify(out, (_k, x) => (typeof x === 'bigint' ? `BIGINT ${x}` : x))}\n`,
);
