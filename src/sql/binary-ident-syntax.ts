/**
 * A column named `binary`. Feldera (Calcite) accepts `binary` as an identifier where no type can stand
 * (`CREATE TABLE t(id INT, binary BINARY(4))`, `CAST(binary AS VARIANT)`, `SELECT binary FROM t`); in the
 * Postgres grammar BINARY is a type/function-name keyword, which no column name may be. This pre-pass (run by
 * `parse.ts` after `dialect.ts`) replaces such a `binary` by the placeholder {@link PLACEHOLDER} (the same
 * length: positions stay), and {@link restoreBinaryIdents} renames the placeholder back in the parsed tree.
 *
 * `binary` is taken as an identifier when the token before it is punctuation other than `::` (`(`, `,`, `=`,
 * `[`, an operator, ...) or one of the keywords after which an expression or column definition starts
 * ({@link EXPR_KEYWORDS}: SELECT, WHERE, BY, ON, ...). After any other word it is a type (`c BINARY`,
 * `AS BINARY(4)`, `RETURNS BINARY`), and after `AS` a select-list alias `AS binary` is Postgres's already.
 * Qualified forms (`t.binary`) are left alone: Postgres accepts a keyword after a dot.
 *
 * State: none. Invariant: the text keeps its length; only whole unquoted `binary` words change.
 */
import type { DialectToken } from './tokens.ts';

/** The identifier the pre-pass writes in place of `binary` (6 characters, not a keyword, unlikely in SQL). */
export const PLACEHOLDER = 'binar$';

const EXPR_KEYWORDS = new Set([
  'SELECT',
  'WHERE',
  'AND',
  'OR',
  'NOT',
  'ON',
  'BY',
  'WHEN',
  'THEN',
  'ELSE',
  'CASE',
  'HAVING',
  'DISTINCT',
  'ALL',
  'BETWEEN',
  'IN',
  'LIKE',
  'IS',
  'RETURN',
]);

/** Rewrites identifier uses of `binary` in `chars` (see the module header). */
export function rewriteBinaryIdents(tokens: readonly DialectToken[], chars: string[]): void {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as DialectToken;
    if (t.kind !== 'word' || t.text.length !== 6 || t.text.toLowerCase() !== 'binary') continue;
    if (chars.slice(t.start, t.end).join('') !== t.text) continue; // already rewritten by an earlier pass
    const prev = tokens[i - 1];
    if (prev === undefined) continue;
    const ident =
      prev.kind === 'punct'
        ? !(prev.text === ':' && tokens[i - 2]?.text === ':' && tokens[i - 2]?.end === prev.start)
        : prev.kind === 'word' && EXPR_KEYWORDS.has(prev.text.toUpperCase());
    if (!ident) continue;
    for (let k = 0; k < PLACEHOLDER.length; k++) chars[t.start + k] = PLACEHOLDER[k] as string;
  }
}

/**
 * Renames the placeholder back to `binary` in a parsed statement (identifiers only: string constants are not
 * touched). Iterative, so a deep tree cannot overflow the stack.
 */
export function restoreBinaryIdents(root: unknown): void {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (const x of node) stack.push(x);
      continue;
    }
    const o = node as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      if (key === 'A_Const') continue;
      const v = o[key];
      if (v === PLACEHOLDER) o[key] = 'binary';
      else if (v !== null && typeof v === 'object') stack.push(v);
    }
  }
}

/** The statement text as the user wrote it, with the placeholder renamed back. */
export function restoreBinaryText(text: string): string {
  return text.includes(PLACEHOLDER) ? text.replaceAll(/\bbinar\$/g, 'binary') : text;
}
