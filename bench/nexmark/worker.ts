/**
 * One Nexmark measurement in a fresh process: `node worker.ts <query> <events> <rate> <stepEvents> <samples>`.
 * Compiles the tables (LATENESS 4 s on date_time, as Feldera's benchmark) and the query, then feeds the events
 * `[0, events)` in steps of `stepEvents` (each step holds the three tables' rows of one event range), reading
 * every step's output (a query with NOW() gets the wall clock at 1 s resolution, as a pipeline's default). Generation and engine time are timed apart. `samples` times during the run the circuit's
 * state is counted (rows in all stateful operators' state, untimed). Prints `NEXMARK {json}`.
 * HOLDFAST_NEXMARK_STORAGE_MIB=N runs with storage (sealed batches of at least N MiB in batch files).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileNexmark, nexmarkRows } from '../../src/connectors/transports/nexmark.ts';
import { NexmarkGenerator, type NexmarkTable } from '../../src/connectors/transports/nexmark-gen.ts';
import { clockValue, DEFAULT_CLOCK_RESOLUTION_USECS, NOW_TABLE } from '../../src/sql/now-clock.ts';
import { compileProgram } from '../../src/sql/program.ts';
import type { TableSchema } from '../../src/sql/schema.ts';
import { DECIMAL_CODEC } from '../../src/sql/values/decimal-codec.ts';
import { enableSpill } from '../../src/storage/spill.ts';
import type { Batch } from '../../src/zset/batch.ts';
import { entryCountOf, mergeBatches, TraceBatch, TraceParts } from '../../src/zset/trace.ts';
import { NEXMARK_QUERIES, nexmarkTables } from './queries.ts';

const [name, eventsArg, rateArg, stepArg, samplesArg] = process.argv.slice(2);
const query = NEXMARK_QUERIES.find((q) => q.name === name);
if (!query) throw new Error(`unknown query ${name}`);
const events = Number(eventsArg);
const rate = Number(rateArg);
const stepEvents = Number(stepArg);
const samples = Number(samplesArg);

function peakRssMiB(): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  return Math.round(Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) / 1024);
}

// HOLDFAST_NEXMARK_STORAGE_MIB=N: run as a pipeline with storage does — sealed trace batches of at least N MiB
// live in batch files (a temporary directory, removed at exit), read through the block cache (256 MiB)
const storageMib = process.env.HOLDFAST_NEXMARK_STORAGE_MIB;
const storage =
  storageMib === undefined || storageMib === ''
    ? null
    : { min_storage_mib: Number(storageMib), cache_mib: 256 };
if (storage !== null) {
  if (!(storage.min_storage_mib > 0))
    throw new Error('HOLDFAST_NEXMARK_STORAGE_MIB: a positive number of MiB');
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-nexmark-storage-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  enableSpill(
    dir,
    {
      minStorageBytes: storage.min_storage_mib * 2 ** 20,
      cacheMib: storage.cache_mib,
      compression: 'default',
    },
    [DECIMAL_CODEC],
  );
}

const program = await compileProgram(nexmarkTables({ lateness: 'INTERVAL 4 SECONDS' }) + query.sql, {
  ...(query.udfTs === undefined ? {} : { udfTs: query.udfTs }),
});
const circuit = program.instantiate();
const tables = ['person', 'auction', 'bid'] as const;
const ctx = (t: string) => ({
  relation: t,
  relationKind: 'table' as const,
  connector: 'nexmark',
  transport: 'nexmark',
});
const toRow = Object.fromEntries(
  tables.map((t) => [t, compileNexmark(ctx(t), { table: t }, program.table(t) as TableSchema).toRow]),
) as Record<NexmarkTable, ReturnType<typeof compileNexmark>['toRow']>;
const gen = new NexmarkGenerator({ seed: 1, firstEventRate: rate });

/**
 * Rows held by all stateful operators: a trace-backed state's parts are merged as encoded batches and their
 * entries counted (consolidated, as `rows` would be, without decoding every row into a JS array: that transient
 * copy, about 1 KB per wide row, used to dominate the peak RSS of the queries with large state).
 */
function stateRows(): number {
  let n = 0;
  // with storage, parts in files are counted by their entries (not consolidated across parts: an upper bound),
  // never decoded
  if (storage !== null) {
    for (const parts of Object.values(circuit.snapshot().operators))
      for (const b of Object.values(parts)) n += entryCountOf(b);
    return n;
  }
  for (const parts of Object.values(circuit.snapshot().operators))
    for (const b of Object.values(parts)) {
      const ps = b instanceof TraceParts ? b.parts : null;
      if (ps === null || !ps.every((p) => p instanceof TraceBatch)) {
        n += b.rows.length;
        continue;
      }
      let acc: TraceBatch | null = null;
      for (const p of [...ps].sort((x, y) => x.length - y.length))
        acc = acc === null ? (p as TraceBatch) : mergeBatches(acc, p as TraceBatch);
      n += acc?.length ?? 0;
    }
  return n;
}

globalThis.gc?.();
let genMs = 0;
let engineMs = 0;
/** CPU time (user + system, all the process's threads: GC helpers included) spent in `circuit.step`. */
let engineCpuUs = 0;
let outputRows = 0;
const state: Array<{ events: number; rows: number }> = [];
let clock: number | null = null;
const sampleEvery = Math.max(stepEvents, Math.ceil(events / Math.max(1, samples) / stepEvents) * stepEvents);
for (let from = 0; from < events; from += stepEvents) {
  const to = Math.min(events, from + stepEvents);
  const t0 = performance.now();
  const input = new Map<string, Batch>();
  for (const t of tables) {
    const rows = nexmarkRows(gen, t, from, to, toRow[t]);
    input.set(t, { rows, weights: new Array(rows.length).fill(1) });
  }
  // NOW() (q12): the wall clock at Feldera's default 1 s resolution, moved as the controller moves it
  if (program.usesNow) {
    const now = clockValue(Date.now(), DEFAULT_CLOCK_RESOLUTION_USECS);
    if (now !== clock)
      input.set(
        NOW_TABLE,
        clock === null ? { rows: [[now]], weights: [1] } : { rows: [[clock], [now]], weights: [-1, 1] },
      );
    clock = now;
  }
  const t1 = performance.now();
  const c1 = process.cpuUsage();
  const out = circuit.step(input);
  for (const b of out.values()) outputRows += b.rows.length;
  const c2 = process.cpuUsage(c1);
  const t2 = performance.now();
  genMs += t1 - t0;
  engineMs += t2 - t1;
  engineCpuUs += c2.user + c2.system;
  if (samples > 0 && (to % sampleEvery === 0 || to === events)) {
    state.push({ events: to, rows: stateRows() });
    // progress on stderr (a run stopped for its memory still tells how far it got)
    console.error(
      `NEXMARK-PROGRESS events=${to} state_rows=${state.at(-1)?.rows} rss_mib=${Math.round(process.memoryUsage.rss() / 2 ** 20)} peak_rss_mib=${peakRssMiB()} engine_cpu_s=${(engineCpuUs / 1e6).toFixed(1)}`,
    );
  }
}
console.log(
  `NEXMARK ${JSON.stringify({
    query: name,
    events,
    generate_seconds: genMs / 1000,
    engine_seconds: engineMs / 1000,
    engine_cpu_seconds: engineCpuUs / 1e6,
    output_rows: outputRows,
    peak_rss_mib: peakRssMiB(),
    late_records: [...circuit.lateRecords().values()].reduce((a, b) => a + b, 0),
    state,
    ...(storage === null ? {} : { storage }),
  })}`,
);
