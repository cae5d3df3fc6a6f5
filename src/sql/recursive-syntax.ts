/**
 * Feldera's forward declarations of recursive views, which the Postgres grammar does not take:
 *
 *   DECLARE RECURSIVE VIEW closure (x INT, y INT NOT NULL);
 *   CREATE RECURSIVE VIEW closure (x INT, y INT);          -- the older spelling, without AS
 *
 * `parse.ts` calls {@link rewriteRecursiveDeclarations} on the program text: each declaration's leading words
 * become `CREATE TABLE` padded with spaces (the same length, so every position is unchanged), the Postgres
 * grammar parses the column list as a table's, and the statement is flagged as a declaration (`program.ts`
 * turns it into the view's declared schema, never a table). `CREATE RECURSIVE VIEW v (cols) AS SELECT ...`
 * (Postgres's recursive view, with a query) is not a declaration and is left alone.
 *
 * State: none. Invariant: the text keeps its length; only the declaration keywords change.
 */
import type { DialectToken } from './tokens.ts';

/**
 * Rewrites the declarations in `chars` in place; returns the character offset of each declaration's first
 * word (the start of its statement).
 */
export function rewriteRecursiveDeclarations(tokens: readonly DialectToken[], chars: string[]): number[] {
  const starts: number[] = [];
  const word = (i: number): string => {
    const t = tokens[i];
    return t?.kind === 'word' ? t.text.toUpperCase() : '';
  };
  let stmtStart = true;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as DialectToken;
    const atStart = stmtStart;
    stmtStart = t.text === ';';
    if (!atStart) continue;
    const lead = word(i);
    if ((lead !== 'DECLARE' && lead !== 'CREATE') || word(i + 1) !== 'RECURSIVE' || word(i + 2) !== 'VIEW')
      continue;
    // name, then a parenthesised column list that ends the statement
    const open = tokens[i + 4];
    if (open?.text !== '(') continue;
    let depth = 0;
    let close = -1;
    for (let j = i + 4; j < tokens.length; j++) {
      const x = (tokens[j] as DialectToken).text;
      if (x === '(') depth++;
      else if (x === ')' && --depth === 0) {
        close = j;
        break;
      }
    }
    if (close < 0) continue;
    const after = tokens[close + 1];
    if (after !== undefined && after.text !== ';') continue; // `... AS SELECT`: Postgres's recursive view
    const recTok = tokens[i + 1] as DialectToken;
    const viewTok = tokens[i + 2] as DialectToken;
    // `DECLARE RECURSIVE VIEW` / `CREATE RECURSIVE VIEW` → `CREATE` over the first word, `TABLE` over
    // `RECURSIVE`, the rest blanked (newlines kept)
    for (let c = t.start; c < viewTok.end; c++) if (chars[c] !== '\n') chars[c] = ' ';
    for (let k = 0; k < 6; k++) chars[t.start + k] = 'CREATE'[k] as string;
    for (let k = 0; k < 5; k++) chars[recTok.start + k] = 'TABLE'[k] as string;
    starts.push(t.start);
  }
  return starts;
}
