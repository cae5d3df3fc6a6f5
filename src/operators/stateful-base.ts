/**
 * Shared plumbing for stateful operators: one {@link ChangeLog} per named state Z-set, so `takeDelta()` and
 * change tracking work the same way everywhere.
 */
import { ChangeLog } from '../circuit/change-log.ts';
import type { StateBatches } from '../circuit/operator.ts';
import { type Batch, emptyBatch } from '../zset/batch.ts';

export abstract class StatefulBase {
  readonly stateful = true as const;
  protected readonly logs: Record<string, ChangeLog> = {};

  protected constructor(stateNames: readonly string[]) {
    for (const n of stateNames) this.logs[n] = new ChangeLog();
  }

  trackChanges(on: boolean): void {
    for (const l of Object.values(this.logs)) {
      l.enabled = on;
      l.reset();
    }
  }

  takeDelta(): StateBatches {
    const out: StateBatches = {};
    for (const [n, l] of Object.entries(this.logs)) out[n] = l.take();
    return out;
  }

  /** Called at the start of `snapshot()`: the snapshot is the new baseline for deltas. */
  protected resetLogs(): void {
    for (const l of Object.values(this.logs)) l.reset();
  }

  protected static partsOf(parts: Record<string, readonly Batch[]>, name: string): readonly Batch[] {
    return parts[name] ?? [emptyBatch()];
  }
}
