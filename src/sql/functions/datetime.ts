/**
 * SQL scalar functions: date, time, timestamp and interval functions of Feldera's reference (part 2).
 * Registered by name in `index.ts`; each entry binds its arguments' types and returns a bound expression.
 */
import type { FunctionImpl } from './types.ts';

export const DATETIME_FUNCTIONS: Readonly<Record<string, FunctionImpl>> = {};
