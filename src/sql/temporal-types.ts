/**
 * The DATE/TIME/TIMESTAMP type names with modifiers: `TIME(p)`, `TIMESTAMP(p)` (0 ≤ p ≤ 9, accepted and not
 * applied: values keep microseconds, as Holdfast stores them; a precision beyond 6 cannot add digits) and
 * `TIMESTAMP WITH TIME ZONE` (Postgres's `timestamptz`): a TIMESTAMP whose input may carry an offset, converted
 * to UTC, and whose JSON output ends in `+00:00`. State: none.
 */
import { type BindContext, sqlError } from './bound.ts';
import { type SqlType, sqlType } from './sql-type.ts';

export function temporalTypeName(
  base: 'time' | 'timestamp' | 'timestamptz' | string,
  mods: readonly number[],
  nullable: boolean,
  ctx: BindContext,
  loc: unknown,
): SqlType {
  const kind = base === 'time' ? 'TIME' : 'TIMESTAMP';
  if (mods.length > 1 || (mods.length === 1 && ((mods[0] as number) < 0 || (mods[0] as number) > 9)))
    throw sqlError('SqlTypeError', `${kind} takes one precision between 0 and 9, e.g. ${kind}(3)`, ctx, loc);
  return sqlType(kind, nullable, base === 'timestamptz' ? { withTimeZone: true } : {});
}
