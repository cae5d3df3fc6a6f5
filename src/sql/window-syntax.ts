/**
 * Feldera's window table functions, `FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE))` (also
 * HOP and SESSION, named arguments `DATA => TABLE t`), as a position-preserving rewrite run by `parse.ts`: the outer `TABLE(`
 * and its `)` and the `TABLE` before the relation name become blanks (and a named `OFFSET =>`, reserved in
 * Postgres, becomes `offse$ =>`), leaving `tumble(t, descriptor(ts), ...)`,
 * a Postgres table function call that the planner (`windows.ts`) knows. State: none. Invariant: the output has
 * the input's length.
 */
import type { DialectToken } from './dialect.ts';

export const WINDOW_FUNCTIONS: ReadonlySet<string> = new Set(['TUMBLE', 'HOP', 'SESSION']);

function blank(chars: string[], t: DialectToken): void {
  for (let i = t.start; i < t.end; i++) chars[i] = ' ';
}

export function rewriteWindowSyntax(tokens: readonly DialectToken[], chars: string[]): void {
  for (let i = 0; i + 3 < tokens.length; i++) {
    const t = tokens[i] as DialectToken;
    const open = tokens[i + 1] as DialectToken;
    const fn = tokens[i + 2] as DialectToken;
    if (
      t.kind !== 'word' ||
      t.text.toUpperCase() !== 'TABLE' ||
      open.text !== '(' ||
      fn.kind !== 'word' ||
      !WINDOW_FUNCTIONS.has(fn.text.toUpperCase()) ||
      tokens[i + 3]?.text !== '('
    )
      continue;
    // find the ) that closes TABLE(
    let depth = 0;
    let close = -1;
    for (let k = i + 1; k < tokens.length; k++) {
      const x = (tokens[k] as DialectToken).text;
      if (x === ';') break;
      if (x === '(') depth++;
      else if (x === ')' && --depth === 0) {
        close = k;
        break;
      }
    }
    if (close < 0) continue;
    blank(chars, t);
    blank(chars, open);
    blank(chars, tokens[close] as DialectToken);
    // TABLE <name> inside the call's arguments; OFFSET => (a reserved word in Postgres) → offse$ =>
    for (let k = i + 4; k < close; k++) {
      const a = tokens[k] as DialectToken;
      const b = tokens[k + 1];
      if (
        a.kind === 'word' &&
        a.text.toUpperCase() === 'OFFSET' &&
        b?.text === '=' &&
        tokens[k + 2]?.text === '>'
      ) {
        for (let x = 0; x < 6; x++) chars[a.start + x] = 'offse$'[x] as string;
        continue;
      }
      if (
        a.kind === 'word' &&
        a.text.toUpperCase() === 'TABLE' &&
        (b?.kind === 'word' || b?.kind === 'qident')
      )
        blank(chars, a);
    }
    i = close;
  }
}
