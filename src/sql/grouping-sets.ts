/**
 * `GROUP BY GROUPING SETS (...)`, `ROLLUP (...)`, `CUBE (...)` and the `GROUPING(...)` / `GROUPING_ID(...)`
 * functions.
 *
 * Planning: the GROUP BY clause is expanded into a list of distinct grouping expressions and a list of
 * grouping sets (each a list of indices into the expressions; several top-level items combine as a cross
 * product, as in SQL). The input is materialized once as `[e1..en, args...]`; each grouping set gets its own
 * incremental AggregateOperator over a projection `[its keys..., NULL padding..., args...]`, whose output
 * function writes the row in the shared layout `[e1..en (NULL where the set does not group by it), aggregate
 * results..., GROUPING values...]`; a UNION ALL combines the sets. A set without keys is a global group, present
 * even on empty input (as Postgres and Feldera give it). Every operator is the ordinary incremental aggregate, so
 * retractions, checkpoints and restore need nothing new. LATENESS: each set's aggregate discards its groups below
 * the waterline of one of its own keys (`purgeOf`, as a plain GROUP BY does); the planner gives the output a
 * waterline only on expressions every set groups by (a NULL-ed column carries none). `GROUPING(a, b, ...)` is a constant per grouping set:
 * a bit vector with the first argument as its highest bit, 1 where the set does not group by that expression.
 * `GROUP_ID()` (Calcite's) is one too: 0 for a grouping set's first occurrence, n for its n-th repetition
 * (`GROUPING SETS ((a), (a))` gives each group twice, with GROUP_ID 0 and 1).
 *
 * State: none here (each grouping set's AggregateOperator owns its state).
 * Invariants: a nested ROLLUP/CUBE inside ROLLUP/CUBE is rejected; the number of grouping sets is bounded
 * (`MAX_GROUPING_SETS`), so `CUBE` of many columns fails with an SQL error instead of exhausting memory.
 */
import type { Circuit, NodeId } from '../circuit/circuit.ts';
import type { ServiceError } from '../errors/service-error.ts';
import { type AggregateFunction, AggregateOperator, type AggregateSpec } from '../operators/aggregate.ts';
import { MapOperator } from '../operators/map.ts';
import { UnionAllOperator } from '../operators/union-all.ts';
import type { Row, Value } from '../zset/value.ts';
import { walkAst } from './ast-walk.ts';
import type { Ast } from './parse.ts';

/** The most grouping sets one GROUP BY may expand to (CUBE of 12 expressions is 4,096). */
export const MAX_GROUPING_SETS = 4096;

/** A GROUP BY clause expanded: distinct grouping expressions and the sets (indices into `exprs`). */
export interface GroupingSets {
  readonly exprs: Ast[];
  readonly sets: number[][];
}

type Fail = (
  code: 'SqlTypeError' | 'SqlUnsupported' | 'SqlSyntaxError',
  message: string,
  at: unknown,
) => ServiceError;

/** Whether a GROUP BY clause uses GROUPING SETS, ROLLUP or CUBE. */
export function hasGroupingSets(items: readonly Ast[]): boolean {
  return items.some((g) => g?.GroupingSet !== undefined);
}

/**
 * Expands the GROUP BY items. `resolve` turns a plain item (an expression, an output ordinal or alias) into
 * the expression to group by; `key` gives an expression's identity (two items with the same key are one
 * grouping expression).
 */
export function expandGroupingSets(
  items: readonly Ast[],
  resolve: (g: Ast) => Ast,
  key: (e: Ast) => string,
  fail: Fail,
): GroupingSets {
  const exprs: Ast[] = [];
  const index = new Map<string, number>();
  const idOf = (g: Ast): number => {
    const e = resolve(g);
    const k = key(e);
    let i = index.get(k);
    if (i === undefined) {
      i = exprs.length;
      exprs.push(e);
      index.set(k, i);
    }
    return i;
  };
  const check = (n: number, at: unknown) => {
    if (n > MAX_GROUPING_SETS)
      throw fail('SqlUnsupported', `GROUP BY expands to more than ${MAX_GROUPING_SETS} grouping sets`, at);
  };
  // one element of ROLLUP/CUBE: an expression or a parenthesized list of them
  const element = (e: Ast): number[] => {
    if (e?.RowExpr) return (e.RowExpr.args as Ast[]).map((x) => element1(x));
    return [element1(e)];
  };
  const element1 = (e: Ast): number => {
    const fc = e?.FuncCall;
    const name = fc ? String(fc.funcname[fc.funcname.length - 1]?.String?.sval ?? '').toLowerCase() : '';
    if (e?.GroupingSet || name === 'rollup' || name === 'cube')
      throw fail(
        'SqlSyntaxError',
        'ROLLUP, CUBE and GROUPING SETS cannot be nested inside ROLLUP or CUBE: list the columns instead',
        e?.GroupingSet?.location ?? fc?.location,
      );
    return idOf(e);
  };
  // the grouping sets one item stands for
  const setsOf = (g: Ast, nested: boolean): number[][] => {
    const gs = g?.GroupingSet;
    if (!gs) {
      if (nested && g?.RowExpr) return [element(g)];
      return [[idOf(g)]];
    }
    const content = (gs.content ?? []) as Ast[];
    switch (gs.kind) {
      case 'GROUPING_SET_EMPTY':
        return [[]];
      case 'GROUPING_SET_SIMPLE':
        return [content.flatMap(element)];
      case 'GROUPING_SET_ROLLUP': {
        const parts = content.map(element);
        const out: number[][] = [];
        for (let n = parts.length; n >= 0; n--) out.push(parts.slice(0, n).flat());
        return out;
      }
      case 'GROUPING_SET_CUBE': {
        const parts = content.map(element);
        check(2 ** parts.length, gs.location);
        const out: number[][] = [];
        const all = 2 ** parts.length;
        // from the full set down to the empty one, as Postgres lists them
        for (let mask = all - 1; mask >= 0; mask--) {
          const s: number[] = [];
          parts.forEach((p, i) => {
            if (mask & (1 << (parts.length - 1 - i))) s.push(...p);
          });
          out.push(s);
        }
        return out;
      }
      case 'GROUPING_SET_SETS': {
        const out: number[][] = [];
        for (const c of content) {
          out.push(...setsOf(c, true));
          check(out.length, gs.location);
        }
        return out;
      }
      default:
        throw fail('SqlUnsupported', `grouping set kind ${String(gs.kind)} is not supported`, gs.location);
    }
  };
  let sets: number[][] = [[]];
  for (const g of items) {
    const mine = setsOf(g, false);
    check(sets.length * mine.length, g?.GroupingSet?.location);
    const next: number[][] = [];
    for (const s of sets) for (const m of mine) next.push([...s, ...m]);
    sets = next;
  }
  return { exprs, sets: sets.map((s) => [...new Set(s)]) };
}

/** Whether `ast` is a `GROUPING(...)`, `GROUPING_ID(...)` or `GROUP_ID()` call. */
export function isGroupingCall(ast: Ast): boolean {
  if (ast?.GroupingFunc) return true;
  const fc = ast?.FuncCall;
  if (!fc || fc.over || (fc.funcname as Ast[]).length !== 1) return false;
  const name = String(fc.funcname[0]?.String?.sval ?? '').toLowerCase();
  return name === 'grouping_id' || isGroupIdCall(ast);
}

/** Whether `ast` is Calcite's `GROUP_ID()` (no arguments). */
export function isGroupIdCall(ast: Ast): boolean {
  const fc = ast?.FuncCall;
  if (!fc || fc.over || (fc.funcname as Ast[]).length !== 1 || (fc.args ?? []).length > 0) return false;
  return String(fc.funcname[0]?.String?.sval ?? '').toLowerCase() === 'group_id';
}

/**
 * `GROUP_ID()` in grouping set `index`: how many earlier grouping sets group by the same expressions (0 for the
 * first occurrence of a set, 1 for its first duplicate, ...), as Calcite defines it.
 */
export function groupIdValue(sets: readonly (readonly number[])[], index: number): number {
  const key = (s: readonly number[]) => [...s].sort((a, b) => a - b).join(',');
  const mine = key(sets[index] ?? []);
  let n = 0;
  for (let i = 0; i < index; i++) if (key(sets[i] ?? []) === mine) n++;
  return n;
}

/** The arguments of a GROUPING / GROUPING_ID call. */
export function groupingArgs(ast: Ast): Ast[] {
  return ((ast.GroupingFunc ?? ast.FuncCall).args ?? []) as Ast[];
}

/** Collects the GROUPING / GROUPING_ID calls under `root` (not inside subqueries), keyed by `key`. */
export function collectGroupingCalls(root: unknown, key: (e: Ast) => string, out: Map<string, Ast>): void {
  walkAst(root, (n) => {
    if (n.SelectStmt || n.SubLink) return 'skip';
    if (isGroupingCall(n)) {
      out.set(key(n), n);
      return 'skip';
    }
    return undefined;
  });
}

/** The value of a GROUPING call whose arguments are grouping expressions `args`, in grouping set `set`. */
export function groupingValue(args: readonly number[], set: readonly number[]): number {
  let v = 0;
  for (const a of args) v = v * 2 + (set.includes(a) ? 0 : 1);
  return v;
}

/**
 * Plans one incremental aggregate per grouping set over `input` (rows `[e1..en, args...]`) and their union;
 * output rows are `[e1..en, results..., grouping values...]` (see the module header).
 */
export function planGroupingSets(
  circuit: Circuit,
  input: NodeId,
  keyCount: number,
  sets: readonly (readonly number[])[],
  functions: readonly AggregateFunction[],
  groupingCalls: readonly (readonly number[] | null)[],
  purgeOf: (set: readonly number[]) => Pick<AggregateSpec, 'purge'> = () => ({}),
): NodeId {
  const nodes: NodeId[] = sets.map((set, setIndex) => {
    // null stands for GROUP_ID()
    const flags = groupingCalls.map(
      (args): Value => BigInt(args === null ? groupIdValue(sets, setIndex) : groupingValue(args, set)),
    );
    const identity = set.length === keyCount && set.every((k, i) => k === i);
    const src = identity
      ? input
      : circuit.add(
          new MapOperator((r: Row) => {
            const out: Value[] = new Array(r.length);
            for (let i = 0; i < set.length; i++) out[i] = r[set[i] as number] as Value;
            for (let i = set.length; i < keyCount; i++) out[i] = null;
            for (let i = keyCount; i < r.length; i++) out[i] = r[i] as Value;
            return out;
          }, false),
          [input],
        );
    const output = (key: Row, results: Value[]): Row => {
      const row: Value[] = new Array(keyCount).fill(null);
      set.forEach((k, i) => {
        row[k] = key[i] as Value;
      });
      return [...row, ...results, ...flags];
    };
    return circuit.add(new AggregateOperator({ keyCount: set.length, functions, output, ...purgeOf(set) }), [
      src,
    ]);
  });
  if (nodes.length === 1) return nodes[0] as NodeId;
  return circuit.add(new UnionAllOperator(nodes.map(() => 1)), nodes);
}
