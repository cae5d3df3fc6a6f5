/**
 * window-agg: SQL window functions that are not ranks — aggregates `OVER (PARTITION BY ... ORDER BY ... frame)`
 * and LAG/LEAD. A row of the input is `[k1..kp, rest...]` (the partition key first); every input row comes out
 * once per copy with the values of the window functions appended: `[k1..kp, rest..., f1, ..., fm]`.
 *
 * The partition's rows are kept sorted by the caller's order, ties cut by the row's encoding (so the order is
 * total: results never depend on arrival order), and `compute` maps the sorted rows (each copy separately) to
 * the appended values. Incrementally: a step updates the sorted integral of each touched partition, recomputes
 * that partition's output and emits the difference from what it emitted before. Cost per touched partition:
 * O(n · frame) for n rows (frames are evaluated directly), independent of the other partitions.
 *
 * State "input": the integral of the input (distinct rows with weights). The emitted outputs are not saved: they
 * are a function of the integral (deterministic order, deterministic `compute`), so restore and apply recompute
 * them for the partitions they touch. Rows whose integral weight is ≤ 0 take no part.
 *
 * Invariant: a partition's `emitted` map is exactly the net output this operator has produced for it.
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { push } from '../zset/batch.ts';
import { encodeColumns, encodeRow, type Row, type Value } from '../zset/value.ts';
import { addSorted, type SortedEntry } from './sorted-multiset.ts';
import { StatefulBase } from './stateful-base.ts';

export interface WindowAggSpec {
  readonly keyCount: number;
  /** Orders two rows of a partition (negative, zero, positive); ties are broken by the row encoding. */
  readonly compare: (a: Row, b: Row) => number;
  /** The appended values for each row of a sorted partition (one entry per row, same order). */
  readonly compute: (rows: readonly Row[]) => Value[][];
}

type Entry = SortedEntry;

interface Partition {
  readonly sorted: Entry[];
  emitted: Map<string, [Row, number]>;
}

export class WindowAggOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind = 'window-agg';
  readonly arity = 1;
  readonly #spec: WindowAggSpec;
  readonly #parts = new Map<string, Partition>();
  readonly #keyCols: number[];

  constructor(spec: WindowAggSpec) {
    super(['input']);
    this.#spec = spec;
    this.#keyCols = Array.from({ length: spec.keyCount }, (_, i) => i);
  }

  #add(row: Row, w: number): string {
    const pk = this.#keyCols.length === 0 ? '' : encodeColumns(row, this.#keyCols);
    let p = this.#parts.get(pk);
    if (p === undefined) {
      p = { sorted: [], emitted: new Map() };
      this.#parts.set(pk, p);
    }
    addSorted(p.sorted, row, w, this.#spec.compare);
    return pk;
  }

  #output(p: Partition): Map<string, [Row, number]> {
    const rows: Row[] = [];
    for (const e of p.sorted) for (let k = 0; k < e.weight; k++) rows.push(e.row);
    const values = this.#spec.compute(rows);
    const out = new Map<string, [Row, number]>();
    rows.forEach((r, i) => {
      const x = [...r, ...(values[i] as Value[])];
      const enc = encodeRow(x);
      const prev = out.get(enc);
      if (prev) prev[1]++;
      else out.set(enc, [x, 1]);
    });
    return out;
  }

  #refresh(touched: Iterable<string>, out: Batch | null): void {
    for (const pk of touched) {
      const p = this.#parts.get(pk) as Partition;
      const now = this.#output(p);
      if (out !== null) {
        for (const [enc, [row, n]] of now) {
          const d = n - (p.emitted.get(enc)?.[1] ?? 0);
          if (d !== 0) push(out, row, d);
        }
        for (const [enc, [row, n]] of p.emitted) if (!now.has(enc)) push(out, row, -n);
      }
      p.emitted = now;
      if (p.sorted.length === 0) this.#parts.delete(pk);
    }
  }

  step([input]: readonly Batch[]): Batch {
    const b = input as Batch;
    const log = this.logs.input!;
    const touched = new Set<string>();
    for (let i = 0; i < b.rows.length; i++) {
      const w = b.weights[i] as number;
      if (w === 0) continue;
      log.record(b.rows[i] as Row, w);
      touched.add(this.#add(b.rows[i] as Row, w));
    }
    const out: Batch = { rows: [], weights: [], consolidated: true };
    this.#refresh(touched, out);
    return out;
  }

  snapshot(): StateBatches {
    this.resetLogs();
    const out: Batch = { rows: [], weights: [], consolidated: true };
    for (const p of this.#parts.values()) for (const e of p.sorted) push(out, e.row, e.weight);
    return { input: out };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.#parts.clear();
    this.apply(parts);
  }

  apply(parts: Record<string, readonly Batch[]>): void {
    const touched = new Set<string>();
    for (const b of StatefulBase.partsOf(parts, 'input'))
      for (let i = 0; i < b.rows.length; i++) {
        const w = b.weights[i] as number;
        if (w !== 0) touched.add(this.#add(b.rows[i] as Row, w));
      }
    this.#refresh(touched, null);
  }
}

export const windowAgg = (spec: WindowAggSpec): WindowAggOperator => new WindowAggOperator(spec);
