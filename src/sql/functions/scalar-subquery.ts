/**
 * `h$one_row(n, v)`: the value of a scalar subquery that is not an aggregate (`(SELECT x FROM one_row_view)`),
 * which `subqueries.ts` rewrites to `SELECT h$one_row(COUNT(*), MIN(x)) FROM ...` (an aggregate, so exactly one
 * row): NULL when the subquery has no rows, its value when it has one, and a run-time error (SqlRuntimeError)
 * when it has more, as Calcite (and so Feldera) define a scalar subquery. Not meant to be called by name.
 *
 * State: none.
 */
import { ServiceError } from '../../errors/service-error.ts';
import { type Bound, fold, mergeCols } from '../bound.ts';
import type { FunctionImpl } from './types.ts';

export const SCALAR_SUBQUERY_FUNCTIONS: Record<string, FunctionImpl> = {
  h$one_row: (call) => {
    call.argc(2);
    const [n, v] = call.args as [Bound, Bound];
    return fold({
      type: { ...v.type, nullable: true },
      cols: mergeCols(n, v),
      gen: (ctx) => {
        const count = n.gen(ctx);
        const value = v.gen(ctx);
        return (a, b) => {
          const c = count(a, b);
          if (c !== null && Number(c) > 1)
            throw new ServiceError(
              'SqlRuntimeError',
              `a scalar subquery returned ${String(c)} rows; it must return at most one`,
            );
          return value(a, b);
        };
      },
    });
  },
};
