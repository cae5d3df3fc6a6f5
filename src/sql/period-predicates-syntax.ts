/**
 * The dialect pre-pass of the period predicates (see period-predicates.ts for the semantics): the operator
 * word(s) after a parenthesized pair become a Postgres operator symbol. Kept apart from the binder so that the
 * dialect layer does not import the binder (parse.ts → dialect.ts → bound.ts would be a cycle).
 *
 * State: none.
 */
import type { DialectToken } from './tokens.ts';

/** Operator symbol → the name users write (for messages). */
export const PERIOD_OPS: Readonly<Record<string, string>> = {
  '@@#&': 'OVERLAPS',
  '@@#@': 'CONTAINS',
  '@@#=': 'EQUALS',
  '@@#<': 'PRECEDES',
  '@@#<<': 'IMMEDIATELY PRECEDES',
  '@@#>': 'SUCCEEDS',
  '@@#>>': 'IMMEDIATELY SUCCEEDS',
};
const SYMBOL: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(PERIOD_OPS).map(([k, v]) => [v, k]),
);

/** Words after which a parenthesized pair is an expression (not a function's argument list). */
const EXPRESSION_START = new Set([
  'SELECT',
  'WHERE',
  'AND',
  'OR',
  'NOT',
  'WHEN',
  'THEN',
  'ELSE',
  'ON',
  'HAVING',
]);

/** Whether the `)` at `close` ends a parenthesized pair `(a, b)` that is an expression. */
function endsPair(tokens: readonly DialectToken[], close: number): boolean {
  let depth = 0;
  let commas = 0;
  for (let j = close; j >= 0; j--) {
    const x = (tokens[j] as DialectToken).text;
    if (x === ')') depth++;
    else if (x === '(') {
      if (--depth > 0) continue;
      const before = tokens[j - 1];
      const call = before?.kind === 'word' && !EXPRESSION_START.has(before.text.toUpperCase());
      return commas === 1 && !call;
    } else if (x === ',' && depth === 1) commas++;
  }
  return false;
}

/**
 * Dialect pre-pass: `(a, b) OVERLAPS ...`, `CONTAINS`, `EQUALS`, `[IMMEDIATELY] PRECEDES`, `[IMMEDIATELY]
 * SUCCEEDS` → the operator symbols above, padded with spaces (positions are kept).
 */
export function rewritePeriodPredicates(tokens: readonly DialectToken[], chars: string[]): void {
  for (let i = 1; i + 1 < tokens.length; i++) {
    const t = tokens[i] as DialectToken;
    if (t.kind !== 'word' || tokens[i - 1]?.text !== ')') continue;
    let word = t.text.toUpperCase();
    let end = t.end;
    if (word === 'IMMEDIATELY') {
      const n = tokens[i + 1] as DialectToken;
      const w = n.text.toUpperCase();
      if (n.kind !== 'word' || (w !== 'PRECEDES' && w !== 'SUCCEEDS')) continue;
      word = `IMMEDIATELY ${w}`;
      end = n.end;
    }
    const symbol = SYMBOL[word];
    if (symbol === undefined || !endsPair(tokens, i - 1)) continue;
    for (let c = t.start; c < end; c++)
      chars[c] = c - t.start < symbol.length ? (symbol[c - t.start] as string) : ' ';
  }
}
