/**
 * Shared plumbing for stateful operators: one {@link ChangeLog} per named state Z-set (or a
 * {@link KeyedChangeLog} for a state with one row per key), so `takeDelta()` and change tracking work the same
 * way everywhere.
 */
import { ChangeLog, KeyedChangeLog } from '../circuit/change-log.ts';
import type { StateBatches } from '../circuit/operator.ts';
import { type Batch, emptyBatch } from '../zset/batch.ts';

export abstract class StatefulBase {
  readonly stateful = true as const;
  protected readonly logs: Record<string, ChangeLog> = {};
  protected readonly keyedLogs: Record<string, KeyedChangeLog> = {};

  protected constructor(stateNames: readonly string[], keyedStateNames: readonly string[] = []) {
    for (const n of stateNames) this.logs[n] = new ChangeLog();
    for (const n of keyedStateNames) this.keyedLogs[n] = new KeyedChangeLog();
  }

  #allLogs(): Array<[string, ChangeLog | KeyedChangeLog]> {
    return [...Object.entries(this.logs), ...Object.entries(this.keyedLogs)];
  }

  trackChanges(on: boolean): void {
    for (const [, l] of this.#allLogs()) {
      l.enabled = on;
      l.reset();
    }
  }

  /** Whether some state's change log overflowed since the last snapshot/takeDelta (then take a snapshot). */
  changesOverflowed(): boolean {
    for (const [, l] of this.#allLogs()) if (l.overflowed) return true;
    return false;
  }

  takeDelta(): StateBatches {
    const out: StateBatches = {};
    for (const [n, l] of this.#allLogs()) out[n] = l.take();
    return out;
  }

  /** Called at the start of `snapshot()`: the snapshot is the new baseline for deltas. */
  protected resetLogs(): void {
    for (const [, l] of this.#allLogs()) l.reset();
  }

  protected static partsOf(parts: Record<string, readonly Batch[]>, name: string): readonly Batch[] {
    return parts[name] ?? [emptyBatch()];
  }
}
