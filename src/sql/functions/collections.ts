/**
 * SQL scalar functions: ARRAY, MAP, ROW and VARIANT/JSON functions of Feldera's reference (part 3).
 * Registered by name in `index.ts`; each entry binds its arguments' types and returns a bound expression.
 *
 * NULL rules (Feldera's): a NULL array or map argument gives NULL; NULL elements are values like any other
 * (ARRAY_CONTAINS finds them, ARRAY_DISTINCT keeps one); ARRAY_EXCEPT / ARRAY_INTERSECT / ARRAY_UNION return
 * their distinct elements sorted (NULL first); ARRAY_MAX / ARRAY_MIN ignore NULL elements; positions are
 * 1-based (0 = not found).
 */
import type { Value } from '../../zset/value.ts';
import { type Bound, coerce, literal, sqlError, strict, unify } from '../bound.ts';
import { arrayOf } from '../nested-expr.ts';
import { type SqlType, sqlType, typeToSql } from '../sql-type.ts';
import { isString } from '../types-rules.ts';
import { compareAny, SqlArray, SqlMap, VARIANT_NULL, type Variant } from '../values/collections.ts';
import { formatValue } from '../values/format.ts';
import { variantFromJson, variantJsonText } from '../values/nested-json.ts';
import { variantTypeOf } from '../values/variant-types.ts';
import type { FunctionCall, FunctionImpl } from './types.ts';

const INT = (nullable: boolean) => sqlType('INTEGER', nullable);
const BOOL = (nullable: boolean) => sqlType('BOOLEAN', nullable);

function fail(call: FunctionCall, what: string): never {
  throw sqlError(
    'SqlTypeError',
    `cannot apply ${call.name.toUpperCase()} to arguments of type ${call.args.map((a) => typeToSql(a.type)).join(', ')}: ${what}`,
    call.ctx,
    call.loc,
  );
}

/** Argument i, which must be an ARRAY (a NULL literal becomes a NULL array of NULLs). */
function array(call: FunctionCall, i: number): Bound {
  const b = call.args[i] as Bound;
  if (b.type.kind === 'NULL')
    return literal(null, sqlType('ARRAY', true, { element: sqlType('NULL', true) }));
  if (b.type.kind !== 'ARRAY') fail(call, `argument ${i + 1} must be an ARRAY`);
  return b;
}

function map(call: FunctionCall, i: number): Bound {
  const b = call.args[i] as Bound;
  if (b.type.kind !== 'MAP') fail(call, `argument ${i + 1} must be a MAP`);
  return b;
}

const elementOf = (b: Bound): SqlType => b.type.element as SqlType;
const items = (v: Value): readonly Value[] => (v as SqlArray).items;

/** `x` converted to the element type of `arr` (the element may be NULL). */
function asElement(call: FunctionCall, arr: Bound, x: Bound): Bound {
  const et = elementOf(arr);
  if (et.kind === 'NULL') return x;
  return coerce(
    x,
    { ...et, nullable: x.type.nullable },
    call.ctx,
    call.loc,
    `${call.name.toUpperCase()} element`,
  );
}

/** Like `strict` but only the listed arguments make the result NULL when NULL. */
function nullOn(
  type: SqlType,
  args: readonly Bound[],
  strictArgs: readonly number[],
  f: (...vs: Value[]) => Value,
): Bound {
  const cols = [...new Set(args.flatMap((a) => a.cols))].sort((x, y) => x - y);
  return {
    type,
    cols,
    gen: (ctx) => {
      const evs = args.map((a) => a.gen(ctx));
      return (a, b) => {
        const vs = evs.map((e) => e(a, b));
        for (const i of strictArgs) if (vs[i] === null) return null;
        return f(...vs);
      };
    },
  };
}

const sameValue = (x: Value, y: Value): boolean => compareAny(x, y) === 0;

function distinct(vs: readonly Value[]): Value[] {
  const out: Value[] = [];
  for (const v of vs) if (!out.some((o) => sameValue(o, v))) out.push(v);
  return out;
}

function sortedDistinct(vs: readonly Value[]): Value[] {
  // NULL first, as Feldera returns these set operations
  return distinct(vs).sort((x, y) => (x === null ? -1 : y === null ? 1 : compareAny(x, y)));
}

function sameElementType(call: FunctionCall, a: Bound, b: Bound): [Bound, Bound] {
  const ea = elementOf(a);
  const eb = elementOf(b);
  if (ea.kind === 'NULL' || eb.kind === 'NULL' || ea.kind === eb.kind) return [a, b];
  fail(call, `element types ${typeToSql(ea)} and ${typeToSql(eb)} differ`);
}

function setOp(op: 'except' | 'intersect' | 'union'): FunctionImpl {
  return (call) => {
    call.argc(2);
    const [a, b] = sameElementType(call, array(call, 0), array(call, 1));
    return strict(
      a.type.kind === 'NULL' ? b.type : { ...a.type, nullable: a.type.nullable || b.type.nullable },
      [a, b],
      (x, y) => {
        const xs = items(x);
        const ys = items(y);
        const inY = (v: Value) => ys.some((w) => sameValue(v, w));
        const vs =
          op === 'except' ? xs.filter((v) => !inY(v)) : op === 'intersect' ? xs.filter(inY) : [...xs, ...ys];
        return new SqlArray(sortedDistinct(vs));
      },
    );
  };
}

function arrayJoin(call: FunctionCall): Bound {
  call.argc(2, 3);
  const a = array(call, 0);
  const et = elementOf(a);
  if (et.kind !== 'NULL' && !isString(et)) fail(call, 'the array must hold character strings');
  const sep = call.str(1);
  const rest = call.args.length === 3 ? [call.str(2)] : [];
  return strict(
    sqlType('VARCHAR', a.type.nullable || sep.type.nullable, { length: null }),
    [a, sep, ...rest],
    (x, s, repl) => {
      const parts: string[] = [];
      for (const v of items(x)) {
        if (v !== null) parts.push(formatValue(v, et));
        else if (repl !== undefined) parts.push(repl as string);
      }
      return parts.join(s as string);
    },
  );
}

function minMax(sign: 1 | -1): FunctionImpl {
  return (call) => {
    call.argc(1);
    const a = array(call, 0);
    return strict({ ...elementOf(a), nullable: true }, [a], (x) => {
      let best: Value = null;
      for (const v of items(x)) if (v !== null && (best === null || sign * compareAny(v, best) > 0)) best = v;
      return best;
    });
  };
}

function cardinality(call: FunctionCall): Bound {
  call.argc(1);
  const b = call.args[0] as Bound;
  if (b.type.kind === 'MAP') return strict(INT(b.type.nullable), [b], (m) => (m as SqlMap).size);
  const a = array(call, 0);
  return strict(INT(a.type.nullable), [a], (x) => items(x).length);
}

function parseJson(call: FunctionCall): Bound {
  call.argc(1);
  const s = call.str(0);
  return strict(sqlType('VARIANT', true), [s], (text) => {
    try {
      return variantFromJson(JSON.parse(text as string));
    } catch {
      return null; // Feldera: text that is not JSON gives NULL
    }
  });
}

export const COLLECTION_FUNCTIONS: Readonly<Record<string, FunctionImpl>> = {
  cardinality,
  // ARRAY(e1, e2, ...): see dialect.ts
  _arry: (call) => arrayOf(call.args, call.ctx, call.loc),
  array_length: (call) => {
    call.argc(1);
    array(call, 0);
    return cardinality(call);
  },
  array_size: (call) => {
    call.argc(1);
    array(call, 0);
    return cardinality(call);
  },
  element: (call) => {
    call.argc(1);
    const a = array(call, 0);
    return strict({ ...elementOf(a), nullable: true }, [a], (x) => {
      const vs = items(x);
      if (vs.length > 1)
        throw sqlError(
          'SqlRuntimeError',
          `ELEMENT: the array has ${vs.length} elements; it must have at most one`,
          call.ctx,
          call.loc,
        );
      return (vs[0] as Value | undefined) ?? null;
    });
  },
  array_append: (call) => {
    call.argc(2);
    const a = array(call, 0);
    const x = asElement(call, a, call.args[1] as Bound);
    const et = elementOf(a).kind === 'NULL' ? x.type : elementOf(a);
    return nullOn(
      { ...a.type, element: { ...et, nullable: et.nullable || x.type.nullable } },
      [a, x],
      [0],
      (v, e) => new SqlArray([...items(v), e as Value]),
    );
  },
  array_prepend: (call) => {
    call.argc(2);
    const a = array(call, 0);
    const x = asElement(call, a, call.args[1] as Bound);
    const et = elementOf(a).kind === 'NULL' ? x.type : elementOf(a);
    return nullOn(
      { ...a.type, element: { ...et, nullable: et.nullable || x.type.nullable } },
      [a, x],
      [0],
      (v, e) => new SqlArray([e as Value, ...items(v)]),
    );
  },
  array_compact: (call) => {
    call.argc(1);
    const a = array(call, 0);
    return strict(
      { ...a.type, element: { ...elementOf(a), nullable: false } },
      [a],
      (v) => new SqlArray(items(v).filter((e) => e !== null)),
    );
  },
  array_concat: (call) => {
    if (call.args.length < 1) call.argc(1);
    const arrays = call.args.map((_, i) => array(call, i));
    for (const b of arrays.slice(1)) sameElementType(call, arrays[0] as Bound, b);
    const withType = arrays.find((b) => elementOf(b).kind !== 'NULL') ?? (arrays[0] as Bound);
    const type = { ...withType.type, nullable: arrays.some((b) => b.type.nullable) };
    return strict(type, arrays, (...vs) => new SqlArray(vs.flatMap((v) => items(v))));
  },
  array_contains: (call) => {
    call.argc(2);
    const a = array(call, 0);
    const x = asElement(call, a, call.args[1] as Bound);
    return strict(BOOL(true), [a, x], (v, e) => items(v).some((w) => w !== null && sameValue(w, e)));
  },
  array_distinct: (call) => {
    call.argc(1);
    const a = array(call, 0);
    return strict(a.type, [a], (v) => new SqlArray(distinct(items(v))));
  },
  array_except: setOp('except'),
  array_intersect: setOp('intersect'),
  array_union: setOp('union'),
  arrays_overlap: (call) => {
    call.argc(2);
    const [a, b] = sameElementType(call, array(call, 0), array(call, 1));
    return strict(BOOL(true), [a, b], (x, y) => {
      const ys = items(y);
      return items(x).some((v) => v !== null && ys.some((w) => w !== null && sameValue(v, w)));
    });
  },
  array_insert: (call) => {
    call.argc(3);
    const a = array(call, 0);
    const pos = call.int(1);
    const x = asElement(call, a, call.args[2] as Bound);
    return nullOn(
      { ...a.type, element: { ...elementOf(a), nullable: true } },
      [a, pos, x],
      [0, 1],
      (v, p, e) => {
        const vs = [...items(v)];
        const k = p as number;
        if (k === 0)
          throw sqlError('SqlRuntimeError', 'ARRAY_INSERT: the position must not be 0', call.ctx, call.loc);
        // 1-based from the start; negative counts from the end (-1 = after the last element)
        const at = k > 0 ? k - 1 : vs.length + k + 1;
        if (at < 0) return new SqlArray([e as Value, ...new Array<Value>(-at - 1).fill(null), ...vs]);
        while (vs.length < at) vs.push(null);
        vs.splice(at, 0, e as Value);
        return new SqlArray(vs);
      },
    );
  },
  array_join: arrayJoin,
  array_to_string: arrayJoin,
  array_max: minMax(1),
  array_min: minMax(-1),
  array_position: (call) => {
    call.argc(2);
    const a = array(call, 0);
    const x = asElement(call, a, call.args[1] as Bound);
    return strict(sqlType('BIGINT', a.type.nullable || x.type.nullable), [a, x], (v, e) => {
      const i = items(v).findIndex((w) => w !== null && sameValue(w, e));
      return BigInt(i + 1);
    });
  },
  array_remove: (call) => {
    call.argc(2);
    const a = array(call, 0);
    const x = asElement(call, a, call.args[1] as Bound);
    return strict(
      a.type,
      [a, x],
      (v, e) => new SqlArray(items(v).filter((w) => w === null || !sameValue(w, e))),
    );
  },
  array_repeat: (call) => {
    call.argc(2);
    const x = call.args[0] as Bound;
    const n = call.int(1);
    const et = x.type.kind === 'NULL' ? sqlType('NULL', true) : x.type;
    return nullOn(
      sqlType('ARRAY', n.type.nullable, { element: et }),
      [x, n],
      [1],
      (e, k) => new SqlArray(new Array<Value>(Math.max(0, k as number)).fill(e as Value)),
    );
  },
  array_reverse: (call) => {
    call.argc(1);
    const a = array(call, 0);
    return strict(a.type, [a], (v) => new SqlArray([...items(v)].reverse()));
  },
  sort_array: (call) => {
    call.argc(1, 2);
    const a = array(call, 0);
    const asc =
      call.args.length === 2
        ? coerce(call.args[1] as Bound, BOOL(false), call.ctx, call.loc, 'SORT_ARRAY order')
        : literal(true, BOOL(false));
    if (!asc.literal) fail(call, 'the order must be a constant TRUE or FALSE');
    const up = asc.literal.value === true;
    return strict(
      a.type,
      [a],
      (v) =>
        new SqlArray(
          [...items(v)].sort((x, y) => {
            // NULLs first ascending, last descending (Spark's sort_array)
            if (x === null || y === null) return x === y ? 0 : (x === null ? -1 : 1) * (up ? 1 : -1);
            return compareAny(x, y) * (up ? 1 : -1);
          }),
        ),
    );
  },
  // maps
  map: (call) => {
    if (call.args.length % 2 !== 0) fail(call, 'MAP[...] needs key, value pairs');
    const keys = call.args.filter((_, i) => i % 2 === 0);
    const values = call.args.filter((_, i) => i % 2 === 1);
    const ks = keys.length > 0 ? unify(keys, call.ctx, call.loc, 'MAP keys') : [];
    const vs = values.length > 0 ? unify(values, call.ctx, call.loc, 'MAP values') : [];
    const kt = ks[0]?.type ?? sqlType('NULL', true);
    const vt = vs[0]?.type ?? sqlType('NULL', true);
    const args = ks.flatMap((k, i) => [k, vs[i] as Bound]);
    return nullOn(
      sqlType('MAP', false, {
        key: { ...kt, nullable: ks.some((k) => k.type.nullable) },
        value: { ...vt, nullable: vs.some((v) => v.type.nullable) },
      }),
      args,
      [],
      (...xs) => {
        const entries: [Value, Value][] = [];
        for (let i = 0; i < xs.length; i += 2) entries.push([xs[i] as Value, xs[i + 1] as Value]);
        return SqlMap.of(entries);
      },
    );
  },
  map_contains_key: (call) => {
    call.argc(2);
    const m = map(call, 0);
    const k = coerce(
      call.args[1] as Bound,
      { ...(m.type.key as SqlType), nullable: true },
      call.ctx,
      call.loc,
      'MAP key',
    );
    return strict(BOOL(true), [m, k], (x, key) => (x as SqlMap).get(key) !== undefined);
  },
  map_keys: (call) => {
    call.argc(1);
    const m = map(call, 0);
    return strict(
      sqlType('ARRAY', m.type.nullable, { element: m.type.key as SqlType }),
      [m],
      (x) => new SqlArray((x as SqlMap).keys),
    );
  },
  map_values: (call) => {
    call.argc(1);
    const m = map(call, 0);
    return strict(
      sqlType('ARRAY', m.type.nullable, { element: m.type.value as SqlType }),
      [m],
      (x) => new SqlArray((x as SqlMap).values),
    );
  },
  // VARIANT / JSON
  parse_json: parseJson,
  to_json: (call) => {
    call.argc(1);
    const b = call.args[0] as Bound;
    if (b.type.kind !== 'VARIANT') fail(call, 'the argument must be a VARIANT');
    return strict(sqlType('VARCHAR', true, { length: null }), [b], (v) => variantJsonText(v as Variant));
  },
  variantnull: (call) => {
    call.argc(0, 0);
    return literal(VARIANT_NULL, sqlType('VARIANT', false));
  },
  typeof: (call) => {
    call.argc(1);
    const b = call.args[0] as Bound;
    if (b.type.kind !== 'VARIANT')
      return literal(typeToSql(b.type), sqlType('VARCHAR', false, { length: null }));
    // an SQL NULL is 'NULL', the VARIANT null 'VARIANT' (Feldera)
    return nullOn(sqlType('VARCHAR', false, { length: null }), [b], [], (v) =>
      v === null ? 'NULL' : variantTypeOf(v as Variant),
    );
  },
};
