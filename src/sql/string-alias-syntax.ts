/**
 * Feldera's (Calcite's) string-literal column aliases, `SELECT count(*) AS 'day'` (as its Nexmark q15-q17 write
 * them), for the Postgres grammar: the quotes of the literal after `AS` become double quotes, so Postgres reads
 * a quoted identifier with the same name and case (`'day'` → `"day"`, the same length: positions stay).
 *
 * Only a select-list alias is touched: the literal must follow `AS`, hold no quote of either kind, and be
 * followed by `,`, `FROM` or `)`, or by `;` / the end outside a `CREATE FUNCTION` (whose `AS 'text'` is a body).
 *
 * State: none. Invariant: the output has the input's length.
 */
import type { DialectToken } from './tokens.ts';

const AFTER_ALIAS = new Set([',', ')', ';']);

export function rewriteStringAliases(tokens: readonly DialectToken[], chars: string[]): void {
  let inFunction = false;
  for (let i = 0; i + 1 < tokens.length; i++) {
    const t = tokens[i] as DialectToken;
    const up = t.kind === 'word' ? t.text.toUpperCase() : '';
    if (t.text === ';') inFunction = false;
    else if (up === 'FUNCTION' && i > 0 && /^(CREATE|REPLACE)$/i.test((tokens[i - 1] as DialectToken).text))
      inFunction = true;
    if (up !== 'AS') continue;
    const s = tokens[i + 1] as DialectToken;
    if (s.kind !== 'string' || chars[s.start] !== "'" || chars[s.end - 1] !== "'" || s.end - s.start < 3)
      continue;
    const inner = chars.slice(s.start + 1, s.end - 1).join('');
    if (/['"]/.test(inner)) continue;
    const next = tokens[i + 2];
    const ok =
      next === undefined
        ? !inFunction
        : next.text === ';'
          ? !inFunction
          : AFTER_ALIAS.has(next.text) || (next.kind === 'word' && next.text.toUpperCase() === 'FROM');
    if (!ok) continue;
    chars[s.start] = '"';
    chars[s.end - 1] = '"';
  }
}
