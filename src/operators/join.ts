/**
 * join: incremental equi-join with an optional residual predicate, in the four SQL kinds.
 *
 * On `(row, weight)`: for left `(l, a)` and right `(r, b)` with equal non-NULL keys and `residual(l, r)` true,
 * the output holds `(combine(l, r), a·b)`. Outer kinds add, for each left (right) row with no such partner,
 * `(combine(l, NULLS), a)` (`(combine(NULLS, r), b)`). Intuitively: SQL's JOIN over multisets.
 *
 * Incrementally: Δ(L⋈R) = ΔL⋈R_old + L_new⋈ΔR. Each side's integral (state "left"/"right") is kept indexed by
 * join key. Rows with a NULL key never match: in an outer kind they are passed through padded, and need no state.
 *
 * # State: one trace per side (`zset/trace.ts`)
 * A side is a {@link Trace} of rows `[key, ...row]` keyed by column 0, the value the key function gives (a
 * primitive, or the encoded string of a composite/object key: equal keys give equal bytes), plus a mutable
 * *head*: the side's changes since its last seal, as JS rows in a `KeyIndex` from key to a {@link Bucket} (what
 * the whole state was before traces, so a side that fits in the head — up to {@link UNIQUE_HEAD_MIN} entries, or
 * half the sealed entries — costs what the Map index cost), filled lazily: a change waits in the head's tail
 * until the head is read ({@link Head}). The head is sealed into a batch (`[key, ...row]` rows,
 * sorted, columnar) after a step once it is large enough, and by `snapshot()` (without merging). A lookup of key
 * k reads the head's bucket plus each sealed batch's entries for k (a key-range check, then a binary search or
 * the batch's hash index), decoded to rows. Entries are *not* consolidated across head and batches: a row
 * inserted in one batch and retracted in the head comes back twice, with opposite weights; every use of a
 * lookup is linear in the weights (output pairs, match sums), so such pairs cancel in the output Z-set. Within a
 * step the partners of a key are looked up once per side and kept while the other side changes (`#partners`).
 *
 * Row identity in the head: the side's id function (a primary key for a `leftUnique`/`rightUnique` side, whose
 * rows are also compared whole, as a head may hold a key's retracted row and its successor; else the encoded
 * row). A unique side's insertion is appended without a search (no live row has its id). In a batch, identity
 * is the row's exact encoding.
 *
 * # Outer kinds: match counts are derived, not stored
 * An unmatched row's padded output is added or retracted exactly when its `matches` (the total weight of its
 * partners that pass the residual) crosses 0. `matches` is a function of the row and the other side, so it is
 * not kept: when a step first looks up the partners of key k (say the right rows, for a left delta row), and the
 * right side is an outer side, each partner's count is computed from the left side's rows of key k as they are
 * at that moment (without a residual: one sum, the same for every partner; with one: a residual test per pair),
 * and then updated as the step's left rows of key k arrive, as the stored counts were before. The cost moves
 * from memory (a count per stored row, rebuilt on restore) to the first lookup of a key in a step: O(|L_k| +
 * |R_k|) without a residual, O(|L_k|·|R_k|) with one. The row's own padding uses its freshly summed partners.
 *
 * # Bounded state (LATENESS)
 * With `gc`, each side has rules `row[col] < below()` under which a stored row can never again meet a partner
 * (the planner derives them from waterlines, `sql/waterline-plan.ts`: an equi-join key pair with waterlines on
 * both sides discards both sides below the smaller of the two, as Feldera does; an inner join's `l.x >= f(r.y)`
 * with a waterline on `r.y` discards left rows below `f(waterline)`, and so on). At the end of a step in which
 * some rule's bound rose, the rows it covers are discarded: added to the side with the opposite weight (no
 * output: their past output stands; the entries of in-memory batches as one batch of their encoded bytes,
 * without decoding a row, those of file-backed batches through the head) and logged as a removal from
 * "left"/"right" like any other change, so
 * checkpoints, restore and warm apply agree. An outer join only gets the key-pair rule, which discards a row
 * together with all its partners (equal keys, one bound), so match counts stay exact.
 * The discard does not scan the side: the head is sealed, then each batch keeps (built once, on the first
 * discard that reaches it) a permutation of its entries ordered by each rule's column, and a rise from bound a
 * to bound b visits only the entries in [a, b) (two binary searches per batch: O(log n + discarded)). Rows that
 * arrive already below a bound (late rows) are remembered and discarded at the next rise. Since the bound of the
 * last discard is in memory only, `restore`/`apply` forget it and the next rise visits every entry below its
 * bound (the sums of cancelled pairs are 0). The retractions cancel the discarded rows in the next merges.
 *
 * # Checkpoints
 * `snapshot()` freezes both heads (O(1): a new head takes the changes from then on; lookups read the frozen
 * bucket Map between the sealed batches and the head until the next seal or snapshot pushes its batch, which
 * the checkpoint builds in slices meanwhile — `Trace.capture` does the same for a trace's own head) and returns
 * each side's batches plus the frozen head's {@link PendingBatch} ({@link TraceParts}: a checkpoint writes only
 * batches it has not written before; their layout is marked `derivedKey`, so code that reads them as a plain
 * batch sees the raw side rows, as the state held before traces). `restore`/`apply` adopt batches of the side's
 * layout as they are; plain parts — deltas (`takeDelta()`: the raw side rows the change logs hold) and
 * checkpoints written before traces (row batches of raw side rows) — are added row by row, keyed by the key
 * function.
 *
 * Invariant: a head bucket never holds an entry with weight 0, nor two entries of the same row (except on a
 * unique side, where a row deleted and inserted again since the last seal may sit as a −1 and a +1 entry); head
 * plus batches sum to each side's integral minus the discarded rows.
 */
import type { ChangeLog } from '../circuit/change-log.ts';
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { consolidate, emptyBatch, push } from '../zset/batch.ts';
import { type HeadAccount, headAccount, headEntryBytes } from '../zset/head-budget.ts';
import {
  ByteWriter,
  decodeKeyValue,
  encodeColumnsTo,
  type KeyReader,
  skipKeyValue,
} from '../zset/key-codec.ts';
import { KeyIndex } from '../zset/key-index.ts';
import { drain } from '../zset/sliced.ts';
import {
  batchOfEntries,
  buildBatch,
  DEFER_HEAD_MAX,
  forEachKeyEntry,
  HEAD_MIN,
  KeyedBatchBuilder,
  loadFileBatch,
  mergeBatches,
  PendingBatch,
  type SealedBatch,
  SORT_KEYS_MAX,
  sameLayout,
  Trace,
  TraceBatch,
  type TraceLayout,
  TraceParts,
  traceBatchesOf,
  traceHeadMin,
  traceLayout,
  UNIQUE_HEAD_MIN,
} from '../zset/trace.ts';
import { encodeRow, type Row, sameRow, type Value } from '../zset/value.ts';
import { StatefulBase } from './stateful-base.ts';

export type JoinKind = 'inner' | 'left' | 'right' | 'full';

/** Returned by a key function when the key has a NULL (such a row matches nothing). */
export const NULL_KEY: unique symbol = Symbol('NULL_KEY');

export type KeyFn = (row: Row) => unknown;
export type RowIdFn = (row: Row) => unknown;

/** Discard a stored row of one side when `row[col]` (not NULL) is below `below()` (see the header). */
export interface JoinGcRule {
  readonly col: number;
  /** The current bound (null while there is none); it only rises. */
  readonly below: () => Value;
  readonly compare: (a: Value, b: Value) => number;
}

export interface JoinSpec {
  readonly kind: JoinKind;
  readonly leftKey: KeyFn;
  readonly rightKey: KeyFn;
  /** Identity of a row within its side (default: the whole row encoded); equal rows must give equal ids. */
  readonly leftId: RowIdFn;
  readonly rightId: RowIdFn;
  /**
   * The side's ids are unique among its live rows and a row arrives with weight +1 only when no live row has
   * its id (true for a table's primary key: the table emits the old row's retraction first). Inserts then
   * skip the lookup for an existing entry.
   */
  readonly leftUnique?: boolean;
  readonly rightUnique?: boolean;
  readonly residual: ((l: Row, r: Row) => boolean) | null;
  /** Builds the output row; called with a row of NULLs for the missing side of an outer join. */
  readonly combine: (l: Row, r: Row) => Row;
  readonly leftWidth: number;
  readonly rightWidth: number;
  /** LATENESS: rules for discarding stored rows that can no longer match (see the header). */
  readonly gc?: { readonly left: readonly JoinGcRule[]; readonly right: readonly JoinGcRule[] };
}

/**
 * The head's rows of one side that share a join key, in parallel arrays (iterating needs no iterator objects,
 * and a one-row bucket costs a few small arrays). Small buckets are scanned; a large one builds an id → position
 * map the first time it is searched, and keeps it up to date from then on (a hint only once two entries have
 * shared an id). Removal swaps the last row into the hole.
 */
class Bucket {
  readonly rows: Row[] = [];
  readonly ids: unknown[] = [];
  readonly weights: number[] = [];
  /** A bucket is also the {@link Partners} of its key when nothing else is needed (no counts). */
  readonly matches: null = null;
  #pos: Map<unknown, number> | null = null;
  #shared = false;

  /** Position of the entry with this id (and, with `whole`, this row), or -1. */
  find(id: unknown, row: Row, whole: boolean): number {
    const ids = this.ids;
    if (this.#pos === null && ids.length > 8) {
      const pos = new Map<unknown, number>();
      for (let j = 0; j < ids.length; j++) {
        if (pos.has(ids[j])) this.#shared = true;
        pos.set(ids[j], j);
      }
      this.#pos = pos;
    }
    if (this.#pos !== null) {
      const i = this.#pos.get(id);
      if (i !== undefined && (!whole || sameRow(this.rows[i] as Row, row))) return i;
      if (!this.#shared) return -1;
    }
    for (let i = 0; i < ids.length; i++)
      if (ids[i] === id && (!whole || sameRow(this.rows[i] as Row, row))) return i;
    return -1;
  }

  append(id: unknown, row: Row, w: number): void {
    const i = this.rows.length;
    this.rows.push(row);
    this.ids.push(id);
    this.weights.push(w);
    if (this.#pos !== null) {
      if (this.#pos.has(id)) this.#shared = true;
      this.#pos.set(id, i);
    }
  }

  remove(i: number): void {
    const last = this.rows.length - 1;
    const id = this.ids[i];
    const pos = this.#pos;
    if (pos !== null && pos.get(id) === i) pos.delete(id);
    if (i !== last) {
      this.rows[i] = this.rows[last] as Row;
      this.ids[i] = this.ids[last];
      this.weights[i] = this.weights[last] as number;
      pos?.set(this.ids[i], i);
    }
    this.rows.pop();
    this.ids.pop();
    this.weights.pop();
  }
}

/** The partners of one key on one side, as one lookup found them (plus their match counts, when derived). */
interface Partners {
  readonly rows: Row[];
  readonly weights: number[];
  /** Per partner: the total weight of its own partners (only when the partner's side is an outer side). */
  readonly matches: number[] | null;
}

const NO_PARTNERS: Partners = { rows: [], weights: [], matches: null };

/**
 * A key's partners in one order whatever the side's layout: by each row's encoding. Where a partner sits (a
 * sealed batch, the head, a checkpoint's frozen head) depends on when seals and checkpoints happened, which is
 * wall-clock timing, so the order of a lookup's rows would otherwise differ between a run and its replay; the
 * join's output order (and what downstream operators emit first) follows it, and exactly-once file output relies
 * on a replay writing the same bytes.
 */
function inCanonicalOrder(p: Partners): Partners {
  const n = p.rows.length;
  if (n < 2) return p;
  const keys = p.rows.map(encodeRow);
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => {
    const x = keys[a] as string;
    const y = keys[b] as string;
    return x < y ? -1 : x > y ? 1 : a - b;
  });
  // consolidated too: the same row in a batch and in the head (an insert and its later delete) is one entry
  // with the sum of its weights, as it would be had both changes met in one place
  const m = p.matches;
  const rows: Row[] = [];
  const weights: number[] = [];
  const matches: number[] | null = m === null ? null : [];
  for (let j = 0; j < n; j++) {
    const i = idx[j] as number;
    const r = p.rows[i] as Row;
    const last = rows.length - 1;
    if (last >= 0 && keys[i] === keys[idx[j - 1] as number] && sameRow(rows[last] as Row, r)) {
      weights[last] = (weights[last] as number) + (p.weights[i] as number);
      continue;
    }
    rows.push(r);
    weights.push(p.weights[i] as number);
    if (matches !== null) matches.push((m as number[])[i] as number);
  }
  let w = 0;
  for (let j = 0; j < rows.length; j++) {
    if (weights[j] === 0) continue;
    rows[w] = rows[j] as Row;
    weights[w] = weights[j] as number;
    if (matches !== null) matches[w] = matches[j] as number;
    w++;
  }
  rows.length = w;
  weights.length = w;
  if (matches !== null) matches.length = w;
  return { rows, weights, matches };
}

/**
 * A side's head: its changes since the last seal, as JS rows, indexed by key *lazily*. A change is appended to
 * the tail (three array pushes: no lookup, no bucket touched) and moved into its key's {@link Bucket} only when
 * the head is read — a lookup for the other side's delta, a seal, a checkpoint's build of a frozen head. Moving
 * the tail replays its changes in order, so the buckets end exactly as if each change had been put there when it
 * came. A side that grows while the other side stands still (orders against a customers table that rarely
 * changes) pays for the index only when it is next read, and a hash-indexed insert is the costliest part of a
 * join step (a random bucket of thousands, several cache misses).
 */
class Head {
  /** The indexed entries: key → bucket. Read through {@link get} or after {@link index}. */
  readonly map = new KeyIndex<Bucket>();
  /** Entries in the buckets. */
  indexed = 0;
  readonly #tk: unknown[] = [];
  readonly #tr: Row[] = [];
  readonly #tw: number[] = [];
  /** Tail entries already moved into the buckets (a frozen head is indexed in slices). */
  #done = 0;
  readonly #idOf: RowIdFn;
  readonly #unique: boolean;

  constructor(idOf: RowIdFn, unique: boolean) {
    this.#idOf = idOf;
    this.#unique = unique;
  }

  /** Entries held: the buckets' plus the tail's not yet moved (an upper bound: the tail is not consolidated). */
  get entries(): number {
    return this.indexed + this.#tr.length - this.#done;
  }

  /** Whether some change still waits in the tail. */
  get pending(): boolean {
    return this.#done < this.#tr.length;
  }

  /** Adds `w` to the entry of `row` (key `k`), lazily. */
  append(k: unknown, row: Row, w: number): void {
    if (w === 0) return;
    this.#tk.push(k);
    this.#tr.push(row);
    this.#tw.push(w);
  }

  /** The bucket of key `k` (the tail moved first), or undefined. */
  get(k: unknown): Bucket | undefined {
    if (this.#done < this.#tr.length) this.index();
    return this.map.get(k);
  }

  /** Moves up to `limit` tail entries into the buckets; true once the tail is empty. */
  index(limit = Number.POSITIVE_INFINITY): boolean {
    const tr = this.#tr;
    if (tr.length === 0) return true;
    const end = Math.min(tr.length, this.#done + limit);
    const tk = this.#tk;
    const tw = this.#tw;
    for (let i = this.#done; i < end; i++) this.#put(tk[i], tr[i] as Row, tw[i] as number);
    if (end < tr.length) {
      this.#done = end;
      return false;
    }
    tk.length = 0;
    tr.length = 0;
    tw.length = 0;
    this.#done = 0;
    return true;
  }

  /** Adds `w` to the bucket entry of `row` (key `k`). */
  #put(k: unknown, row: Row, w: number): void {
    const map = this.map;
    let b = map.get(k);
    if (b === undefined) {
      b = new Bucket();
      map.set(k, b);
    }
    const id = this.#idOf(row);
    if (this.#unique && w > 0) {
      b.append(id, row, w);
      this.indexed++;
      return;
    }
    const i = b.find(id, row, this.#unique);
    if (i < 0) {
      b.append(id, row, w);
      this.indexed++;
      return;
    }
    const nw = (b.weights[i] as number) + w;
    if (nw !== 0) {
      b.weights[i] = nw;
      return;
    }
    b.remove(i);
    this.indexed--;
    if (b.rows.length === 0) map.delete(k);
  }

  /** The width of the head's rows (every row of a side has the same width); the head must hold an entry. */
  width(): number {
    if (this.#done < this.#tr.length) return (this.#tr[this.#done] as Row).length;
    for (const b of this.map.values()) if (b.rows.length > 0) return (b.rows[0] as Row).length;
    throw new Error('width: a head with no entry');
  }

  clear(): void {
    this.map.clear();
    this.indexed = 0;
    this.#tk.length = 0;
    this.#tr.length = 0;
    this.#tw.length = 0;
    this.#done = 0;
  }
}

/** One side's state: the trace of `[key, ...row]` rows, the head, and the LATENESS bookkeeping. */
class Side {
  trace: Trace | null = null;
  head: Head;
  /**
   * The head a checkpoint froze (`snapshot()`), read by lookups like a sealed level until the next seal or
   * snapshot pushes its batch ({@link pending}, which the checkpoint builds in slices meanwhile); null when none.
   */
  frozen: Head | null = null;
  frozenRows = 0;
  pending: PendingBatch | null = null;
  /** The side's share of the process's head budget (`zset/head-budget.ts`), and its estimate per head entry. */
  readonly account: HeadAccount = headAccount(this);
  entryBytes = 0;
  readonly keyOf: KeyFn;
  readonly idOf: RowIdFn;
  readonly unique: boolean;
  readonly outer: boolean;
  readonly log: ChangeLog;
  readonly rules: readonly JoinGcRule[];
  /** Per rule: the bound of the last discard (null: none since the start, the last restore or apply). */
  readonly gcAt: Value[];
  /** Changes since the last discard to rows that were already below a bound then (discarded at the next rise). */
  readonly late: Batch = emptyBatch();
  /** Per sealed batch: per rule, its entries with a non-NULL rule column, in the rule's order. */
  readonly gcOrder = new WeakMap<SealedBatch, Array<Uint32Array | undefined>>();

  constructor(
    keyOf: KeyFn,
    idOf: RowIdFn,
    unique: boolean,
    outer: boolean,
    log: ChangeLog,
    rules: readonly JoinGcRule[],
  ) {
    this.keyOf = keyOf;
    this.idOf = idOf;
    this.unique = unique;
    this.outer = outer;
    this.log = log;
    this.rules = rules;
    this.gcAt = rules.map(() => null);
    this.head = new Head(idOf, unique);
  }

  traceFor(arity: number): Trace {
    this.trace ??= new Trace(sideLayout(arity));
    return this.trace;
  }

  get sealed(): readonly SealedBatch[] {
    return this.trace === null ? NO_BATCHES : this.trace.batches;
  }

  /** Adds `w` to the head entry of `row` (key `k`); indexed when the head is next read ({@link Head}). */
  add(k: unknown, row: Row, w: number): void {
    this.head.append(k, row, w);
  }

  /** Seals the head into a batch of the trace (merging unless `merge` is false). */
  seal(merge: boolean): void {
    this.pushFrozen();
    this.head.index();
    if (this.head.entries === 0) return;
    const trace = this.traceFor(this.head.width() + 1);
    const batch = drain(frozenSteps(trace.layout, this.head, Number.POSITIVE_INFINITY));
    this.head.clear();
    if (batch.length > 0)
      this.entryBytes = headEntryBytes(trace.layout.arity, batch.dataBytes / batch.length);
    trace.pushBatch(batch, merge);
  }

  /** Pushes the frozen head's batch into the trace (built now if the checkpoint has not built it yet), unmerged. */
  pushFrozen(): void {
    const p = this.pending;
    if (p === null) return;
    this.frozen = null;
    this.frozenRows = 0;
    this.pending = null;
    (this.trace as Trace).pushBatch(p.batch(), false);
  }

  /**
   * Freezes the head (a checkpoint's capture, O(1)): a new head takes the changes from now on; the frozen one
   * becomes a {@link PendingBatch} built by the checkpoint in slices. An earlier frozen head is pushed first.
   */
  freeze(): void {
    this.pushFrozen();
    if (this.head.entries === 0) return;
    const frozen = this.head;
    const trace = this.traceFor(frozen.width() + 1);
    this.head = new Head(this.idOf, this.unique);
    this.frozen = frozen;
    this.frozenRows = frozen.entries;
    this.pending = new PendingBatch(this.frozenRows, frozenSteps(trace.layout, frozen, SORT_KEYS_MAX));
  }

  /**
   * Seals the head once it holds half as many entries as the batches (at least the join's head minimum), unless
   * every head of the process still fits the head budget (`zset/head-budget.ts`), up to `DEFER_HEAD_MAX`
   * entries. A checkpoint's frozen head counts toward the budget until its batch is pushed.
   */
  maybeSeal(): void {
    let n = this.head.entries;
    if (this.entryBytes === 0 && n > 0) this.entryBytes = headEntryBytes(this.head.width() + 1);
    let fits = this.account.report((n + this.frozenRows) * this.entryBytes);
    if (n === 0) return;
    const min = traceHeadMin();
    const headMin = min === HEAD_MIN ? UNIQUE_HEAD_MIN : min;
    const sealed = (this.trace?.entryCount ?? 0) + this.frozenRows;
    const wait = (): boolean =>
      n < Math.max(headMin, sealed >>> 1) || (min === HEAD_MIN && fits && n < DEFER_HEAD_MAX);
    if (wait()) return;
    // the tail counts every change (an update twice): index it, and decide on the exact count
    if (this.head.pending) {
      this.head.index();
      n = this.head.entries;
      fits = this.account.report((n + this.frozenRows) * this.entryBytes);
      if (wait()) return;
    }
    this.seal(true);
    this.account.report(this.frozenRows * this.entryBytes);
  }

  clear(): void {
    this.trace?.clear();
    this.head.clear();
    this.account.report(0);
    this.frozen = null;
    this.frozenRows = 0;
    this.pending = null;
    this.forgetDiscards();
  }

  /** Forgets the last discard's bounds (after restore/apply: the next rise visits every entry below its bound). */
  forgetDiscards(): void {
    this.gcAt.fill(null);
    this.late.rows.length = 0;
    this.late.weights.length = 0;
  }

  /** Whether `row` lies below the bound of the last discard of some rule (a late row). */
  belowLastDiscard(row: Row): boolean {
    const rules = this.rules;
    for (let i = 0; i < rules.length; i++) {
      const at = this.gcAt[i] as Value;
      if (at === null) continue;
      const r = rules[i] as JoinGcRule;
      const v = row[r.col] as Value;
      if (v !== null && r.compare(v, at) < 0) return true;
    }
    return false;
  }
}

const NO_BATCHES: readonly SealedBatch[] = [];
const READER: KeyReader = { pos: 0 };

export class JoinOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind = 'join';
  readonly arity = 2;
  readonly #s: JoinSpec;
  readonly #left: Side;
  readonly #right: Side;
  readonly #nullLeft: Row;
  readonly #nullRight: Row;
  /** Partners looked up in the current phase of a step, by key (the side they come from does not change). */
  readonly #cache = new Map<unknown, Partners>();
  readonly #keyWriter = new ByteWriter(64);
  readonly #keyRow: Value[] = [null];
  readonly #col0: readonly number[] = [0];

  constructor(spec: JoinSpec) {
    super(['left', 'right']);
    this.#s = spec;
    this.#nullLeft = new Array(spec.leftWidth).fill(null);
    this.#nullRight = new Array(spec.rightWidth).fill(null);
    this.#left = new Side(
      spec.leftKey,
      spec.leftId,
      spec.leftUnique === true,
      spec.kind === 'left' || spec.kind === 'full',
      this.logs.left as ChangeLog,
      spec.gc?.left ?? [],
    );
    this.#right = new Side(
      spec.rightKey,
      spec.rightId,
      spec.rightUnique === true,
      spec.kind === 'right' || spec.kind === 'full',
      this.logs.right as ChangeLog,
      spec.gc?.right ?? [],
    );
  }

  /** Distinct rows stored on both sides, consolidated (for tests and state-size reports; not cheap). */
  get storedRows(): number {
    return countRows(this.#left) + countRows(this.#right);
  }

  /** The traces holding the sides' sealed rows (null before the first seal; for tests and memory figures). */
  get traces(): { left: Trace | null; right: Trace | null } {
    return { left: this.#left.trace, right: this.#right.trace };
  }

  /** Appends the sealed entries of `side` whose key is `k` (decoded rows, not consolidated) to `rows`/`ws`. */
  #sealedInto(side: Side, k: unknown, rows: Row[], ws: number[]): void {
    const bs = side.sealed;
    if (bs.length === 0) return;
    const w = this.#keyWriter;
    w.reset();
    this.#keyRow[0] = k as Value;
    encodeColumnsTo(w, this.#keyRow, this.#col0, null);
    forEachKeyEntry(bs, w.buf, w.pos, (batch, i) => {
      rows.push(decodeValue(batch, i));
      ws.push(batch.weight(i));
    });
  }

  /**
   * The rows of `side` with key `k` (head and batches), for a delta row of the other side `from`, in canonical
   * order; looked up once per key and phase. (A phase reads a side held only in its head, without derived match
   * counts, from its bucket itself when it has at most one row: no copy, as `side` does not change meanwhile.)
   */
  #partners(side: Side, from: Side, k: unknown, fromIsLeft: boolean): Partners {
    const cached = this.#cache.get(k);
    if (cached !== undefined) return cached;
    const rows: Row[] = [];
    const ws: number[] = [];
    this.#sealedInto(side, k, rows, ws);
    const z = side.frozen?.get(k);
    if (z !== undefined)
      for (let i = 0; i < z.rows.length; i++) {
        rows.push(z.rows[i] as Row);
        ws.push(z.weights[i] as number);
      }
    const b = side.head.get(k);
    if (b !== undefined)
      for (let i = 0; i < b.rows.length; i++) {
        rows.push(b.rows[i] as Row);
        ws.push(b.weights[i] as number);
      }
    let matches: number[] | null = null;
    if (side.outer) {
      // each partner's count: the weights of `from`'s rows of key k that it meets, as `from` is now
      const fr: Row[] = [];
      const fw: number[] = [];
      this.#sealedInto(from, k, fr, fw);
      const fz = from.frozen?.get(k);
      if (fz !== undefined)
        for (let i = 0; i < fz.rows.length; i++) {
          fr.push(fz.rows[i] as Row);
          fw.push(fz.weights[i] as number);
        }
      const fb = from.head.get(k);
      if (fb !== undefined)
        for (let i = 0; i < fb.rows.length; i++) {
          fr.push(fb.rows[i] as Row);
          fw.push(fb.weights[i] as number);
        }
      const residual = this.#s.residual;
      matches = new Array(rows.length);
      if (residual === null) {
        let total = 0;
        for (let i = 0; i < fw.length; i++) total += fw[i] as number;
        matches.fill(total);
      } else
        for (let j = 0; j < rows.length; j++) {
          const p = rows[j] as Row;
          let m = 0;
          for (let i = 0; i < fr.length; i++) {
            const q = fr[i] as Row;
            if (fromIsLeft ? residual(q, p) : residual(p, q)) m += fw[i] as number;
          }
          matches[j] = m;
        }
    }
    const out: Partners = inCanonicalOrder({ rows, weights: ws, matches });
    this.#cache.set(k, out);
    return out;
  }

  /** One phase of a step: `delta` of side `mine` against side `other` as it is, folded into `mine`. */
  #phase(delta: Batch, isLeft: boolean, out: Batch): void {
    const s = this.#s;
    const residual = s.residual;
    const combine = s.combine;
    const mine = isLeft ? this.#left : this.#right;
    const other = isLeft ? this.#right : this.#left;
    const padMine = isLeft ? this.#nullRight : this.#nullLeft;
    const padOther = isLeft ? this.#nullLeft : this.#nullRight;
    const log = mine.log;
    const gc = mine.rules.length > 0;
    if (delta.rows.length === 0) return;
    // `other` held only in its head (no batches, no derived counts): a key's bucket is its partners as they are
    const headOnly = !other.outer && other.sealed.length === 0 && other.frozen === null;
    other.head.index();
    const head = other.head.map;
    this.#cache.clear();
    for (let i = 0; i < delta.rows.length; i++) {
      const x = delta.rows[i] as Row;
      const w = delta.weights[i] as number;
      const k = mine.keyOf(x);
      if (k === NULL_KEY) {
        if (mine.outer) push(out, isLeft ? combine(x, padMine) : combine(padMine, x), w);
        continue;
      }
      log.record(x, w);
      let m = 0;
      let p: Partners | undefined = headOnly ? head.get(k) : undefined;
      if (p === undefined) p = headOnly ? NO_PARTNERS : this.#partners(other, mine, k, isLeft);
      else if (p.rows.length > 1) p = this.#partners(other, mine, k, isLeft);
      const rows = p.rows;
      const ws = p.weights;
      const ms = p.matches;
      for (let j = 0; j < rows.length; j++) {
        const y = rows[j] as Row;
        if (residual !== null && !(isLeft ? residual(x, y) : residual(y, x))) continue;
        const yw = ws[j] as number;
        push(out, isLeft ? combine(x, y) : combine(y, x), w * yw);
        m += yw;
        if (ms !== null) {
          const before = ms[j] as number;
          const after = before + w;
          ms[j] = after;
          if (before === 0 && after !== 0)
            push(out, isLeft ? combine(padOther, y) : combine(y, padOther), -yw);
          else if (before !== 0 && after === 0)
            push(out, isLeft ? combine(padOther, y) : combine(y, padOther), yw);
        }
      }
      mine.add(k, x, w);
      if (gc && mine.belowLastDiscard(x)) push(mine.late, x, w);
      if (mine.outer && m === 0) push(out, isLeft ? combine(x, padMine) : combine(padMine, x), w);
    }
    this.#cache.clear();
  }

  step([dl, dr]: readonly Batch[]): Batch {
    const out = emptyBatch();
    this.#phase(dl as Batch, true, out);
    this.#phase(dr as Batch, false, out);
    this.#collect(this.#left);
    this.#collect(this.#right);
    this.#left.maybeSeal();
    this.#right.maybeSeal();
    return out;
  }

  /**
   * Discards the stored rows of `side` that its GC rules cover, when some rule's bound rose since the last
   * discard: each is added with the opposite weight and logged. Visits only the entries between the last
   * bound and the new one (see the header).
   */
  #collect(side: Side): void {
    const rules = side.rules;
    if (rules.length === 0) return;
    const bounds: Value[] = side.gcAt.slice();
    const risen: boolean[] = [];
    let any = false;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i] as JoinGcRule;
      const b = r.below();
      const at = side.gcAt[i] as Value;
      const up = b !== null && (at === null || r.compare(b, at) > 0);
      risen.push(up);
      if (up) {
        bounds[i] = b;
        any = true;
      }
    }
    if (!any) return;
    side.seal(true);
    const gone = emptyBatch();
    // rows already below a bound before this discard were discarded then, or are late rows (listed)
    for (let i = 0; i < side.late.rows.length; i++)
      push(gone, side.late.rows[i] as Row, side.late.weights[i] as number);
    // entries of in-memory batches are retracted by their bytes (one batch, pushed below: no row decoded,
    // unless the change log wants it); those of file-backed batches as rows, through the head
    const fromBatches: TraceBatch[] = [];
    const entries: number[] = [];
    const retract: number[] = [];
    const old = side.gcAt;
    const batches = side.sealed;
    for (let i = 0; i < rules.length; i++) {
      if (!risen[i]) continue;
      const rule = rules[i] as JoinGcRule;
      const col = rule.col;
      for (const batch of batches) {
        const perm = gcOrderOf(side, batch, i);
        const lo = old[i] === null ? 0 : lowerBound(batch, perm, col, rule, old[i] as Value);
        const hi = lowerBound(batch, perm, col, rule, bounds[i] as Value);
        for (let p = lo; p < hi; p++) {
          const e = perm[p] as number;
          // below another rule's bound already: discarded before (or late), or counted by an earlier rule now
          let dead = false;
          for (let j = 0; j < rules.length && !dead; j++) {
            if (j === i) continue;
            const bj = (j < i ? bounds[j] : old[j]) as Value;
            if (bj === null) continue;
            const rj = rules[j] as JoinGcRule;
            const v = decodeColumn(batch, e, rj.col);
            dead = v !== null && rj.compare(v, bj) < 0;
          }
          if (dead) continue;
          const w = batch.weight(e);
          if (batch instanceof TraceBatch) {
            fromBatches.push(batch);
            entries.push(e);
            retract.push(-w);
            if (side.log.enabled) side.log.record(decodeValue(batch, e), -w);
          } else push(gone, decodeValue(batch, e), w);
        }
      }
    }
    for (let i = 0; i < rules.length; i++) side.gcAt[i] = bounds[i] as Value;
    side.late.rows.length = 0;
    side.late.weights.length = 0;
    if (entries.length > 0) {
      const trace = side.trace as Trace;
      trace.pushBatch(batchOfEntries(trace.layout, fromBatches, entries, retract), true);
    }
    const c = consolidate(gone);
    for (let i = 0; i < c.rows.length; i++) {
      const row = c.rows[i] as Row;
      const w = c.weights[i] as number;
      side.log.record(row, -w);
      side.add(side.keyOf(row), row, -w);
    }
  }

  snapshot(): StateBatches {
    this.resetLogs();
    return { left: snapshotOf(this.#left), right: snapshotOf(this.#right) };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.#left.clear();
    this.#right.clear();
    this.apply(parts);
  }

  /**
   * Adds the "left" parts, then the "right" ones, to the sides (like a step, without output). Sealed batches of
   * the side's layout are adopted as they are (no row decoded, no merge); plain parts (deltas, checkpoints
   * written before traces: raw side rows) are added row by row by key (consolidated first; a row with a NULL
   * key is skipped, as a step never stores one). Match counts are derived, so nothing else is rebuilt. O(parts).
   */
  apply(parts: Record<string, readonly Batch[]>): void {
    for (const [name, side] of [
      ['left', this.#left],
      ['right', this.#right],
    ] as const) {
      for (const part of StatefulBase.partsOf(parts, name)) {
        const sealed = traceBatchesOf(part);
        if (sealed === null) {
          addRows(side, part);
          continue;
        }
        for (const tb of sealed) {
          if (tb.length === 0) continue;
          const trace = side.traceFor(tb.layout.arity);
          // a batch of another layout is not one this operator wrote: its rows are taken as raw side rows
          // (a batch file written by this operator's trace is adopted as it is: its rows are the trace's)
          if (sameLayout(tb.layout, trace.layout))
            trace.adopt(
              !(tb instanceof TraceBatch) || tb.layout.derivedKey === true ? tb : tb.withLayout(trace.layout),
            );
          else addRows(side, tb);
        }
      }
      side.forgetDiscards();
      side.maybeSeal();
    }
  }
}

/** Adds a plain part of raw side rows (or the rows of a batch of another layout) to the side's head. */
function addRows(side: Side, b: Batch): void {
  const c = consolidate(b);
  for (let i = 0; i < c.rows.length; i++) {
    const row = c.rows[i] as Row;
    const k = side.keyOf(row);
    if (k === NULL_KEY) continue;
    side.add(k, row, c.weights[i] as number);
  }
}

/** The head's keys as numbers when every one is a number (a Map holds -0 as 0), else null. */
function numericKeys(head: KeyIndex<Bucket>): Float64Array | null {
  const out = new Float64Array(head.size);
  let i = 0;
  for (const k of head.keys()) {
    if (typeof k !== 'number') return null;
    out[i++] = k;
  }
  return out;
}

/** A side's state for a checkpoint, in O(1): its batches plus its frozen head (built by the checkpoint). */
function snapshotOf(side: Side): Batch {
  side.freeze();
  if (side.trace === null) return emptyBatch();
  return new TraceParts(side.trace.batches, side.pending === null ? [] : [side.pending]);
}

/**
 * Builds a head's batch, pausing while its entries are encoded (bucket by bucket, straight from the head: no
 * arrays of keys and rows in between) and while the batch is built ({@link Side.seal} runs it to its end with
 * `drain`; a checkpoint's frozen head is built in slices). Numeric keys are sorted first when there are at most
 * `sortMax` of them (a typed-array sort cannot pause): numeric order is the key codec's order, so the entries
 * come grouped by key in key order and the build sorts only each key's entries (a key's bytes are copied from
 * its previous entry, not encoded again); other keys come in Map order and get the full sort.
 */
function* frozenSteps(
  layout: TraceLayout,
  lazy: Head,
  sortMax = SORT_KEYS_MAX,
): Generator<void, TraceBatch, void> {
  // the tail first, in slices (a lookup meanwhile moves the rest at once: `Head.get`)
  while (!lazy.index(PAUSE_EVERY)) yield;
  const head = lazy.map;
  let n = 0;
  let seen = 0;
  for (const b of head.values()) {
    for (let i = 0; i < b.weights.length; i++) if (b.weights[i] !== 0) n++;
    seen += b.weights.length;
    if (seen >= PAUSE_EVERY * 8) {
      seen = 0;
      yield;
    }
  }
  const builder = new KeyedBatchBuilder(layout, n);
  // the head's entries are encoded as they are visited, pausing about every SLICE entries
  let done = 0;
  const emit = (k: unknown, b: Bucket): void => {
    const br = b.rows;
    const bw = b.weights;
    for (let i = 0; i < br.length; i++) builder.add(k as Value, br[i] as Row, bw[i] as number);
    done += br.length;
  };
  const numeric = head.size <= sortMax ? numericKeys(head) : null;
  let next = PAUSE_EVERY;
  if (numeric !== null) {
    numeric.sort();
    for (let j = 0; j < numeric.length; j++) {
      emit(numeric[j], head.get(numeric[j]) as Bucket);
      if (done >= next) {
        next = done + PAUSE_EVERY;
        yield;
      }
    }
  } else
    for (const [k, b] of head) {
      emit(k, b);
      if (done >= next) {
        next = done + PAUSE_EVERY;
        yield;
      }
    }
  return yield* builder.build(numeric !== null);
}

/** Entries a frozen head's build encodes between two pauses (~1 µs each: read bucket by bucket, cache-miss bound). */
const PAUSE_EVERY = 1 << 12;

/** Entry i's row (the value columns of `[key, ...row]`). */
function decodeValue(batch: SealedBatch, i: number): Row {
  if (!(batch instanceof TraceBatch)) return batch.row(i).slice(1);
  const n = batch.layout.arity - 1;
  const out: Value[] = new Array(n);
  const r = READER;
  r.pos = batch.splits[i] as number;
  const end = batch.offsets[i + 1] as number;
  for (let c = 0; c < n; c++) out[c] = decodeKeyValue(batch.arena, r, end, batch.objects);
  return out;
}

/** Entry i's value of row column `col`. */
function decodeColumn(batch: SealedBatch, i: number, col: number): Value {
  if (!(batch instanceof TraceBatch)) return batch.row(i)[col + 1] as Value;
  const arena = batch.arena;
  const end = batch.offsets[i + 1] as number;
  let p = batch.splits[i] as number;
  for (let c = 0; c < col; c++) p = skipKeyValue(arena, p, end);
  READER.pos = p;
  return decodeKeyValue(arena, READER, end, batch.objects);
}

/** The batch's entries with a non-NULL value in rule i's column, in the rule's order (built once per batch). */
function gcOrderOf(side: Side, batch: SealedBatch, i: number): Uint32Array {
  let orders = side.gcOrder.get(batch);
  if (orders === undefined) {
    orders = [];
    side.gcOrder.set(batch, orders);
  }
  const have = orders[i];
  if (have !== undefined) return have;
  const rule = side.rules[i] as JoinGcRule;
  const n = batch.length;
  const vals: Value[] = new Array(n);
  const idx: number[] = [];
  for (let e = 0; e < n; e++) {
    const v = decodeColumn(batch, e, rule.col);
    vals[e] = v;
    if (v !== null) idx.push(e);
  }
  idx.sort((a, b) => rule.compare(vals[a] as Value, vals[b] as Value) || a - b);
  const perm = Uint32Array.from(idx);
  orders[i] = perm;
  return perm;
}

/** First position in `perm` whose entry's column value is not below `bound`. */
function lowerBound(
  batch: SealedBatch,
  perm: Uint32Array,
  col: number,
  rule: JoinGcRule,
  bound: Value,
): number {
  let lo = 0;
  let hi = perm.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rule.compare(decodeColumn(batch, perm[mid] as number, col), bound) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `[key, ...row]` keyed by the key; read as a plain batch, a side's rows are its raw rows (as before traces). */
function sideLayout(arity: number): TraceLayout {
  return { ...traceLayout(arity, [0]), derivedKey: true };
}

/** Distinct rows of a side with a non-zero weight (head and batches summed). */
function countRows(side: Side): number {
  const parts = [...side.sealed];
  if (side.pending !== null) parts.push(side.pending.batch());
  side.head.index();
  if (side.head.entries > 0) {
    const rows: Row[] = [];
    const ws: number[] = [];
    let arity = 0;
    for (const [k, b] of side.head.map)
      for (let i = 0; i < b.rows.length; i++) {
        const row = b.rows[i] as Row;
        arity = row.length + 1;
        rows.push([k as Value, ...row]);
        ws.push(b.weights[i] as number);
      }
    const layout = side.trace?.layout ?? sideLayout(arity);
    parts.push(buildBatch(layout, rows, ws));
  }
  let acc: TraceBatch | null = null;
  for (const p of parts) {
    const m = p instanceof TraceBatch ? p : loadFileBatch(p);
    acc = acc === null ? m : mergeBatches(acc, m);
  }
  return acc === null ? 0 : acc.length;
}

export const join = (spec: JoinSpec): JoinOperator => new JoinOperator(spec);
