/**
 * Feldera's (Calcite's) PIVOT clause after a FROM item, `t PIVOT (agg [AS name], ... FOR col IN (v [AS name],
 * ...)) [AS alias]`, written for the Postgres grammar as a function call in the FROM list that `pivot.ts` reads:
 * `PIVOT` → `,p$vt` (the call follows the pivoted item, so `AS alias` names it), each `AS` directly inside the
 * clause or its IN list → `::` (a cast to a type named like the alias: the alias travels in the AST), and the
 * `FOR` of the clause → `,` (the last argument is then `col IN (...)`). Every replacement has the length of
 * what it replaces, so positions stay.
 *
 * Only `PIVOT (` after an identifier or `)` (the end of a FROM item) is touched; a function named pivot in an
 * expression follows an operator, a comma or `(`.
 *
 * State: none. Invariant: the output has the input's length.
 */
import type { DialectToken } from './tokens.ts';

/** The function name the rewritten clause calls (see `pivot.ts`). */
export const PIVOT_CALL = 'p$vt';

const NOT_AN_ITEM = new Set(['SELECT', 'FROM', 'JOIN', 'ON', 'WHERE', 'AND', 'OR', 'NOT', 'BY', 'AS', 'IN']);

function put(chars: string[], t: DialectToken, text: string): void {
  for (let k = 0; k < t.end - t.start; k++) chars[t.start + k] = text[k] ?? ' ';
}

export function rewritePivot(tokens: readonly DialectToken[], chars: string[]): void {
  for (let i = 1; i + 1 < tokens.length; i++) {
    const t = tokens[i] as DialectToken;
    if (t.kind !== 'word' || t.text.toUpperCase() !== 'PIVOT' || (tokens[i + 1] as DialectToken).text !== '(')
      continue;
    const prev = tokens[i - 1] as DialectToken;
    const item =
      prev.text === ')' ||
      prev.kind === 'qident' ||
      (prev.kind === 'word' && !NOT_AN_ITEM.has(prev.text.toUpperCase()));
    if (!item) continue;
    // the clause's tokens, up to its closing parenthesis
    let depth = 0;
    let inList = false; // inside the parentheses of the clause's IN list
    let sawFor = false;
    let j = i + 1;
    const edits: [DialectToken, string][] = [];
    for (; j < tokens.length; j++) {
      const u = tokens[j] as DialectToken;
      if (u.text === '(') {
        depth++;
        const before = tokens[j - 1] as DialectToken;
        if (depth === 2 && sawFor && before.kind === 'word' && before.text.toUpperCase() === 'IN')
          inList = true;
        continue;
      }
      if (u.text === ')') {
        if (depth === 2) inList = false;
        depth--;
        if (depth === 0) break;
        continue;
      }
      if (u.kind !== 'word') continue;
      const up = u.text.toUpperCase();
      if (up === 'AS' && (depth === 1 || (depth === 2 && inList))) edits.push([u, '::']);
      else if (up === 'FOR' && depth === 1 && !sawFor) {
        sawFor = true;
        edits.push([u, ',']);
      }
    }
    if (j >= tokens.length || !sawFor) continue; // not a complete PIVOT clause: left for the parser to refuse
    put(chars, t, ',p$vt');
    for (const [u, text] of edits) put(chars, u, text);
    i = j;
  }
}
