/**
 * Expression binding: Postgres AST → typed, bound expressions that compile to closures.
 *
 * A {@link Bound} knows its SQL type, the input columns it reads, and how to generate an evaluator for a given
 * column layout (`gen(ctx)`), so one bound expression can run over a single row or over the two rows of a join
 * without building the concatenated row. NULL handling follows SQL: operators and functions return NULL when
 * an operand is NULL; AND/OR/NOT use three-valued logic. Name and type errors are reported here, at compile
 * time, with the line and column of the offending expression.
 *
 * Function calls: a program's SQL user-defined functions (`ctx.functions`, udf.ts) first, then the built-ins
 * bound here, then the registry in functions/. Feldera forms bound here: `a <=> b` (null-safe equality),
 * `~`/`!~` (RLIKE, rewritten by dialect.ts), ILIKE, `SAFE_CAST` (a CAST whose program text reads SAFE_CAST),
 * `PI` without parentheses, GREATEST/LEAST (via the registry), `IFNULL(a, b)` (a COALESCE), `DIV_NULL(a, b)` (a / b,
 * NULL for a zero divisor), lambdas (functions/lambdas.ts, functions/variant-lambdas.ts); CHAR(n) operands of `||` and string functions
 * keep their padding (Feldera); a REAL compared with an exact-number literal (comparisons, IN, simple CASE)
 * compares as REAL (Feldera).
 */
import { ServiceError } from '../errors/service-error.ts';
import type { Value } from '../zset/value.ts';
import { type Ast, CHAIN_OPS, isChainNode } from './parse.ts';

export type { BindContext, Bound, Ev, EvalCtx, ScopeColumn } from './bound.ts';
export {
  castBound,
  coerce,
  columnRef,
  compile,
  joinCtx,
  literal,
  ROW_CTX,
  shiftCtx,
  sqlError,
  strict,
  unify,
} from './bound.ts';
export type { Ast } from './parse.ts';

import * as arith from './arith.ts';
import {
  type BindContext,
  type Bound,
  castBound,
  coerce,
  columnRef,
  type Ev,
  type EvalCtx,
  fold,
  literal,
  mergeCols,
  type ScopeColumn,
  sqlError,
  strict,
  unify,
} from './bound.ts';
import { bindCeilFloorTo } from './functions/ceil-floor-to.ts';
import { bindDatetimeSpecial, bindExtract } from './functions/datetime.ts';
import { scalarFunction } from './functions/index.ts';
import { bindLambdaCall } from './functions/lambdas.ts';
import { bindVariantLambdaCall } from './functions/variant-lambdas.ts';
import {
  bindIntervalQualified,
  castInterval,
  intervalArithmetic,
  isInterval,
  negateInterval,
  resolveIntervalType,
} from './intervals.ts';
import {
  arrayOf,
  fieldAccess,
  rowOf,
  safeOffset,
  safeOffsetArgument,
  subscript,
  widenToText,
} from './nested-expr.ts';
import { betweenFacts, withMonotoneCall, withOrderFact, withShift } from './order-facts.ts';
import { bindPeriodPredicate } from './period-predicates.ts';
import { INTEGER_KINDS, NESTED_KINDS, type SqlType, sqlType, type TypeKind, typeToSql } from './sql-type.ts';
import { temporalTypeName } from './temporal-types.ts';
import { componentType } from './type-expr.ts';
import { integerLiteralType, isInteger, isNumeric, isString, promoteNumeric } from './types-rules.ts';
import { bytesFromHexLiteral } from './values/bytes.ts';
import { compileCast } from './values/cast.ts';
import { comparatorFor } from './values/compare.ts';
import { Decimal } from './values/decimal.ts';
import { charLength, compileLike, position, rtrimSpaces, substring, trim } from './values/strings.ts';
import { dateAddDays } from './values/temporal.ts';

const isPositionKey = (k: string): boolean =>
  k === 'location' || k.endsWith('_location') || k.endsWith('_list_start') || k.endsWith('_list_end');

/**
 * A key identifying an AST subtree up to source positions (to match GROUP BY expressions): its JSON text
 * without position fields, built iteratively (a long expression is a deep tree).
 */
export function astKey(ast: Ast): string {
  const parts: string[] = [];
  const stack: Array<{ text: string } | { value: unknown }> = [{ value: ast }];
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
        todo.push({ value: x === undefined || typeof x === 'function' ? null : x });
      });
      todo.push({ text: ']' });
    } else if (typeof v === 'object' && v !== null) {
      todo.push({ text: '{' });
      let first = true;
      for (const [k, x] of Object.entries(v)) {
        if (isPositionKey(k) || x === undefined || typeof x === 'function') continue;
        todo.push({ text: `${first ? '' : ','}${JSON.stringify(k)}:` }, { value: x });
        first = false;
      }
      todo.push({ text: '}' });
    } else {
      parts.push(JSON.stringify(v) ?? 'null');
      continue;
    }
    for (let i = todo.length - 1; i >= 0; i--) stack.push(todo[i] as { text: string } | { value: unknown });
  }
  return parts.join('');
}

const groupedKindsCache = new WeakMap<ReadonlyMap<string, number>, ReadonlySet<string>>();

/** The node kinds among the grouped expressions' keys (only such nodes can match one). */
function groupedKinds(grouped: ReadonlyMap<string, number>): ReadonlySet<string> {
  let kinds = groupedKindsCache.get(grouped);
  if (kinds === undefined) {
    kinds = new Set([...grouped.keys()].map((k) => /^\{"([^"]+)"/.exec(k)?.[1] ?? ''));
    groupedKindsCache.set(grouped, kinds);
  }
  return kinds;
}

function nodeType(ast: Ast): string {
  return Object.keys(ast)[0] as string;
}

function names(list: Ast[] | undefined): string[] {
  return (list ?? []).map((n) => (n.String ? (n.String.sval as string) : '*'));
}

// ---------------------------------------------------------------------------------------------------------
// constructors

// ---------------------------------------------------------------------------------------------------------
// operators

const CMP_OPS: Record<string, (c: number) => boolean> = {
  '=': (c) => c === 0,
  '<>': (c) => c !== 0,
  '!=': (c) => c !== 0,
  '<': (c) => c < 0,
  '<=': (c) => c <= 0,
  '>': (c) => c > 0,
  '>=': (c) => c >= 0,
};

/** A comparison function for two non-null values of kind `k` (negative, zero, positive). */
export function comparator(k: TypeKind): (x: Value, y: Value) => number {
  return comparatorFor(k);
}

/** Kinds whose values are equal exactly when they are `===` (so `=` needs no comparator call). */
const IDENTITY_EQ: ReadonlySet<TypeKind> = new Set([
  'BOOLEAN',
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'BIGINT',
  'UTINYINT',
  'USMALLINT',
  'UINTEGER',
  'UBIGINT',
  'VARCHAR',
  'BINARY',
  'VARBINARY',
  'UUID',
  'DATE',
  'TIME',
  'TIMESTAMP',
]);

/** CHAR as text: Postgres drops a CHAR value's trailing spaces when it is used as text. */
/**
 * A CHAR(n) operand of `||` or of a string function, with its padding (Feldera: concatenation and the string
 * functions see the trailing spaces; only a cast to VARCHAR removes them), typed as VARCHAR.
 */
function charPadded(b: Bound): Bound {
  return b.type.kind === 'CHAR' ? { ...b, type: sqlType('VARCHAR', b.type.nullable, { length: null }) } : b;
}

function charAsText(b: Bound): Bound {
  return b.type.kind === 'CHAR'
    ? castBound(b, sqlType('VARCHAR', b.type.nullable, { length: null }), false)
    : b;
}

/**
 * Comparing with a CHAR operand uses CHAR semantics (Postgres casts the other side to `bpchar`): trailing
 * spaces are insignificant on both sides.
 */
function bpcharOperands(l: Bound, r: Bound): [Bound, Bound] {
  const stringy = (b: Bound) => isString(b.type) || b.unknownLiteral === true;
  if (!(l.type.kind === 'CHAR' || r.type.kind === 'CHAR') || !stringy(l) || !stringy(r)) return [l, r];
  const trimmed = (b: Bound): Bound => {
    if (b.type.kind === 'CHAR') return charAsText(b);
    if (b.literal && typeof b.literal.value === 'string') {
      return literal(rtrimSpaces(b.literal.value), sqlType('VARCHAR', false, { length: null }));
    }
    return strict({ ...b.type, kind: 'VARCHAR', length: null }, [b], (v) => rtrimSpaces(v as string));
  };
  return [trimmed(l), trimmed(r)];
}

/**
 * Feldera compares a REAL with an exact number (an integer or DECIMAL) as two REALs: `reall = -57681.18` is TRUE
 * for the REAL column value -57681.18 (Postgres widens both to DOUBLE, where the REAL is -57681.1796875: FALSE).
 */
function realOperands(l: Bound, r: Bound): [Bound, Bound] {
  const exact = (b: Bound) => isNumeric(b.type) && b.type.kind !== 'REAL' && b.type.kind !== 'DOUBLE';
  const real = (b: Bound) => castBound(b, sqlType('REAL', b.type.nullable), false);
  if (l.type.kind === 'REAL' && exact(r)) return [l, real(r)];
  if (r.type.kind === 'REAL' && exact(l)) return [real(l), r];
  return [l, r];
}

/**
 * COALESCE's arguments in their common type (strings with numbers or booleans: VARCHAR; a REAL with exact
 * numbers: REAL; as Feldera types them). Kept out of `bindExpr` so its recursion frame stays small.
 */
function coalesceArgs(bound: Bound[], ctx: BindContext, loc: unknown): Bound[] {
  return widenToText(bound, true) ?? unify(realWithExact(bound), ctx, loc, 'COALESCE');
}

/** Feldera: ROUND of a REAL/DOUBLE to `digits` keeps its type (ROUND(SECH(14), 10) is the DOUBLE 1.6631e-6). */
function roundFloatCall(a: Bound, digits: Bound): Bound {
  const k = a.type.kind;
  return strict(a.type, [a, digits], (x, d) => arith.roundFloat(x as number, d as number, k));
}

/** COALESCE of a REAL with exact numbers (integers, DECIMAL) is a REAL in Feldera (Postgres: DOUBLE). */
function realWithExact(bs: Bound[]): Bound[] {
  const exact = (b: Bound) => isNumeric(b.type) && b.type.kind !== 'REAL' && b.type.kind !== 'DOUBLE';
  if (
    !bs.some((b) => b.type.kind === 'REAL') ||
    !bs.every((b) => b.type.kind === 'REAL' || exact(b) || b.type.kind === 'NULL')
  )
    return bs;
  return bs.map((b) => (exact(b) ? castBound(b, sqlType('REAL', b.type.nullable), false) : b));
}

function comparison(op: string, l0: Bound, r0: Bound, ctx: BindContext, loc: unknown): Bound {
  const [l, r] = realOperands(...bpcharOperands(l0, r0));
  const [a, b] = unify([l, r], ctx, loc, `operator ${op}`) as [Bound, Bound];
  // Feldera orders ROW values (<, <=, >, >=, BETWEEN: field by field, a NULL field first) but refuses = and <>
  if ((a.type.kind === 'ROW' || b.type.kind === 'ROW') && (op === '=' || op === '<>' || op === '!='))
    rowsNotComparable(`using '${op === '!=' ? '<>' : op}'`, ctx, loc);
  const test = CMP_OPS[op] as (c: number) => boolean;
  const kind = a.type.kind;
  const type = sqlType('BOOLEAN', a.type.nullable || b.type.nullable);
  let res: Bound;
  if (op === '=' && IDENTITY_EQ.has(kind)) {
    res = strict(type, [a, b], (x, y) => x === y);
  } else if ((op === '<>' || op === '!=') && IDENTITY_EQ.has(kind)) {
    res = strict(type, [a, b], (x, y) => x !== y);
  } else {
    const cmp = comparator(kind === 'NULL' ? 'INTEGER' : kind);
    res = strict(type, [a, b], (x, y) => test(cmp(x, y)));
  }
  return op === '=' ? { ...res, eq: [a, b] } : withOrderFact(op, a, b, res);
}

/** Feldera refuses ROW values in `=`, `<>`, IN and NULLIF (they still group, DISTINCT, take part in set
 * operations and order with `<`, `<=`, `>`, `>=`). */
function rowsNotComparable(how: string, ctx: BindContext, loc: unknown): never {
  throw sqlError('SqlTypeError', `ROW values cannot be compared ${how}`, ctx, loc);
}

function arithmetic(op: string, l: Bound, r: Bound, ctx: BindContext, loc: unknown): Bound {
  const iv = intervalArithmetic(op, l, r, ctx, loc);
  if (iv) return iv;
  const nullable = l.type.nullable || r.type.nullable;
  // date arithmetic
  if (l.type.kind === 'DATE' || r.type.kind === 'DATE') {
    const lk = l.unknownLiteral ? 'INTEGER' : l.type.kind;
    const rk = r.unknownLiteral ? 'INTEGER' : r.type.kind;
    if (op === '+' && lk === 'DATE' && INTEGER_KINDS.has(rk)) {
      const rr = coerce(r, sqlType('INTEGER', r.type.nullable), ctx, loc, 'date + integer');
      return strict(sqlType('DATE', nullable), [l, rr], (d, n) => dateAddDays(d as number, n as number));
    }
    if (op === '+' && rk === 'DATE' && INTEGER_KINDS.has(lk)) {
      const ll = coerce(l, sqlType('INTEGER', l.type.nullable), ctx, loc, 'integer + date');
      return strict(sqlType('DATE', nullable), [r, ll], (d, n) => dateAddDays(d as number, n as number));
    }
    if (op === '-' && lk === 'DATE' && INTEGER_KINDS.has(rk)) {
      const rr = coerce(r, sqlType('INTEGER', r.type.nullable), ctx, loc, 'date - integer');
      return strict(sqlType('DATE', nullable), [l, rr], (d, n) => dateAddDays(d as number, -(n as number)));
    }
    if (op === '-' && lk === 'DATE' && (rk === 'DATE' || r.unknownLiteral)) {
      const rr = coerce(r, sqlType('DATE', r.type.nullable), ctx, loc, 'date - date');
      return strict(sqlType('INTEGER', nullable), [l, rr], (x, y) => (x as number) - (y as number));
    }
  }
  const lt = l.unknownLiteral ? r.type : l.type;
  const rt = r.unknownLiteral ? l.type : r.type;
  if (!isNumeric(lt) || !isNumeric(rt)) {
    throw sqlError(
      'SqlTypeError',
      `operator does not exist: ${typeToSql(l.type)} ${op} ${typeToSql(r.type)}`,
      ctx,
      loc,
      { operator: op },
    );
  }
  const t = promoteNumeric(lt, rt, nullable);
  if (op === '%' && (t.kind === 'DOUBLE' || t.kind === 'REAL')) {
    throw sqlError('SqlTypeError', `operator does not exist: ${typeToSql(t)} % ${typeToSql(t)}`, ctx, loc);
  }
  const a = coerce(l, t, ctx, loc, `operator ${op}`);
  const b = coerce(r, t, ctx, loc, `operator ${op}`);
  return strict(t, [a, b], arith.binary(op, t.kind));
}

function concat(l: Bound, r: Bound, ctx: BindContext, loc: unknown): Bound {
  const bytes = (b: Bound) => b.type.kind === 'BINARY' || b.type.kind === 'VARBINARY';
  if (bytes(l) && bytes(r)) {
    // bytes || bytes: the bytes one after the other (values are lowercase hex)
    const type = sqlType('VARBINARY', l.type.nullable || r.type.nullable, { length: null });
    return strict(type, [l, r], (x, y) => (x as string) + (y as string));
  }
  const scalar = (b: Bound) => !NESTED_KINDS.has(b.type.kind) && !bytes(b) && b.type.kind !== 'NULL';
  // Feldera: two other scalars (`intt || intt`) are converted to VARCHAR; Postgres has no such operator
  if (
    !isString(l.type) &&
    !isString(r.type) &&
    !l.unknownLiteral &&
    !r.unknownLiteral &&
    !(scalar(l) && scalar(r))
  ) {
    throw sqlError(
      'SqlTypeError',
      `operator does not exist: ${typeToSql(l.type)} || ${typeToSql(r.type)}`,
      ctx,
      loc,
    );
  }
  const text = sqlType('VARCHAR', l.type.nullable || r.type.nullable, { length: null });
  const a = isString(l.type) ? charPadded(l) : castBound(l, text);
  const b = isString(r.type) ? charPadded(r) : castBound(r, text);
  return strict(text, [a, b], (x, y) => (x as string) + (y as string));
}

function not(b: Bound): Bound {
  return strict(b.type, [b], (x) => !x);
}

function andOr(isAnd: boolean, args: Bound[]): Bound {
  const type = sqlType(
    'BOOLEAN',
    args.some((a) => a.type.nullable),
  );
  const conj = isAnd ? args.flatMap((a) => a.conj ?? [a]) : undefined;
  const gen = (ctx: EvalCtx): Ev => {
    const evs = args.map((a) => a.gen(ctx));
    if (isAnd) {
      return (a, b) => {
        let sawNull = false;
        for (const e of evs) {
          const v = e(a, b);
          if (v === false) return false;
          if (v === null) sawNull = true;
        }
        return sawNull ? null : true;
      };
    }
    return (a, b) => {
      let sawNull = false;
      for (const e of evs) {
        const v = e(a, b);
        if (v === true) return true;
        if (v === null) sawNull = true;
      }
      return sawNull ? null : false;
    };
  };
  return fold({ type, cols: mergeCols(...args), gen, conj });
}

function expectBoolean(b: Bound, ctx: BindContext, loc: unknown, what: string): Bound {
  if (b.type.kind === 'BOOLEAN') return b;
  if (b.type.kind === 'NULL') return literal(null, sqlType('BOOLEAN', true));
  return coerce(b, sqlType('BOOLEAN', b.type.nullable), ctx, loc, what);
}

// ---------------------------------------------------------------------------------------------------------
// the binder

export function bindExpr(ast: Ast, ctx: BindContext): Bound {
  if (ctx.grouped && groupedKinds(ctx.grouped).has(nodeType(ast))) {
    const idx = ctx.grouped.get(astKey(ast));
    if (idx !== undefined) {
      const col = ctx.columns[idx] as ScopeColumn;
      return columnRef(idx, col.type);
    }
  }
  const kind = nodeType(ast);
  const n = ast[kind];
  const loc = n?.location;
  switch (kind) {
    case 'A_Const':
      return bindConst(n, ctx);
    case 'ColumnRef':
      return bindColumn(n, ctx);
    case 'TypeCast': {
      const arg = bindExpr(n.arg, ctx);
      const t = bareBinaryIsOne(n.typeName, resolveTypeName(n.typeName, ctx));
      if (isSafeCast(ctx, loc)) return safeCast(textToBytes(arg, t), t, ctx, loc);
      const iv = castInterval(arg, t, ctx, loc);
      if (iv) return fold(iv);
      if (arg.unknownLiteral && !isBytesKind(t.kind)) return coerce(arg, t, ctx, loc, 'CAST');
      try {
        return fold(castBound(arg, t));
      } catch (e) {
        throw sqlError('SqlTypeError', (e as Error).message, ctx, loc);
      }
    }
    case 'BoolExpr': {
      const args = (n.args as Ast[]).map((a) => expectBoolean(bindExpr(a, ctx), ctx, loc, n.boolop));
      if (n.boolop === 'NOT_EXPR') return not(args[0] as Bound);
      return andOr(n.boolop === 'AND_EXPR', args);
    }
    case 'NullTest': {
      const arg = bindExpr(n.arg, ctx);
      const isNull = n.nulltesttype === 'IS_NULL';
      const gen = (c: EvalCtx): Ev => {
        const e = arg.gen(c);
        return isNull ? (a, b) => e(a, b) === null : (a, b) => e(a, b) !== null;
      };
      return fold({ type: sqlType('BOOLEAN', false), cols: arg.cols, gen });
    }
    case 'BooleanTest': {
      const arg = expectBoolean(bindExpr(n.arg, ctx), ctx, loc, 'IS TRUE/FALSE');
      const want: Record<string, (v: Value) => boolean> = {
        IS_TRUE: (v) => v === true,
        IS_NOT_TRUE: (v) => v !== true,
        IS_FALSE: (v) => v === false,
        IS_NOT_FALSE: (v) => v !== false,
        IS_UNKNOWN: (v) => v === null,
        IS_NOT_UNKNOWN: (v) => v !== null,
      };
      const t = want[n.booltesttype] as (v: Value) => boolean;
      return fold({
        type: sqlType('BOOLEAN', false),
        cols: arg.cols,
        gen: (c) => {
          const e = arg.gen(c);
          return (a, b) => t(e(a, b));
        },
      });
    }
    case 'A_Expr':
      return bindAExpr(n, ctx);
    case 'CaseExpr':
      return bindCase(n, ctx);
    case 'CoalesceExpr': {
      const args = coalesceArgs(
        (n.args as Ast[]).map((a) => bindExpr(a, ctx)),
        ctx,
        loc,
      );
      const type = { ...(args[0] as Bound).type, nullable: args.every((a) => a.type.nullable) };
      return fold({
        type,
        cols: mergeCols(...args),
        gen: (c) => {
          const evs = args.map((a) => a.gen(c));
          return (a, b) => {
            for (const e of evs) {
              const v = e(a, b);
              if (v !== null) return v;
            }
            return null;
          };
        },
      });
    }
    case 'FuncCall':
      return withMonotoneCall(funcName(n), n.args ?? [], bindFunc(n, ctx), (a) => bindExpr(a as Ast, ctx));
    case 'MinMaxExpr': // GREATEST / LEAST: bound by the function registry (functions/scalar.ts)
      return bindFunc(
        {
          funcname: [{ String: { sval: n.op === 'IS_GREATEST' ? 'greatest' : 'least' } }],
          args: n.args,
          location: loc,
        },
        ctx,
      );
    case 'HfIntervalQualified': // `(a - b) SECOND`, see interval-syntax.ts
      return bindIntervalQualified(n, ctx, bindExpr);
    case 'SubLink':
      throw sqlError(
        'SqlUnsupported',
        `a subquery is not supported in ${ctx.clause ?? 'this clause'}: subqueries may appear in WHERE, in the select list, and (uncorrelated) in the HAVING of a GROUP BY query`,
        ctx,
        loc,
        {
          construct: 'subquery expression',
        },
      );
    case 'ParamRef':
      throw sqlError('SqlUnsupported', 'query parameters are not supported', ctx, loc);
    // nested types (nested-expr.ts)
    case 'A_ArrayExpr':
      return arrayOf(
        ((n.elements ?? []) as Ast[]).map((e) => bindExpr(e, ctx)),
        ctx,
        loc,
      );
    case 'RowExpr':
      return rowOf(
        ((n.args ?? []) as Ast[]).map((e) => bindExpr(e, ctx)),
        n.colnames ? names(n.colnames) : undefined,
      );
    case 'A_Indirection':
      return bindIndirection(n, ctx); // its own frame: bindExpr's stays small for deep nesting
    default:
      throw sqlError('SqlUnsupported', `unsupported expression: ${kind}`, ctx, loc, { construct: kind });
  }
}

/** `base[i]`, `base[SAFE_OFFSET(i)]`, `base.f` chains (nested-expr.ts). */
function bindIndirection(n: Ast, ctx: BindContext): Bound {
  const loc = (Object.values(n.arg)[0] as Ast)?.location; // the node has no location of its own
  let b = bindExpr(n.arg, ctx);
  for (const ind of n.indirection as Ast[]) {
    if (ind.String) b = fieldAccess(b, ind.String.sval as string, ctx, loc);
    else if (ind.A_Indices && !ind.A_Indices.is_slice) {
      const offset = safeOffsetArgument(ind.A_Indices.uidx);
      b =
        offset === undefined
          ? subscript(b, bindExpr(ind.A_Indices.uidx, ctx), ctx, loc)
          : safeOffset(b, bindExpr(offset, ctx), ctx, loc);
    } else if (ind.A_Indices)
      throw sqlError(
        'SqlUnsupported',
        "array slices (a[i:j]) are not part of Feldera's SQL: index the elements one at a time (a[i] from 1, or a[SAFE_OFFSET(i)] from 0)",
        ctx,
        loc,
        { construct: 'array slice' },
      );
    else throw sqlError('SqlUnsupported', '.* on a value is not supported', ctx, loc);
  }
  return b;
}

function bindConst(n: Ast, _ctx: BindContext): Bound {
  if (n.isnull) return literal(null, sqlType('NULL', true));
  if (n.ival !== undefined) {
    const v = (n.ival.ival ?? 0) as number;
    return literal(v, sqlType('INTEGER', false));
  }
  if (n.fval !== undefined) {
    const text = n.fval.fval as string;
    if (/^-?\d+$/.test(text)) {
      const big = BigInt(text);
      const t = integerLiteralType(big);
      return literal(t.kind === 'BIGINT' ? big : Decimal.parse(text), t);
    }
    return literal(Decimal.parse(text), sqlType('DECIMAL', false, { precision: null, scale: null }));
  }
  if (n.sval !== undefined)
    return literal((n.sval.sval ?? '') as string, sqlType('VARCHAR', false, { length: null }), true);
  if (n.boolval !== undefined) return literal(n.boolval.boolval === true, sqlType('BOOLEAN', false));
  if (n.bsval !== undefined) {
    // x'0b16': a VARBINARY literal (Feldera); b'0101' bit strings are not supported
    const text = (n.bsval.bsval ?? '') as string;
    if (text[0] !== 'x' && text[0] !== 'X')
      throw sqlError('SqlUnsupported', 'bit-string literals are not supported', _ctx, n.location, {
        construct: 'BIT',
      });
    let hex: string;
    try {
      hex = bytesFromHexLiteral(text.slice(1));
    } catch (e) {
      throw sqlError('SqlSyntaxError', (e as Error).message, _ctx, n.location);
    }
    return literal(hex, sqlType('VARBINARY', false, { length: hex.length / 2 }));
  }
  throw new ServiceError('SqlUnsupported', 'unsupported constant');
}

function bindColumn(n: Ast, ctx: BindContext): Bound {
  const parts = names(n.fields);
  if (parts.includes('*')) {
    throw sqlError('SqlUnsupported', '* is only allowed in the select list or COUNT(*)', ctx, n.location);
  }
  // field access: `c.f`, `t.c.f`, ... (the longest prefix naming a column, qualified or not)
  if (parts.length >= 2) {
    const cols = ctx.groupedColumns?.columns ?? ctx.columns;
    const qualified = cols.some((c) => c.qualifier === parts[0]);
    const split = qualified ? 2 : cols.some((c) => c.name === parts[0]) ? 1 : parts.length;
    if (parts.length > split) {
      let b = bindColumn({ ...n, fields: n.fields.slice(0, split) }, ctx);
      for (const f of parts.slice(split)) b = fieldAccess(b, f, ctx, n.location);
      return b;
    }
  }
  if (parts.length > 2)
    throw sqlError('SqlUnsupported', `qualified name ${parts.join('.')} is not supported`, ctx, n.location);
  const [q, name] =
    parts.length === 2 ? [parts[0] as string, parts[1] as string] : [null, parts[0] as string];
  if (ctx.aggregateScope && ctx.groupedColumns) {
    const inner = bindColumn(n, {
      ...ctx,
      columns: ctx.groupedColumns.columns,
      aggregateScope: false,
      groupedColumns: undefined,
    });
    const out = ctx.groupedColumns.map.get(inner.cols[0] as number);
    if (out !== undefined) return columnRef(out, (ctx.columns[out] as ScopeColumn).type);
    const shown = q === null ? name : `${q}.${name}`;
    throw notGrouped(shown, ctx, n.location);
  }
  const matches: number[] = [];
  ctx.columns.forEach((c, i) => {
    if (c.name === name && (q === null ? !c.hidden : c.qualifier === q)) matches.push(i);
  });
  const shown = q === null ? name : `${q}.${name}`;
  if (matches.length === 0) {
    if (q !== null && !ctx.columns.some((c) => c.qualifier === q)) {
      throw sqlError('SqlNameError', `missing FROM-clause entry for table "${q}"`, ctx, n.location, {
        name: q,
      });
    }
    // Feldera's PI (written without parentheses), unless a column has that name
    if (q === null && name === 'pi') return literal(Math.PI, sqlType('DOUBLE', false));
    throw sqlError('SqlNameError', `column "${shown}" does not exist`, ctx, n.location, { name: shown });
  }
  if (matches.length > 1) {
    throw sqlError('SqlNameError', `column reference "${shown}" is ambiguous`, ctx, n.location, {
      name: shown,
    });
  }
  if (ctx.aggregateScope) {
    throw notGrouped(shown, ctx, n.location);
  }
  const i = matches[0] as number;
  return columnRef(i, (ctx.columns[i] as ScopeColumn).type);
}

function notGrouped(shown: string, ctx: BindContext, location: unknown): ServiceError {
  return sqlError(
    'SqlNameError',
    `column "${shown}" must appear in the GROUP BY clause or be used in an aggregate function`,
    ctx,
    location,
    { name: shown },
  );
}

function listItems(rexpr: Ast): Ast[] {
  return rexpr?.List ? (rexpr.List.items as Ast[]) : [rexpr];
}

/**
 * A left-deep chain of arithmetic or concatenation operators (`a + b - c ...`, `s || t || ...`), bound without
 * recursing down its left spine: the same binary steps, in the same order, as recursion would take, so long
 * chains (thousands of terms) bind. The right operands are bound recursively (they are shallow in practice;
 * parse.ts bounds the nesting). In aggregate scope a spine node that is a group key is used as such.
 */
function bindChain(top: Ast, ctx: BindContext): Bound {
  const spine: Ast[] = [top];
  let leftmost: Ast = top.lexpr;
  const grouped = ctx.grouped && groupedKinds(ctx.grouped).has('A_Expr') ? ctx.grouped : null;
  while (isChainNode(leftmost) && !grouped?.has(astKey(leftmost))) {
    spine.push(leftmost.A_Expr);
    leftmost = leftmost.A_Expr.lexpr;
  }
  let acc = bindExpr(leftmost, ctx);
  for (let i = spine.length - 1; i >= 0; i--) {
    const n = spine[i] as Ast;
    const op = names(n.name)[0] as string;
    const r = bindExpr(n.rexpr, ctx);
    acc =
      op === '||'
        ? concat(acc, r, ctx, n.location)
        : withShift(op, acc, r, arithmetic(op, acc, r, ctx, n.location));
  }
  return acc;
}

function bindAExpr(n: Ast, ctx: BindContext): Bound {
  const op = names(n.name)[0] as string;
  const loc = n.location;
  switch (n.kind) {
    case 'AEXPR_OP': {
      if (!n.lexpr) {
        const arg = bindExpr(n.rexpr, ctx);
        if (op === '-') {
          if (isInterval(arg.type)) return negateInterval(arg);
          if (!isNumeric(arg.type))
            throw sqlError('SqlTypeError', `operator does not exist: -${typeToSql(arg.type)}`, ctx, loc);
          return strict(arg.type, [arg], arith.negate(arg.type.kind));
        }
        if (op === '+') return arg;
        throw sqlError('SqlUnsupported', `unsupported prefix operator ${op}`, ctx, loc);
      }
      if (CHAIN_OPS.has(op)) return bindChain(n, ctx);
      if (op === '<=>') return bindAExpr({ ...n, kind: 'AEXPR_NOT_DISTINCT' }, ctx); // Feldera's null-safe =
      if (op === '~' || op === '!~') return bindRlike(n, op === '!~', ctx); // RLIKE (dialect.ts)
      if (op.startsWith('@@#')) return bindPeriodPredicate(op, n, ctx, bindExpr) as Bound; // OVERLAPS, ...
      const l = bindExpr(n.lexpr, ctx);
      const r = bindExpr(n.rexpr, ctx);
      if (op in CMP_OPS) return comparison(op, l, r, ctx, loc);
      if (op === '+' || op === '-' || op === '*' || op === '/' || op === '%')
        return withShift(op, l, r, arithmetic(op, l, r, ctx, loc));
      if (op === '||') return concat(l, r, ctx, loc);
      throw sqlError('SqlUnsupported', `unsupported operator ${op}`, ctx, loc, { construct: op });
    }
    case 'AEXPR_IN': {
      const x = bindExpr(n.lexpr, ctx);
      const items = listItems(n.rexpr).map((a) => realOperands(x, bindExpr(a, ctx))[1]);
      const all = unify([x, ...items], ctx, loc, 'IN');
      const [xx, ...vals] = all as [Bound, ...Bound[]];
      const negated = op === '<>';
      if (xx.type.kind === 'ROW') rowsNotComparable("using '='", ctx, loc);
      const cmp = comparator(xx.type.kind === 'NULL' ? 'INTEGER' : xx.type.kind);
      const type = sqlType(
        'BOOLEAN',
        all.some((b) => b.type.nullable),
      );
      return fold({
        type,
        cols: mergeCols(...all),
        gen: (c) => {
          const ex = xx.gen(c);
          const evs = vals.map((v) => v.gen(c));
          return (a, b) => {
            const v = ex(a, b);
            if (v === null) return null;
            let sawNull = false;
            for (const e of evs) {
              const w = e(a, b);
              if (w === null) sawNull = true;
              else if (cmp(v, w) === 0) return !negated;
            }
            return sawNull ? null : negated;
          };
        },
      });
    }
    case 'AEXPR_BETWEEN':
    case 'AEXPR_NOT_BETWEEN': {
      const [lo, hi] = listItems(n.rexpr) as [Ast, Ast];
      const x = bindExpr(n.lexpr, ctx);
      const ge = comparison('>=', x, bindExpr(lo, ctx), ctx, loc);
      const le = comparison('<=', x, bindExpr(hi, ctx), ctx, loc);
      const both = andOr(true, [ge, le]);
      return n.kind === 'AEXPR_BETWEEN' ? { ...both, conj: undefined, ...betweenFacts(ge, le) } : not(both);
    }
    case 'AEXPR_BETWEEN_SYM':
    case 'AEXPR_NOT_BETWEEN_SYM': {
      // x BETWEEN SYMMETRIC a AND b = (x BETWEEN a AND b) OR (x BETWEEN b AND a), SQL's definition
      const [lo, hi] = listItems(n.rexpr) as [Ast, Ast];
      const x = bindExpr(n.lexpr, ctx);
      const [a, b] = [bindExpr(lo, ctx), bindExpr(hi, ctx)];
      const within = (p: Bound, q: Bound) =>
        andOr(true, [comparison('>=', x, p, ctx, loc), comparison('<=', x, q, ctx, loc)]);
      const either = andOr(false, [within(a, b), within(b, a)]);
      return n.kind === 'AEXPR_BETWEEN_SYM' ? { ...either, conj: undefined } : not(either);
    }
    case 'AEXPR_LIKE':
    case 'AEXPR_ILIKE': {
      const x = coerceString(bindExpr(n.lexpr, ctx), ctx, loc, 'LIKE');
      const p = coerceString(bindExpr(n.rexpr, ctx), ctx, loc, 'LIKE');
      const ci = n.kind === 'AEXPR_ILIKE'; // ILIKE: both sides lower-cased
      const negated = op === (ci ? '!~~*' : '!~~');
      if (op !== (ci ? '~~*' : '~~') && !negated)
        throw sqlError('SqlUnsupported', `unsupported operator ${op}`, ctx, loc);
      const fold = ci ? (s: string) => s.toLowerCase() : (s: string) => s;
      const type = sqlType('BOOLEAN', x.type.nullable || p.type.nullable);
      if (p.literal && typeof p.literal.value === 'string') {
        const m = compileLike(fold(p.literal.value));
        return strict(type, [x], (s) => m(fold(s as string)) !== negated);
      }
      return strict(
        type,
        [x, p],
        (s, pat) => compileLike(fold(pat as string))(fold(s as string)) !== negated,
      );
    }
    case 'AEXPR_DISTINCT':
    case 'AEXPR_NOT_DISTINCT': {
      const operands = realOperands(...bpcharOperands(bindExpr(n.lexpr, ctx), bindExpr(n.rexpr, ctx)));
      const [a, b] = unify(operands, ctx, loc, 'IS DISTINCT FROM') as [Bound, Bound];
      const cmp = comparator(a.type.kind === 'NULL' ? 'INTEGER' : a.type.kind);
      const distinct = n.kind === 'AEXPR_DISTINCT';
      return fold({
        type: sqlType('BOOLEAN', false),
        cols: mergeCols(a, b),
        gen: (c) => {
          const ea = a.gen(c);
          const eb = b.gen(c);
          return (r1, r2) => {
            const x = ea(r1, r2);
            const y = eb(r1, r2);
            const same = x === null || y === null ? x === y : cmp(x, y) === 0;
            return same !== distinct;
          };
        },
      });
    }
    case 'AEXPR_NULLIF': {
      const [a, b] = unify(
        realOperands(bindExpr(n.lexpr, ctx), bindExpr(n.rexpr, ctx)),
        ctx,
        loc,
        'NULLIF',
      ) as [Bound, Bound];
      if (a.type.kind === 'ROW') rowsNotComparable('with NULLIF', ctx, loc);
      const cmp = comparator(a.type.kind === 'NULL' ? 'INTEGER' : a.type.kind);
      return fold({
        type: { ...a.type, nullable: true },
        cols: mergeCols(a, b),
        gen: (c) => {
          const ea = a.gen(c);
          const eb = b.gen(c);
          return (r1, r2) => {
            const x = ea(r1, r2);
            if (x === null) return null;
            const y = eb(r1, r2);
            return y !== null && cmp(x, y) === 0 ? null : x;
          };
        },
      });
    }
    default:
      throw sqlError(
        'SqlUnsupported',
        `unsupported expression ${String(n.kind).replace('AEXPR_', '')}`,
        ctx,
        loc,
        {
          construct: n.kind,
        },
      );
  }
}

/** True for `SAFE_CAST(x AS t)` (written `     CAST(` by dialect.ts; the program text still says SAFE_CAST). */
function isSafeCast(ctx: BindContext, loc: unknown): boolean {
  if (typeof loc !== 'number' || loc < 0) return false;
  const at = ctx.source.charOffset(loc);
  return at >= 5 && ctx.source.slice(at - 5, at).toUpperCase() === 'SAFE_';
}

/** Feldera's SAFE_CAST: like CAST, but a value that does not convert gives NULL instead of an error. */
function safeCast(arg: Bound, t: SqlType, ctx: BindContext, loc: unknown): Bound {
  const type = { ...t, nullable: true };
  // Feldera refuses SAFE_CAST between ROW types whose fields differ (a field cannot become NULL on its own)
  if (t.kind === 'ROW' && arg.type.kind === 'ROW') {
    const shape = (r: SqlType) =>
      `ROW(${(r.fields ?? []).map((f) => typeToSql({ ...f.type, nullable: false })).join(', ')})`;
    if (shape(arg.type) !== shape(t))
      throw sqlError(
        'SqlTypeError',
        `SAFE_CAST cannot be used to convert ${shape(arg.type)} to ${shape(t)}: use CAST, or SAFE_CAST each field`,
        ctx,
        loc,
      );
  }
  if (arg.unknownLiteral) {
    try {
      return { ...coerce(arg, t, ctx, loc, 'SAFE_CAST'), type };
    } catch (e) {
      if (e instanceof ServiceError && e.errorCode === 'SqlTypeError') return literal(null, type);
      throw e;
    }
  }
  let f: (v: Value) => Value;
  try {
    f = compileCast(arg.type, t, true);
  } catch (e) {
    throw sqlError('SqlTypeError', (e as Error).message, ctx, loc);
  }
  return strict(type, [arg], (v) => {
    try {
      return f(v);
    } catch (e) {
      if (e instanceof ServiceError) return null;
      throw e;
    }
  });
}

/** `s RLIKE p` / `s NOT RLIKE p` (written `~` / `!~` by dialect.ts): the RLIKE function, negated. */
function bindRlike(n: Ast, negated: boolean, ctx: BindContext): Bound {
  const call = {
    FuncCall: { funcname: [{ String: { sval: 'rlike' } }], args: [n.lexpr, n.rexpr], location: n.location },
  };
  const m = bindExpr(call, ctx);
  return negated ? not(m) : m;
}

/**
 * An argument of UPPER, LOWER, LENGTH, SUBSTRING, TRIM, POSITION: a string as such; another scalar (a number,
 * BOOLEAN, UUID, date/time) converted to VARCHAR, as Feldera's string functions take them. Bytes are refused
 * (SUBSTRING and POSITION of bytes have their own byte-wise forms).
 */
function textArgument(b: Bound, ctx: BindContext, loc: unknown, what: string): Bound {
  if (isString(b.type) || b.type.kind === 'NULL' || b.unknownLiteral || NESTED_KINDS.has(b.type.kind))
    return coerceString(b, ctx, loc, what);
  if (b.type.kind === 'BINARY' || b.type.kind === 'VARBINARY')
    throw sqlError(
      'SqlTypeError',
      `Cannot apply '${what}' to arguments of type ${typeToSql(b.type)}`,
      ctx,
      loc,
    );
  return castBound(b, sqlType('VARCHAR', b.type.nullable, { length: null }));
}

function isBytesArg(b: Bound | undefined): boolean {
  return b?.type.kind === 'BINARY' || b?.type.kind === 'VARBINARY';
}

/** SUBSTRING of bytes (lowercase hex): 1-based byte positions, as for strings; the result is VARBINARY. */
function byteSubstring(args: readonly Bound[], int: (i: number) => Bound): Bound {
  const b = args[0] as Bound;
  const from = int(1);
  const len = args.length === 3 ? int(2) : null;
  const type = sqlType('VARBINARY', b.type.nullable || from.type.nullable || !!len?.type.nullable, {
    length: null,
  });
  const cut = (hex: string, f: number, l: number | null): string => {
    const start = Math.max(f, 1);
    const end = l === null ? Number.POSITIVE_INFINITY : f + l;
    if (l !== null && l < 0)
      throw new ServiceError('SqlRuntimeError', 'negative substring length not allowed');
    return end <= start
      ? ''
      : hex.slice((start - 1) * 2, end === Number.POSITIVE_INFINITY ? undefined : (end - 1) * 2);
  };
  return len === null
    ? strict(type, [b, from], (x, f) => cut(x as string, f as number, null))
    : strict(type, [b, from, len], (x, f, l) => cut(x as string, f as number, l as number));
}

/** POSITION of bytes in bytes: the 1-based byte position of the first occurrence (0 when absent; 1 for empty). */
function bytePosition(hay: Bound, needle: Bound): Bound {
  return strict(sqlType('INTEGER', hay.type.nullable || needle.type.nullable), [hay, needle], (h, nd) => {
    const hs = h as string;
    const ns = nd as string;
    for (let i = 0; i + ns.length <= hs.length; i += 2) if (hs.startsWith(ns, i)) return i / 2 + 1;
    return 0;
  });
}

function coerceString(b: Bound, ctx: BindContext, loc: unknown, what: string): Bound {
  if (isString(b.type)) return b.unknownLiteral ? { ...b, unknownLiteral: false } : charPadded(b);
  if (b.type.kind === 'NULL') return literal(null, sqlType('VARCHAR', true, { length: null }));
  throw sqlError('SqlTypeError', `${what} needs a character string, got ${typeToSql(b.type)}`, ctx, loc);
}

function bindCase(n: Ast, ctx: BindContext): Bound {
  const subject = n.arg ? bindExpr(n.arg, ctx) : null;
  const whens = (n.args as Ast[]).map((w) => w.CaseWhen);
  const conds: Bound[] = whens.map((w) => {
    const c = bindExpr(w.expr, ctx);
    return subject
      ? comparison('=', subject, c, ctx, w.location)
      : expectBoolean(c, ctx, w.location, 'CASE WHEN');
  });
  const results = whens.map((w) => bindExpr(w.result, ctx));
  const dflt = n.defresult ? bindExpr(n.defresult, ctx) : literal(null, sqlType('NULL', true));
  const unified = unify([...results, dflt], ctx, n.location, 'CASE');
  const outs = unified.slice(0, results.length);
  const other = unified[unified.length - 1] as Bound;
  const type = { ...(unified[0] as Bound).type, nullable: unified.some((u) => u.type.nullable) };
  return fold({
    type,
    cols: mergeCols(...conds, ...unified),
    gen: (c) => {
      const ce = conds.map((x) => x.gen(c));
      const re = outs.map((x) => x.gen(c));
      const de = other.gen(c);
      return (a, b) => {
        for (let i = 0; i < ce.length; i++) if ((ce[i] as Ev)(a, b) === true) return (re[i] as Ev)(a, b);
        return de(a, b);
      };
    },
  });
}

/** The aggregate functions Holdfast implements (the one list: the planner, the binder and sql/aggregates.ts). */
const AGGREGATE_NAME_LIST = [
  'count',
  'sum',
  'avg',
  'min',
  'max',
  'arg_min',
  'arg_max',
  'bool_and',
  'bool_or',
  'countif',
  'bit_and',
  'bit_or',
  'bit_xor',
  'stddev_pop',
  'stddev_samp',
  'var_pop',
  'var_samp',
  'array_agg',
  'regr_count',
  'regr_sxx',
  'regr_syy',
  'regr_sxy',
  'regr_avgx',
  'regr_avgy',
  'regr_slope',
  'regr_intercept',
  'regr_r2',
  'covar_pop',
  'covar_samp',
  'corr',
  '$map', // MAP(SELECT k, v ...), Feldera's MAP aggregate (collection-subqueries.ts); not callable unquoted
] as const;
export type AggregateName = (typeof AGGREGATE_NAME_LIST)[number];
/** Feldera's other names for aggregates (`s0me` is SOME after the dialect pre-pass, see `dialect.ts`). */
export const AGGREGATE_ALIASES: Readonly<Record<string, AggregateName>> = {
  every: 'bool_and',
  logical_and: 'bool_and',
  some: 'bool_or',
  s0me: 'bool_or',
  logical_or: 'bool_or',
  stddev: 'stddev_samp',
  variance: 'var_samp',
  array_ag$: 'array_agg', // ARRAY_AGG(x IGNORE NULLS) after its pre-pass (null-treatment-syntax.ts)
};
/** Every name that calls an aggregate: the implemented ones and their aliases. */
export const AGGREGATE_NAMES: ReadonlySet<string> = new Set([
  ...AGGREGATE_NAME_LIST,
  ...Object.keys(AGGREGATE_ALIASES),
]);

/** A call's function name, lower-cased (its last part). */
function funcName(n: Ast): string {
  const parts = names(n.funcname);
  return String(parts[parts.length - 1] ?? '').toLowerCase();
}

function bindFunc(n: Ast, ctx: BindContext): Bound {
  const fname = names(n.funcname);
  const name = (fname[fname.length - 1] as string).toLowerCase();
  const loc = n.location;
  if (AGGREGATE_NAMES.has(name) && !(fname.length === 2 && fname[0] === 'pg_catalog')) {
    const shown = (name === 's0me' ? 'some' : name).toUpperCase(); // see dialect.ts
    throw sqlError(
      'SqlNameError',
      ctx.aggregateScope === undefined && !ctx.grouped
        ? `aggregate function ${shown} is not allowed in ${ctx.clause ?? 'this clause'}`
        : `aggregate function ${shown} is not allowed here`,
      ctx,
      loc,
      { name },
    );
  }
  if (n.over)
    throw sqlError('SqlUnsupported', 'window functions are not supported', ctx, loc, { construct: 'OVER' });
  const special =
    bindDatetimeSpecial(name, n, ctx, bindExpr) ?? // unit arguments: DATE_PART(YEAR, d), ...
    bindCeilFloorTo(name, n, ctx, bindExpr) ?? // CEIL(x TO DAY), rewritten to ceil(x, DAY)
    bindLambdaCall(name, n, ctx, bindExpr) ?? // TRANSFORM(a, x -> e), ARRAY_EXISTS(a, x -> p)
    bindVariantLambdaCall(name, n, ctx, bindExpr); // VARIANT_FILTER(v, (k, x) -> p), VARIANT_MAP, ...
  if (special) return special;
  const args: Bound[] = ((n.args ?? []) as Ast[]).map((a) => bindExpr(a, ctx));
  const argc = (lo: number, hi = lo) => {
    if (args.length < lo || args.length > hi) {
      throw sqlError(
        'SqlTypeError',
        `function ${name.toUpperCase()} takes ${lo === hi ? lo : `${lo} to ${hi}`} arguments`,
        ctx,
        loc,
      );
    }
  };
  const num = (i: number) => {
    const a = args[i] as Bound;
    if (a.unknownLiteral)
      return coerce(a, sqlType('DECIMAL', false, { precision: null, scale: null }), ctx, loc, name);
    if (a.type.kind === 'NULL') return literal(null, sqlType('DOUBLE', true));
    // Feldera converts a character string to a number (DECIMAL) here: CEIL(s), ROUND(s), SIGN(s), ABS(s)
    if (isString(a.type))
      return castBound(a, sqlType('DECIMAL', a.type.nullable, { precision: null, scale: null }));
    if (!isNumeric(a.type))
      throw sqlError(
        'SqlTypeError',
        `function ${name.toUpperCase()}(${typeToSql(a.type)}) does not exist`,
        ctx,
        loc,
      );
    return a;
  };
  const str = (i: number) => textArgument(args[i] as Bound, ctx, loc, name.toUpperCase());
  const int = (i: number) =>
    coerce(
      args[i] as Bound,
      sqlType('INTEGER', (args[i] as Bound).type.nullable),
      ctx,
      loc,
      name.toUpperCase(),
    );
  const text = (nullable: boolean) => sqlType('VARCHAR', nullable, { length: null });
  switch (name) {
    case 'abs': {
      argc(1);
      const a = num(0);
      return strict(a.type, [a], arith.abs(a.type.kind));
    }
    case 'floor':
    case 'ceil':
    case 'ceiling': {
      argc(1);
      const a = num(0);
      if (isInteger(a.type)) return a; // an integer is its own floor and ceiling, of its own type (Feldera)
      return strict(a.type, [a], name === 'floor' ? arith.floor(a.type.kind) : arith.ceil(a.type.kind));
    }
    case 'round': {
      argc(1, 2);
      let a = num(0);
      if (args.length === 2 && (a.type.kind === 'DOUBLE' || a.type.kind === 'REAL'))
        return roundFloatCall(a, int(1));
      if (args.length === 2) {
        a = castBound(a, sqlType('DECIMAL', a.type.nullable, { precision: null, scale: null }));
        const s = int(1);
        return strict(a.type, [a, s], (x, d) => (x as Decimal).round(d as number));
      }
      if (isInteger(a.type)) a = castBound(a, sqlType('DOUBLE', a.type.nullable));
      return strict(a.type, [a], arith.round(a.type.kind));
    }
    case 'upper':
    case 'lower': {
      argc(1);
      const a = str(0);
      return strict(
        text(a.type.nullable),
        [a],
        name === 'upper' ? (s) => (s as string).toUpperCase() : (s) => (s as string).toLowerCase(),
      );
    }
    case 'length':
    case 'char_length':
    case 'character_length': {
      argc(1);
      const a = str(0);
      return strict(sqlType('INTEGER', a.type.nullable), [a], (s) => charLength(s as string));
    }
    case 'substring':
    case 'substr': {
      argc(2, 3);
      if (isBytesArg(args[0])) return byteSubstring(args as Bound[], int);
      const s = str(0);
      const from = int(1);
      if (args.length === 3) {
        const len = int(2);
        return strict(
          text(s.type.nullable || from.type.nullable || len.type.nullable),
          [s, from, len],
          (x, f, l) => substring(x as string, f as number, l as number),
        );
      }
      return strict(text(s.type.nullable || from.type.nullable), [s, from], (x, f) =>
        substring(x as string, f as number),
      );
    }
    case 'btrim':
    case 'ltrim':
    case 'rtrim': {
      argc(1, 2);
      const mode = name === 'btrim' ? 'both' : name === 'ltrim' ? 'leading' : 'trailing';
      const s = str(0);
      if (args.length === 2) {
        const chars = str(1);
        return strict(text(s.type.nullable || chars.type.nullable), [s, chars], (x, c) =>
          trim(x as string, mode, c as string),
        );
      }
      return strict(text(s.type.nullable), [s], (x) => trim(x as string, mode));
    }
    case 'position':
    case 'strpos': {
      argc(2);
      // POSITION(needle IN haystack) arrives as position(haystack, needle), like strpos.
      if (isBytesArg(args[0]) && isBytesArg(args[1])) return bytePosition(args[0] as Bound, args[1] as Bound);
      const hay = str(0);
      const needle = str(1);
      return strict(sqlType('INTEGER', hay.type.nullable || needle.type.nullable), [hay, needle], (h, nd) =>
        position(nd as string, h as string),
      );
    }
    case 'extract':
    case 'date_part': {
      argc(2);
      const field = args[0] as Bound;
      if (!field.literal || typeof field.literal.value !== 'string') {
        throw sqlError('SqlUnsupported', 'EXTRACT needs a literal field name', ctx, loc);
      }
      return bindExtract(field.literal.value, args[1] as Bound, ctx, loc);
    }
    case 'div_null': {
      // Feldera (sqllib's div_null): a / b, but NULL when b is zero (instead of an error or ±Infinity)
      argc(2);
      const div = arithmetic('/', args[0] as Bound, args[1] as Bound, ctx, loc);
      const by = args[1] as Bound;
      const isZero = (v: Value) =>
        v instanceof Decimal ? v.isZero() : typeof v === 'bigint' ? v === 0n : Number(v) === 0;
      return fold({
        type: { ...div.type, nullable: true },
        cols: mergeCols(div, by),
        gen: (c) => {
          const d = div.gen(c);
          const b = by.gen(c);
          return (x, y) => {
            const v = b(x, y);
            return v === null || isZero(v) ? null : d(x, y);
          };
        },
      });
    }
    case 'ifnull': // Feldera: IFNULL(a, b) is COALESCE(a, b)
      argc(2);
      return bindExpr({ CoalesceExpr: { args: n.args, location: loc } }, ctx);
    case 'coalesce':
    case 'nullif':
      throw sqlError('SqlUnsupported', `unexpected function form ${name}`, ctx, loc);
    default: {
      const udf = fname.length === 1 ? ctx.functions?.get(name) : undefined;
      if (udf) return udf.call(args, ctx, loc);
      const impl = scalarFunction(name);
      if (impl) return impl({ name, args, ctx, loc, node: n, argc, num, str, int });
      throw sqlError('SqlUnsupported', `function ${name.toUpperCase()} is not supported`, ctx, loc, {
        construct: name.toUpperCase(),
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// type names

function isBytesKind(k: TypeKind): boolean {
  return k === 'BINARY' || k === 'VARBINARY';
}

/** A string literal CAST to bytes is its UTF-8 (Feldera); only an implicit coercion reads it as hex digits. */
function textToBytes(arg: Bound, t: SqlType): Bound {
  return arg.unknownLiteral && isBytesKind(t.kind) ? { ...arg, unknownLiteral: false } : arg;
}

/** In a CAST, a bare `BINARY` is `BINARY(1)` as in Feldera (a column declared `BINARY` holds any length). */
function bareBinaryIsOne(tn: Ast, t: SqlType): SqlType {
  const bare = t.kind === 'BINARY' && t.length == null && (tn.typmods ?? []).length === 0 && !tn.arrayBounds;
  return bare ? { ...t, length: 1 } : t;
}

/** Resolves a TypeName AST node (DDL and CAST) to an SqlType. */
/**
 * `column`: the type of a table column. A column declared `CHAR` without a length holds strings of any length
 * (Feldera keeps them whole); everywhere else (`CAST(x AS CHAR)`) a bare `CHAR` is `CHAR(1)`.
 */
export function resolveTypeName(tn: Ast, ctx: BindContext, nullable = true, column = false): SqlType {
  // Feldera's nested types (type-expr.ts) and Postgres's `T ARRAY` / `T[]` (elements nullable)
  if (tn.arrayBounds) {
    let t = resolveTypeName({ ...tn, arrayBounds: undefined }, ctx, true);
    for (let i = 0; i < tn.arrayBounds.length; i++)
      t = sqlType('ARRAY', i === tn.arrayBounds.length - 1 ? nullable : true, { element: t });
    return t;
  }
  if (tn.holdfast !== undefined)
    return componentType(tn.holdfast, nullable, (leaf, n) => resolveTypeName(leaf, ctx, n));
  const parts = names(tn.names);
  const base = (parts[parts.length - 1] as string).toLowerCase();
  const mods: number[] = ((tn.typmods ?? []) as Ast[]).map((m) => m.A_Const?.ival?.ival ?? 0);
  const plain = (kind: TypeKind) => {
    if (mods.length > 0) throw sqlError('SqlTypeError', `type ${kind} takes no modifiers`, ctx, tn.location);
    return sqlType(kind, nullable);
  };
  switch (base) {
    case 'bool':
    case 'boolean':
      return plain('BOOLEAN');
    case 'tinyint':
    case 'int1':
      return plain('TINYINT');
    case 'int2':
    case 'smallint':
      return plain('SMALLINT');
    case 'int4':
    case 'int':
    case 'integer':
      return plain('INTEGER');
    case 'int8':
    case 'int64': // Feldera's alias
    case 'bigint':
      return plain('BIGINT');
    // Feldera's unsigned integers (`TINYINT UNSIGNED` arrives here as utinyint, see dialect.ts)
    case 'utinyint':
      return plain('UTINYINT');
    case 'usmallint':
      return plain('USMALLINT');
    case 'uint':
    case 'uinteger':
      return plain('UINTEGER');
    case 'ubigint':
      return plain('UBIGINT');
    case 'float4':
    case 'float32': // Feldera's alias
    case 'real':
      return plain('REAL');
    case 'float8':
    case 'float64': // Feldera's alias
    case 'double':
      return plain('DOUBLE');
    case 'numeric':
    case 'number': // Feldera's alias
    case 'decimal': {
      if (mods.length === 0) return sqlType('DECIMAL', nullable, { precision: null, scale: null });
      const p = mods[0] as number;
      const s = mods[1] ?? 0;
      if (p < 1 || p > 1000 || s < 0 || s > p) {
        throw sqlError(
          'SqlTypeError',
          `DECIMAL(${p}, ${s}) is out of range: precision 1..1000, scale 0..precision`,
          ctx,
          tn.location,
        );
      }
      return sqlType('DECIMAL', nullable, { precision: p, scale: s });
    }
    case 'varchar':
    case 'bpchar':
    case 'char':
    case 'character': {
      const kind = base === 'varchar' ? 'VARCHAR' : 'CHAR';
      // the grammar gives a bare CHAR the length 1 at no position (location -1)
      const bare = kind === 'CHAR' && (tn.typmods?.[0]?.A_Const?.location ?? -1) < 0;
      const len = bare && column ? null : (mods[0] ?? (kind === 'CHAR' ? 1 : null));
      if (len !== null && len < 1)
        throw sqlError('SqlTypeError', `length for type ${kind} must be at least 1`, ctx, tn.location);
      return sqlType(kind, nullable, { length: len });
    }
    case 'text':
    case 'string':
      return plain('VARCHAR');
    // Feldera's byte strings: BINARY(n) and VARBINARY(n) hold at most n bytes (no padding); without n, any
    case 'binary':
    case 'varbinary':
    case 'bytea': {
      const len = mods[0] ?? null;
      if (len !== null && len < 1)
        throw sqlError(
          'SqlTypeError',
          `length for type ${base.toUpperCase()} must be at least 1`,
          ctx,
          tn.location,
        );
      return sqlType(base === 'binary' ? 'BINARY' : 'VARBINARY', nullable, { length: len });
    }
    case 'uuid':
      return plain('UUID');
    case 'date':
      return plain('DATE');
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return temporalTypeName(base, mods, nullable, ctx, tn.location);
    case 'interval':
      return resolveIntervalType(mods, nullable, ctx, tn.location);
    case 'variant':
      return plain('VARIANT');
    default:
      throw sqlError(
        'SqlUnsupported',
        `type ${parts.join('.').toUpperCase()} is not supported`,
        ctx,
        tn.location,
        {
          construct: base.toUpperCase(),
        },
      );
  }
}
