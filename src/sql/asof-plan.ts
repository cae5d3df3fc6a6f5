/**
 * Planning of `l LEFT ASOF JOIN r MATCH_CONDITION (a >= b) ON l.k1 = r.k1 AND ...` (after the rewrite of
 * `asof-syntax.ts`: a LEFT JOIN whose condition is `asof$match(a >= b) AND <ON>`) onto the asof-join operator.
 *
 * What Feldera accepts, and so what this accepts: the LEFT form only; a MATCH_CONDITION that is one `>=`
 * comparison whose left operand reads only the left input and whose right operand only the right input (the
 * operands may be expressions; they are compared after the usual implicit coercion to a common type); an ON
 * that is a conjunction of equalities, each between an expression of one input and one of the other (or no
 * ON: all rows share one key). Anything else is `SqlUnsupported` with the accepted form in the message.
 *
 * Output columns: the left input's, then the right input's (nullable). Ties on the timestamp are broken by the
 * right rows' columns in SQL order (NULL smallest), the greatest row winning, then by the row encoding.
 *
 * LATENESS (`waterline-plan.ts`'s `asofLateness`): with a waterline on the right operand, left rows below it
 * leave the operator's state; with one on the left operand too, right rows that a later right row below both
 * waterlines shadows for good leave it as well; the left operand's column keeps the smaller waterline.
 *
 * State: none.
 */
import type { Circuit } from '../circuit/circuit.ts';
import { AsofJoinOperator } from '../operators/asof-join.ts';
import { type KeyFn, NULL_KEY } from '../operators/join.ts';
import { encodeRow, encodeValue, type Row, type Value } from '../zset/value.ts';
import { isBareMarkerCall, isMarkerCall, mentionsAsofMarker } from './asof-syntax.ts';
import type { BindContext, Bound, Ev, ScopeColumn } from './bound.ts';
import { bindExpr, ROW_CTX, shiftCtx, sqlError, unify } from './expr.ts';
import type { Rel } from './rel.ts';
import type { Ast } from './source-map.ts';
import { withNullable } from './sql-type.ts';
import { comparatorFor } from './values/compare.ts';
import { asofLateness, withWaterlines } from './waterline-plan.ts';

export interface AsofPlanContext {
  readonly circuit: Circuit;
  /** A bind context over `columns` for `clause`. */
  readonly ctx: (columns: readonly ScopeColumn[], clause: string) => BindContext;
}

const FORM = 'FROM l LEFT ASOF JOIN r MATCH_CONDITION (l.ts >= r.ts) ON l.k = r.k [AND ...]';

/** The terms of a join condition's top-level conjunction. */
function conjuncts(ast: Ast): Ast[] {
  const b = ast?.BoolExpr;
  if (b?.boolop === 'AND_EXPR') return (b.args as Ast[]).flatMap(conjuncts);
  return [ast];
}

/** True when a join condition came from the ASOF rewrite. */
export function isAsofCondition(quals: Ast | null | undefined): boolean {
  return quals != null && mentionsAsofMarker(quals);
}

function location(ast: Ast): unknown {
  const inner = ast && typeof ast === 'object' ? (Object.values(ast)[0] as Ast) : undefined;
  return inner?.location;
}

/** Key of a row: the values of `evs` (NULL_KEY when one is NULL), a primitive for one key column. */
function keyFn(evs: readonly Ev[]): KeyFn {
  if (evs.length === 0) return () => 0;
  if (evs.length === 1) {
    const e = evs[0] as Ev;
    return (r: Row): unknown => {
      const v = e(r, r);
      return v === null ? NULL_KEY : typeof v === 'object' ? encodeValue(v) : v;
    };
  }
  return (r: Row): unknown => {
    const vs: Value[] = [];
    for (const e of evs) {
      const v = e(r, r);
      if (v === null) return NULL_KEY;
      vs.push(v);
    }
    return encodeRow(vs);
  };
}

/** Plans the ASOF join of the planned inputs `left` and `right`; `kind` is the join's kind after the rewrite. */
export function planAsofJoin(quals: Ast, kind: string, left: Rel, right: Rel, p: AsofPlanContext): Rel {
  const lw = left.cols.length;
  const cols: ScopeColumn[] = [
    ...left.cols,
    ...right.cols.map((c) => ({ ...c, type: withNullable(c.type, true) })),
  ];
  const ctx = p.ctx(cols, 'MATCH_CONDITION');
  const fail = (message: string, at: unknown, code: 'SqlUnsupported' | 'SqlTypeError' = 'SqlUnsupported') =>
    sqlError(code, message, ctx, at, code === 'SqlUnsupported' ? { construct: 'ASOF JOIN' } : {});
  if (kind !== 'left') throw fail(`only the LEFT form of ASOF JOIN is supported; write ${FORM}`, undefined);

  // the unparenthesized form arrives as `(asof$m() AND cond) OR on` (see asof-syntax.ts)
  const ors = quals?.BoolExpr?.boolop === 'OR_EXPR' ? (quals.BoolExpr.args as Ast[]) : null;
  const bareOr = ors !== null && isBareMarkerCall(conjuncts(ors[0])[0]);
  const head = bareOr ? conjuncts((ors as Ast[])[0]) : conjuncts(quals);
  const bare = isBareMarkerCall(head[0]);
  const terms = bare ? head.slice(0, 2) : head;
  const marker = terms.filter(isMarkerCall);
  const on = bare
    ? [
        ...head.slice(2),
        ...(bareOr ? ((ors as Ast[]).length === 2 ? conjuncts((ors as Ast[])[1]) : [quals]) : []),
      ]
    : terms.filter((t) => !isMarkerCall(t));
  const stray = on.find(mentionsAsofMarker) ?? (bareOr && (ors as Ast[]).length !== 2 ? quals : undefined);
  if (marker.length !== 1 || stray !== undefined)
    throw fail(
      `the ON clause of an ASOF JOIN must be a conjunction of equalities between the two inputs; write ${FORM}`,
      location(stray ?? quals),
    );
  const args = (marker[0] as Ast).FuncCall.args as Ast[] | undefined;
  const cond = bare ? ((terms[1] as Ast | undefined) ?? null) : args?.length === 1 ? (args[0] as Ast) : null;

  // MATCH_CONDITION: left >= right
  const expr = cond?.A_Expr;
  const op = expr?.kind === 'AEXPR_OP' ? (expr.name as Ast[])?.[0]?.String?.sval : undefined;
  const mustBe = `ASOF JOIN MATCH_CONDITION must be a comparison between columns from the two inputs, written left >= right (Feldera supports only >=); write ${FORM}`;
  if (op !== '>=' || !expr.lexpr || !expr.rexpr) throw fail(mustBe, location(cond));
  const a = bindExpr(expr.lexpr, ctx);
  const b = bindExpr(expr.rexpr, ctx);
  const leftOnly = (x: Bound) => x.cols.length > 0 && x.cols.every((c) => c < lw);
  const rightOnly = (x: Bound) => x.cols.length > 0 && x.cols.every((c) => c >= lw);
  if (!leftOnly(a) || !rightOnly(b)) throw fail(mustBe, expr.location);
  const [ta, tb] = unify([a, b], ctx, expr.location, 'MATCH_CONDITION') as [Bound, Bound];
  if (ta.type.kind === 'ROW')
    throw fail('ROW values cannot be compared in MATCH_CONDITION', expr.location, 'SqlTypeError');
  const compareTs = comparatorFor(ta.type.kind === 'NULL' ? 'INTEGER' : ta.type.kind);
  // LATENESS: only when neither operand is cast (the waterlines are in the operands' own types)
  const late =
    ta.type.kind === a.type.kind && tb.type.kind === b.type.kind
      ? asofLateness(a, b, lw, left.waterlines, right.waterlines)
      : {};

  // ON: equalities between the two inputs
  const onCtx = p.ctx(cols, 'ON');
  const lkeys: Ev[] = [];
  const rkeys: Ev[] = [];
  for (const t of on) {
    const e = bindExpr(t, onCtx);
    const [x, y] = e.eq ?? [];
    if (x !== undefined && y !== undefined && leftOnly(x) && rightOnly(y)) {
      lkeys.push(x.gen(ROW_CTX));
      rkeys.push(y.gen(shiftCtx(lw)));
    } else if (x !== undefined && y !== undefined && rightOnly(x) && leftOnly(y)) {
      lkeys.push(y.gen(ROW_CTX));
      rkeys.push(x.gen(shiftCtx(lw)));
    } else
      throw fail(
        `the ON clause of an ASOF JOIN must be a conjunction of equalities, each between an expression of the left input and one of the right input; write ${FORM}`,
        location(t),
      );
  }

  // ties on the timestamp: the right rows in SQL order, column by column (NULL smallest)
  const colCmp = right.cols.map((c) => comparatorFor(c.type.kind));
  const tieBreak = (x: Row, y: Row): number => {
    for (let i = 0; i < colCmp.length; i++) {
      const u = x[i] as Value;
      const v = y[i] as Value;
      if (u === null || v === null) {
        if (u === v) continue;
        return u === null ? -1 : 1;
      }
      const c = (colCmp[i] as (a: Value, b: Value) => number)(u, v);
      if (c !== 0) return c;
    }
    return 0;
  };

  const rw = right.cols.length;
  const node = p.circuit.add(
    new AsofJoinOperator({
      leftKey: keyFn(lkeys),
      rightKey: keyFn(rkeys),
      leftTs: (
        (e: Ev) => (l: Row) =>
          e(l, l)
      )(ta.gen(ROW_CTX)),
      rightTs: (
        (e: Ev) => (r: Row) =>
          e(r, r)
      )(tb.gen(shiftCtx(lw))),
      compareTs,
      tieBreak,
      combine: (l, r) => {
        const out = new Array(lw + rw);
        for (let i = 0; i < lw; i++) out[i] = l[i];
        for (let i = 0; i < rw; i++) out[lw + i] = r[i];
        return out;
      },
      rightWidth: rw,
      ...(late.gc === undefined ? {} : { gc: late.gc }),
    }),
    [left.node, right.node],
  );
  return { node, cols, ...withWaterlines(late.waterlines) };
}
