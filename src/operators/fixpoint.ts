/**
 * fixpoint: a group of mutually recursive views (Feldera's `DECLARE RECURSIVE VIEW`) evaluated to a fixed point
 * within one step, incrementally. The SQL side (`sql/recursive.ts`) hands it a factory of "copies": a copy is
 * a small circuit that evaluates every view of the group once, from the external relations it reads (`x`) and
 * the recursive views' values of the previous iteration (`r`), each recursive view ending in a DISTINCT.
 *
 * # Semantics (Feldera's)
 * At every step the recursive views start empty and are iterated, V₀ = ∅, Vᵢ₊₁ = distinct(F(T, Vᵢ)), until
 * Vₙ₊₁ = Vₙ; the group's views then hold their values at that fixed point (a view of the group that is not
 * declared recursive, e.g. a LOCAL helper, holds F's value on Vₙ). Non-monotone queries (aggregates, EXCEPT)
 * are allowed: they get exactly this iteration's result.
 *
 * # Incremental evaluation: the iterations unrolled, each level incremental over the steps
 * DBSP evaluates recursion with two-dimensional time (step t, iteration i). Here the iteration dimension is
 * unrolled: level i is its own copy of the group's circuit, whose inputs over the steps are T[t] and V[t][i]
 * and whose outputs are V[t][i+1]. Every operator of a copy is the ordinary incremental operator (its state
 * is the integral of its inputs over the steps), so a step feeds level i only the changes ΔT and
 * ΔV[i] = V[t][i] − V[t−1][i] (the previous level's output change) and gets ΔV[i+1]. Insertions and deletions
 * are handled alike and exactly: each level's state is a function of (T[t], V[t][i]), never of the path that
 * led there, so a retraction that removes a derivation at some iteration propagates through the levels
 * above it exactly as an insertion does (no "delete and rederive"; self-supporting cycles of derived rows
 * disappear, because every level starts from the same V₀ = ∅ at every step).
 * Convergence: per level the operator keeps Dᵢ = V[i+1] − V[i] (a Z-set, updated from the two levels'
 * changes). The first level whose D is empty is the fixed point; every level above it would hold the same
 * state, so only levels 0..n are kept (the depth is minimal, hence a function of the inputs alone). A step
 * that needs a deeper recursion adds levels: a new level is first "primed" with the previous step's full
 * inputs (T[t−1] and V*[t−1], which every virtual level above the old top held) and then stepped with the
 * changes like the others. A step whose fixed point is lower drops the levels above it.
 *
 * Cost: a step costs, per level, what the level's operators pay for ΔT and ΔV[i] (proportional to the
 * change), times the depth of the recursion; a step that deepens the recursion also pays the priming of each
 * new level (proportional to the full inputs), and one that makes it shallower a diff of the top levels'
 * outputs (proportional to the views). Memory: each level holds its own operator state (depth × state).
 *
 * Termination: a recursion that needs more than `limit` iterations in one step fails the step with
 * `RecursionLimitExceeded` (Feldera would loop forever); the pipeline stops (`PipelineFailed`), as on other
 * run-time errors.
 *
 * # State (the stateful-operator contract)
 * Persisted: "meta" (one row once the first step has run, never retracted, like `constant`) and "in<k>", the
 * integral of each external input: a scan-only {@link Trace} keyed by the whole row (added to, and read whole
 * only to prime a new level), so a checkpoint writes its sealed batches (those not written before) and its head
 * (frozen by the capture in O(1) and built in slices off the step: `Trace.capture`), and a restore
 * adopts them; plain row batches (deltas, checkpoints written before the trace) are added row by row. The levels'
 * D's and output integrals are derived, in-memory Z-sets (rebuilt by a restore). Everything else (the levels and their integrals) is derived state: a
 * function of the inputs' integrals. `restore` clears and `apply`s; `apply(parts)` adds each "in<k>"'s parts
 * to the integral and runs the recursion once with all the parts as one change (so `restore(P ++ Q)` and
 * `restore(P); apply(Q)` reach the same levels, the same minimal depth and the same later outputs). Restore
 * therefore costs a recomputation of the recursion from the checkpointed inputs (proportional to the state
 * times the depth), unlike the other operators' O(parts).
 *
 * Outputs: one batch per view of the group, read by `FixpointPortOperator`s (one per view) right after this
 * operator's step; the operator's own output batch is empty. A view that is neither fed back (declared) nor read
 * outside the group (a LOCAL helper) has no output. Per level, the operator keeps D for each recursive view,
 * and the integral of each other exported view (needed when the fixed point gets lower); a recursive view's
 * contents at a level are the sum of the D's up to it (V₀ = ∅).
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import { ServiceError } from '../errors/service-error.ts';
import { append, type Batch, consolidate, emptyBatch, push } from '../zset/batch.ts';
import { applyPart, Trace, traceLayout } from '../zset/trace.ts';
import { encodeRow, type Row } from '../zset/value.ts';
import { ZSetMap } from '../zset/zset-map.ts';
import { StatefulBase } from './stateful-base.ts';

/** Iterations a step may take before it fails with `RecursionLimitExceeded`. */
export const DEFAULT_RECURSION_LIMIT = 1000;

/** One copy of the group's circuit (one iteration level). */
export interface FixpointCopy {
  /** Feeds the changes of the external inputs and of the recursive inputs; returns each output's change. */
  step(external: readonly Batch[], recursive: readonly Batch[]): Batch[];
}

export interface FixpointSpec {
  /** Number of external inputs (the operator's arity). */
  readonly externals: number;
  /** Number of outputs (views of the group). */
  readonly outputs: number;
  /** For each recursive input of a copy, the output that feeds it at the next iteration. */
  readonly feedback: readonly number[];
  /** Builds a fresh copy (no state). */
  readonly build: () => FixpointCopy;
  /**
   * Per output: whether anything outside the group reads it (a feedback output always counts). The change of an
   * output nobody reads is not computed (its port stays empty), which spares keeping its integral per level.
   */
  readonly exported?: readonly boolean[];
  /** Names of the recursive views (for the error message). */
  readonly names: readonly string[];
  /** Iterations a step may take (default {@link DEFAULT_RECURSION_LIMIT}). */
  readonly limit?: number;
}

interface Level {
  readonly copy: FixpointCopy;
  /**
   * Integral of each exported output that is not a feedback output, at this level (null for the others: a
   * feedback output's integral is the sum of the D's of the levels up to this one).
   */
  readonly out: Array<ZSetMap | null>;
  /** Per recursive input k: this level's output minus its input (V[i+1] − V[i]). */
  readonly diff: ZSetMap[];
}

/**
 * An input integral's content as one consolidated batch, in encoding order (a function of the content alone),
 * read without sealing or building anything: the batches (and a checkpoint's frozen head, as its built batch or
 * as it is), then the head's changes. What a new level is primed with.
 */
function contents(m: Trace): Batch {
  // summed by the trace's key (identity, as a seal consolidates: -0 is 0); the batches' rows come first
  const sum = new Map<unknown, [Row, number]>();
  const add = (row: Row, w: number): void => {
    const k = m.keyOf(row);
    const e = sum.get(k);
    if (e === undefined) sum.set(k, [row, w]);
    else e[1] += w;
  };
  m.scanFrom(
    [],
    (row, w) => {
      add(row, w);
      return undefined;
    },
    true,
    true,
  );
  m.forEachFrozen(add);
  m.forEachHead(add);
  const live: Array<[string, Row, number]> = [];
  for (const [row, w] of sum.values()) if (w !== 0) live.push([encodeRow(row), row, w]);
  live.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Batch = { rows: [], weights: [], consolidated: true };
  for (const [, row, w] of live) push(out, row, w);
  return out;
}

export class FixpointOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind = 'fixpoint';
  readonly arity: number;
  readonly #s: FixpointSpec;
  readonly #limit: number;
  /** Outputs whose integral each level keeps (exported, not feedback). */
  readonly #kept: boolean[];
  /** Outputs that are emitted (exported or feedback). */
  readonly #emitted: boolean[];
  /** The external inputs' integrals (each created with its first row: its arity). */
  readonly #ins: Array<Trace | null>;
  #levels: Level[] = [];
  #started = false;
  /** Each output's change in the last step (read by the ports). */
  #last: Batch[];

  constructor(spec: FixpointSpec) {
    super(['meta', ...Array.from({ length: spec.externals }, (_x, k) => `in${k}`)]);
    this.#s = spec;
    this.arity = spec.externals;
    this.#limit = spec.limit ?? DEFAULT_RECURSION_LIMIT;
    this.#emitted = Array.from(
      { length: spec.outputs },
      (_x, w) => spec.feedback.includes(w) || spec.exported?.[w] !== false,
    );
    this.#kept = this.#emitted.map((e, w) => e && !spec.feedback.includes(w));
    this.#ins = Array.from({ length: spec.externals }, () => null);
    this.#last = Array.from({ length: spec.outputs }, () => emptyBatch());
  }

  /** The change of output `w` in the last step. */
  output(w: number): Batch {
    return this.#last[w] ?? emptyBatch();
  }

  /** Iteration levels currently kept (the depth of the last fixed point plus one). */
  get depth(): number {
    return this.#levels.length;
  }

  step(inputs: readonly Batch[]): Batch {
    if (this.#started && inputs.every((b) => b.rows.length === 0)) {
      // every level is in step with its inputs and its constants are out: nothing can change
      this.#last = this.#last.map(() => emptyBatch());
      return emptyBatch();
    }
    if (!this.#started) {
      this.#started = true;
      this.logs.meta!.record([true], 1);
    }
    this.#last = this.#pass(inputs);
    inputs.forEach((b, k) => {
      const log = this.logs[`in${k}`]!;
      if (b.rows.length === 0) return;
      const integral = this.#inFor(k, (b.rows[0] as Row).length);
      for (let i = 0; i < b.rows.length; i++) {
        log.record(b.rows[i] as Row, b.weights[i] as number);
        integral.add(b.rows[i] as Row, b.weights[i] as number);
      }
      integral.maybeSeal();
    });
    return emptyBatch();
  }

  /** External input k's integral (a scan-only trace keyed by the whole row), created on first use. */
  #inFor(k: number, arity: number): Trace {
    let t = this.#ins[k] ?? null;
    if (t === null) {
      t = new Trace(
        traceLayout(
          arity,
          Array.from({ length: arity }, (_x, i) => i),
        ),
        { indexed: false },
      );
      this.#ins[k] = t;
    }
    return t;
  }

  /**
   * Runs the levels on the external changes `dExt` until the fixed point; returns each output's change. The
   * input integrals must still hold the previous step's inputs (they prime new levels).
   */
  #pass(dExt: readonly Batch[]): Batch[] {
    const s = this.#s;
    const kOld = this.#levels.length;
    let dIn: Batch[] = s.feedback.map(() => emptyBatch());
    let prime: { ext: Batch[]; rec: Batch[] } | null = null;
    for (let j = 0; ; j++) {
      if (j >= this.#limit)
        throw new ServiceError(
          'RecursionLimitExceeded',
          `recursive view(s) ${s.names.join(', ')} did not reach a fixed point within ${this.#limit} iterations; bound the recursion (e.g. a WHERE condition on a depth column) so that it stops adding rows`,
          { views: [...s.names], limit: this.#limit },
        );
      let level = this.#levels[j];
      if (level === undefined) {
        level = this.#newLevel();
        if (kOld > 0) {
          // the old top level held V*[t-1]; it has already taken this step's change (dIn)
          prime ??= {
            ext: this.#ins.map((m) => (m === null ? emptyBatch() : contents(m))),
            rec: s.feedback.map((_f, k) => {
              // V*[t-1] = V[t][kOld] − ΔV[kOld] = Σ of the old levels' D − dIn
              const b = emptyBatch();
              for (let m = 0; m < kOld; m++)
                append(b, ((this.#levels[m] as Level).diff[k] as ZSetMap).toBatch());
              append(b, dIn[k] as Batch, -1);
              return consolidate(b);
            }),
          };
          this.#stepLevel(level, prime.ext, prime.rec);
        }
        this.#levels.push(level);
      }
      const outs = this.#stepLevel(level, dExt, dIn);
      dIn = s.feedback.map((f) => outs[f] as Batch);
      if (level.diff.every((d) => d.size === 0)) {
        if (j >= kOld - 1) return outs.map((b, w) => (this.#emitted[w] ? b : emptyBatch()));
        // The fixed point is lower than last step's: the change is the new top's contents minus the old top's.
        // For a feedback output that is this level's change minus the dropped levels' D (telescoping: the
        // levels' D sum to the top's contents); for another, the difference of the two levels' integrals.
        const oldTop = this.#levels[kOld - 1] as Level;
        const result = outs.map((b, w) => {
          if (!this.#emitted[w]) return emptyBatch();
          const out = emptyBatch();
          const k = s.feedback.indexOf(w);
          if (k >= 0) {
            append(out, b);
            for (let m = j + 1; m < kOld; m++)
              append(out, ((this.#levels[m] as Level).diff[k] as ZSetMap).toBatch(), -1);
          } else {
            append(out, (level.out[w] as ZSetMap).toBatch());
            append(out, (oldTop.out[w] as ZSetMap).toBatch(), -1);
          }
          return consolidate(out);
        });
        this.#levels.length = j + 1;
        return result;
      }
    }
  }

  #newLevel(): Level {
    const s = this.#s;
    return {
      copy: s.build(),
      out: this.#kept.map((k) => (k ? new ZSetMap() : null)),
      diff: s.feedback.map(() => new ZSetMap()),
    };
  }

  /** Steps one level; keeps its output integrals and its D up to date; returns its outputs' changes. */
  #stepLevel(level: Level, ext: readonly Batch[], rec: readonly Batch[]): Batch[] {
    const outs = level.copy.step(ext, rec).map((b, w) => (this.#emitted[w] ? consolidate(b) : b));
    outs.forEach((b, w) => {
      const m = level.out[w];
      if (m != null) for (let i = 0; i < b.rows.length; i++) m.add(b.rows[i] as Row, b.weights[i] as number);
    });
    this.#s.feedback.forEach((f, k) => {
      const d = level.diff[k] as ZSetMap;
      const o = outs[f] as Batch;
      const r = rec[k] as Batch;
      for (let i = 0; i < o.rows.length; i++) d.add(o.rows[i] as Row, o.weights[i] as number);
      for (let i = 0; i < r.rows.length; i++) d.add(r.rows[i] as Row, -(r.weights[i] as number));
    });
    return outs;
  }

  snapshot(): StateBatches {
    this.resetLogs();
    const out: StateBatches = { meta: emptyBatch() };
    if (this.#started) push(out.meta as Batch, [true], 1);
    this.#ins.forEach((m, k) => {
      // O(1): the head is frozen and the checkpoint builds its batch in slices (`Trace.capture`)
      out[`in${k}`] = m === null ? emptyBatch() : m.capture();
    });
    return out;
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    for (const m of this.#ins) m?.clear();
    this.#levels = [];
    this.#started = false;
    this.#last = this.#last.map(() => emptyBatch());
    this.apply(parts);
  }

  /**
   * Adds the parts to the input integrals and brings the levels up to date by one recursion over all the
   * parts at once (see the header: cost of a step with that change, not O(parts) alone).
   */
  apply(parts: Record<string, readonly Batch[]>): void {
    if (StatefulBase.partsOf(parts, 'meta').some((b) => b.rows.length > 0)) this.#started = true;
    const dExt = this.#ins.map((_m, k) => {
      const b = emptyBatch();
      for (const p of StatefulBase.partsOf(parts, `in${k}`)) append(b, p);
      return b;
    });
    if (!this.#started) return; // nothing has run: the inputs are empty too
    if (this.#levels.length === 0 || dExt.some((b) => b.rows.length > 0)) this.#pass(dExt);
    // after the pass (it primes new levels from the integrals before the parts): sealed batches are adopted
    this.#ins.forEach((_m, k) => {
      for (const p of StatefulBase.partsOf(parts, `in${k}`))
        applyPart(
          p,
          (arity) => this.#inFor(k, arity),
          (trace, b) => {
            for (let i = 0; i < b.rows.length; i++) trace.add(b.rows[i] as Row, b.weights[i] as number);
            trace.maybeSeal();
          },
        );
    });
  }
}

/** Reads one output of a {@link FixpointOperator} (its input is the fixpoint's node; stateless). */
export class FixpointPortOperator implements Operator {
  readonly kind = 'fixpoint-port';
  readonly arity = 1;
  readonly #fix: FixpointOperator;
  readonly #w: number;

  constructor(fix: FixpointOperator, w: number) {
    this.#fix = fix;
    this.#w = w;
  }

  step(): Batch {
    return this.#fix.output(this.#w);
  }
}
