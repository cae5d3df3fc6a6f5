/**
 * SQL scalar functions: string, math, binary, boolean, comparison and uuid functions of Feldera's reference (part 1).
 * Registered by name in `index.ts`; each entry binds its arguments' types and returns a bound expression.
 */
import type { FunctionImpl } from './types.ts';

export const SCALAR_FUNCTIONS: Readonly<Record<string, FunctionImpl>> = {};
