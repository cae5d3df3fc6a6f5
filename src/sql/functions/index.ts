/**
 * The scalar-function registry: SQL function name (lower case) → implementation. `expr.ts` binds the built-in
 * core (arithmetic, CASE, casts and the first string functions) itself and asks this registry for every other
 * name, so each area of Feldera's function reference lives in its own module with its own tests:
 * - `scalar.ts`: string, math, binary, boolean, comparison and uuid functions (reference part 1);
 * - `datetime.ts`: date, time, timestamp and interval functions (part 2);
 * - `collections.ts`: ARRAY, MAP, ROW and VARIANT/JSON functions (part 3);
 * - `../group-windows.ts`: `TUMBLE_START` (Calcite's group windows);
 * - `array-builders.ts`: `SEQUENCE` and `SPLIT` (arrays built from scalars);
 * - `connector-metadata.ts`: `CONNECTOR_METADATA()` (in column DEFAULTs).
 * - `geometry.ts`: `ST_POINT` and `ST_DISTANCE` (Feldera's rudimentary GEOMETRY);
 * - `scalar-subquery.ts`: `h$one_row`, the value of a non-aggregate scalar subquery (written by subqueries.ts).
 * - `json-each.ts`: `JSON_EACH_<type>`, `JSON_OBJECT_KEYS`, `VARIANT_MERGE` (JSON objects taken apart, merged);
 * - `shorthands.ts`: `DATE_ADD`, `DATE_SUB`, `MAP_CONCAT` (other spellings of existing operations).
 * (`variant-lambdas.ts`, `lambdas.ts` and the unit-argument functions of `datetime.ts` bind from the AST, before
 * this registry: see `expr.ts`'s bindFunc.)
 * A name may be defined once across all modules (checked when the registry is first built).
 *
 * The map is built on first use rather than at module load, so importing an area module first (as its unit
 * tests do) cannot observe the import cycle area module → expr.ts → registry half-initialised.
 */
import { GROUP_WINDOW_FUNCTIONS } from '../group-windows.ts';
import { ARRAY_BUILDER_FUNCTIONS } from './array-builders.ts';
import { COLLECTION_FUNCTIONS } from './collections.ts';
import { CONNECTOR_METADATA_FUNCTIONS } from './connector-metadata.ts';
import { DATETIME_FUNCTIONS } from './datetime.ts';
import { GEOMETRY_FUNCTIONS } from './geometry.ts';
import { JSON_EACH_FUNCTIONS } from './json-each.ts';
import { SCALAR_FUNCTIONS } from './scalar.ts';
import { SCALAR_SUBQUERY_FUNCTIONS } from './scalar-subquery.ts';
import { SHORTHAND_FUNCTIONS } from './shorthands.ts';
import type { FunctionImpl } from './types.ts';

export type { FunctionCall, FunctionImpl } from './types.ts';

let registry: ReadonlyMap<string, FunctionImpl> | null = null;

function build(): ReadonlyMap<string, FunctionImpl> {
  const out = new Map<string, FunctionImpl>();
  for (const table of [
    SCALAR_FUNCTIONS,
    DATETIME_FUNCTIONS,
    COLLECTION_FUNCTIONS,
    GROUP_WINDOW_FUNCTIONS,
    ARRAY_BUILDER_FUNCTIONS,
    CONNECTOR_METADATA_FUNCTIONS,
    GEOMETRY_FUNCTIONS,
    SCALAR_SUBQUERY_FUNCTIONS,
    JSON_EACH_FUNCTIONS,
    SHORTHAND_FUNCTIONS,
  ]) {
    for (const [name, impl] of Object.entries(table)) {
      if (out.has(name)) throw new Error(`SQL function ${name} is defined twice`);
      out.set(name, impl);
    }
  }
  return out;
}

/** The implementation of a scalar function, or undefined when Holdfast does not have it. */
export function scalarFunction(name: string): FunctionImpl | undefined {
  registry ??= build();
  return registry.get(name);
}
