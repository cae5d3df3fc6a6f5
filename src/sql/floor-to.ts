/**
 * Feldera's `FLOOR(x TO unit)` / `CEIL(x TO unit)` / `CEILING(x TO unit)` (rounding a DATE, TIME or TIMESTAMP to
 * a time unit), which Postgres's grammar lacks: a pre-pass over the tokens, called by `dialect.ts`, writes the
 * `TO` as `, ` so that Postgres parses a two-argument call `floor(x, unit)`; the binder
 * (`functions/datetime.ts`, `bindDatetimeSpecial`) binds a FLOOR/CEIL whose second argument is a unit word.
 *
 * State: none. Invariant: only the two characters of that `TO` change (positions stay the user's).
 */
import type { DialectToken } from './tokens.ts';

const NAMES = new Set(['FLOOR', 'CEIL', 'CEILING']);

/** Whether token i is FLOOR/CEIL/CEILING followed by `(`. */
export function isFloorCall(tokens: readonly DialectToken[], i: number): boolean {
  const t = tokens[i] as DialectToken;
  return t.kind === 'word' && tokens[i + 1]?.text === '(' && NAMES.has(t.text.toUpperCase());
}

/**
 * For the call whose name is token i: when its argument list (at its own nesting level) is `expr TO word`
 * ending with `)`, overwrites that `TO` with `, `.
 */
export function rewriteFloorTo(tokens: readonly DialectToken[], i: number, chars: string[]): void {
  let depth = 0;
  for (let j = i + 1; j < tokens.length; j++) {
    const x = tokens[j] as DialectToken;
    if (x.kind === 'punct' && (x.text === '(' || x.text === '[')) depth++;
    else if (x.kind === 'punct' && (x.text === ')' || x.text === ']')) {
      if (--depth === 0) return;
    } else if (
      depth === 1 &&
      x.kind === 'word' &&
      x.text.toUpperCase() === 'TO' &&
      tokens[j + 1]?.kind === 'word' &&
      tokens[j + 2]?.text === ')'
    ) {
      chars[x.start] = ',';
      chars[x.start + 1] = ' ';
      return;
    }
  }
}
