/**
 * LATENESS: what an annotation means for a column, checked at compile time. A column of a time type (DATE,
 * TIME, TIMESTAMP) takes an interval, a numeric column a number of its units; the expression must be a
 * constant (no column references), and `column − lateness` must be defined and come back in the column's type.
 * The result is what `operators/lateness-filter.ts` runs: `waterline(max) = max − lateness` and the column's
 * order. A relation's annotations are collected per column: two on one column are an error.
 * {@link latenessPurge} turns the waterline of a GROUP BY key (`Rel.waterlines`; a column, or a non-decreasing
 * function of one such as `TUMBLE_START`) into the aggregate's
 * option to discard groups the waterline has passed.
 *
 * State: none.
 */
import { ServiceError } from '../errors/service-error.ts';
import type { LatenessColumn } from '../operators/lateness-filter.ts';
import type { Value } from '../zset/value.ts';
import { type Ast, type Bound, bindExpr, comparator, type ScopeColumn } from './expr.ts';
import type { LatenessClause, SourceMap } from './parse.ts';
import { type SqlType, typeToSql } from './sql-type.ts';
import { isNumeric } from './types-rules.ts';
import { compileCast } from './values/cast.ts';

const TIME_KINDS: ReadonlySet<string> = new Set(['DATE', 'TIME', 'TIMESTAMP']);

/** A column's LATENESS, resolved: its index, its expression's text, and the filter's view of it. */
export interface ResolvedLateness {
  readonly index: number;
  /** The expression as written (program info's `lateness`). */
  readonly source: string;
  readonly column: LatenessColumn;
}

/**
 * Resolves a relation's annotations against its columns. @throws ServiceError SqlNameError (unknown column,
 * two annotations on one column), SqlTypeError (column type, expression type, not a constant).
 */
export function resolveLateness(
  relation: string,
  columns: readonly { readonly name: string; readonly type: SqlType; readonly caseSensitive?: boolean }[],
  clauses: readonly LatenessClause[],
  source: SourceMap,
): ResolvedLateness[] {
  const out: ResolvedLateness[] = [];
  const ctx = { columns: [] as ScopeColumn[], source };
  for (const c of clauses) {
    const want = c.column.quoted ? c.column.name : c.column.name.toLowerCase();
    const index = columns.findIndex(
      (x) => x.name === want || (!c.column.quoted && x.name.toLowerCase() === want),
    );
    const at = source.position(c.offset);
    const where = `(line ${at.line}, column ${at.column})`;
    if (index < 0)
      throw new ServiceError(
        'SqlNameError',
        `LATENESS names column "${c.column.name}", which "${relation}" does not have ${where}`,
        { name: c.column.name, relation, line: at.line, column: at.column },
      );
    if (out.some((r) => r.index === index))
      throw new ServiceError(
        'SqlNameError',
        `column "${relation}.${c.column.name}" has more than one LATENESS ${where}; keep one`,
        { name: c.column.name, relation, line: at.line, column: at.column },
      );
    const col = columns[index] as { name: string; type: SqlType };
    const type = col.type;
    if (!TIME_KINDS.has(type.kind) && !isNumeric(type))
      throw new ServiceError(
        'SqlTypeError',
        `LATENESS needs a column of a date, time, timestamp or numeric type; "${relation}.${col.name}" is ${typeToSql(type)} ${where}`,
        { name: col.name, relation, line: at.line, column: at.column },
      );
    // the expression must be a constant: bind it with no columns in scope
    let lat: ReturnType<typeof bindExpr>;
    try {
      lat = bindExpr(c.expr, ctx);
    } catch (e) {
      if (e instanceof ServiceError && e.errorCode === 'SqlNameError')
        throw new ServiceError(
          'SqlTypeError',
          `LATENESS of "${relation}.${col.name}" must be a constant (an interval or a number), not an expression over columns ${where}`,
          { name: col.name, relation, line: at.line, column: at.column },
        );
      throw e;
    }
    const wantInterval = TIME_KINDS.has(type.kind);
    const isInterval = lat.type.kind === 'INTERVAL_DT' || lat.type.kind === 'INTERVAL_YM';
    if (wantInterval !== isInterval || (!wantInterval && !isNumeric(lat.type)))
      throw new ServiceError(
        'SqlTypeError',
        `LATENESS of "${relation}.${col.name}" (${typeToSql(type)}) must be ${wantInterval ? 'an interval (e.g. INTERVAL 1 HOUR)' : 'a number'}, got ${typeToSql(lat.type)} ${where}`,
        { name: col.name, relation, line: at.line, column: at.column },
      );
    // waterline(max) = max − lateness, bound as an expression over a one-column row [max]
    const scope: ScopeColumn[] = [{ qualifier: null, name: '$max', type: { ...type, nullable: false } }];
    const minus = {
      A_Expr: {
        kind: 'AEXPR_OP',
        name: [{ String: { sval: '-' } }],
        lexpr: { ColumnRef: { fields: [{ String: { sval: '$max' } }] } },
        rexpr: c.expr,
      },
    } as Ast;
    let diff: ReturnType<typeof bindExpr>;
    try {
      diff = bindExpr(minus, { columns: scope, source });
    } catch (e) {
      throw new ServiceError(
        'SqlTypeError',
        `LATENESS ${c.source} cannot be subtracted from "${relation}.${col.name}" (${typeToSql(type)}): ${(e as Error).message}`,
        { name: col.name, relation, line: at.line, column: at.column },
      );
    }
    const ev = diff.gen({ col: (i) => (a) => a[i] as Value });
    const back =
      diff.type.kind === type.kind ? null : compileCast(diff.type, { ...type, nullable: true }, false);
    const compare = comparator(type.kind);
    // max − lateness; when it leaves the type's range (SMALLINT near its minimum) or wraps (TIME at midnight)
    // no value of the column is below it: no waterline yet
    const waterline = (max: Value): Value => {
      const row = [max];
      let v: Value;
      try {
        v = ev(row, row);
        if (back !== null && v !== null) v = back(v);
      } catch {
        return null;
      }
      return v !== null && compare(v, max) > 0 ? null : v;
    };
    out.push({ index, source: c.source, column: { index, waterline, compare } });
  }
  return out;
}

/** A SqlNameError positioned at a LATENESS statement. */
export function latenessNameError(message: string, source: SourceMap, offset: number): ServiceError {
  const p = source.position(offset);
  return new ServiceError('SqlNameError', `${message} (line ${p.line}, column ${p.column})`, {
    line: p.line,
    column: p.column,
  });
}

/**
 * The aggregate's `purge` option for a GROUP BY whose key is a column with a waterline (`Rel.waterlines`):
 * the first such key column, or nothing.
 */
export function latenessPurge(
  waterlines: ReadonlyMap<number, () => Value> | undefined,
  keys: readonly Pick<Bound, 'colRef' | 'monotoneOf' | 'type'>[],
): { purge?: { key: number; below: () => Value; compare: (a: Value, b: Value) => number } } {
  if (waterlines === undefined) return {};
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as Pick<Bound, 'colRef' | 'monotoneOf' | 'type'>;
    const compare = comparator(k.type.kind);
    const direct = k.colRef === undefined ? undefined : waterlines.get(k.colRef);
    if (direct !== undefined) return { purge: { key: i, below: direct, compare } };
    const m = k.monotoneOf;
    const of = m === undefined ? undefined : waterlines.get(m.col);
    if (m !== undefined && of !== undefined && k.type.kind === 'TIMESTAMP') {
      const below = () => {
        const w = of();
        return w === null ? null : m.map(w);
      };
      return { purge: { key: i, below, compare } };
    }
  }
  return {};
}
