/**
 * Program descriptions and the program diff (Feldera's `PipelineDiff`).
 *
 * A {@link ProgramDescription} is what a checkpoint records about the program that wrote it, so that a later
 * start with a different program can tell what changed: per relation its name, kind, a hash of its normalized
 * definition (parse tree without source positions, schema, WITH properties except `connectors`), the relations
 * it reads, the keys of its operators' state in the circuit, and one hash per connector. It holds hashes only,
 * never SQL text or connector configs (connectors can carry secrets).
 *
 * {@link diffPrograms} compares two descriptions. A table is modified when its own definition changed. A view
 * is modified when its definition changed or anything it reads (transitively) was added, removed or modified.
 * Connectors are named by endpoint (`relation.connector`) and compared by their config hash; connectors of a
 * removed relation are not listed as removed (as in Feldera). Every list is sorted. A description that is
 * missing (a checkpoint from an older Holdfast) gives `program_diff: null` with `program_diff_error`, which
 * counts as a non-empty diff.
 */
import { createHash } from 'node:crypto';
import type { PipelineDiff, ProgramDiff } from '../types/pipeline-api.ts';
import type { RelationInfo, SqlCircuit } from './program.ts';
import type { RelationSchema } from './schema.ts';

export type { PipelineDiff, ProgramDiff };

export const PROGRAM_DESCRIPTION_VERSION = 1;

export interface RelationDescription {
  readonly name: string;
  readonly kind: RelationInfo['kind'];
  readonly materialized: boolean;
  /** sha256 of the relation's normalized definition (not including its inputs). */
  readonly hash: string;
  /** Relations read directly. */
  readonly deps: readonly string[];
  /** Circuit state keys of the relation's stateful operators, in order. */
  readonly state_keys: readonly string[];
  /** Connector endpoint name (`relation.connector`) → sha256 of its config. */
  readonly connectors: Readonly<Record<string, string>>;
  /** Set when a column has LATENESS (such a program cannot be bootstrapped, as in Feldera). */
  readonly lateness?: true;
}

export interface ProgramDescription {
  readonly version: number;
  readonly relations: readonly RelationDescription[];
}

/** Config keys that only tune flow control: changing them does not make an input connector "modified". */
const INPUT_FLOW_KEYS = new Set([
  'paused',
  'max_batch_size',
  'max_worker_batch_size',
  'max_queued_records',
  'max_queued_bytes',
]);

function canonical(root: unknown): string {
  // iterative (a long expression is a deep tree): a stack of values to render and text to emit, in order
  const parts: string[] = [];
  const stack: Array<{ text: string } | { value: unknown }> = [{ value: root }];
  while (stack.length > 0) {
    const task = stack.pop() as { text: string } | { value: unknown };
    if ('text' in task) {
      parts.push(task.text);
      continue;
    }
    const v = task.value;
    const todo: Array<{ text: string } | { value: unknown }> = [];
    if (Array.isArray(v)) {
      todo.push({ text: '[' });
      v.forEach((x, i) => {
        if (i > 0) todo.push({ text: ',' });
        todo.push({ value: x });
      });
      todo.push({ text: ']' });
    } else if (typeof v === 'object' && v !== null) {
      const o = v as Record<string, unknown>;
      todo.push({ text: '{' });
      Object.keys(o)
        .sort()
        .filter((k) => o[k] !== undefined)
        .forEach((k, i) => {
          todo.push({ text: `${i > 0 ? ',' : ''}${JSON.stringify(k)}:` }, { value: o[k] });
        });
      todo.push({ text: '}' });
    } else {
      parts.push(JSON.stringify(v) ?? 'null');
      continue;
    }
    for (let i = todo.length - 1; i >= 0; i--) stack.push(todo[i] as { text: string } | { value: unknown });
  }
  return parts.join('');
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Connector endpoint name → config hash, for a relation's `connectors` property (invalid JSON: none). */
function connectorHashes(rel: RelationSchema): Record<string, string> {
  const raw = rel.properties.connectors?.value;
  if (raw === undefined) return {};
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    return {};
  }
  if (!Array.isArray(list)) return {};
  const out: Record<string, string> = {};
  list.forEach((c, i) => {
    const o: Record<string, unknown> =
      typeof c === 'object' && c !== null ? { ...(c as Record<string, unknown>) } : { value: c };
    const name = typeof o.name === 'string' ? o.name : `unnamed-${i}`;
    delete o.name;
    if (rel.kind === 'table') for (const k of INPUT_FLOW_KEYS) delete o[k];
    else delete o.paused;
    out[`${rel.name}.${name}`] = sha256(canonical(o));
  });
  return out;
}

/** Describes the program `circuit` runs (hashes only; safe to store in a checkpoint). */
export function describeProgram(circuit: SqlCircuit): ProgramDescription {
  return {
    version: PROGRAM_DESCRIPTION_VERSION,
    relations: circuit.relations.map((r) => {
      const schema = circuit.program.relation(r.name) as RelationSchema;
      return {
        name: r.name,
        kind: r.kind,
        materialized: r.materialized,
        hash: sha256(
          canonical({ name: r.name, kind: r.kind === 'table' ? 'table' : 'view', def: r.definition }),
        ),
        deps: r.deps,
        state_keys: r.stateKeys,
        connectors: connectorHashes(schema),
        ...(schema.columns.some((c) => c.lateness !== undefined) ? { lateness: true as const } : {}),
      };
    }),
  };
}

/** Reads a description stored in a checkpoint; null when absent or not understood. */
export function parseProgramDescription(v: unknown): ProgramDescription | null {
  if (typeof v !== 'object' || v === null) return null;
  const d = v as Partial<ProgramDescription>;
  if (d.version !== PROGRAM_DESCRIPTION_VERSION || !Array.isArray(d.relations)) return null;
  for (const r of d.relations as unknown[]) {
    const x = r as Partial<RelationDescription>;
    if (
      typeof x?.name !== 'string' ||
      typeof x.hash !== 'string' ||
      !Array.isArray(x.deps) ||
      !Array.isArray(x.state_keys) ||
      typeof x.connectors !== 'object' ||
      x.connectors === null
    )
      return null;
  }
  return d as ProgramDescription;
}

const isTable = (r: RelationDescription) => r.kind === 'table';

/**
 * Relations of `neu` that must be rebuilt: added or modified views (transitively through what they read),
 * plus added and modified tables. Everything else keeps its state.
 */
export function changedRelations(old: ProgramDescription, neu: ProgramDescription): Set<string> {
  const before = new Map(old.relations.map((r) => [r.name, r]));
  const changed = new Set<string>();
  const removed = new Set(
    old.relations.filter((r) => !neu.relations.some((n) => n.name === r.name)).map((r) => r.name),
  );
  // declaration order is a topological order: a relation only reads relations declared before it
  for (const r of neu.relations) {
    const b = before.get(r.name);
    if (
      b === undefined ||
      isTable(b) !== isTable(r) ||
      b.hash !== r.hash ||
      r.deps.some((d) => changed.has(d) || removed.has(d) || !before.has(d))
    )
      changed.add(r.name);
  }
  return changed;
}

/** Feldera's `PipelineDiff` between the program that wrote a checkpoint (`old`) and the new one. */
export function diffPrograms(old: ProgramDescription | null, neu: ProgramDescription): PipelineDiff {
  const connectors = (d: ProgramDescription, tables: boolean) => {
    const m = new Map<string, { hash: string; relation: string }>();
    for (const r of d.relations)
      if (isTable(r) === tables)
        for (const [ep, h] of Object.entries(r.connectors)) m.set(ep, { hash: h, relation: r.name });
    return m;
  };
  const sorted = (xs: Iterable<string>) => [...xs].sort();
  const compare = (tables: boolean) => {
    const a = old === null ? new Map() : connectors(old, tables);
    const b = connectors(neu, tables);
    const names = new Set(neu.relations.map((r) => r.name));
    return {
      added: sorted([...b.keys()].filter((k) => !a.has(k))),
      modified: sorted([...b.keys()].filter((k) => a.has(k) && a.get(k)?.hash !== b.get(k)?.hash)),
      removed: sorted(
        [...a.entries()].filter(([k, v]) => !b.has(k) && names.has(v.relation)).map(([k]) => k),
      ),
    };
  };
  const inputs = compare(true);
  const outputs = compare(false);
  let program_diff: ProgramDiff | null = null;
  let program_diff_error: string | null = null;
  if (old === null) {
    program_diff_error =
      'The checkpoint does not describe the program that wrote it. It was likely created by an old version of Holdfast.';
  } else {
    const changed = changedRelations(old, neu);
    const before = new Map(old.relations.map((r) => [r.name, r]));
    const after = new Map(neu.relations.map((r) => [r.name, r]));
    const pick = (tables: boolean, f: (name: string) => boolean, from: Map<string, RelationDescription>) =>
      sorted([...from.values()].filter((r) => isTable(r) === tables && f(r.name)).map((r) => r.name));
    program_diff = {
      added_tables: pick(true, (n) => !before.has(n), after),
      removed_tables: pick(true, (n) => !after.has(n), before),
      modified_tables: pick(true, (n) => before.has(n) && changed.has(n), after),
      added_views: pick(false, (n) => !before.has(n), after),
      removed_views: pick(false, (n) => !after.has(n), before),
      modified_views: pick(false, (n) => before.has(n) && changed.has(n), after),
    };
  }
  return {
    program_diff,
    program_diff_error,
    added_input_connectors: inputs.added,
    modified_input_connectors: inputs.modified,
    removed_input_connectors: inputs.removed,
    added_output_connectors: outputs.added,
    modified_output_connectors: outputs.modified,
    removed_output_connectors: outputs.removed,
  };
}

/** True when nothing changed (a diff that could not be computed is never empty). */
export function isEmptyDiff(d: PipelineDiff): boolean {
  if (d.program_diff === null) return false;
  return (
    Object.values(d.program_diff).every((l) => l.length === 0) &&
    d.added_input_connectors.length === 0 &&
    d.modified_input_connectors.length === 0 &&
    d.removed_input_connectors.length === 0 &&
    d.added_output_connectors.length === 0 &&
    d.modified_output_connectors.length === 0 &&
    d.removed_output_connectors.length === 0
  );
}
