/**
 * The bound-expression kernel shared by the binder (`expr.ts`) and the scalar-function modules
 * (`functions/`): what a bound expression is, how it compiles for a row layout, NULL-propagating operations with
 * constant folding, implicit coercion and casts, and positioned SQL errors. It imports nothing from the binder,
 * so function modules can use it without an import cycle.
 */
import { ServiceError } from '../errors/service-error.ts';
import type { ErrorCode } from '../types/error-codes.ts';
import type { Row, Value } from '../zset/value.ts';
import type { SourceMap } from './parse.ts';
import { NESTED_KINDS, type SqlType, sqlType, typeToSql } from './sql-type.ts';
import { commonType, isNumeric, isString } from './types-rules.ts';
import { compileCast } from './values/cast.ts';

export type Ev = (a: Row, b: Row) => Value;

export interface EvalCtx {
  col(i: number): Ev;
}

export interface Bound {
  readonly type: SqlType;
  /** Input columns read (sorted, unique). */
  readonly cols: readonly number[];
  readonly gen: (ctx: EvalCtx) => Ev;
  /** Set for `x = y`: the two operands (after coercion). */
  readonly eq?: readonly [Bound, Bound];
  /** Set for `a AND b AND ...`: the conjuncts. */
  readonly conj?: readonly Bound[];
  /** Set when the expression is a constant. */
  readonly literal?: { readonly value: Value };
  /** An untyped string literal (PG's `unknown`): adopts the type it is compared or combined with. */
  readonly unknownLiteral?: boolean;
  /** Set when the expression is a plain reference to this input column. */
  readonly colRef?: number;
  /**
   * Set when the expression is a non-decreasing function of one input column (e.g. `TUMBLE_START(ts, ...)`):
   * `map` turns a lower bound of the column into one of the expression (LATENESS waterlines, `lateness.ts`).
   */
  readonly monotoneOf?: { readonly col: number; readonly map: (v: Value) => Value };
  /**
   * Ordering comparisons the predicate implies where it is TRUE (`a < b` sets one, `x BETWEEN lo AND hi` two):
   * a join uses them to discard state below a waterline (`order-facts.ts`, `waterline-plan.ts`).
   */
  readonly order?: readonly OrderFact[];
}

/** `l op r` (see {@link Bound.order}). */
export interface OrderFact {
  readonly op: '<' | '<=' | '>' | '>=';
  readonly l: Bound;
  readonly r: Bound;
}

export interface ScopeColumn {
  readonly qualifier: string | null;
  readonly name: string;
  readonly type: SqlType;
  /** The other side's copy of a `JOIN ... USING` / `NATURAL JOIN` column: reachable only qualified, not in `*`. */
  readonly hidden?: boolean;
}

export interface BindContext {
  readonly columns: readonly ScopeColumn[];
  readonly source: SourceMap;
  /** After GROUP BY: AST key → column index of a group key or aggregate result in the aggregate's output. */
  readonly grouped?: ReadonlyMap<string, number>;
  /** When set, column references outside `grouped` are errors (they must be grouped or aggregated). */
  readonly aggregateScope?: boolean;
  /** What clause is being bound, for messages (e.g. 'WHERE'). */
  readonly clause?: string;
  /**
   * In aggregate scope: the FROM columns and which of them are group keys (FROM index → output index), so a
   * column reference names a group key however it is qualified.
   */
  readonly groupedColumns?: {
    readonly columns: readonly ScopeColumn[];
    readonly map: ReadonlyMap<number, number>;
  };
  /** The program's user-defined functions (lower-case name → function), consulted before the registry. */
  readonly functions?: ReadonlyMap<string, UserFunction>;
}

/** A user-defined function (`udf.ts`): binds a call to it, given the call's bound arguments. */
export interface UserFunction {
  readonly name: string;
  call(args: readonly Bound[], ctx: BindContext, location: unknown): Bound;
}

/** Single-row layout: column i is a[i]. */
export const ROW_CTX: EvalCtx = { col: (i) => (a) => a[i] as Value };

/**
 * Join layout: (after subtracting `offset`) columns < split come from the left row, the others from the right
 * row.
 */
export function joinCtx(split: number, offset = 0): EvalCtx {
  return {
    col: (g) => {
      const i = g - offset;
      return i < split ? (a) => a[i] as Value : (_a, b) => b[i - split] as Value;
    },
  };
}

/** Shifted layout: column i is a[i - offset] (for pushing an expression into one side of a join). */
export function shiftCtx(offset: number): EvalCtx {
  return { col: (i) => (a) => a[i - offset] as Value };
}

export function compile(b: Bound, ctx: EvalCtx = ROW_CTX): Ev {
  return b.gen(ctx);
}

// ---------------------------------------------------------------------------------------------------------
// errors and AST helpers

export function sqlError(
  code: ErrorCode,
  message: string,
  ctx: BindContext,
  location: unknown,
  extra = {},
): ServiceError {
  if (typeof location === 'number' && location >= 0) {
    const p = ctx.source.position(ctx.source.charOffset(location));
    return new ServiceError(code, `${message} (line ${p.line}, column ${p.column})`, {
      line: p.line,
      column: p.column,
      ...extra,
    });
  }
  return new ServiceError(code, message, extra);
}

export function mergeCols(...bs: Bound[]): number[] {
  const s = new Set<number>();
  for (const b of bs) for (const c of b.cols) s.add(c);
  return [...s].sort((x, y) => x - y);
}

export function literal(value: Value, type: SqlType, unknownLiteral = false): Bound {
  return { type, cols: [], gen: () => () => value, literal: { value }, unknownLiteral };
}

export function columnRef(index: number, type: SqlType): Bound {
  return { type, cols: [index], gen: (ctx) => ctx.col(index), colRef: index };
}

/** Builds a NULL-propagating n-ary operation; folds constants at compile time. */
export function strict(type: SqlType, args: readonly Bound[], f: (...vs: Value[]) => Value): Bound {
  const cols = mergeCols(...args);
  const gen = (ctx: EvalCtx): Ev => {
    if (args.length === 1) {
      const a0 = (args[0] as Bound).gen(ctx);
      return (a, b) => {
        const v = a0(a, b);
        return v === null ? null : f(v);
      };
    }
    if (args.length === 2) {
      const a0 = (args[0] as Bound).gen(ctx);
      const a1 = (args[1] as Bound).gen(ctx);
      return (a, b) => {
        const x = a0(a, b);
        if (x === null) return null;
        const y = a1(a, b);
        return y === null ? null : f(x, y);
      };
    }
    const evs = args.map((x) => x.gen(ctx));
    return (a, b) => {
      const vs: Value[] = [];
      for (const e of evs) {
        const v = e(a, b);
        if (v === null) return null;
        vs.push(v);
      }
      return f(...vs);
    };
  };
  return fold({ type, cols, gen });
}

/** Evaluates a closed expression once at compile time (unless evaluating it fails: then it fails at run time). */
export function fold(b: Bound): Bound {
  if (b.cols.length > 0) return b;
  try {
    const v = b.gen(ROW_CTX)([], []);
    return { ...literal(v, b.type), eq: b.eq, conj: b.conj };
  } catch {
    return b;
  }
}

// ---------------------------------------------------------------------------------------------------------
// coercion

/** Converts `b` to type `t` using an implicit cast, or fails with a type error. */
export function coerce(b: Bound, t: SqlType, ctx: BindContext, location: unknown, what: string): Bound {
  // nested types: the same kind is not enough, the components must match too (ARRAY of INTEGER → of BIGINT)
  if (NESTED_KINDS.has(t.kind) && b.type.kind === t.kind && typeToSql(b.type) !== typeToSql(t)) {
    try {
      return fold(castBound(b, { ...t, nullable: b.type.nullable }, false));
    } catch (e) {
      throw sqlError('SqlTypeError', `${what}: ${(e as Error).message}`, ctx, location);
    }
  }
  if (b.type.kind === t.kind && !(b.unknownLiteral && t.kind !== 'VARCHAR')) {
    if (b.unknownLiteral) return { ...b, unknownLiteral: false };
    return b;
  }
  if (b.type.kind === 'NULL') return literal(null, { ...t, nullable: true });
  if (b.unknownLiteral && b.literal && (t.kind === 'BINARY' || t.kind === 'VARBINARY')) {
    // a string literal met with bytes (`CASE bin WHEN '0b1620'`, `bin = '0b16'`) is their hex digits (Feldera)
    const hex = String(b.literal.value);
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex))
      throw sqlError(
        'SqlTypeError',
        `'${hex}' is not hex digits: a string used as ${t.kind} in ${what} must spell its bytes in hex (or write x'...')`,
        ctx,
        location,
      );
    return literal(hex.toLowerCase(), { ...t, length: null, nullable: false });
  }
  if (b.unknownLiteral && b.literal) {
    try {
      const cast = compileCast(sqlType('VARCHAR', false, { length: null }), t, false);
      return literal(cast(b.literal.value), { ...t, nullable: false });
    } catch (e) {
      throw sqlError('SqlTypeError', `${(e as Error).message} in ${what}`, ctx, location);
    }
  }
  const implicit =
    (isNumeric(b.type) && isNumeric(t)) ||
    (b.type.kind === 'DATE' && t.kind === 'TIMESTAMP') ||
    (isString(b.type) && isString(t)) ||
    ((b.type.kind === 'BINARY' || b.type.kind === 'VARBINARY') && t.kind === 'VARBINARY');
  if (!implicit) {
    throw sqlError(
      'SqlTypeError',
      `${what}: cannot use ${typeToSql(b.type)} where ${typeToSql(t)} is expected`,
      ctx,
      location,
      { expected: typeToSql(t), actual: typeToSql(b.type) },
    );
  }
  return castBound(b, t, false);
}

/** An explicit or implicit conversion of `b` to `t`. */
export function castBound(b: Bound, t: SqlType, explicit = true): Bound {
  // Feldera: an SQL NULL cast to VARIANT is the VARIANT null (a value), see values/nested-cast.ts
  if (t.kind === 'VARIANT') {
    const f = compileCast(b.type.kind === 'NULL' ? t : b.type, t, explicit);
    return fold({
      type: { ...t, nullable: false },
      cols: b.cols,
      gen: (ctx) => {
        const e = b.gen(ctx);
        return (x, y) => f(e(x, y));
      },
    });
  }
  if (b.type.kind === 'NULL') return literal(null, { ...t, nullable: true });
  const f = compileCast(b.type, t, explicit);
  return strict({ ...t, nullable: b.type.nullable }, [b], f);
}

/** Coerces all expressions to their common type. */
export function unify(bs: readonly Bound[], ctx: BindContext, location: unknown, what: string): Bound[] {
  let t: SqlType;
  try {
    t = commonType(
      bs.map((b) => b.type),
      bs.map((b) => b.unknownLiteral === true),
      what,
    );
  } catch (e) {
    throw sqlError('SqlTypeError', (e as Error).message, ctx, location);
  }
  if (t.kind === 'NULL') return bs.slice();
  return bs.map((b) => coerce(b, { ...t, nullable: b.type.nullable }, ctx, location, what));
}
