/**
 * Feldera's SQL dialect on top of the Postgres grammar: a token-level pre-pass over the program text, run by
 * `parse.ts` before libpg-query parses it. Every rewrite keeps each character's position (replacement text
 * has exactly the length of what it replaces), so line and column numbers in errors stay those of the text
 * the user wrote.
 *
 * Rewrites:
 * 1. `SOME(` as a function call (not after a comparison operator, where Postgres's `x = SOME(array)` stays)
 *    → `s0me(`: SOME is a reserved word in Postgres; Feldera has the aggregate SOME (= BOOL_OR). The
 *    planner knows `s0me` as an alias of BOOL_OR and shows it as SOME.
 *
 * 2. `<integer type> UNSIGNED` (TINYINT, SMALLINT/INT2, INT/INTEGER/INT4, BIGINT/INT8; Feldera's unsigned
 *    integers) → `utinyint` / `usmallint` / `uinteger` / `ubigint` followed by spaces up to the original length
 *    (the type names `resolveTypeName` knows; Feldera also accepts these names written directly).
 *
 * 3. the infix `s RLIKE pattern` / `s NOT RLIKE pattern` (Feldera's regular-expression match) → `~` / `!~`
 *    padded with spaces (Postgres's regex-match operators, which the binder binds as the RLIKE function);
 *    `RLIKE(s, pattern)` as a function call is left alone.
 *
 * 4. `MAP[k1, v1, ...]` (Feldera's map constructor) → `MAP(k1, v1, ...)`: the brackets become parentheses, so
 *    Postgres parses a call of the function `map` (bound in `functions/collections.ts`).
 *
 * 5. `ARRAY(e1, e2, ...)` (Feldera's function form of the array constructor; not `ARRAY(SELECT ...)`) →
 *    `_arry(e1, e2, ...)`, a function `functions/collections.ts` binds as `ARRAY[e1, e2, ...]`.
 *
 * 6. Feldera's nested type expressions (`MAP<K, V>`, `ARRAY<T>`, `ROW(f T, ...)`, nested `T ARRAY ARRAY`, and the
 *    field lists of `CREATE TYPE name AS (f T NOT NULL, ...)`) → placeholder type names recorded in a side
 *    table: see `type-expr.ts`, which `rewriteDialect` calls last and whose table it returns.
 *
 * 7. `SAFE_CAST(` → `     CAST(`: the binder sees a CAST and, finding `SAFE_` before it in the program text,
 *    makes it Feldera's SAFE_CAST (NULL instead of a conversion error).
 *
 * 8. A column's `FOREIGN KEY REFERENCES t(c)` (Feldera's column-constraint form) → `REFERENCES t(c)` with the
 *    two words blanked (Postgres's column form; the table form `FOREIGN KEY (a) REFERENCES t(c)` is Postgres's).
 *
 * 9. `CEIL(x TO unit)` / `FLOOR(x TO unit)` (Feldera's time rounding): `TO` → `, ` (see
 *    `functions/ceil-floor-to.ts`, which does the rewrite and binds the call).
 *
 * 10. Period predicates after a parenthesized pair, `(a, b) OVERLAPS | CONTAINS | EQUALS | [IMMEDIATELY]
 *    PRECEDES | [IMMEDIATELY] SUCCEEDS ...` → operator symbols `@@#...` (see `period-predicates.ts`).
 *
 * 11. A string-literal select-list alias `AS 'name'` → `AS "name"` (see `string-alias-syntax.ts`).
 *
 * 12. `t PIVOT (aggregates FOR col IN (values))` → a call `,p$vt(...)` after t (see `pivot-syntax.ts`).
 *
 * State: none. Invariant: the output has the input's length, and only the listed tokens change.
 */
import { rewriteCeilFloorTo } from './ceil-floor-to-syntax.ts';
import { rewritePeriodPredicates } from './period-predicates-syntax.ts';
import { rewritePivot } from './pivot-syntax.ts';
import { rewriteStringAliases } from './string-alias-syntax.ts';
import type { DialectToken } from './tokens.ts';
import { rewriteTypes, type TypeTable } from './type-expr.ts';

/** The token shape this pass needs (produced by `parse.ts`'s tokenizer). */
export type { DialectToken } from './tokens.ts';

const COMPARISON = new Set(['=', '<', '>', '!']);

const UNSIGNED_NAMES: Readonly<Record<string, string>> = {
  TINYINT: 'utinyint',
  SMALLINT: 'usmallint',
  INT2: 'usmallint',
  INT: 'uinteger',
  INTEGER: 'uinteger',
  INT4: 'uinteger',
  BIGINT: 'ubigint',
  INT8: 'ubigint',
};

function overwrite(chars: string[], start: number, end: number, text: string): void {
  for (let i = start; i < end; i++) chars[i] = i - start < text.length ? (text[i - start] as string) : ' ';
}

/**
 * Applies the rewrites to `chars` (the program text, one element per character) in place; returns the
 * placeholder types of rewrite 5.
 */
export function rewriteDialect(tokens: readonly DialectToken[], chars: string[]): TypeTable {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as DialectToken;
    if (t.kind !== 'word') continue;
    const next = tokens[i + 1];
    const unsigned = UNSIGNED_NAMES[t.text.toUpperCase()];
    if (unsigned !== undefined && next?.kind === 'word' && next.text.toUpperCase() === 'UNSIGNED') {
      // the replacement (8 or 9 characters) always fits in `TYPE UNSIGNED` (at least 12)
      overwrite(chars, t.start, next.end, unsigned);
      i++;
      continue;
    }
    if (t.text.length === 3 && t.text.toUpperCase() === 'MAP' && next?.text === '[') {
      let depth = 0;
      for (let j = i + 1; j < tokens.length; j++) {
        const x = (tokens[j] as DialectToken).text;
        if (x === '[') depth++;
        else if (x === ']' && --depth === 0) {
          chars[next.start] = '(';
          chars[(tokens[j] as DialectToken).start] = ')';
          break;
        }
      }
      continue;
    }
    if (t.text.length === 5 && t.text.toUpperCase() === 'ARRAY' && next?.text === '(') {
      const first = tokens[i + 2];
      const sub = first?.kind === 'word' && /^(SELECT|WITH|VALUES)$/i.test(first.text);
      if (!sub && first?.text !== '(') overwrite(chars, t.start, t.end, '_arry');
      continue;
    }
    if (
      t.text.toUpperCase() === 'FOREIGN' &&
      next?.kind === 'word' &&
      next.text.toUpperCase() === 'KEY' &&
      tokens[i + 2]?.kind === 'word' &&
      (tokens[i + 2] as DialectToken).text.toUpperCase() === 'REFERENCES'
    ) {
      overwrite(chars, t.start, t.end, '');
      overwrite(chars, next.start, next.end, '');
      i++;
      continue;
    }
    if (t.text.toUpperCase() === 'SAFE_CAST' && next?.text === '(') {
      overwrite(chars, t.start, t.end, '     CAST');
      continue;
    }
    if (t.text.toUpperCase() === 'RLIKE' && next?.text !== '(' && i > 0) {
      const prev = tokens[i - 1] as DialectToken;
      if (prev.kind === 'word' && prev.text.toUpperCase() === 'NOT')
        overwrite(chars, prev.start, t.end, '!~');
      else overwrite(chars, t.start, t.end, '~');
      continue;
    }
    if (t.text.length === 4 && t.text.toUpperCase() === 'SOME' && tokens[i + 1]?.text === '(') {
      const prev = tokens[i - 1];
      if (prev?.kind === 'punct' && COMPARISON.has(prev.text)) continue;
      chars[t.start] = 's';
      chars[t.start + 1] = '0';
      chars[t.start + 2] = 'm';
      chars[t.start + 3] = 'e';
    }
  }
  rewriteCeilFloorTo(tokens, chars);
  rewritePeriodPredicates(tokens, chars);
  rewritePivot(tokens, chars);
  rewriteStringAliases(tokens, chars);
  return rewriteTypes(tokens, chars);
}
