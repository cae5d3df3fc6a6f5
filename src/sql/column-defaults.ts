/**
 * Column `DEFAULT` values (Feldera's grammar: `c T DEFAULT expression`): the value a record that does not
 * mention the column gets (JSON input without the key; a record that sets the column to null keeps the null).
 * The expression is a constant, bound with no columns in scope and converted to the column's type as an
 * assignment would (`SqlTypeError` otherwise), and evaluated once at compile time. Besides constants it may
 * call `CONNECTOR_METADATA()` (see `connector-metadata-syntax.ts`), Feldera's access to the metadata the
 * connector delivering the record attaches to it, a nullable VARIANT: Holdfast's connectors attach none, so it
 * is the SQL NULL and a default built from it (`CAST(CONNECTOR_METADATA()['kafka_topic'] AS VARCHAR)`) is NULL.
 * Anywhere but a DEFAULT it is refused (`SqlUnsupported`; `functions/connector-metadata.ts`).
 *
 * State: none. Invariant: a column's default value is fixed when the program compiles.
 */
import { isServiceError, ServiceError } from '../errors/service-error.ts';
import type { Value } from '../zset/value.ts';
import { type BindContext, type Bound, coerce, ROW_CTX, sqlError } from './bound.ts';
import { bindExpr } from './expr.ts';
import type { Ast } from './parse.ts';
import type { ColumnDefault } from './schema.ts';
import type { SqlType } from './sql-type.ts';

/** The `clause` of the bind context a DEFAULT expression is bound in (`functions/connector-metadata.ts`). */
export const DEFAULT_CLAUSE = 'DEFAULT';

/** A stable text of an expression's tree without source positions (the default's identity). */
function identity(expr: Ast): string {
  return JSON.stringify(expr, (k, v) => (k === 'location' ? undefined : v));
}

/** Binds and evaluates a column's DEFAULT expression for a column of type `type`. */
export function columnDefault(expr: Ast, type: SqlType, column: string, ctx: BindContext): ColumnDefault {
  const scoped: BindContext = { ...ctx, columns: [], clause: DEFAULT_CLAUSE };
  const loc = (expr as Record<string, { location?: unknown }>)[Object.keys(expr)[0] as string]?.location;
  let b: Bound;
  try {
    b = bindExpr(expr, scoped);
  } catch (e) {
    if (isServiceError(e) && e.errorCode === 'SqlNameError') {
      const d = e.details as { line?: number; column?: number };
      throw new ServiceError(
        'SqlTypeError',
        `the DEFAULT of column "${column}" must be a constant expression: it cannot read columns (line ${d.line}, column ${d.column})`,
        { line: d.line, column: d.column },
      );
    }
    throw e;
  }
  const converted = coerce(
    b,
    { ...type, nullable: true },
    scoped,
    undefined,
    `DEFAULT of column "${column}"`,
  );
  const value: Value = converted.gen(ROW_CTX)([], []);
  if (value === null && !type.nullable)
    throw sqlError('SqlTypeError', `the DEFAULT of NOT NULL column "${column}" is NULL`, ctx, loc);
  return { sql: identity(expr), value: () => value };
}
