/**
 * Binding of the nested-type expressions (issue 19), called by `expr.ts`: `ARRAY[...]` constructors (numbers mixed
 * with character strings make a VARCHAR array, as Feldera types them), `ROW(...)`
 * and anonymous rows `(a, b)`, indexing `a[i]` (1-based; out of range → NULL), `m[k]` (absent key → NULL),
 * VARIANT indexing (`v[1]`, `v['k']` → VARIANT, NULL when absent or of another shape), Feldera's 0-based
 * `a[SAFE_OFFSET(i)]` (out of range → NULL) and field access `r.f` / `(r).f` / `t.c.f` (NULL row → NULL field;
 * on a VARIANT, `v.f` is `v['f']`, as Feldera defines it).
 */
import type { Value } from '../zset/value.ts';
import {
  type BindContext,
  type Bound,
  castBound,
  coerce,
  fold,
  literal,
  mergeCols,
  sqlError,
  strict,
  unify,
} from './bound.ts';
import { type SqlType, sqlType, typeToSql } from './sql-type.ts';
import { isNumeric, isString } from './types-rules.ts';
import { SqlArray, SqlMap, SqlRow, Variant } from './values/collections.ts';

/**
 * Feldera's widening of an array constructor that mixes numbers with character strings (`ARRAY[1.5, 'a']`,
 * `ARRAY(intcol, deccol, varcharcol)`): a VARCHAR array, each number converted to its own text (`-12`,
 * `-1111.52`, `-38.2711234601246`); a string literal counts as a string here. Other mixes are left to `unify`.
 * With `booleans`, BOOLEANs mix too (`'TRUE'`): COALESCE and set operations, as Feldera types them.
 */
export function widenToText(elements: readonly Bound[], booleans = false): Bound[] | null {
  const text = (b: Bound) => isString(b.type) || (b.unknownLiteral === true && b.type.kind !== 'NULL');
  const other = (b: Bound) => isNumeric(b.type) || (booleans && b.type.kind === 'BOOLEAN');
  if (!elements.some(text) || !elements.some((b) => other(b) && !b.unknownLiteral)) return null;
  if (!elements.every((b) => text(b) || other(b) || b.type.kind === 'NULL')) return null;
  return elements.map((b) =>
    b.type.kind === 'VARCHAR' && !b.unknownLiteral
      ? b
      : castBound(b, sqlType('VARCHAR', b.type.nullable || b.type.kind === 'NULL', { length: null })),
  );
}

/** `ARRAY[e1, e2, ...]`: elements unified to their common type (numbers with strings: VARCHAR, as Feldera). */
export function arrayOf(elements: readonly Bound[], ctx: BindContext, loc: unknown): Bound {
  const items = elements.length === 0 ? [] : (widenToText(elements) ?? unify(elements, ctx, loc, 'ARRAY'));
  const first = items[0];
  const element: SqlType =
    first === undefined
      ? sqlType('NULL', true)
      : { ...first.type, nullable: items.some((x) => x.type.nullable || x.type.kind === 'NULL') };
  const type = sqlType('ARRAY', false, {
    element: element.kind === 'NULL' ? sqlType('NULL', true) : element,
  });
  return fold({
    type,
    cols: mergeCols(...items),
    gen: (c) => {
      const evs = items.map((x) => x.gen(c));
      return (a, b) => new SqlArray(evs.map((e) => e(a, b)));
    },
  });
}

/**
 * `ROW(e1, e2, ...)` / `(e1, e2, ...)`: fields named EXPR$0, EXPR$1, ... (Calcite's names), or `names` (the
 * rows of `ARRAY(SELECT a, b ...)`, named after the query's columns).
 */
export function rowOf(args: readonly Bound[], names?: readonly string[]): Bound {
  const type = sqlType('ROW', false, {
    fields: args.map((x, i) => ({
      name: names?.[i] ?? `EXPR$${i}`,
      type: x.type.kind === 'NULL' ? sqlType('NULL', true) : x.type,
    })),
  });
  return fold({
    type,
    cols: mergeCols(...args),
    gen: (c) => {
      const evs = args.map((x) => x.gen(c));
      return (a, b) => new SqlRow(evs.map((e) => e(a, b)));
    },
  });
}

/** Field `name` of a ROW-typed expression (case-insensitive unless an exact match exists). */
export function fieldAccess(b: Bound, name: string, ctx: BindContext, loc: unknown): Bound {
  // Feldera: `variant.field` is `variant['field']` (the name as the dialect cases it: unquoted, lower case)
  if (b.type.kind === 'VARIANT')
    return subscript(b, literal(name, sqlType('VARCHAR', false, { length: null })), ctx, loc);
  if (b.type.kind !== 'ROW') {
    throw sqlError(
      'SqlTypeError',
      `field access .${name} needs a ROW value, got ${typeToSql(b.type)}`,
      ctx,
      loc,
    );
  }
  const fields = b.type.fields ?? [];
  let i = fields.findIndex((f) => f.name === name);
  if (i < 0) i = fields.findIndex((f) => f.name.toLowerCase() === name.toLowerCase());
  if (i < 0) {
    throw sqlError(
      'SqlNameError',
      `type ${typeToSql(b.type)} has no field "${name}"; fields: ${fields.map((f) => f.name).join(', ')}`,
      ctx,
      loc,
      { name },
    );
  }
  const ft = (fields[i] as { type: SqlType }).type;
  return strict(
    { ...ft, nullable: ft.nullable || b.type.nullable },
    [b],
    (v) => (v as SqlRow).fields[i] as Value,
  );
}

/** `base[index]` for ARRAY, MAP and VARIANT. */
export function subscript(base: Bound, index: Bound, ctx: BindContext, loc: unknown): Bound {
  const t = base.type;
  if (t.kind === 'ARRAY') {
    const i = coerce(index, sqlType('INTEGER', index.type.nullable), ctx, loc, 'array index');
    const et = t.element as SqlType;
    return strict({ ...et, nullable: true }, [base, i], (a, n) => {
      const items = (a as SqlArray).items;
      const k = (n as number) - 1;
      return k >= 0 && k < items.length ? (items[k] as Value) : null;
    });
  }
  if (t.kind === 'MAP') {
    const k = coerce(index, { ...(t.key as SqlType), nullable: index.type.nullable }, ctx, loc, 'map key');
    return strict(
      { ...(t.value as SqlType), nullable: true },
      [base, k],
      (m, key) => (m as SqlMap).get(key) ?? null,
    );
  }
  if (t.kind === 'ROW' && index.literal && typeof index.literal.value === 'number') {
    // Feldera: a ROW indexed by a constant 1-based position is that field
    const k = index.literal.value;
    const f = (t.fields ?? [])[k - 1];
    if (f === undefined)
      throw sqlError(
        'SqlTypeError',
        `ROW index ${k} is out of range: the row has ${(t.fields ?? []).length} fields`,
        ctx,
        loc,
      );
    return fieldAccess(base, f.name, ctx, loc);
  }
  if (t.kind === 'VARIANT') {
    return strict(sqlType('VARIANT', true), [base, index], (v, key) => {
      const inner = (v as Variant).value;
      if (inner instanceof SqlArray && typeof key === 'number') {
        return (inner.items[key - 1] as Value | undefined) ?? null;
      }
      if (inner instanceof SqlMap) {
        const keyVariant = key instanceof Variant ? key : new Variant(key);
        return inner.get(keyVariant) ?? null;
      }
      return null;
    });
  }
  throw sqlError(
    'SqlTypeError',
    `cannot subscript type ${typeToSql(t)}: it is not an ARRAY, MAP or VARIANT`,
    ctx,
    loc,
  );
}

/** The argument of a subscript written `[SAFE_OFFSET(i)]` (Feldera's 0-based array index), or undefined. */
// biome-ignore lint/suspicious/noExplicitAny: the Postgres AST is untyped JSON
export function safeOffsetArgument(uidx: any): unknown {
  const fc = uidx?.FuncCall;
  const name = fc?.funcname as Array<{ String?: { sval?: string } }> | undefined;
  if (name?.length !== 1 || name[0]?.String?.sval?.toLowerCase() !== 'safe_offset') return undefined;
  if (!Array.isArray(fc.args) || fc.args.length !== 1 || fc.agg_star || fc.over) return undefined;
  return fc.args[0];
}

/** `a[SAFE_OFFSET(i)]`: the element at 0-based position `i` of an ARRAY; NULL when out of range or NULL. */
export function safeOffset(base: Bound, index: Bound, ctx: BindContext, loc: unknown): Bound {
  if (base.type.kind !== 'ARRAY')
    throw sqlError(
      'SqlTypeError',
      `SAFE_OFFSET indexes an ARRAY (0-based), got ${typeToSql(base.type)}: use [i] for a MAP or VARIANT`,
      ctx,
      loc,
    );
  const i = coerce(index, sqlType('INTEGER', index.type.nullable), ctx, loc, 'array index');
  const et = base.type.element as SqlType;
  return strict({ ...et, nullable: true }, [base, i], (a, n) => {
    const items = (a as SqlArray).items;
    const k = n as number;
    return k >= 0 && k < items.length ? (items[k] as Value) : null;
  });
}
