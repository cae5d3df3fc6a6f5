/**
 * Bootstrapping: carrying a checkpoint's state over to a changed program.
 *
 * # Design
 * Circuit state keys are positional (`n<index>:<kind>`), but every relation owns a contiguous run of nodes and
 * its plan depends only on its own definition and on the schemas of what it reads. So a relation that is
 * unchanged — same definition hash and nothing it reads (transitively) added, removed or modified — has the
 * same stateful operators in the same order in the old and in the new circuit. The old program's description
 * (stored in the checkpoint) lists each relation's state keys; we map them one to one onto the new circuit's
 * keys. Unchanged relations therefore keep their state exactly and, since their state is already in step with
 * their inputs, emit nothing when the pipeline continues.
 *
 * Rebuilt relations (added or modified views, added or modified tables) get their state from one "bootstrap
 * step": a fresh instance of the new program is stepped once with the full contents of every table a rebuilt
 * view reads (directly or through other views), taken from the checkpoint. Operator state is a function of the
 * integral of each operator's input, so the state this one step leaves in a rebuilt view's operators is the
 * state an uninterrupted run of the new program would have; their outputs in that step are the views' full
 * contents, which the pipeline emits (as inserts) to the views' outputs. Outputs of unchanged views from the
 * bootstrap step are discarded.
 *
 * Limits (checked before anything runs, as `BootstrapNotAllowed`): a table feeding a rebuilt view must be
 * materialized (a PRIMARY KEY or `'materialized' = 'true'`), because a non-materialized table's contents are not
 * in the checkpoint. Modified tables cannot reuse their old state (its row shape changed): they start empty,
 * every view reading them is rebuilt from the empty table, and their input connectors start from scratch.
 * Added tables start empty too.
 */
import type { CircuitSnapshot } from '../circuit/circuit.ts';
import type { StateBatches } from '../circuit/operator.ts';
import { ServiceError } from '../errors/service-error.ts';
import type { Batch } from '../zset/batch.ts';
import type { Program } from './program.ts';
import {
  changedRelations,
  describeProgram,
  type ProgramDescription,
  type RelationDescription,
} from './program-diff.ts';

export interface CheckpointState {
  readonly base: CircuitSnapshot;
  readonly deltas: readonly CircuitSnapshot[];
}

export interface BootstrapPlan {
  /** Relations of the new program that keep their state (new state key → old state key). */
  readonly keyMap: ReadonlyMap<string, string>;
  /** Relations rebuilt by the bootstrap step (added/modified tables and views), in declaration order. */
  readonly rebuilt: readonly string[];
  /** Tables whose checkpointed contents feed the bootstrap step. */
  readonly feed: readonly string[];
  /** Input endpoints whose checkpointed positions must not be reused (their table was rebuilt). */
  readonly restartInputs: ReadonlySet<string>;
}

export interface BootstrapResult {
  /** State to restore into a fresh circuit of the new program. */
  readonly state: CheckpointState;
  /** Full contents of each rebuilt output view (the bootstrap step's outputs). */
  readonly outputs: ReadonlyMap<string, Batch>;
}

const notAllowed = (reasons: string[]) =>
  new ServiceError(
    'BootstrapNotAllowed',
    `The pipeline has been modified since the last checkpoint; however it cannot be bootstrapped due to the following reasons:\n${reasons.join('\n')}`,
    { reasons },
  );

/**
 * Works out what keeps its state and what is rebuilt. @throws ServiceError BootstrapNotAllowed when a rebuilt
 * view reads (through any path) a table whose contents the checkpoint does not hold.
 */
export function planBootstrap(old: ProgramDescription, neu: ProgramDescription): BootstrapPlan {
  const changed = changedRelations(old, neu);
  const before = new Map(old.relations.map((r) => [r.name, r]));
  const after = new Map(neu.relations.map((r) => [r.name, r]));
  const keyMap = new Map<string, string>();
  for (const r of neu.relations) {
    if (changed.has(r.name)) continue;
    const o = before.get(r.name) as RelationDescription;
    if (o.state_keys.length !== r.state_keys.length)
      throw new ServiceError(
        'UnexpectedBootstrap',
        `relation '${r.name}' is unchanged but its plan has ${r.state_keys.length} stateful operators instead of ${o.state_keys.length}; this is a bug`,
        { relation: r.name },
      );
    r.state_keys.forEach((k, i) => {
      keyMap.set(k, o.state_keys[i] as string);
    });
  }
  const feed = new Set<string>();
  const visit = (name: string, seen: Set<string>) => {
    if (seen.has(name)) return;
    seen.add(name);
    const r = after.get(name) as RelationDescription;
    if (r.kind === 'table') feed.add(name);
    for (const d of r.deps) visit(d, seen);
  };
  const seen = new Set<string>();
  for (const name of changed) if (after.get(name)?.kind !== 'table') visit(name, seen);
  const blocked = [...feed].filter(
    (t) => !changed.has(t) && !(after.get(t) as RelationDescription).materialized,
  );
  if (blocked.length > 0) {
    throw notAllowed([
      `- The following tables are not materialized, but some of the views that depend on these tables require bootstrapping: ${blocked
        .sort()
        .map((t) => `'${t}'`)
        .join(
          ', ',
        )}. We recommend materializing all tables (declare them with a PRIMARY KEY or WITH ('materialized' = 'true')) so that views can be added or modified later; to start over instead, stop the pipeline and clear its storage.`,
    ]);
  }
  const restartInputs = new Set<string>();
  for (const name of changed) {
    const r = after.get(name) as RelationDescription;
    if (r.kind === 'table') for (const ep of Object.keys(r.connectors)) restartInputs.add(ep);
  }
  return {
    keyMap,
    rebuilt: neu.relations.filter((r) => changed.has(r.name)).map((r) => r.name),
    feed: [...feed].filter((t) => !changed.has(t)).sort(),
    restartInputs,
  };
}

function remap(snap: CircuitSnapshot, keyMap: ReadonlyMap<string, string>): Record<string, StateBatches> {
  const out: Record<string, StateBatches> = {};
  for (const [neuKey, oldKey] of keyMap) {
    const s = snap.operators[oldKey];
    if (s !== undefined) out[neuKey] = s;
  }
  return out;
}

/**
 * Runs the bootstrap: maps unchanged relations' state onto `program`'s circuit and computes rebuilt relations'
 * state and contents from the checkpointed tables. `old` is the checkpoint's state.
 */
export function bootstrap(program: Program, old: CheckpointState, plan: BootstrapPlan): BootstrapResult {
  const { kept, deltas, feed } = keptState(program, old, plan);
  // the bootstrap step
  const fresh = program.instantiate();
  const outs = fresh.step(feed);
  const freshState = fresh.snapshot();
  const rebuilt = new Set(plan.rebuilt);
  const operators = { ...kept.operators };
  for (const r of fresh.relations)
    if (rebuilt.has(r.name))
      for (const k of r.stateKeys) operators[k] = freshState.operators[k] as StateBatches;
  const outputs = new Map<string, Batch>();
  for (const [view, b] of outs) if (rebuilt.has(view)) outputs.set(view, b);
  return { state: { base: { steps: kept.steps, operators }, deltas }, outputs };
}

/**
 * The checkpoint's state mapped onto `program`'s circuit (rebuilt relations' operators empty) and the contents of
 * the tables that feed the rebuilt views (`plan.feed`). @throws ServiceError StateRestoreError
 */
export function keptState(
  program: Program,
  old: CheckpointState,
  plan: BootstrapPlan,
): { kept: CircuitSnapshot; deltas: CircuitSnapshot[]; feed: Map<string, Batch> } {
  const empty = program.instantiate().snapshot();
  const missing = [...plan.keyMap.values()].filter((k) => old.base.operators[k] === undefined);
  if (missing.length > 0)
    throw new ServiceError(
      'StateRestoreError',
      `the checkpoint lacks state for operators ${missing.join(', ')} that its program description lists`,
      { operators: missing },
    );
  const kept: CircuitSnapshot = {
    steps: old.base.steps,
    operators: { ...empty.operators, ...remap(old.base, plan.keyMap) },
  };
  const deltas = old.deltas.map((d) => ({ steps: d.steps, operators: remap(d, plan.keyMap) }));
  // the checkpointed tables' contents
  const restored = program.instantiate();
  restored.restore(kept, deltas);
  const feed = new Map<string, Batch>();
  for (const t of plan.feed) feed.set(t, restored.contents(t));
  return { kept, deltas, feed };
}

/** Convenience: the description of `program` (instantiates it once). */
export function describe(program: Program): ProgramDescription {
  return describeProgram(program.instantiate());
}
