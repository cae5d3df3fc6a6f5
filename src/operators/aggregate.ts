/**
 * aggregate: SQL GROUP BY. Input rows are `[k1..kn, a1..am]` (group key columns, then aggregate arguments);
 * for every group whose input multiset is non-empty the output holds one row `output(key, results)` with
 * weight 1. Without key columns there is exactly one group, present even when the input is empty (SQL's
 * `SELECT COUNT(*) FROM t` on an empty t gives one row).
 *
 * Incrementally: a step feeds each `(row, w)` to its group's accumulators (a function with a FILTER column
 * only rows where that column is TRUE; a multi-argument function one combined value); afterwards every touched group
 * whose output row changed emits `(old, -1)` and `(new, +1)`. Accumulators handle negative weights, so
 * deletions are exact (MIN/MAX keep the multiset of values). State "input" is the integral of the input
 * (consolidated, usually far smaller than the input). When the aggregates take arguments, the integral is a
 * scan-only {@link Trace} of `[k1..kn, a1..am]` rows keyed by the group columns (compact sealed batches, no
 * per-row JS objects). `snapshot()` captures it in O(1) (`Trace.capture`: the batches plus the head, frozen; the
 * checkpoint builds the frozen head's batch in slices), so a checkpoint writes only batches not written before
 * and seals nothing on the step path. A restore adopts the decoded batches without reading them: a group is
 * known from its "output" row and is *not loaded* — its accumulators are built from its rows in the sealed
 * batches (a prefix scan of its key) on its first touch. Invariant: a group not loaded has no change since the
 * batches were adopted (every change loads its group first; an adoption, or a delta's rows added by `apply`,
 * seals the head before it marks the groups as not loaded). Otherwise (no argument) each group's row count is
 * the whole integral, and a restore feeds the counts.
 * Linear aggregates (every function's accumulator can save and load its state: COUNT, SUM, AVG, VAR/STDDEV,
 * BOOL_AND/OR, COUNT_IF): no input is kept at all. State "accs" holds one row per non-empty group,
 * `[k1..kn, count, s1..sm]` (sᵢ = accumulator i's saved state, exact: integer totals as text, a DECIMAL sum with
 * its multiset of scales, a double sum as its exact partials), change-logged per group (before/now, a
 * {@link KeyedChangeLog}), so a checkpoint holds as many rows as groups, a delta as many as groups touched, and
 * a restore loads each group's accumulators instead of replaying the input. An "input" part from a checkpoint
 * written before this mode is replayed into the accumulators.
 * State "output" holds each group's last emitted row (prefixed by its key): it is restored as emitted, never
 * recomputed, so a retraction after restore always cancels what was emitted (floating-point sums depend on
 * the order of additions).
 *
 * Bounded state (LATENESS): with `purge`, a group key column has a waterline, a lower bound on that column in
 * every future input row (`sql/lateness.ts`, propagated by the planner). At the end of a step in which the
 * waterline moved, every group whose key value is below it can never change again: it is discarded — its
 * emitted row stays downstream (nothing is retracted), its state goes, and the removal is logged as a change
 * of "input" and "output" like any other, so checkpoints, restore and warm apply agree. Its rows leave the input
 * trace as retractions (found by a scan of the group's key), which cancel them when the batches merge: the
 * trace stays as bounded as the groups, and a restore from its batches does not bring the group back.
 *
 * Invariants: for every group still held, `emitted` (or, until derived, the tail of `state` after the key) is
 * exactly the row this operator has emitted (net) for it; every group with input is held (so a group created by a step starts empty, and a
 * restore knows every group from the output state).
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { consolidate, emptyBatch, push } from '../zset/batch.ts';
import { KeyIndex } from '../zset/key-index.ts';
import { sameLayout, Trace, traceBatchesOf, traceLayout } from '../zset/trace.ts';
import { encodeColumns, encodeValue, type Row, sameRow, type Value } from '../zset/value.ts';
import { StatefulBase } from './stateful-base.ts';

/** Per-group running state of one aggregate function. */
export interface Accumulator {
  /** Adds `w` copies of `v` (negative w removes them). */
  add(v: Value, w: number): void;
  result(): Value;
  /**
   * A linear accumulator (COUNT, SUM, AVG, ...: its state is a few numbers, whatever rows it saw) saves its
   * state as one value and loads it back exactly; then the operator keeps no input rows (see the header).
   */
  save?(): Value;
  load?(state: Value): void;
}

export interface AggregateFunction {
  /** Index of the argument column in the input row, or -1 for COUNT(*). */
  readonly arg: number;
  /**
   * Further argument columns of a multi-argument aggregate (ARG_MAX(v, k)): the accumulator is then fed
   * `combine(row)` (one value standing for all the arguments) instead of `row[arg]`.
   */
  readonly extra?: { readonly columns: readonly number[]; combine(row: Row): Value };
  /** Column of the `FILTER (WHERE ...)` condition: a row reaches this function only where it is TRUE. */
  readonly filter?: number;
  create(): Accumulator;
}

export interface AggregateSpec {
  readonly keyCount: number;
  readonly functions: readonly AggregateFunction[];
  /** Builds the output row from the group key values and aggregate results (default: their concatenation). */
  readonly output?: (key: Row, results: Value[]) => Row;
  /** Discard groups below a waterline on group key column `key` (see the header). */
  readonly purge?: {
    readonly key: number;
    /** The current waterline (null while there is none). */
    readonly below: () => Value;
    readonly compare: (a: Value, b: Value) => number;
  };
}

interface Group {
  readonly key: Row;
  /** Meaningful only when the group is loaded ({@link Group.gen}). */
  count: number;
  accs: Accumulator[];
  /**
   * The operator's load generation when the accumulators were built: another value means the group is not
   * loaded — its input lies wholly in the input trace's sealed batches and is read on first touch.
   */
  gen: number;
  /**
   * The row last emitted for the group, as pushed downstream (null: none, or not derived yet from {@link state}
   * after a restore): a step compares with it and retracts it without copying the state row's tail.
   */
  emitted: Row | null;
  /**
   * The output state's row: the group's key followed by the emitted row (built when a snapshot or a change log
   * needs it, or kept as a restored part had it; null with `emitted` null: nothing emitted).
   */
  state: Row | null;
  touched: boolean;
  /** In the operator's list of groups whose state row is not built ({@link AggregateOperator.unbuilt}). */
  listed: boolean;
  /** Linear mode with change tracking: the group's state row before this step touched it ({@link NOT_SAVED}: not taken). */
  before: Row | undefined | typeof NOT_SAVED;
}

const NOT_SAVED = Symbol('notSaved');
/** The most groups whose state row a snapshot builds (more are built at a step end, see `#unbuilt`). */
const UNBUILT_MAX = 65536;
/** The accumulators of a group not loaded yet (see {@link Group.gen}). */
const NO_ACCS: Accumulator[] = [];

export class AggregateOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind = 'aggregate';
  readonly arity = 1;
  readonly #spec: AggregateSpec;
  readonly #groups = new KeyIndex<Group>();
  readonly #keyCols: number[];
  readonly #argCols: number[];
  readonly #global: boolean;
  /** No function has a FILTER or several arguments: the per-row loop skips those checks. */
  readonly #plain: boolean;
  /**
   * The integral of the input as `[k1..kn, a1..am]` rows, when some aggregate takes an argument (else the
   * groups' counts are the whole integral): a scan-only trace, sealed into compact batches.
   */
  readonly #input: Trace | null;
  /** Every function's accumulator is linear (saves and loads its state): state "accs" replaces the input. */
  readonly #linear: boolean;
  #stepped = false;
  /** The waterline of the last purge. */
  #purgedAt: Value = null;
  /**
   * Load generation: a group is loaded when its `gen` equals it. Bumped when batches are adopted (restore), which
   * leaves every group's input wholly in the sealed batches.
   */
  #gen = 0;
  /**
   * Groups whose emitted row changed since their state row (key ++ row) was built: a step keeps only the emitted
   * row (copying key ++ row for every touched group cost the customer workload of the engine suite 15%); the
   * next snapshot builds the rows, or a step end once more than {@link UNBUILT_MAX} wait.
   */
  readonly #unbuilt: Group[] = [];
  /** Input entries read back from the trace into accumulators (groups loaded on first touch; for tests). */
  #replayed = 0;

  constructor(spec: AggregateSpec) {
    super(['input', 'meta', 'output'], ['accs']);
    this.#spec = spec;
    this.#keyCols = Array.from({ length: spec.keyCount }, (_, i) => i);
    const maxArg = Math.max(
      -1,
      ...spec.functions.flatMap((f) => [f.arg, f.filter ?? -1, ...(f.extra?.columns ?? [])]),
    );
    this.#argCols =
      maxArg < spec.keyCount
        ? []
        : Array.from({ length: maxArg - spec.keyCount + 1 }, (_, i) => spec.keyCount + i);
    this.#global = spec.keyCount === 0;
    this.#plain = spec.functions.every((f) => f.filter === undefined && f.extra === undefined);
    this.#linear =
      this.#argCols.length > 0 &&
      spec.functions.every((f) => {
        const a = f.create();
        return typeof a.save === 'function' && typeof a.load === 'function';
      });
    this.#input =
      this.#argCols.length > 0 && !this.#linear
        ? new Trace(traceLayout(spec.keyCount + this.#argCols.length, this.#keyCols), { indexed: false })
        : null;
  }

  #groupKey(row: Row): unknown {
    const n = this.#keyCols.length;
    if (n === 0) return 0;
    if (n === 1) {
      const v = row[0] as Value;
      return typeof v === 'object' && v !== null ? encodeValue(v) : v;
    }
    return encodeColumns(row, this.#keyCols);
  }

  /**
   * The group of `row`, created when missing: loaded and empty, or with `stored`, not loaded (its input, if any,
   * read from the sealed batches on first touch; only valid while the trace has no head, frozen or not).
   */
  #group(row: Row, stored = false): Group {
    const k = this.#groupKey(row);
    let g = this.#groups.get(k);
    if (g === undefined) {
      g = {
        key: row.slice(0, this.#keyCols.length),
        count: 0,
        accs: stored ? NO_ACCS : this.#spec.functions.map((f) => f.create()),
        gen: stored ? this.#gen - 1 : this.#gen,
        emitted: null,
        state: null,
        touched: false,
        listed: false,
        before: NOT_SAVED,
      };
      this.#groups.set(k, g);
    }
    return g;
  }

  /**
   * Builds a group's accumulators from its rows in the input trace's sealed batches, if not loaded. Exact because
   * a group not loaded has no change since the batches were adopted: every change loads its group first, and an
   * adoption seals the head (and a frozen head) into the batches before it marks the groups as not loaded.
   */
  #load(g: Group): void {
    if (g.gen === this.#gen) return;
    g.gen = this.#gen;
    g.count = 0;
    g.accs = this.#spec.functions.map((f) => f.create());
    const input = this.#input;
    if (input === null) return;
    // the batches only (`frozenApart`: a head frozen by a capture is neither pushed nor built; it holds no entry of
    // this group, whose input has not changed since the batches were adopted)
    input.scanSealed(
      g.key,
      (row, w) => {
        this.#replayed++;
        g.count += w;
        this.#accumulate(g, row, w);
      },
      true,
    );
  }

  /** Feeds `(row, w)` to its group; `integrate`: also adds it to the input trace (not when restoring from it). */
  #feed(row: Row, w: number, touched: Group[] | null, integrate = true): void {
    const g = this.#group(row);
    if (g.gen !== this.#gen) this.#load(g);
    if (this.#linear && !g.touched && this.keyedLogs.accs!.enabled) g.before = this.#stateRow(g);
    g.count += w;
    const input = this.#input;
    if (integrate && input !== null) {
      const arity = input.layout.arity;
      input.add(row.length === arity ? row : row.slice(0, arity), w);
    }
    this.#accumulate(g, row, w);
    if (touched !== null && !g.touched) {
      g.touched = true;
      touched.push(g);
    }
  }

  /** Adds `(row, w)` to the group's accumulators (a FILTER column: only where TRUE). */
  #accumulate(g: Group, row: Row, w: number): void {
    const fs = this.#spec.functions;
    if (this.#plain) {
      for (let j = 0; j < fs.length; j++) {
        const f = fs[j] as AggregateFunction;
        (g.accs[j] as Accumulator).add(f.arg < 0 ? null : (row[f.arg] as Value), w);
      }
    } else {
      for (let j = 0; j < fs.length; j++) {
        const f = fs[j] as AggregateFunction;
        if (f.filter !== undefined && row[f.filter] !== true) continue;
        const v = f.extra !== undefined ? f.extra.combine(row) : f.arg < 0 ? null : (row[f.arg] as Value);
        (g.accs[j] as Accumulator).add(v, w);
      }
    }
  }

  /** Linear mode: the group's state row `[k1..kn, count, s1..sm]` (each sᵢ its accumulator's save()), none when empty. */
  #stateRow(g: Group): Row | undefined {
    if (g.count === 0) return undefined;
    const kn = g.key.length;
    const accs = g.accs;
    const row: Value[] = new Array(kn + 1 + accs.length);
    for (let i = 0; i < kn; i++) row[i] = g.key[i] as Value;
    row[kn] = g.count;
    for (let i = 0; i < accs.length; i++) row[kn + 1 + i] = (accs[i] as Accumulator).save!();
    return row;
  }

  /** Linear mode: logs the group's state change of this step (see {@link Group.before}). */
  #logState(g: Group): void {
    if (g.before === NOT_SAVED) return;
    this.keyedLogs.accs!.record(this.#groupKey(g.key), g.before, this.#stateRow(g));
    g.before = NOT_SAVED;
  }

  #current(g: Group): Row | null {
    if (g.gen !== this.#gen) this.#load(g);
    if (g.count === 0 && !this.#global) return null;
    const accs = g.accs;
    const out = this.#spec.output;
    if (out)
      return out(
        g.key,
        accs.map((a) => a.result()),
      );
    const key = g.key;
    const kn = key.length;
    const row: Value[] = new Array(kn + accs.length);
    for (let i = 0; i < kn; i++) row[i] = key[i] as Value;
    for (let i = 0; i < accs.length; i++) row[kn + i] = (accs[i] as Accumulator).result();
    return row;
  }

  step([input]: readonly Batch[]): Batch {
    const b = input as Batch;
    const touched: Group[] = [];
    // linear mode logs each touched group's state row instead (below): the input rows are not state
    const log = this.#linear ? null : this.logs.input!;
    for (let i = 0; i < b.rows.length; i++) {
      const row = b.rows[i] as Row;
      const w = b.weights[i] as number;
      log?.record(row, w);
      this.#feed(row, w, touched);
    }
    if (!this.#stepped) {
      if (this.#global) this.#touch(this.#group([]), touched);
      // logged for every aggregate, as `snapshot()` reports it: a base plus deltas sums to the snapshot
      this.logs.meta!.record([true], 1);
      this.#stepped = true;
    }
    // Each group emits at most (old, -1) and (new, +1), old ≠ new, and with the default output rows of
    // different groups differ in their key columns: the output is then consolidated by construction.
    const out: Batch = { rows: [], weights: [], consolidated: this.#spec.output === undefined };
    const outLog = this.logs.output!;
    for (const g of touched) {
      g.touched = false;
      if (this.#linear) this.#logState(g);
      const now = this.#current(g);
      const last = emittedOf(g);
      if (last !== null && now !== null && sameRow(last, now)) continue;
      if (last !== null) {
        push(out, last, -1);
        if (outLog.enabled) outLog.record(stateOf(g) as Row, -1);
      }
      g.emitted = now;
      g.state = null;
      if (now === null) {
        this.#groups.delete(this.#groupKey(g.key));
        continue;
      }
      push(out, now, 1);
      if (outLog.enabled) outLog.record(stateOf(g) as Row, 1);
      else if (!g.listed) {
        // built by the next snapshot (a group touched by many steps in between builds it once), or at a step
        // end once many are waiting, so that a capture never builds more than UNBUILT_MAX of them
        g.listed = true;
        this.#unbuilt.push(g);
      }
    }
    if (this.#unbuilt.length > UNBUILT_MAX) this.#buildStates();
    if (this.#spec.purge !== undefined) this.#purge(this.#spec.purge);
    this.#input?.maybeSeal();
    return out;
  }

  /**
   * Input entries read back from the input trace into accumulators so far: groups loaded on their first touch
   * after a restore (a restore itself reads none; for tests and reports).
   */
  get replayedEntries(): number {
    return this.#replayed;
  }

  /** Groups currently held (for tests and state-size reports). */
  get groupCount(): number {
    return this.#groups.size;
  }

  /**
   * Entries of the input state (for tests and state-size reports): the input trace's entries (rows cancelled
   * across its batches count until they merge), or the number of groups when the counts are the whole input.
   */
  get inputEntryCount(): number {
    return this.#input === null ? this.#groups.size : this.#input.entryCount;
  }

  /**
   * Discards the groups below the waterline, logging their state's removal. With an input trace, each purged
   * group's rows are found by a scan of its key (the trace is ordered by the group key columns: a binary search
   * per batch, then the group's rows only) and retracted from the trace, so the trace does not keep them (the
   * retractions cancel them when the batches merge) and a restore from it does not bring the group back.
   */
  #purge(p: NonNullable<AggregateSpec['purge']>): void {
    const wl = p.below();
    if (wl === null || (this.#purgedAt !== null && p.compare(wl, this.#purgedAt) <= 0)) return;
    this.#purgedAt = wl;
    const inLog = this.logs.input!;
    const outLog = this.logs.output!;
    const input = this.#input;
    const gone: Row[] = [];
    for (const [k, g] of this.#groups) {
      const v = g.key[p.key] as Value;
      if (v === null || p.compare(v, wl) >= 0) continue;
      if (this.#linear) {
        const accLog = this.keyedLogs.accs!;
        if (accLog.enabled && g.count !== 0) accLog.record(k, this.#stateRow(g), undefined);
      } else if (input === null) {
        if (g.count !== 0) inLog.record(g.key, -g.count);
      } else gone.push(g.key);
      const st = stateOf(g);
      if (outLog.enabled && st !== null) outLog.record(st, -1);
      this.#groups.delete(k);
    }
    if (input === null || gone.length === 0) return;
    const rows: Row[] = [];
    const weights: number[] = [];
    for (const key of gone)
      input.scan(key, (row, w) => {
        rows.push(row);
        weights.push(w);
      });
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as Row;
      const w = -(weights[i] as number);
      input.add(row, w);
      inLog.record(row, w);
    }
  }

  /** Builds the state rows of the groups changed since they were last built (see {@link #unbuilt}). */
  #buildStates(): void {
    const list = this.#unbuilt;
    for (let i = 0; i < list.length; i++) {
      const g = list[i] as Group;
      g.listed = false;
      stateOf(g);
    }
    list.length = 0;
  }

  snapshot(): StateBatches {
    this.resetLogs();
    this.#buildStates();
    const meta = emptyBatch();
    if (this.#stepped) push(meta, [true], 1);
    const counts = emptyBatch();
    const output = emptyBatch();
    const accs = emptyBatch();
    for (const g of this.#groups.values()) {
      const st = stateOf(g);
      if (st !== null) push(output, st, 1);
      if (g.count === 0) continue;
      if (this.#linear) push(accs, this.#stateRow(g) as Row, 1);
      else if (this.#input === null) push(counts, g.key, g.count);
    }
    // the input trace's batches plus its head, frozen (O(1): the checkpoint builds its batch in slices)
    const input = this.#input === null ? counts : this.#input.capture();
    return { input, meta, output, accs };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.#groups.clear();
    this.#unbuilt.length = 0;
    this.#input?.clear();
    this.#stepped = false;
    this.apply(parts);
  }

  /**
   * Adds state parts, touching only the groups they name: O(parts). In this order:
   * 1. "input" parts that are sealed batches of the input trace's layout are adopted as they are — no entry
   *    read (a restore opens them): the trace's head is sealed first, and every group is then marked as not
   *    loaded (its input is now wholly in the batches; it is read back on the group's first touch);
   * 2. "output" parts change each group's last emitted row (a part's retractions `(key ++ old, -1)` go before its
   *    insertions `(key ++ new, +1)`, so either order works); a group they create is not loaded when the trace
   *    has no head (its input, if any, is in the batches), else empty — every group with input is held, so a
   *    group missing then has none;
   * 3. other "input" parts (deltas, checkpoints written before the trace) are consolidated one by one; with an
   *    input trace their rows are added to it, the head is sealed, and every group is marked as not loaded again
   *    (a restore from a base plus deltas reads no entry back either); without one (COUNT(*)-only and linear
   *    aggregates) they are fed to the groups' counts and accumulators;
   * 4. "accs" parts (linear mode) load saved accumulator states; a non-empty "meta" part marks the operator as
   *    stepped.
   * Afterwards a touched group that is left with no input (count and argument multiset empty: its accumulators
   * are then as new), no emitted row, and is not the global group of a stepped operator is dropped, as a step
   * drops it.
   */
  apply(parts: Record<string, readonly Batch[]>): void {
    const touched: Group[] = [];
    const input = this.#input;
    const rowParts: Batch[] = [];
    for (const part of StatefulBase.partsOf(parts, 'input')) {
      const sealed = traceBatchesOf(part);
      if (sealed !== null && input !== null && sealed.every((tb) => sameLayout(tb.layout, input.layout))) {
        let adopted = false;
        for (const tb of sealed)
          if (tb.length > 0) {
            input.adopt(tb); // seals the head (and pushes a frozen one) first
            adopted = true;
          }
        if (adopted) this.#gen++;
        continue;
      }
      rowParts.push(part);
    }
    // groups created now hold their input in the batches when the trace has no head (nothing since a seal)
    const stored =
      input !== null && input.headSize === 0 && input.frozenRows === 0 && input.batches.length > 0;
    const kc = this.#keyCols.length;
    for (const part of StatefulBase.partsOf(parts, 'output')) {
      const b = consolidate(part);
      for (let i = 0; i < b.rows.length; i++) {
        if ((b.weights[i] as number) >= 0) continue;
        const row = b.rows[i] as Row;
        const g = this.#groups.get(this.#groupKey(row));
        const st = g === undefined ? null : stateOf(g);
        if (g === undefined || st === null || !sameRow(st, row)) continue;
        g.emitted = null;
        g.state = null;
        this.#touch(g, touched);
      }
      for (let i = 0; i < b.rows.length; i++) {
        if ((b.weights[i] as number) <= 0) continue;
        const row = b.rows[i] as Row;
        const g = this.#group(row.slice(0, kc), stored);
        g.emitted = null; // derived from the state row when a step first needs it
        g.state = row;
        this.#touch(g, touched);
      }
    }
    let added = false;
    for (const part of rowParts) {
      const b = consolidate(part);
      if (input === null) {
        for (let i = 0; i < b.rows.length; i++) this.#feed(b.rows[i] as Row, b.weights[i] as number, touched);
        continue;
      }
      // with an input trace, rows go to the trace only: sealed below, they are read back on first touch
      const arity = input.layout.arity;
      for (let i = 0; i < b.rows.length; i++) {
        const row = b.rows[i] as Row;
        input.add(row.length === arity ? row : row.slice(0, arity), b.weights[i] as number);
        this.#touch(this.#group(row, true), touched);
        added = true;
      }
    }
    if (added) {
      input!.seal(); // every group's input is in the batches again: none is loaded
      this.#gen++;
    }
    // state rows of linear accumulators: keyed by group, so a delta's (old, -1) goes before its (new, +1)
    const fs = this.#spec.functions;
    for (const part of StatefulBase.partsOf(parts, 'accs')) {
      const b = consolidate(part);
      for (let pass = 0; pass < 2; pass++)
        for (let i = 0; i < b.rows.length; i++) {
          const w = b.weights[i] as number;
          if (pass === 0 ? w >= 0 : w <= 0) continue;
          const row = b.rows[i] as Row;
          if (pass === 0) {
            const g = this.#groups.get(this.#groupKey(row));
            const cur = g === undefined ? undefined : this.#stateRow(g);
            if (g === undefined || cur === undefined || !sameRow(cur, row)) continue;
            g.count = 0;
            for (let j = 0; j < fs.length; j++) g.accs[j] = (fs[j] as AggregateFunction).create();
            this.#touch(g, touched);
            continue;
          }
          const g = this.#group(row.slice(0, kc));
          g.count = row[kc] as number;
          for (let j = 0; j < fs.length; j++) {
            const a = (fs[j] as AggregateFunction).create();
            a.load!(row[kc + 1 + j] as Value);
            g.accs[j] = a;
          }
          this.#touch(g, touched);
        }
    }
    if (StatefulBase.partsOf(parts, 'meta').some((b) => b.rows.length > 0)) this.#stepped = true;
    if (this.#global && this.#stepped) this.#touch(this.#group([], stored), touched);
    const keep = this.#global && this.#stepped;
    for (const g of touched) {
      g.touched = false;
      g.before = NOT_SAVED;
      if (g.emitted !== null || g.state !== null || keep) continue;
      this.#load(g); // a group that lost its emitted row: dropped when it has no input left
      if (g.count === 0) this.#groups.delete(this.#groupKey(g.key));
    }
  }

  #touch(g: Group, touched: Group[]): void {
    if (g.touched) return;
    g.touched = true;
    touched.push(g);
  }
}

/** The row last emitted for `g` (derived from its state row after a restore), or null. */
function emittedOf(g: Group): Row | null {
  if (g.emitted === null && g.state !== null) {
    const kn = g.key.length;
    g.emitted = kn === 0 ? g.state : g.state.slice(kn);
  }
  return g.emitted;
}

/** The output state's row of `g` (its key, then the emitted row; built once and kept), or null. */
function stateOf(g: Group): Row | null {
  if (g.state === null && g.emitted !== null)
    g.state = g.key.length === 0 ? g.emitted : [...g.key, ...g.emitted];
  return g.state;
}

export const aggregate = (spec: AggregateSpec): AggregateOperator => new AggregateOperator(spec);
