/**
 * integrate (DBSP's I): outputs the running sum of its input, i.e. at step t the whole Z-set Σ_{s≤t} Δ_s.
 * Its output is as large as the state, so circuits use it only where the full relation is wanted (tests,
 * snapshots of a stream); {@link MaterializeOperator} is the pass-through variant views use.
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import type { Row } from '../zset/value.ts';
import { ZSetMap } from '../zset/zset-map.ts';
import { StatefulBase } from './stateful-base.ts';

export class IntegrateOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind: string = 'integrate';
  readonly arity = 1;
  protected readonly integral = new ZSetMap();

  constructor() {
    super(['input']);
  }

  protected accumulate(b: Batch): void {
    const log = this.logs.input!;
    for (let i = 0; i < b.rows.length; i++) {
      const row = b.rows[i] as Row;
      const w = b.weights[i] as number;
      this.integral.add(row, w);
      log.record(row, w);
    }
  }

  step([input]: readonly Batch[]): Batch {
    this.accumulate(input as Batch);
    return this.integral.toBatch();
  }

  /** The current integral. */
  contents(): Batch {
    return this.integral.toBatch();
  }

  snapshot(): StateBatches {
    this.resetLogs();
    return { input: this.integral.toBatch() };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.integral.clear();
    this.apply(parts);
  }

  /** Adds the parts to the integral: O(parts). */
  apply(parts: Record<string, readonly Batch[]>): void {
    for (const b of StatefulBase.partsOf(parts, 'input'))
      for (let i = 0; i < b.rows.length; i++) this.integral.add(b.rows[i] as Row, b.weights[i] as number);
  }
}

/**
 * materialize: keeps the integral of its input (so the relation's current contents can be read at any time,
 * e.g. for ad-hoc queries and snapshots) and outputs the change unchanged.
 */
export class MaterializeOperator extends IntegrateOperator {
  override readonly kind = 'materialize';

  override step([input]: readonly Batch[]): Batch {
    this.accumulate(input as Batch);
    return input as Batch;
  }
}

export const integrate = (): IntegrateOperator => new IntegrateOperator();
export const materialize = (): MaterializeOperator => new MaterializeOperator();
