/**
 * Concurrent bootstrapping (Feldera's `concurrent_bootstrap=true`): the changed program's new and modified views
 * are rebuilt from the checkpointed tables while the rest of the pipeline keeps processing live input, then the
 * pipeline cuts over to them.
 *
 * # Design
 * The live circuit is the new program restored from the checkpoint with the rebuilt views' operators empty
 * (bootstrap.ts `keptState`): unchanged relations are exact and run on live input as usual; the rebuilt views also
 * see the live changes, but their state is partial, so their outputs are held back (not emitted, not queryable)
 * until the cut-over. A {@link Backfill} owns a second, fresh circuit of the new program: between live steps it
 * is fed the checkpoint's contents of the tables the rebuilt views read, one bounded slice (at most `sliceRows`
 * rows) per step, and it records every live step's input to those tables. At the cut-over (Feldera's
 * `Synchronizing`, between two live steps, so no input arrives meanwhile) it replays the recorded live input
 * after the base, in order — a table's operator then sees base-then-live exactly as the live circuit's did, so
 * both tables agree — and the rebuilt views' state in the backfill circuit is the state an uninterrupted run
 * would have (operator state is a function of the integral of its input). The live circuit's snapshot with the
 * rebuilt views' operators taken from the backfill circuit becomes the new live circuit; the sum of the backfill
 * circuit's outputs of the rebuilt views is their full contents at the cut-over, emitted as the bootstrap's
 * output (unless `silent_bootstrap`).
 *
 * Limits: only views may change (a new or modified table refuses concurrent bootstrapping, as in Feldera: its
 * connectors restart from scratch); the tables feeding rebuilt views must be materialized (as for any bootstrap).
 * The recorded live input stays in memory until the cut-over.
 */
import type { CircuitSnapshot } from '../circuit/circuit.ts';
import type { StateBatches } from '../circuit/operator.ts';
import { ServiceError } from '../errors/service-error.ts';
import type { CommitProgress } from '../types/pipeline-api.ts';
import { append, type Batch, consolidate, emptyBatch } from '../zset/batch.ts';
import type { BootstrapPlan } from './bootstrap.ts';
import type { Program, SqlCircuit } from './program.ts';

/** Rows of the checkpointed tables fed to the backfill circuit per step (default). */
export const DEFAULT_SLICE_ROWS = 10_000;

/**
 * The backfill's pace from the environment: `HOLDFAST_BOOTSTRAP_SLICE_ROWS` (rows per backfill step, default
 * {@link DEFAULT_SLICE_ROWS}) and `HOLDFAST_BOOTSTRAP_SLICE_PAUSE_MS` (a pause after each backfill step, default 0:
 * a larger one leaves more of the CPU to live steps and makes the bootstrap longer).
 * @throws ServiceError InvalidArguments (not a positive integer; a pause may be 0)
 */
export function backfillPace(env: Readonly<Record<string, string | undefined>>): {
  sliceRows: number;
  pauseMs: number;
} {
  const read = (name: string, dflt: number, min: number) => {
    const text = env[name];
    if (text === undefined || text.trim() === '') return dflt;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < min)
      throw new ServiceError(
        'InvalidArguments',
        `${name} must be an integer of at least ${min}, got '${text}'`,
        {
          name,
        },
      );
    return n;
  };
  return {
    sliceRows: read('HOLDFAST_BOOTSTRAP_SLICE_ROWS', DEFAULT_SLICE_ROWS, 1),
    pauseMs: read('HOLDFAST_BOOTSTRAP_SLICE_PAUSE_MS', 0, 0),
  };
}

/**
 * Refuses concurrent bootstrapping where Feldera does (new or modified tables). @throws ServiceError
 * BootstrapNotAllowed
 */
export function checkConcurrent(program: Program, plan: BootstrapPlan): void {
  const tables = new Set(program.tables.map((t) => t.name));
  const changed = plan.rebuilt.filter((r) => tables.has(r));
  if (changed.length === 0) return;
  const reason = `tables ${changed.map((t) => `'${t}'`).join(', ')} are new or modified (only views can be bootstrapped while the pipeline runs)`;
  throw new ServiceError(
    'BootstrapNotAllowed',
    `The pipeline has been modified since the last checkpoint; however it cannot be bootstrapped due to the following reasons:\n- the pipeline cannot be bootstrapped concurrently: ${reason}. Restart with \`concurrent_bootstrap=false\` to bootstrap it while the pipeline waits.`,
    { reasons: [reason] },
  );
}

export class Backfill {
  /** The rebuilt views: their live outputs are held back until the cut-over. */
  readonly views: ReadonlySet<string>;
  /** The tables the rebuilt views read (their live input is recorded). */
  readonly tables: ReadonlySet<string>;
  readonly #program: Program;
  readonly #rebuilt: ReadonlySet<string>;
  readonly #circuit: SqlCircuit;
  readonly #base: Array<[string, Batch]>;
  /** Checkpointed rows fed per backfill step (settable until the backfill starts). */
  sliceRows: number;
  #table = 0;
  #row = 0;
  readonly #live: Array<Map<string, Batch>> = [];
  readonly #out = new Map<string, Batch>();
  readonly totalRows: number;
  #fedRows = 0;
  #slices = 0;

  /** `feed`: the checkpoint's contents of the tables the rebuilt views read (bootstrap.ts `keptState`). */
  constructor(
    program: Program,
    plan: BootstrapPlan,
    feed: ReadonlyMap<string, Batch>,
    sliceRows = DEFAULT_SLICE_ROWS,
  ) {
    this.#program = program;
    this.#rebuilt = new Set(plan.rebuilt);
    const tables = new Set(program.tables.map((t) => t.name));
    this.views = new Set(plan.rebuilt.filter((r) => !tables.has(r)));
    this.tables = new Set(feed.keys());
    this.#circuit = program.instantiate();
    this.#base = [...feed].filter(([, b]) => b.rows.length > 0);
    this.sliceRows = Math.max(1, sliceRows);
    this.totalRows = this.#base.reduce((n, [, b]) => n + b.rows.length, 0);
  }

  /** Every checkpointed row has been fed: the cut-over may happen. */
  get done(): boolean {
    return this.#table >= this.#base.length;
  }

  /** Progress as Feldera's `concurrent_bootstrap_progress` (slices done/left; rows fed of the total). */
  progress(): CommitProgress {
    const left = Math.ceil((this.totalRows - this.#fedRows) / this.sliceRows);
    return {
      completed: this.#slices,
      in_progress: this.done ? 0 : 1,
      remaining: Math.max(0, left - (this.done ? 0 : 1)),
      in_progress_processed_records: this.#fedRows,
      in_progress_total_records: this.totalRows,
    };
  }

  /** Feeds the next slice of the checkpointed tables to the backfill circuit (one step). */
  step(): void {
    if (this.done) return;
    const [table, batch] = this.#base[this.#table] as [string, Batch];
    const to = Math.min(batch.rows.length, this.#row + this.sliceRows);
    const slice: Batch = {
      rows: batch.rows.slice(this.#row, to),
      weights: batch.weights.slice(this.#row, to),
    };
    this.#fedRows += to - this.#row;
    this.#row = to;
    if (this.#row >= batch.rows.length) {
      this.#table++;
      this.#row = 0;
    }
    this.#slices++;
    this.#run(new Map([[table, slice]]));
  }

  /** Records a live step's input (its changes to the tables the rebuilt views read) for the cut-over. */
  recordLive(inputs: ReadonlyMap<string, Batch>): void {
    const kept = new Map<string, Batch>();
    for (const [t, b] of inputs) if (this.tables.has(t) && b.rows.length > 0) kept.set(t, b);
    if (kept.size > 0) this.#live.push(kept);
  }

  /**
   * The cut-over: replays the recorded live input after the base and returns the new live circuit (the live
   * one's state with the rebuilt views' operators from the backfill circuit) and the rebuilt views' full
   * contents. Call once {@link done}, between live steps.
   */
  cutover(live: SqlCircuit): { circuit: SqlCircuit; outputs: Map<string, Batch> } {
    if (!this.done)
      throw new ServiceError('UnexpectedBootstrap', 'cut-over before the backfill is done; this is a bug');
    for (const inputs of this.#live) this.#run(inputs);
    this.#live.length = 0;
    const liveState = live.snapshot();
    const backfilled = this.#circuit.snapshot();
    const operators: Record<string, StateBatches> = { ...liveState.operators };
    for (const r of this.#circuit.relations)
      if (this.#rebuilt.has(r.name))
        for (const k of r.stateKeys) operators[k] = backfilled.operators[k] as StateBatches;
    const next = this.#program.instantiate();
    const state: CircuitSnapshot = { steps: liveState.steps, operators };
    next.restore(state);
    const outputs = new Map<string, Batch>();
    for (const [view, b] of this.#out) outputs.set(view, consolidate(b));
    return { circuit: next, outputs };
  }

  #run(inputs: ReadonlyMap<string, Batch>): void {
    const outs = this.#circuit.step(inputs);
    for (const [view, b] of outs) {
      if (!this.views.has(view) || b.rows.length === 0) continue;
      let acc = this.#out.get(view);
      if (acc === undefined) {
        acc = emptyBatch();
        this.#out.set(view, acc);
      }
      append(acc, b);
    }
  }
}
