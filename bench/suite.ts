/** What a benchmark suite looks like to `bench/run.ts`. */

export interface SuiteFlags {
  /** Order changes per workload (engine suite). */
  orders?: string;
  batch?: string;
  runs?: string;
  seed?: string;
  /** Comma-separated subsets. */
  engines?: string;
  workloads?: string;
  /** db-ivm aggregation pipeline: reduce | groupBy. */
  variant?: string;
  /** Events per query (nexmark suite). */
  events?: string;
  /** Rows of state: standby suite, comma-separated sizes; spill suite, one size. */
  rows?: string;
  /** Heap limit in MiB of the spill suite's spilling run. */
  heap?: string;
  /** Comma-separated query names (nexmark suite). */
  queries?: string;
  /** Merge the results into the official report (nexmark suite). */
  merge?: boolean;
  /** Another checkout measured beside this one (state-memory suite). */
  before?: string;
}

export interface SuiteOptions {
  /** Small sizes and a single run: a smoke test, not a measurement (results are not written to BENCHMARKS.md). */
  readonly quick: boolean;
  readonly flags: SuiteFlags;
}

export interface Suite {
  readonly name: string;
  readonly description: string;
  run(options: SuiteOptions): Promise<void>;
}
