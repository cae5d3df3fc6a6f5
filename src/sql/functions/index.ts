/**
 * The scalar-function registry: SQL function name (lower case) → implementation. `expr.ts` binds the built-in
 * core (arithmetic, CASE, casts and the first string functions) itself and asks this registry for every other
 * name, so each area of Feldera's function reference lives in its own module with its own tests:
 * - `scalar.ts`: string, math, binary, boolean, comparison and uuid functions (reference part 1);
 * - `datetime.ts`: date, time, timestamp and interval functions (part 2);
 * - `collections.ts`: ARRAY, MAP, ROW and VARIANT/JSON functions (part 3).
 * A name may be defined once across all modules (checked when the registry is first built).
 *
 * The map is built on first use rather than at module load, so importing an area module first (as its unit
 * tests do) cannot observe the import cycle area module → expr.ts → registry half-initialised.
 */
import type { Ast, BindContext, Bound } from '../expr.ts';
import { COLLECTION_FUNCTIONS } from './collections.ts';
import { DATETIME_FUNCTIONS } from './datetime.ts';
import { SCALAR_FUNCTIONS } from './scalar.ts';

/** What a function implementation gets: its bound arguments and the helpers `expr.ts` uses for its own. */
export interface FunctionCall {
  /** Lower-case function name as written (after aliasing by the parser). */
  readonly name: string;
  readonly args: readonly Bound[];
  readonly ctx: BindContext;
  /** Source location of the call (for `sqlError`). */
  readonly loc: unknown;
  /** The call's AST node (FuncCall), for forms that need more than the arguments (e.g. named arguments). */
  readonly node: Ast;
  /** Fails with SqlTypeError unless the call has between lo and hi arguments. */
  argc(lo: number, hi?: number): void;
  /** Argument i as a number (untyped literals become DECIMAL, NULL becomes a DOUBLE NULL). */
  num(i: number): Bound;
  /** Argument i as a character string (implicitly cast where Feldera allows it). */
  str(i: number): Bound;
  /** Argument i cast to INTEGER. */
  int(i: number): Bound;
}

export type FunctionImpl = (call: FunctionCall) => Bound;

let registry: ReadonlyMap<string, FunctionImpl> | null = null;

function build(): ReadonlyMap<string, FunctionImpl> {
  const out = new Map<string, FunctionImpl>();
  for (const table of [SCALAR_FUNCTIONS, DATETIME_FUNCTIONS, COLLECTION_FUNCTIONS]) {
    for (const [name, impl] of Object.entries(table)) {
      if (out.has(name)) throw new Error(`SQL function ${name} is defined twice`);
      out.set(name, impl);
    }
  }
  return out;
}

/** The implementation of a scalar function, or undefined when Holdfast does not have it. */
export function scalarFunction(name: string): FunctionImpl | undefined {
  registry ??= build();
  return registry.get(name);
}
