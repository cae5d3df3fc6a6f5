/**
 * Feldera's higher-order VARIANT functions, whose second argument is a two-parameter lambda
 * `(key, value) -> expression` (parsed by `lambdas.ts`'s {@link lambdaOf}):
 * - `VARIANT_FILTER(v, (k, x) -> p)`: the object `v` with the top-level fields for which p is TRUE (k and x are
 *   VARIANTs; a nested object or array is one item); any other VARIANT is one item with a NULL key, returned
 *   unchanged when p is TRUE and as SQL NULL otherwise;
 * - `VARIANT_DEEP_FILTER(v, (path, x) -> p)`: the same at every depth: object fields and array elements are
 *   items labelled by their path (`a.b`, `e[1].f`; keys that are not identifiers double-quoted with `\` before
 *   `"` and `\`), p sees the item before its contents are filtered, dropping an item drops its subtree, a
 *   top-level object or array is filtered item by item, a scalar is one item with a NULL path;
 * - `VARIANT_MAP(v, (k, x) -> e)`: the object with each value replaced by e converted to VARIANT (an SQL NULL
 *   becomes the JSON null); any other VARIANT is one item with a NULL key whose e is the result;
 * - `VARIANT_DEEP_MAP(v, (path, x) -> e)`: e applied to every leaf (a value that is neither object nor array,
 *   the JSON null included), the structure kept; a top-level scalar is one leaf with a NULL path.
 * Object fields whose keys are not strings are kept untouched by the deep functions (and passed as they are to
 * VARIANT_FILTER / VARIANT_MAP). A VARIANT made from bytes is a scalar. A NULL predicate drops the item (as
 * WHERE does). An SQL NULL first argument gives NULL. The body reads the parameters and the row's other
 * columns (in a GROUP BY query's select list only the parameters, as for TRANSFORM).
 *
 * State: none. Invariant: the body is evaluated once per item, in key order, with nothing kept between rows.
 */
import type { Row, Value } from '../../zset/value.ts';
import { type BindContext, type Bound, type EvalCtx, fold, type ScopeColumn, sqlError } from '../bound.ts';
import type { Ast } from '../parse.ts';
import { type SqlType, sqlType, typeToSql } from '../sql-type.ts';
import { SqlArray, SqlMap, Variant } from '../values/collections.ts';
import { toVariant } from '../values/nested-cast.ts';
import { lambdaOf } from './lambdas.ts';

type Bind = (a: Ast, c: BindContext) => Bound;
type Name = 'variant_filter' | 'variant_deep_filter' | 'variant_map' | 'variant_deep_map';
const NAMES: ReadonlySet<string> = new Set([
  'variant_filter',
  'variant_deep_filter',
  'variant_map',
  'variant_deep_map',
]);

const VARIANT = sqlType('VARIANT', true);
const PATH = sqlType('VARCHAR', true, { length: null });

/** An object (a map VARIANT), an array (not bytes) or neither. */
function objectOf(x: Variant): SqlMap | null {
  return x.value instanceof SqlMap ? x.value : null;
}
function arrayOf(x: Variant): SqlArray | null {
  return x.value instanceof SqlArray && x.type !== 'BINARY' ? x.value : null;
}

/** A path component for an object key: an identifier as it is, anything else double-quoted. */
export function pathKey(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : `"${key.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function fieldPath(parent: string | null, key: string): string {
  return parent === null ? pathKey(key) : `${parent}.${pathKey(key)}`;
}

function elementPath(parent: string | null, i: number): string {
  return `${parent ?? ''}[${i + 1}]`;
}

/** Binds the four functions; undefined for any other name. */
export function bindVariantLambdaCall(name: string, n: Ast, ctx: BindContext, bind: Bind): Bound | undefined {
  if (!NAMES.has(name)) return undefined;
  const fn = name as Name;
  const shown = name.toUpperCase();
  const deep = fn === 'variant_deep_filter' || fn === 'variant_deep_map';
  const filter = fn === 'variant_filter' || fn === 'variant_deep_filter';
  const args = (n.args ?? []) as Ast[];
  const lambda = args.length === 2 ? lambdaOf(args[1]) : null;
  const first = deep ? 'path' : 'k';
  if (lambda === null || lambda.params.length !== 2)
    throw sqlError(
      'SqlTypeError',
      `${shown} takes a VARIANT and a lambda of two parameters: ${shown}(v, (${first}, x) -> expression)`,
      ctx,
      n.location,
    );
  const v = bind(args[0] as Ast, ctx);
  if (v.type.kind !== 'VARIANT' && v.type.kind !== 'NULL')
    throw sqlError(
      'SqlTypeError',
      `${shown} needs a VARIANT as its first argument, got ${typeToSql(v.type)}`,
      ctx,
      n.location,
    );
  const [p0, p1] = lambda.params as [string, string];
  const k = ctx.columns.length;
  const columns: ScopeColumn[] = [
    ...ctx.columns.map((c) => (c.name === p0 || c.name === p1 ? { ...c, hidden: true } : c)),
    { qualifier: null, name: p0, type: deep ? PATH : VARIANT },
    { qualifier: null, name: p1, type: VARIANT },
  ];
  const body = bind(lambda.body, {
    ...ctx,
    columns,
    grouped: undefined,
    aggregateScope: undefined,
    groupedColumns: undefined,
    clause: `the lambda of ${shown}`,
  });
  if (filter && body.type.kind !== 'BOOLEAN' && body.type.kind !== 'NULL')
    throw sqlError(
      'SqlTypeError',
      `the lambda of ${shown} must be a condition (BOOLEAN), got ${typeToSql(body.type)}`,
      ctx,
      lambda.location,
    );
  const bodyType: SqlType = body.type;
  const cols = [...new Set([...v.cols, ...body.cols.filter((c) => c !== k && c !== k + 1)])].sort(
    (a, b) => a - b,
  );
  return fold({
    type: VARIANT,
    cols,
    gen: (c: EvalCtx) => {
      const vEv = v.gen(c);
      let label: Value = null;
      let item: Value = null;
      const bodyEv = body.gen({
        col: (i) => (i === k ? () => label : i === k + 1 ? () => item : c.col(i)),
      });
      return (a: Row, b: Row) => {
        const x = vEv(a, b) as Variant | null;
        if (x === null) return null;
        const call = (l: Value, it: Variant): Value => {
          label = l;
          item = it;
          return bodyEv(a, b);
        };
        const keep = (l: Value, it: Variant) => call(l, it) === true;
        const mapped = (l: Value, it: Variant): Variant => toVariant(call(l, it), bodyType);
        switch (fn) {
          case 'variant_filter': {
            const m = objectOf(x);
            if (m === null) return keep(null, x) ? x : null;
            const ks: Value[] = [];
            const vs: Value[] = [];
            for (let i = 0; i < m.size; i++)
              if (keep(m.keys[i] as Variant, m.values[i] as Variant)) {
                ks.push(m.keys[i] as Value);
                vs.push(m.values[i] as Value);
              }
            return new Variant(new SqlMap(ks, vs));
          }
          case 'variant_map': {
            const m = objectOf(x);
            if (m === null) {
              const r = call(null, x);
              return r === null ? null : toVariant(r, bodyType);
            }
            return new Variant(
              new SqlMap(
                m.keys,
                m.keys.map((key, i) => mapped(key, m.values[i] as Variant)),
              ),
            );
          }
          case 'variant_deep_filter': {
            const walk = (path: string | null, it: Variant): Variant => {
              const m = objectOf(it);
              if (m !== null) {
                const ks: Value[] = [];
                const vs: Value[] = [];
                for (let i = 0; i < m.size; i++) {
                  const key = m.keys[i] as Variant;
                  const val = m.values[i] as Variant;
                  if (typeof key.value !== 'string') {
                    ks.push(key);
                    vs.push(val);
                    continue;
                  }
                  const p = fieldPath(path, key.value);
                  if (keep(p, val)) {
                    ks.push(key);
                    vs.push(walk(p, val));
                  }
                }
                return new Variant(new SqlMap(ks, vs));
              }
              const arr = arrayOf(it);
              if (arr === null) return it;
              const out: Value[] = [];
              arr.items.forEach((e, i) => {
                const p = elementPath(path, i);
                if (keep(p, e as Variant)) out.push(walk(p, e as Variant));
              });
              return new Variant(new SqlArray(out), it.type);
            };
            if (objectOf(x) === null && arrayOf(x) === null) return keep(null, x) ? x : null;
            return walk(null, x);
          }
          case 'variant_deep_map': {
            const walk = (path: string | null, it: Variant): Variant => {
              const m = objectOf(it);
              if (m !== null)
                return new Variant(
                  new SqlMap(
                    m.keys,
                    m.keys.map((key, i) => {
                      const val = m.values[i] as Variant;
                      const kv = (key as Variant).value;
                      return typeof kv === 'string' ? walk(fieldPath(path, kv), val) : val;
                    }),
                  ),
                );
              const arr = arrayOf(it);
              if (arr !== null)
                return new Variant(
                  new SqlArray(arr.items.map((e, i) => walk(elementPath(path, i), e as Variant))),
                  it.type,
                );
              return mapped(path, it);
            };
            if (objectOf(x) === null && arrayOf(x) === null) {
              const r = call(null, x);
              return r === null ? null : toVariant(r, bodyType);
            }
            return walk(null, x);
          }
        }
      };
    },
  });
}
