/**
 * Feldera's (Calcite's) time rounding: `FLOOR(x TO unit)` and `CEIL(x TO unit)` / `CEILING(x TO unit)` for a
 * DATE, TIME or TIMESTAMP (with or without time zone); the result keeps the argument's type, NULL gives NULL.
 *
 * - Syntax: the dialect pre-pass (`rewriteCeilFloorTo` in `../ceil-floor-to-syntax.ts`, called by `dialect.ts`) turns the `TO` of
 *   `CEIL(x TO unit)` into a comma (same length), so Postgres parses `ceil(x, unit)`; the binder then calls
 *   {@link bindCeilFloorTo} before binding arguments (the unit is a keyword, not a column).
 * - Units: MILLENNIUM, CENTURY, DECADE, YEAR, QUARTER, MONTH, WEEK, DAY for DATE and TIMESTAMP; HOUR, MINUTE,
 *   SECOND, MILLISECOND, MICROSECOND for TIME and TIMESTAMP; another pairing is `SqlTypeError`.
 * - FLOOR is the start of the unit holding x, with Calcite's boundaries (not Postgres's DATE_TRUNC ones): a
 *   millennium, century or decade starts at a year divisible by 1000, 100 or 10 (2020 → 2000, 2000, 2020), a week
 *   on Sunday. CEIL is x itself when x is on a boundary, else the next boundary. A TIME rounded up past the end
 *   of the day wraps to midnight (TIME holds one day).
 *
 * State: none.
 */
import type { BindContext, Bound } from '../bound.ts';
import { sqlError, strict } from '../bound.ts';
import type { Ast } from '../parse.ts';
import { typeToSql } from '../sql-type.ts';
import {
  civilFromDays,
  daysFromCivil,
  USECS_PER_DAY,
  USECS_PER_HOUR,
  USECS_PER_MINUTE,
  USECS_PER_SEC,
} from '../values/temporal.ts';

const DAY_UNITS = new Set(['MILLENNIUM', 'CENTURY', 'DECADE', 'YEAR', 'QUARTER', 'MONTH', 'WEEK', 'DAY']);
const TIME_UNITS: Readonly<Record<string, number>> = {
  HOUR: USECS_PER_HOUR,
  MINUTE: USECS_PER_MINUTE,
  SECOND: USECS_PER_SEC,
  MILLISECOND: 1000,
  MICROSECOND: 1,
};

const ymd = [0, 0, 0];

/** The first day of the unit holding day `d` (days since 1970-01-01). */
function floorDays(unit: string, d: number): number {
  civilFromDays(d, ymd);
  const y = ymd[0] as number;
  const m = ymd[1] as number;
  switch (unit) {
    case 'MILLENNIUM':
      return daysFromCivil(Math.floor(y / 1000) * 1000, 1, 1);
    case 'CENTURY':
      return daysFromCivil(Math.floor(y / 100) * 100, 1, 1);
    case 'DECADE':
      return daysFromCivil(Math.floor(y / 10) * 10, 1, 1);
    case 'YEAR':
      return daysFromCivil(y, 1, 1);
    case 'QUARTER':
      return daysFromCivil(y, Math.floor((m - 1) / 3) * 3 + 1, 1);
    case 'MONTH':
      return daysFromCivil(y, m, 1);
    case 'WEEK':
      return d - ((((d + 4) % 7) + 7) % 7); // 1970-01-01 was a Thursday; weeks start on Sunday
    default:
      return d; // DAY
  }
}

/** The first day of the unit after the one starting on day `start` (a boundary). */
function nextDays(unit: string, start: number): number {
  civilFromDays(start, ymd);
  const y = ymd[0] as number;
  const m = ymd[1] as number;
  const years: Readonly<Record<string, number>> = { MILLENNIUM: 1000, CENTURY: 100, DECADE: 10, YEAR: 1 };
  const span = years[unit];
  if (span !== undefined) return daysFromCivil(y + span, 1, 1);
  if (unit === 'QUARTER' || unit === 'MONTH') {
    const months = m - 1 + (unit === 'QUARTER' ? 3 : 1);
    return daysFromCivil(y + Math.floor(months / 12), (months % 12) + 1, 1);
  }
  return start + (unit === 'WEEK' ? 7 : 1);
}

/**
 * Binds `ceil(x, UNIT)` / `floor(x, UNIT)` (the rewritten `CEIL(x TO UNIT)`); undefined for any other call, so
 * the numeric CEIL and FLOOR keep their binder.
 */
export function bindCeilFloorTo(
  name: string,
  n: Ast,
  ctx: BindContext,
  bind: (a: Ast, c: BindContext) => Bound,
): Bound | undefined {
  if (name !== 'ceil' && name !== 'ceiling' && name !== 'floor') return undefined;
  const args = (n.args ?? []) as Ast[];
  const f = args[1]?.ColumnRef?.fields as Ast[] | undefined;
  if (args.length !== 2 || f?.length !== 1 || f[0].String === undefined) return undefined;
  const what = name === 'floor' ? 'FLOOR' : 'CEIL';
  const unit = (f[0].String.sval as string).toUpperCase();
  const loc = n.location;
  const x = bind(args[0] as Ast, ctx);
  const k = x.type.kind;
  if (k !== 'DATE' && k !== 'TIME' && k !== 'TIMESTAMP')
    throw sqlError(
      'SqlTypeError',
      `Cannot apply '${what}' to arguments of type ${typeToSql(x.type)} TO ${unit}: it needs a DATE, TIME or TIMESTAMP`,
      ctx,
      loc,
    );
  const step = TIME_UNITS[unit];
  if (!(DAY_UNITS.has(unit) || step !== undefined))
    throw sqlError(
      'SqlTypeError',
      `${what}: ${unit} is not a time unit`,
      ctx,
      args[1]?.ColumnRef?.location ?? loc,
    );
  if ((k === 'DATE' && step !== undefined) || (k === 'TIME' && step === undefined))
    throw sqlError('SqlTypeError', `${what}: unit ${unit} is not defined for ${typeToSql(x.type)}`, ctx, loc);
  const up = name !== 'floor';
  if (step !== undefined) {
    const round = up ? Math.ceil : Math.floor;
    if (k === 'TIME') return strict(x.type, [x], (t) => (round((t as number) / step) * step) % USECS_PER_DAY);
    return strict(x.type, [x], (t) => round((t as number) / step) * step);
  }
  if (k === 'DATE')
    return strict(x.type, [x], (v) => {
      const d = v as number;
      const start = floorDays(unit, d);
      return up && start !== d ? nextDays(unit, start) : start;
    });
  return strict(x.type, [x], (v) => {
    const t = v as number;
    const start = floorDays(unit, Math.floor(t / USECS_PER_DAY)) * USECS_PER_DAY;
    if (!up || start === t) return start;
    return nextDays(unit, start / USECS_PER_DAY) * USECS_PER_DAY;
  });
}
