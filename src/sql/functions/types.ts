/** The contract between the binder and a scalar-function implementation (see `index.ts`). */
import type { BindContext, Bound } from '../bound.ts';
import type { Ast } from '../parse.ts';

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
