/**
 * A circuit: a DAG of operators run one step at a time (DBSP's synchronous model).
 *
 * # Design
 * Nodes are added in topological order by construction (an operator's inputs must already exist), so a step is
 * one pass over the node list: sources take the step's input batches (empty when a table has no changes),
 * every operator reads its inputs' outputs of this same step. Only nodes marked as outputs keep their batch
 * after the step. Steps are deterministic: operators use insertion-ordered maps and no clocks or randomness.
 *
 * State: every stateful operator has a stable node id (`n<index>:<kind>`) used to name its state in a
 * snapshot, so a snapshot restores only into a circuit built from the same plan (the program fingerprint guards
 * that at a higher level).
 *
 * Warm loading (a standby keeping a circuit loaded with the primary's newest checkpoint): a checkpoint holds, per
 * operator and state, a list of batches whose sum is the state (base first, then the deltas incremental
 * checkpoints appended). The circuit is loaded once ({@link Circuit.restore}, or
 * {@link Circuit.restoreOperators} for every operator, on a fresh circuit). For each newer checkpoint the
 * batches appended to each list since the loaded one are added with {@link Circuit.applyDelta} (each
 * operator's `apply`: cost proportional to the change, and `restore(P ++ Q)` ≡ `restore(P); apply(Q)`); an
 * operator whose list was replaced instead (the primary compacted it into a new base) is rebuilt alone with
 * {@link Circuit.restoreOperators}. Several deltas are applied in list order; the batches of one delta need not
 * come from the same checkpoint (only each state's order matters). None of this is allowed once the circuit
 * has run a step: a standby starts stepping only when it takes over, from the state and step count the last
 * load left.
 */
import { ServiceError } from '../errors/service-error.ts';
import type { Batch } from '../zset/batch.ts';
import { emptyBatch } from '../zset/batch.ts';
import { type TraceBatch, withSealedSink } from '../zset/trace.ts';
import { isStateful, type Operator, type StateBatches, type StatefulOperator } from './operator.ts';

export type NodeId = number;

interface Node {
  readonly id: NodeId;
  readonly op: Operator | null; // null = source
  readonly inputs: readonly NodeId[];
  readonly label: string;
}

export interface CircuitSnapshot {
  /** Number of steps run so far. */
  readonly steps: number;
  /** State of each stateful operator, by node key. */
  readonly operators: Record<string, StateBatches>;
}

export class Circuit {
  readonly #nodes: Node[] = [];
  readonly #sources = new Map<string, NodeId>();
  #steps = 0;
  /** Whether `step` has run (`#steps` may also come from a restored snapshot). */
  #ran = false;
  #tracking = false;
  /**
   * Told of each large in-memory sealed batch the state's traces create while this circuit steps (see
   * `withSealedSink` in `zset/trace.ts`): a pipeline with a checkpoint store sets it to write their segment files
   * ahead of the next full checkpoint. Null: nobody is told.
   */
  sealedSink: ((b: TraceBatch) => void) | null = null;

  addSource(name: string): NodeId {
    if (this.#sources.has(name)) throw new Error(`duplicate source ${name}`);
    const id = this.#nodes.length;
    this.#nodes.push({ id, op: null, inputs: [], label: `source:${name}` });
    this.#sources.set(name, id);
    return id;
  }

  add(op: Operator, inputs: readonly NodeId[]): NodeId {
    if (inputs.length !== op.arity)
      throw new Error(`${op.kind} takes ${op.arity} inputs, got ${inputs.length}`);
    const id = this.#nodes.length;
    for (const i of inputs)
      if (i >= id || i < 0) throw new Error(`input ${i} of ${op.kind} does not exist yet`);
    this.#nodes.push({ id, op, inputs, label: op.kind });
    if (this.#tracking && isStateful(op)) op.trackChanges(true);
    return id;
  }

  /**
   * Replaces the operator of node `id` with one that outputs nothing and keeps no state, when no node reads it
   * (a node the planner built and then bypassed: `sql/clock-lift.ts`); returns whether it did. Node ids stay
   * as they were, so the state keys of the other nodes do not move.
   */
  retire(id: NodeId): boolean {
    const node = this.#nodes[id];
    if (node === undefined || node.op === null || node.op.kind === 'retired') return false;
    if (this.#nodes.some((n) => n.inputs.includes(id))) return false;
    const arity = node.op.arity;
    this.#nodes[id] = { ...node, op: { kind: 'retired', arity, step: () => emptyBatch() }, label: 'retired' };
    return true;
  }

  get steps(): number {
    return this.#steps;
  }

  get nodeCount(): number {
    return this.#nodes.length;
  }

  /**
   * Runs one step. `inputs` gives each source's change for this step (absent = no change). Returns the output
   * batch of every node listed in `want`.
   */
  step(inputs: ReadonlyMap<string, Batch>, want: readonly NodeId[]): Map<NodeId, Batch> {
    const sink = this.sealedSink;
    return sink === null ? this.#step(inputs, want) : withSealedSink(sink, () => this.#step(inputs, want));
  }

  #step(inputs: ReadonlyMap<string, Batch>, want: readonly NodeId[]): Map<NodeId, Batch> {
    for (const name of inputs.keys()) {
      if (!this.#sources.has(name)) throw new ServiceError('UnknownInputTable', `unknown table '${name}'`);
    }
    const outs: Batch[] = new Array(this.#nodes.length);
    const ins: Batch[] = [];
    for (const node of this.#nodes) {
      if (node.op === null) {
        outs[node.id] = inputs.get(node.label.slice(7)) ?? emptyBatch();
        continue;
      }
      ins.length = 0;
      for (const i of node.inputs) ins.push(outs[i] as Batch);
      outs[node.id] = node.op.step(ins);
    }
    this.#steps++;
    this.#ran = true;
    const result = new Map<NodeId, Batch>();
    for (const id of want) result.set(id, outs[id] as Batch);
    return result;
  }

  #stateful(): Array<[string, StatefulOperator]> {
    const out: Array<[string, StatefulOperator]> = [];
    for (const n of this.#nodes)
      if (n.op !== null && isStateful(n.op)) out.push([`n${n.id}:${n.op.kind}`, n.op]);
    return out;
  }

  /** Keys of the stateful operators, in node order. */
  stateKeys(): string[] {
    return this.#stateful().map(([k]) => k);
  }

  snapshot(): CircuitSnapshot {
    const operators: Record<string, StateBatches> = {};
    for (const [k, op] of this.#stateful()) operators[k] = op.snapshot();
    return { steps: this.#steps, operators };
  }

  /** Turns change tracking on or off for every stateful operator (needed for {@link takeDelta}). */
  trackChanges(on: boolean): void {
    this.#tracking = on;
    for (const [, op] of this.#stateful()) op.trackChanges(on);
  }

  /**
   * Whether some operator's tracked changes outgrew a delta since the last snapshot/takeDelta (its change log
   * stopped recording): the next checkpoint must then be a {@link snapshot}, as {@link takeDelta} would throw.
   */
  changesOverflowed(): boolean {
    for (const [, op] of this.#stateful()) if (op.changesOverflowed?.() === true) return true;
    return false;
  }

  /** What changed in each operator's state since the last snapshot/takeDelta (tracking must be on). */
  takeDelta(): CircuitSnapshot {
    const operators: Record<string, StateBatches> = {};
    for (const [k, op] of this.#stateful()) operators[k] = op.takeDelta();
    return { steps: this.#steps, operators };
  }

  /**
   * Restores from a base snapshot followed by zero or more deltas (all summed). The circuit must be freshly
   * built and have run no step.
   */
  restore(base: CircuitSnapshot, deltas: readonly CircuitSnapshot[] = []): void {
    if (this.#steps !== 0)
      throw new ServiceError('StateRestoreError', 'restore needs a circuit that has not run');
    const ops = this.#stateful();
    Circuit.#checkKnown(base, ops);
    for (const [k, op] of ops) op.restore(Circuit.#partsOf(k, base, deltas));
    this.#steps = Circuit.#lastSteps(base, deltas);
  }

  /**
   * Adds a delta to the loaded state: every operator named in `delta.operators` applies its batches (see
   * `StatefulOperator.apply`); the others are untouched. Sets the step count to `delta.steps`. Allowed on a
   * circuit that has not run a step (typically after {@link restore} or {@link restoreOperators}).
   * @throws ServiceError StateRestoreError when the circuit has run a step, or the delta names an unknown
   *   operator (then nothing is applied)
   */
  applyDelta(delta: CircuitSnapshot): void {
    this.#checkNotRun('applyDelta');
    const ops = this.#stateful();
    Circuit.#checkKnown(delta, ops);
    for (const [k, op] of ops) {
      const s = delta.operators[k];
      if (s === undefined) continue;
      const parts: Record<string, Batch[]> = {};
      for (const [name, b] of Object.entries(s)) parts[name] = [b];
      op.apply(parts);
    }
    this.#steps = delta.steps;
  }

  /**
   * Lets every stateful operator prepare for its next lookups (`StatefulOperator.prepare`: lookup structures,
   * the lookup path run once): a warm standby calls it after each load, so that the activation's delta applies
   * as fast as later ones. Read only: the state, the step count and later outputs are unchanged.
   */
  prepare(): void {
    for (const [, op] of this.#stateful()) op.prepare?.();
  }

  /**
   * Rebuilds (clears, then restores from `base` followed by `deltas`, as {@link restore} does) only the
   * operators whose keys are in `keys`; the others keep their state. Allowed after a restore or applied deltas,
   * but not once the circuit has run a step. Sets the step count to the last snapshot's.
   * @throws ServiceError StateRestoreError when the circuit has run a step, a key or a snapshot's operator is
   *   unknown, or `base` lacks state for one of `keys` (then nothing is rebuilt)
   */
  restoreOperators(
    base: CircuitSnapshot,
    deltas: readonly CircuitSnapshot[],
    keys: ReadonlySet<string>,
  ): void {
    this.#checkNotRun('restoreOperators');
    const ops = this.#stateful();
    const known = new Set(ops.map(([k]) => k));
    for (const k of keys)
      if (!known.has(k)) throw new ServiceError('StateRestoreError', `cannot restore unknown operator ${k}`);
    Circuit.#checkKnown(base, ops);
    for (const d of deltas) Circuit.#checkKnown(d, ops);
    const todo: Array<[StatefulOperator, Record<string, Batch[]>]> = [];
    for (const [k, op] of ops) if (keys.has(k)) todo.push([op, Circuit.#partsOf(k, base, deltas)]);
    for (const [op, parts] of todo) op.restore(parts);
    this.#steps = Circuit.#lastSteps(base, deltas);
  }

  #checkNotRun(what: string): void {
    if (this.#ran)
      throw new ServiceError('StateRestoreError', `${what} needs a circuit that has not run a step`);
  }

  static #checkKnown(snap: CircuitSnapshot, ops: ReadonlyArray<[string, StatefulOperator]>): void {
    const known = new Set(ops.map(([k]) => k));
    for (const k of Object.keys(snap.operators)) {
      if (!known.has(k))
        throw new ServiceError('StateRestoreError', `snapshot has state for unknown operator ${k}`);
    }
  }

  /** Operator `k`'s state lists: `base`'s batch for each state (`base` must have `k`), then each delta's. */
  static #partsOf(
    k: string,
    base: CircuitSnapshot,
    deltas: readonly CircuitSnapshot[],
  ): Record<string, Batch[]> {
    const first = base.operators[k];
    if (first === undefined)
      throw new ServiceError('StateRestoreError', `snapshot lacks state for operator ${k}`);
    const parts: Record<string, Batch[]> = {};
    for (const s of [first, ...deltas.map((d) => d.operators[k])]) {
      if (s === undefined) continue;
      for (const [name, b] of Object.entries(s)) (parts[name] ??= []).push(b);
    }
    return parts;
  }

  static #lastSteps(base: CircuitSnapshot, deltas: readonly CircuitSnapshot[]): number {
    return (deltas.length > 0 ? (deltas[deltas.length - 1] as CircuitSnapshot) : base).steps;
  }

  /** Human-readable plan, one node per line (used by `holdfast run --explain` and tests). */
  describe(): string {
    return this.#nodes
      .map((n) => `n${n.id} ${n.label}(${n.inputs.map((i) => `n${i}`).join(', ')})`)
      .join('\n');
  }
}
