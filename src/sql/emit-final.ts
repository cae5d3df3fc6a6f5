/**
 * `'emit_final' = 'column'` on a view, checked at compile time (Feldera's rules): the property names a column of
 * the view (by name, or by number from 0 = the leftmost column) whose waterline the compiler can infer (from a
 * LATENESS column through the view's query, `waterline-plan.ts`, or the view's own LATENESS); the view is not
 * LOCAL. The result is the operator that delays the view's output to its final rows (`operators/emit-final.ts`).
 *
 * State: none.
 */
import { ServiceError } from '../errors/service-error.ts';
import { EmitFinalOperator } from '../operators/emit-final.ts';
import { comparator } from './expr.ts';
import type { PropertyValue, ViewKind } from './schema.ts';
import type { SqlType } from './sql-type.ts';
import type { Waterlines } from './waterline-plan.ts';

/**
 * The emit-final operator for a view with the property, or null without it. @throws ServiceError
 * SqlPropertyError (unknown column, no waterline, a LOCAL view).
 */
export function emitFinalFor(
  view: string,
  kind: ViewKind,
  prop: PropertyValue | undefined,
  columns: readonly { readonly name: string; readonly type: SqlType }[],
  waterlines: Waterlines | undefined,
): EmitFinalOperator | null {
  if (prop === undefined) return null;
  const at = `at line ${prop.valuePosition.startLine}, column ${prop.valuePosition.startColumn}`;
  const fail = (message: string) =>
    new ServiceError('SqlPropertyError', `${message} ${at}`, {
      property: 'emit_final',
      line: prop.valuePosition.startLine,
      column: prop.valuePosition.startColumn,
    });
  if (kind === 'local')
    throw fail(
      `'emit_final' is not allowed on the LOCAL view "${view}"; declare it as a (materialized) view`,
    );
  const v = prop.value.trim();
  let index = columns.findIndex((c) => c.name === v);
  if (index < 0) index = columns.findIndex((c) => c.name.toLowerCase() === v.toLowerCase());
  if (index < 0 && /^\d+$/.test(v) && Number(v) < columns.length) index = Number(v);
  if (index < 0)
    throw fail(
      `'emit_final' names "${v}", which is not a column of view "${view}" (give a column name, or a number from 0)`,
    );
  const below = waterlines?.get(index);
  const col = columns[index] as { name: string; type: SqlType };
  if (below === undefined)
    throw fail(
      `'emit_final' column "${col.name}" of view "${view}" has no waterline: it must come from a LATENESS column (directly, or through TUMBLE/HOP window bounds, GROUP BY keys, TIMESTAMP_TRUNC, or a constant shift), or have its own LATENESS statement`,
    );
  return new EmitFinalOperator({ col: index, below, compare: comparator(col.type.kind) });
}
