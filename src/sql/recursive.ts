/**
 * Mutually recursive views (Feldera's `DECLARE RECURSIVE VIEW`): finding the recursive groups of a program and
 * planning each as one `fixpoint` operator (`operators/fixpoint.ts`, which documents the evaluation).
 *
 * # Rules (Feldera's)
 * - A view may read a view defined later in the program only if that view is declared with
 *   `DECLARE RECURSIVE VIEW name (column type, ...)` first. Views that read each other (a cycle of the
 *   dependency graph, including a view that reads itself) form a recursive group, evaluated as one.
 * - Every view of a group is either declared recursive or LOCAL (`View 'x' must be declared either as LOCAL or
 *   as RECURSIVE`, SqlNameError).
 * - A declared view's query must produce exactly the declared columns: the same names in the same order and the
 *   same types (a declared nullable column accepts a NOT NULL one); otherwise SqlTypeError "... does not match
 *   the declared type v(x INTEGER, y VARCHAR)".
 * - Recursive views are DISTINCT: each declared view's rows are deduplicated at every iteration.
 * - Window functions (`OVER`) are refused inside a group ("Unsupported operation 'OVER' in recursive code",
 *   SqlUnsupported), as are LATENESS annotations on its views (garbage collection does not reach recursion).
 * - A declaration that no cycle uses is a plain view whose declared type is checked.
 *
 * # Plan
 * Units are planned in program order, except that a unit reading a declared view defined later waits until
 * that view's unit is planned (a program without declarations keeps its order exactly). A group's unit is one
 * `fixpoint` operator whose inputs are the already-planned relations the group reads, and one port per view.
 * The fixpoint builds its iteration levels from {@link planRecursiveGroup}'s factory: each level is a fresh
 * circuit in which the group's views are planned again by the ordinary planner, reading the external
 * relations and the declared views' previous-iteration values from sources, each declared view ending in a
 * DISTINCT.
 *
 * State: none (the operator owns the group's state).
 */
import { Circuit, type NodeId } from '../circuit/circuit.ts';
import { ServiceError } from '../errors/service-error.ts';
import { DistinctOperator } from '../operators/distinct.ts';
import { FixpointOperator, FixpointPortOperator } from '../operators/fixpoint.ts';
import type { Batch } from '../zset/batch.ts';
import { walkAst } from './ast-walk.ts';
import { type Ast, type BindContext, type ScopeColumn, sqlError } from './expr.ts';
import type { SourceMap } from './parse.ts';
import { Planner, type Rel } from './planner.ts';
import type { ColumnSchema } from './schema.ts';
import { type SqlType, typeToSql } from './sql-type.ts';

/** A `DECLARE RECURSIVE VIEW`: the view's name and declared columns. */
export interface RecursiveDeclaration {
  readonly name: string;
  readonly columns: readonly ColumnSchema[];
  /** Character offset of the declaration statement. */
  readonly offset: number;
}

/** What the unit ordering needs to know of a program's relation. */
export interface UnitDef {
  readonly name: string;
  /** Relation names the definition reads (views only). */
  readonly reads: readonly string[];
}

/** A planning unit: one relation, or a recursive group (def indexes in program order). */
export type PlanUnit =
  | { readonly k: 'one'; readonly index: number }
  | { readonly k: 'group'; readonly indexes: readonly number[] };

/**
 * Relation names a query reads: every `FROM` name except the names of its common table expressions (a
 * slight over-approximation: a `FROM` name outside the CTE's scope that happens to equal it is dropped too).
 */
export function referencedNames(select: Ast): string[] {
  const out: string[] = [];
  const ctes = new Set<string>();
  walkAst(select, (n) => {
    const rv = n.RangeVar as Ast | undefined;
    if (rv !== undefined && typeof rv.relname === 'string' && !out.includes(rv.relname)) out.push(rv.relname);
    const cte = n.CommonTableExpr as Ast | undefined;
    if (cte !== undefined && typeof cte.ctename === 'string') ctes.add(cte.ctename);
    return undefined;
  });
  return out.filter((name) => !ctes.has(name));
}

/**
 * Orders a program's relations into planning units (see the header). A view depends on a relation it reads
 * that is defined earlier, or that is declared recursive (wherever it is defined).
 */
export function planUnits(defs: readonly UnitDef[], declared: ReadonlySet<string>): PlanUnit[] {
  const byName = new Map<string, number>();
  defs.forEach((d, i) => {
    byName.set(d.name, i);
  });
  const deps = defs.map((d, i) => {
    const out: number[] = [];
    for (const n of d.reads) {
      const j = byName.get(n);
      if (j !== undefined && (j < i || declared.has(n)) && !out.includes(j)) out.push(j);
    }
    return out;
  });
  // Tarjan's strongly connected components (iterative)
  const index = new Array<number>(defs.length).fill(-1);
  const low = new Array<number>(defs.length).fill(0);
  const onStack = new Array<boolean>(defs.length).fill(false);
  const comp = new Array<number>(defs.length).fill(-1);
  const comps: number[][] = [];
  const stack: number[] = [];
  let counter = 0;
  for (let root = 0; root < defs.length; root++) {
    if (index[root] !== -1) continue;
    const work: Array<[number, number]> = [[root, 0]];
    while (work.length > 0) {
      const top = work[work.length - 1] as [number, number];
      const [v, e] = top;
      if (e === 0) {
        index[v] = low[v] = counter++;
        stack.push(v);
        onStack[v] = true;
      }
      const ds = deps[v] as number[];
      if (e < ds.length) {
        top[1] = e + 1;
        const w = ds[e] as number;
        if (index[w] === -1) work.push([w, 0]);
        else if (onStack[w]) low[v] = Math.min(low[v] as number, index[w] as number);
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low[parent[0]] = Math.min(low[parent[0]] as number, low[v] as number);
      if (low[v] === index[v]) {
        const c: number[] = [];
        for (;;) {
          const w = stack.pop() as number;
          onStack[w] = false;
          comp[w] = comps.length;
          c.push(w);
          if (w === v) break;
        }
        comps.push(c.sort((a, b) => a - b));
      }
    }
  }
  // emit in program order, each component after the components it reads
  const emitted = new Array<boolean>(comps.length).fill(false);
  const units: PlanUnit[] = [];
  const emit = (c0: number) => {
    const todo: Array<[number, number]> = [[c0, 0]];
    while (todo.length > 0) {
      const top = todo[todo.length - 1] as [number, number];
      const members = comps[top[0]] as number[];
      const reads = members.flatMap((m) => deps[m] as number[]).map((j) => comp[j] as number);
      const next = reads.slice(top[1]).findIndex((c) => c !== top[0] && !emitted[c]);
      if (next >= 0) {
        top[1] += next + 1;
        const c = reads[top[1] - 1] as number;
        emitted[c] = true; // claimed (components form a DAG)
        todo.push([c, 0]);
        continue;
      }
      todo.pop();
      const cyclic =
        members.length > 1 || (deps[members[0] as number] as number[]).includes(members[0] as number);
      units.push(cyclic ? { k: 'group', indexes: members } : { k: 'one', index: members[0] as number });
    }
  };
  for (let i = 0; i < defs.length; i++) {
    const c = comp[i] as number;
    if (emitted[c]) continue;
    emitted[c] = true;
    emit(c);
  }
  return units;
}

/** A view of a recursive group, as the planner needs it. */
export interface GroupView {
  readonly name: string;
  readonly select: Ast;
  readonly local: boolean;
  readonly declaration: RecursiveDeclaration | null;
  /** Whether anything outside the group reads the view (an output view, or one a later view reads). */
  readonly exported: boolean;
  /** Whether LATENESS statements name the view. */
  readonly hasLateness: boolean;
  /** The view's columns from its query's columns (the view's column list applied). */
  readonly columnsOf: (cols: readonly ScopeColumn[]) => ColumnSchema[];
}

export interface GroupOptions {
  readonly circuit: Circuit;
  readonly views: readonly GroupView[];
  /** Resolves a relation planned before the group (null = unknown). */
  readonly resolve: (name: string) => Rel | null;
  readonly source: SourceMap;
  readonly functions?: BindContext['functions'];
  /** Iterations a step may take (tests lower it). */
  readonly limit?: number;
}

export interface PlannedGroup {
  /** Per view (in `views` order): its port node in the outer circuit and its columns. */
  readonly views: ReadonlyArray<{ readonly node: NodeId; readonly columns: readonly ColumnSchema[] }>;
  /** Names of the external relations the group reads, in input order. */
  readonly reads: readonly string[];
}

const WINDOW_ONLY = new Set(['lag', 'lead', 'first_value', 'last_value', 'row_number', 'rank', 'dense_rank']);

/** Plans a recursive group into `circuit`: one fixpoint operator and one port per view. */
export function planRecursiveGroup(o: GroupOptions): PlannedGroup {
  const ctx: BindContext = { columns: [], source: o.source };
  for (const v of o.views) {
    if (!v.local && v.declaration === null)
      throw statementError(
        'SqlNameError',
        `View '${v.name}' must be declared either as LOCAL or as RECURSIVE: it is part of a recursion (declare it with DECLARE RECURSIVE VIEW ${v.name} (...) before its first use, or make it LOCAL)`,
        o.source,
        v.select,
      );
    if (v.hasLateness)
      throw statementError(
        'SqlUnsupported',
        `LATENESS is not supported on view '${v.name}', which is part of a recursion`,
        o.source,
        v.select,
      );
    walkAst(v.select, (n) => {
      const f = n.FuncCall as Ast | undefined;
      if (f?.over === undefined) return undefined;
      const name = String(((f.funcname ?? []) as Ast[]).at(-1)?.String?.sval ?? '').toLowerCase();
      const op = WINDOW_ONLY.has(name) ? name.toUpperCase() : 'OVER';
      throw sqlError('SqlUnsupported', `Unsupported operation '${op}' in recursive code`, ctx, f.location, {
        construct: op,
      });
    });
  }
  const declared = o.views.flatMap((v, i) => (v.declaration === null ? [] : [i]));
  // discovery: plan once to learn the external relations read and to check the declared types
  const reads: Array<{ name: string; rel: Rel }> = [];
  const probe = buildCopy(o, declared, reads, true);
  const fix = new FixpointOperator({
    externals: reads.length,
    outputs: o.views.length,
    feedback: declared,
    names: declared.map((i) => (o.views[i] as GroupView).name),
    exported: o.views.map((v) => v.exported),
    build: () => {
      const c = buildCopy(o, declared, reads, false);
      return {
        step: (ext: readonly Batch[], rec: readonly Batch[]) => {
          const inputs = new Map<string, Batch>();
          ext.forEach((b, k) => {
            inputs.set(`x${k}`, b);
          });
          rec.forEach((b, k) => {
            inputs.set(`r${k}`, b);
          });
          const outs = c.circuit.step(inputs, c.outputs);
          return c.outputs.map((n) => outs.get(n) as Batch);
        },
      };
    },
    ...(o.limit === undefined ? {} : { limit: o.limit }),
  });
  const fixNode = o.circuit.add(
    fix,
    reads.map((r) => r.rel.node),
  );
  return {
    views: o.views.map((_v, w) => ({
      node: o.circuit.add(new FixpointPortOperator(fix, w), [fixNode]),
      columns: probe.columns[w] as ColumnSchema[],
    })),
    reads: reads.map((r) => r.name),
  };
}

/**
 * One iteration level: a circuit with a source per external relation (`x<k>`) and per declared view
 * (`r<k>`, its previous-iteration value), the group's views planned in order. With `discover`, external
 * relations are added to `reads` as they are found (and declared types are checked); otherwise `reads` is
 * complete and every source exists up front.
 */
function buildCopy(
  o: GroupOptions,
  declared: readonly number[],
  reads: Array<{ name: string; rel: Rel }>,
  discover: boolean,
): { circuit: Circuit; outputs: NodeId[]; columns: ColumnSchema[][] } {
  const circuit = new Circuit();
  const ext = new Map<string, Rel>();
  const addExternal = (name: string, rel: Rel): Rel => {
    const node = circuit.addSource(`x${reads.findIndex((r) => r.name === name)}`);
    const inner: Rel = { node, cols: rel.cols };
    ext.set(name, inner);
    return inner;
  };
  if (!discover) for (const r of reads) addExternal(r.name, r.rel);
  const recursive = new Map<string, Rel>();
  declared.forEach((i, k) => {
    const v = o.views[i] as GroupView;
    const d = v.declaration as RecursiveDeclaration;
    recursive.set(v.name, {
      node: circuit.addSource(`r${k}`),
      cols: d.columns.map((c) => ({ qualifier: v.name, name: c.name, type: c.type })),
    });
  });
  const planned = new Map<string, Rel>();
  const planner = new Planner(circuit, {
    resolve: (name) => {
      const r = recursive.get(name) ?? planned.get(name) ?? ext.get(name);
      if (r !== undefined) return r;
      if (!discover || o.views.some((v) => v.name === name)) return null;
      const outer = o.resolve(name);
      if (outer === null) return null;
      reads.push({ name, rel: outer });
      return addExternal(name, outer);
    },
    source: o.source,
    ...(o.functions === undefined ? {} : { functions: o.functions }),
  });
  const outputs: NodeId[] = [];
  const columns: ColumnSchema[][] = [];
  for (const v of o.views) {
    const rel = planner.planSelect(v.select);
    let cols = v.columnsOf(rel.cols);
    let node = rel.node;
    if (v.declaration !== null) {
      if (discover) checkDeclaredColumns(v.name, v.declaration, cols, o.source);
      cols = v.declaration.columns.map((c) => ({ ...c }));
      node = circuit.add(new DistinctOperator(), [node]);
    }
    planned.set(v.name, { node, cols: cols.map((c) => ({ qualifier: v.name, name: c.name, type: c.type })) });
    outputs.push(node);
    columns.push(cols);
  }
  return { circuit, outputs, columns };
}

/** The type as Feldera prints it in the mismatch message (`INTEGER`, `VARCHAR NOT NULL`). */
function typeText(t: SqlType): string {
  return t.kind === 'NULL' ? 'NULL' : `${typeToSql(t)}${t.nullable ? '' : ' NOT NULL'}`;
}

/** Whether a query column of type `got` fits a declared column of type `want`. */
function fits(want: SqlType, got: SqlType): boolean {
  if (got.kind === 'NULL') return want.nullable;
  if (got.kind !== want.kind) return false;
  if (got.nullable && !want.nullable) return false;
  switch (want.kind) {
    case 'VARCHAR':
    case 'VARBINARY':
      return true; // the length does not change the values
    case 'DECIMAL':
      return want.scale == null || (got.scale ?? want.scale) === want.scale;
    default:
      return typeToSql({ ...want, nullable: true }) === typeToSql({ ...got, nullable: true });
  }
}

/**
 * Checks that a declared view's query columns are the declared ones (names in order, fitting types).
 * @throws ServiceError SqlTypeError naming both types
 */
export function checkDeclaredColumns(
  name: string,
  d: RecursiveDeclaration,
  cols: readonly ColumnSchema[],
  source: SourceMap,
): void {
  const same =
    cols.length === d.columns.length &&
    d.columns.every((c, i) => {
      const g = cols[i] as ColumnSchema;
      return (g.name === c.name || g.name.toLowerCase() === c.name.toLowerCase()) && fits(c.type, g.type);
    });
  if (same) return;
  const show = (cs: readonly ColumnSchema[]) =>
    `${name}(${cs.map((c) => `${c.name} ${typeText(c.type)}`).join(', ')})`;
  const p = source.position(d.offset);
  throw new ServiceError(
    'SqlTypeError',
    `the type of view ${show(cols)} does not match the declared type ${show(d.columns)} (declared at line ${p.line}, column ${p.column}); make the query produce the declared columns, in order, with the declared names and types`,
    { view: name, line: p.line, column: p.column },
  );
}

function statementError(
  code: 'SqlNameError' | 'SqlUnsupported',
  message: string,
  source: SourceMap,
  select: Ast,
): ServiceError {
  // the first located node of the query stands for its position
  let loc: number | undefined;
  walkAst(select, (n) => {
    for (const x of Object.values(n))
      if (x !== null && typeof x === 'object' && typeof (x as Ast).location === 'number') {
        const l = (x as Ast).location as number;
        if (l >= 0 && (loc === undefined || l < loc)) loc = l;
      }
    return undefined;
  });
  return sqlError(code, message, { columns: [], source }, loc);
}
