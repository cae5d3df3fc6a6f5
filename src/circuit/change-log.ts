/**
 * Records the changes a stateful operator makes to one of its state Z-sets, for incremental checkpoints.
 * Off by default (costs nothing then); when on, every change is appended and consolidated on `take()`.
 */
import { type Batch, consolidate, emptyBatch } from '../zset/batch.ts';
import type { Row } from '../zset/value.ts';

export class ChangeLog {
  enabled = false;
  #pending: Batch = emptyBatch();

  record(row: Row, weight: number): void {
    if (!this.enabled) return;
    this.#pending.rows.push(row);
    this.#pending.weights.push(weight);
  }

  take(): Batch {
    const out = consolidate(this.#pending);
    this.#pending = emptyBatch();
    return out;
  }

  reset(): void {
    this.#pending = emptyBatch();
  }
}
