/**
 * SQL scalar functions: date, time, timestamp and interval functions of Feldera's reference (part 2).
 * Registered by name in `index.ts`; each entry binds its arguments' types and returns a bound expression.
 *
 * - `i$year__` ... `i$second` (one per unit): Feldera's `INTERVAL <expr> <unit>` form, which the parser's
 *   pre-pass (`interval-syntax.ts`) writes as these calls; not meant to be called by name.
 */

import type { Bound } from '../bound.ts';
import { INTERVAL_CALLS } from '../interval-syntax.ts';
import { bindIntervalOfUnit } from '../intervals.ts';
import type { FunctionImpl } from './types.ts';

const intervalCalls: Record<string, FunctionImpl> = Object.fromEntries(
  Object.entries(INTERVAL_CALLS).map(([name, unit]) => [
    name,
    (call) => {
      call.argc(1);
      return bindIntervalOfUnit(unit, call.args[0] as Bound, call.ctx, call.loc);
    },
  ]),
);

export const DATETIME_FUNCTIONS: Readonly<Record<string, FunctionImpl>> = {
  ...intervalCalls,
};
