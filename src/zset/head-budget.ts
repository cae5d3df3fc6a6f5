/**
 * head-budget: the process-wide memory budget of trace heads — the mutable part of a trace, where the changes
 * since its last seal are held as the JS rows themselves (`trace.ts`; the join keeps its own heads the same way).
 *
 * A head is sealed into a compact batch once it reaches its own threshold (a minimum size, or half the sealed
 * entries). Sealing costs, per entry, encoding the row, sorting it into key order and later merging it; holding
 * the row costs memory. This budget decides between the two, as a write buffer manager does for the memtables of
 * an LSM store: while the estimated bytes of every head in the process together stay under the budget, a head
 * past its threshold may stay unsealed, up to `DEFER_HEAD_MAX` (2^20) entries — state of that size keeps the cost
 * per change of a plain `Map` of rows — and once they exceed it, heads seal at their thresholds, so larger state is
 * held compact (a head then seals at half the sealed state, as without the budget). A
 * checkpoint freezes every head anyway (its batch is built in slices, off the step path), so the budget bounds
 * what accumulates between two checkpoints, not the state.
 *
 * The budget is an eighth of V8's heap limit (`--max-old-space-size`, or V8's default for the machine): 512 MiB
 * under a 4 GiB heap, 256 MiB under `--max-old-space-size=2048`. Each owner of a head reports its estimate after
 * every step through its {@link HeadAccount}; an owner that is garbage-collected (a circuit discarded) gives its
 * share back. The estimate per head entry comes from the row's width (and, once a seal has measured it, from its
 * encoded size): it is a bound for the decision, not a measurement.
 */
import { getHeapStatistics } from 'node:v8';

/** Estimated bytes of all heads together (the sum of every live account). */
let total = 0;
let budget = Math.floor(getHeapStatistics().heap_size_limit / 8);

/** One head owner's share of the budget. */
export class HeadAccount {
  #bytes = 0;

  /** The bytes last reported. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Records that this owner's heads now hold about `bytes`; returns whether all heads together fit the budget. */
  report(bytes: number): boolean {
    total += bytes - this.#bytes;
    this.#bytes = bytes;
    return total <= budget;
  }

  /** Gives the share back (the owner is gone). */
  release(): void {
    total -= this.#bytes;
    this.#bytes = 0;
  }
}

const gone = new FinalizationRegistry<HeadAccount>((a) => a.release());

/** A new account for `owner`'s heads, released when `owner` is garbage-collected. */
export function headAccount(owner: object): HeadAccount {
  const a = new HeadAccount();
  gone.register(owner, a);
  return a;
}

/**
 * Estimated bytes per head entry of rows `arity` values wide: the row array, its slots and the head's Map entry;
 * `encoded` (bytes per entry of the owner's last sealed batch, 0 when none) raises it for wide values (strings).
 */
export function headEntryBytes(arity: number, encoded = 0): number {
  return Math.max(64 + 16 * arity, 48 + 2 * encoded);
}

/** Estimated bytes held by all heads now (for tests and reports). */
export function headBytesTotal(): number {
  return total;
}

/** The budget in bytes. */
export function headBudget(): number {
  return budget;
}

/** Sets the budget (tests); returns the old one. */
export function setHeadBudget(bytes: number): number {
  const old = budget;
  budget = Math.max(0, bytes);
  return old;
}
