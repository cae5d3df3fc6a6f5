/**
 * One measurement in a fresh process: `node --expose-gc bench/engine/worker.ts <engine> <workload> <changes>
 * <batch> <seed> <variant>`. Prints one JSON line prefixed with {@link RESULT_PREFIX} on stdout.
 *
 * Phases: generate data (untimed) → build/compile the engine (timed as `setupSeconds`, excluded) → load customers
 * (timed as `loadSeconds`, excluded from rows/s) → gc → stream the order changes batch by batch (timed; heap
 * sampled after every batch) → check the integrated view against an independently computed oracle.
 */

import { performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import {
  type DbIvmVariant,
  type EngineName,
  type EngineOptions,
  type EngineRun,
  RESULT_PREFIX,
  type WorkerResult,
} from './engine.ts';
import { expectedContents, makeChanges, makeCustomers, WORKLOADS, type WorkloadName } from './workload.ts';

const MiB = 1024 * 1024;

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) throw new Error('run with --expose-gc');
  g();
}

async function createEngine(engine: EngineName, options: EngineOptions): Promise<EngineRun> {
  if (engine === 'db-ivm') return (await import('./db-ivm-engine.ts')).createDbIvmEngine(options);
  return (await import('./holdfast-engine.ts')).createHoldfastEngine(options);
}

async function main(): Promise<void> {
  const [engineArg, workloadArg, changesArg, batchArg, seedArg, variantArg] = process.argv.slice(2);
  const engine = engineArg as EngineName;
  const workload = workloadArg as WorkloadName;
  if (engine !== 'holdfast' && engine !== 'db-ivm') throw new Error(`unknown engine ${engineArg}`);
  if (!WORKLOADS.includes(workload)) throw new Error(`unknown workload ${workloadArg}`);
  const changes = Number(changesArg);
  const batch = Number(batchArg);
  const seed = Number(seedArg);
  const variant = (variantArg ?? 'reduce') as DbIvmVariant;

  const customers = makeCustomers(seed);
  const stream = makeChanges(workload, changes, seed);
  const expected = expectedContents(workload, customers, stream);

  let t = performance.now();
  const run = await createEngine(engine, { workload, changes, variant });
  const setupSeconds = (performance.now() - t) / 1000;

  t = performance.now();
  run.loadCustomers(customers);
  const loadSeconds = (performance.now() - t) / 1000;

  gc();
  const baseline = process.memoryUsage().heapUsed;
  let peak = baseline;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  for (let from = 0; from < changes; from += batch) {
    run.applyBatch(stream, from, Math.min(from + batch, changes));
    // v8's heap statistics: the same figure as memoryUsage().heapUsed without reading RSS from /proc each
    // batch, which cost both engines several percent of the measured time.
    const used = getHeapStatistics().used_heap_size;
    if (used > peak) peak = used;
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;

  const contents = run.contents();
  gc();
  const retained = process.memoryUsage().heapUsed;
  const correct = JSON.stringify(contents) === JSON.stringify(expected);

  const result: WorkerResult = {
    engine,
    workload,
    changes,
    batch,
    setupSeconds,
    loadSeconds,
    seconds,
    cpuSeconds,
    rowsPerSec: changes / seconds,
    baselineHeapMiB: baseline / MiB,
    peakHeapMiB: peak / MiB,
    retainedHeapMiB: retained / MiB,
    correct,
    contents,
  };
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

await main();
