/**
 * SQL user-defined functions (Feldera's `CREATE FUNCTION f(x T, ...) RETURNS R [NOT NULL] AS expression`).
 *
 * A function is bound once, when the program is compiled: its body is bound against a scope holding only its
 * parameters (and the functions declared before it), so type errors in the body are reported at the body's
 * position even if nothing calls it. A call is inlined: each argument is implicitly converted to its parameter's
 * type (a conversion Holdfast does not do implicitly is an SqlTypeError naming the function and parameter), the
 * body's bound expression is compiled with parameter i reading argument i, and the result is converted to the
 * declared result type (with an explicit cast, as Feldera's compiler inserts one). NULL passed for a NOT NULL
 * parameter, or a NULL result of a function declared `RETURNS T NOT NULL`, fails at run time (SqlRuntimeError).
 * Arguments are evaluated once per row each, however often the body reads them.
 *
 * A function declared without a body (Feldera's Rust UDFs) is implemented in TypeScript by the program's `udf_ts`
 * field: it is declared to `udf-ts.ts` (which type-checks and loads udf_ts once every statement is defined), and a
 * call evaluates the arguments and hands their values to the TS function. Its definition includes udf_ts's
 * fingerprint, so a changed udf_ts changes the views that use it. Without an `ExternalFunctions` (callers that
 * compile SQL alone) it is refused with SqlUnsupported naming the function.
 *
 * State: none (a function is a pure description). Invariant: a call's columns are those of its arguments.
 */
import { ServiceError } from '../errors/service-error.ts';
import type { Value } from '../zset/value.ts';
import { walkAst } from './ast-walk.ts';
import {
  type BindContext,
  type Bound,
  castBound,
  coerce,
  type Ev,
  type EvalCtx,
  fold,
  mergeCols,
  sqlError,
  type UserFunction,
} from './bound.ts';
import { type Ast, bindExpr, resolveTypeName } from './expr.ts';
import type { SourceMap } from './parse.ts';
import { type SqlType, typeToSql } from './sql-type.ts';
import type { ExternalFunctions, ExternalImpl } from './udf-ts.ts';

/** A defined function, with what identifies its definition (for detecting a changed program). */
export interface DefinedFunction extends UserFunction {
  /** The definition without source positions (JSON). */
  readonly definition: string;
  /** Lower-case names of the user-defined functions its body calls. */
  readonly calls: readonly string[];
}

interface Param {
  readonly name: string;
  readonly type: SqlType;
}

/** Reads a ColumnDef's type and NOT NULL / NULL constraints. */
function columnType(cd: Ast, ctx: BindContext, what: string): SqlType {
  let notNull = false;
  for (const c of (cd.constraints ?? []) as Ast[]) {
    const t = c.Constraint?.contype;
    if (t === 'CONSTR_NOTNULL') notNull = true;
    else if (t !== 'CONSTR_NULL')
      throw sqlError(
        'SqlSyntaxError',
        `unexpected ${String(t).replace('CONSTR_', '')} in ${what}`,
        ctx,
        c.Constraint?.location,
      );
  }
  return resolveTypeName(cd.typeName, ctx, !notNull);
}

function runtime(message: string): ServiceError {
  return new ServiceError('SqlRuntimeError', message);
}

/**
 * Defines the function of a `HoldfastFunction` statement (see `udf-parse.ts`), given the functions declared
 * before it. @throws ServiceError SqlNameError / SqlTypeError / SqlUnsupported with the position.
 */
export function defineFunction(
  node: Ast,
  source: SourceMap,
  earlier: ReadonlyMap<string, DefinedFunction>,
  externals?: ExternalFunctions,
): DefinedFunction {
  const ctx: BindContext = { columns: [], source, functions: earlier };
  const name = node.name as string;
  const key = name.toLowerCase();
  if (node.schemaname)
    throw sqlError('SqlUnsupported', 'schema-qualified function names are not supported', ctx, node.location);
  if (earlier.has(key))
    throw sqlError('SqlNameError', `function ${name} is declared more than once`, ctx, node.location, {
      name,
    });
  const params: Param[] = [];
  for (const cd of node.params as Ast[]) {
    const pname = cd.colname as string;
    if (params.some((p) => p.name === pname))
      throw sqlError(
        'SqlNameError',
        `parameter "${pname}" of function ${name} is declared more than once`,
        ctx,
        cd.location,
      );
    params.push({ name: pname, type: columnType(cd, ctx, `parameter "${pname}"`) });
  }
  const returns = columnType(node.returns, ctx, `the result of function ${name}`);
  if (node.body === null) {
    if (externals === undefined)
      throw sqlError(
        'SqlUnsupported',
        `function ${name} has no body: functions implemented outside SQL are supported only with a udf_ts program field; define it in SQL with RETURNS type AS expression`,
        ctx,
        node.location,
        { construct: 'CREATE FUNCTION without a body', name },
      );
    let impl: ExternalImpl;
    try {
      impl = externals.declare({ name, params, returns }, (code, message) =>
        sqlError(code, message, ctx, node.location, { name }),
      );
    } catch (e) {
      if (e instanceof ServiceError) throw e;
      throw sqlError('SqlUnsupported', `function ${name}: ${(e as Error).message}`, ctx, node.location, {
        construct: 'CREATE FUNCTION without a body',
        name,
      });
    }
    return callable(name, params, returns, {
      definition: JSON.stringify({ ...node, udf_ts: externals.fingerprint }, (k, v) =>
        k === 'location' ? undefined : v,
      ),
      calls: [],
      evaluator: (vals) => () => impl(vals),
    });
  }
  const bodyCtx: BindContext = {
    columns: params.map((p) => ({ qualifier: null, name: p.name, type: p.type })),
    source,
    functions: earlier,
    clause: `the body of function ${name}`,
  };
  let body = bindExpr(node.body, bodyCtx);
  const bodyLoc = firstLocation(node.body);
  if (body.type.kind !== returns.kind || body.unknownLiteral) {
    try {
      body = body.unknownLiteral
        ? coerce(body, returns, bodyCtx, bodyLoc, `the result of function ${name}`)
        : castBound(body, { ...returns, nullable: true });
    } catch (e) {
      if (e instanceof ServiceError) throw e;
      throw sqlError(
        'SqlTypeError',
        `function ${name} returns ${typeToSql(returns)}, but its body is ${typeToSql(body.type)}: ${(e as Error).message}`,
        bodyCtx,
        bodyLoc,
      );
    }
  }
  const result: Bound = body;
  return callable(name, params, returns, {
    definition: JSON.stringify(node, (k, v) => (k === 'location' ? undefined : v)),
    calls: calledNames(node.body).filter((n) => earlier.has(n)),
    // the body reads the argument values cached in `vals`
    evaluator: (vals) => result.gen({ col: (i) => () => vals[i] as Value }),
  });
}

/** A function whose calls evaluate each argument once per row into `vals`, then `evaluator(vals)`. */
function callable(
  name: string,
  params: readonly Param[],
  resultType: SqlType,
  f: { definition: string; calls: string[]; evaluator: (vals: Value[]) => Ev },
): DefinedFunction {
  return {
    name,
    definition: f.definition,
    calls: f.calls,
    call(args: readonly Bound[], callCtx: BindContext, location: unknown): Bound {
      if (args.length !== params.length)
        throw sqlError(
          'SqlTypeError',
          `function ${name} takes ${params.length} argument${params.length === 1 ? '' : 's'}, got ${args.length}`,
          callCtx,
          location,
        );
      const converted = args.map((a, i) => {
        const p = params[i] as Param;
        return coerce(
          a,
          { ...p.type, nullable: a.type.nullable },
          callCtx,
          location,
          `argument ${i + 1} (${p.name}) of function ${name}`,
        );
      });
      const nonNullParams = params.map((p) => !p.type.nullable);
      const checkResult = !resultType.nullable;
      const gen = (ectx: EvalCtx): Ev => {
        const argEvs = converted.map((a) => a.gen(ectx));
        // each argument is evaluated once per row; the body reads the cached values
        const vals: Value[] = new Array(argEvs.length).fill(null);
        const bodyEv = f.evaluator(vals);
        return (a, b) => {
          for (let i = 0; i < argEvs.length; i++) {
            const v = (argEvs[i] as Ev)(a, b);
            if (v === null && nonNullParams[i])
              throw runtime(
                `function ${name}: NULL passed for parameter "${(params[i] as Param).name}", which is NOT NULL`,
              );
            vals[i] = v;
          }
          const v = bodyEv(a, b);
          if (v === null && checkResult)
            throw runtime(
              `function ${name} returned NULL, but it is declared RETURNS ${typeToSql(resultType)}`,
            );
          return v;
        };
      };
      return fold({ type: resultType, cols: mergeCols(...converted), gen });
    },
  };
}

function firstLocation(node: Ast): unknown {
  if (node === null || typeof node !== 'object') return undefined;
  const inner = Object.values(node)[0] as Ast;
  return inner?.location;
}

/** Lower-case names of every function called (FuncCall with a one-part name) in an AST. Iterative. */
function calledNames(root: Ast): string[] {
  const out = new Set<string>();
  walkAst(root, (r) => {
    const fc = r.FuncCall;
    if (fc?.funcname?.length === 1) out.add(String(fc.funcname[0].String?.sval).toLowerCase());
    return undefined;
  });
  return [...out];
}

/**
 * The definitions of the user-defined functions a view's query uses, directly or through other functions, as
 * a part of the view's definition (so changing a function's body counts as changing the views that use it);
 * empty when it uses none (so programs without functions keep their definitions).
 */
export function usedFunctions(
  select: Ast,
  functions: ReadonlyMap<string, DefinedFunction>,
): { functions?: Record<string, string> } {
  if (functions.size === 0) return {};
  const used: Record<string, string> = {};
  const todo = calledNames(select).filter((n) => functions.has(n));
  while (todo.length > 0) {
    const n = todo.pop() as string;
    if (Object.hasOwn(used, n)) continue;
    const f = functions.get(n) as DefinedFunction;
    used[n] = f.definition;
    todo.push(...f.calls);
  }
  const names = Object.keys(used).sort();
  if (names.length === 0) return {};
  return { functions: Object.fromEntries(names.map((n) => [n, used[n] as string])) };
}
