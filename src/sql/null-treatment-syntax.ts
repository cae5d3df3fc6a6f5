/**
 * Null treatment in `ARRAY_AGG`: Feldera (Calcite) writes `ARRAY_AGG(x IGNORE NULLS)` (NULL arguments are left
 * out of the array) and `ARRAY_AGG(x RESPECT NULLS)` (the default: they are kept); the Postgres grammar has
 * neither. This pre-pass (run by `parse.ts`) blanks the two words out (same length: positions stay) and, for
 * IGNORE NULLS, renames the call to {@link IGNORE_NULLS_ARRAY_AGG}, which the planner reads as ARRAY_AGG with
 * `FILTER (WHERE x IS NOT NULL)` added to the call's own FILTER.
 *
 * State: none. Invariant: the text keeps its length; only the call's name and the two words change.
 */
import type { DialectToken } from './tokens.ts';

/** The name an `ARRAY_AGG(... IGNORE NULLS)` call gets (9 characters, as `ARRAY_AGG`; not callable unquoted). */
export const IGNORE_NULLS_ARRAY_AGG = 'array_ag$';

export function rewriteNullTreatment(tokens: readonly DialectToken[], chars: string[]): void {
  for (let i = 0; i + 1 < tokens.length; i++) {
    const name = tokens[i] as DialectToken;
    if (name.kind !== 'word' || name.text.toLowerCase() !== 'array_agg' || tokens[i + 1]?.text !== '(')
      continue;
    let depth = 0;
    for (let j = i + 1; j < tokens.length; j++) {
      const t = tokens[j] as DialectToken;
      if (t.kind === 'punct' && t.text === '(') depth++;
      else if (t.kind === 'punct' && t.text === ')') {
        if (--depth === 0) break;
      } else if (depth === 1 && t.kind === 'word' && tokens[j + 1]?.kind === 'word') {
        const w = t.text.toUpperCase();
        const next = (tokens[j + 1] as DialectToken).text.toUpperCase();
        if ((w !== 'IGNORE' && w !== 'RESPECT') || next !== 'NULLS') continue;
        const nulls = tokens[j + 1] as DialectToken;
        for (let k = t.start; k < nulls.end; k++) chars[k] = ' ';
        if (w === 'IGNORE')
          for (let k = 0; k < IGNORE_NULLS_ARRAY_AGG.length; k++)
            chars[name.start + k] = IGNORE_NULLS_ARRAY_AGG[k] as string;
        j++;
      }
    }
  }
}
