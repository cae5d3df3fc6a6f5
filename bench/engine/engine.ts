/** The contract each engine adapter implements for the engine suite. */
import type { ChangeStream, Customers, ViewContents, WorkloadName } from './workload.ts';

/** Marks the worker's result line on stdout. */
export const RESULT_PREFIX = 'BENCH_RESULT ';

/** What one worker process reports. */
export interface WorkerResult {
  engine: EngineName;
  workload: WorkloadName;
  changes: number;
  batch: number;
  setupSeconds: number;
  loadSeconds: number;
  seconds: number;
  /** CPU seconds (user + system, all threads: GC helpers included) of the same streaming phase. */
  cpuSeconds: number;
  rowsPerSec: number;
  /** heapUsed right after the pre-run gc (customers loaded, data generated). */
  baselineHeapMiB: number;
  /** Max heapUsed sampled after each batch. */
  peakHeapMiB: number;
  /** heapUsed after a gc at the end, with all state still reachable. */
  retainedHeapMiB: number;
  correct: boolean;
  contents: ViewContents;
}

export type EngineName = 'holdfast' | 'db-ivm';

export const ENGINES: readonly EngineName[] = ['holdfast', 'db-ivm'];

export interface EngineOptions {
  readonly workload: WorkloadName;
  /** Number of order changes (sizes the adapter's bookkeeping, if it needs any). */
  readonly changes: number;
  /** db-ivm only: which aggregation pipeline to build. */
  readonly variant: DbIvmVariant;
}

/** `reduce`: hand-written count over db-ivm's `reduce`; `groupBy`: db-ivm's `groupBy` + `count()` helper. */
export type DbIvmVariant = 'reduce' | 'groupBy';

export interface EngineRun {
  /** Feeds all customers as one step (timed separately from the streaming phase). */
  loadCustomers(customers: Customers): void;
  /**
   * Feeds order changes `[from, to)` as one step, then consumes the step's output changes into the adapter's
   * own copy of the view.
   */
  applyBatch(stream: ChangeStream, from: number, to: number): void;
  /** The view's current contents, from the integrated output changes. */
  contents(): ViewContents;
}

/** Applies one output change (`count` is the group's count in that row) to an integrated view. */
export function integrate(
  view: Map<string | number, number>,
  key: string | number,
  count: number,
  weight: number,
) {
  if (weight > 0) view.set(key, count);
  else if (view.get(key) === count) view.delete(key);
}
