/**
 * The dialect pre-pass of `CEIL(x TO unit)` / `FLOOR(x TO unit)` (see functions/ceil-floor-to.ts for the
 * semantics): the `TO` becomes a comma, so Postgres's parser reads `ceil(x, unit)`. Kept apart from the binder so
 * that the dialect layer does not import the binder (parse.ts → dialect.ts → bound.ts would be a cycle).
 *
 * State: none.
 */
import type { DialectToken } from './tokens.ts';

const NAMES = new Set(['CEIL', 'CEILING', 'FLOOR']);

/**
 * Dialect pre-pass: in `CEIL(... TO unit)` / `FLOOR(... TO unit)` (a `TO` at the call's own depth, followed by
 * one word and the closing parenthesis), `TO` becomes `, `. Keeps every position (same length).
 */
export function rewriteCeilFloorTo(tokens: readonly DialectToken[], chars: string[]): void {
  for (let i = 0; i + 1 < tokens.length; i++) {
    const t = tokens[i] as DialectToken;
    if (t.kind !== 'word' || !NAMES.has(t.text.toUpperCase()) || tokens[i + 1]?.text !== '(') continue;
    let depth = 0;
    for (let j = i + 1; j < tokens.length; j++) {
      const x = tokens[j] as DialectToken;
      if (x.text === '(') depth++;
      else if (x.text === ')' && --depth === 0) break;
      else if (
        depth === 1 &&
        x.kind === 'word' &&
        x.text.toUpperCase() === 'TO' &&
        tokens[j + 1]?.kind === 'word' &&
        tokens[j + 2]?.text === ')'
      ) {
        chars[x.start] = ',';
        chars[x.start + 1] = ' ';
        break;
      }
    }
  }
}
