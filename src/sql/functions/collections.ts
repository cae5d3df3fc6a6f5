/**
 * SQL scalar functions: ARRAY, MAP, ROW and VARIANT/JSON functions of Feldera's reference (part 3).
 * Registered by name in `index.ts`; each entry binds its arguments' types and returns a bound expression.
 */
import type { FunctionImpl } from './types.ts';

export const COLLECTION_FUNCTIONS: Readonly<Record<string, FunctionImpl>> = {};
