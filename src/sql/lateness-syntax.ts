/**
 * Parsing Feldera's `LATENESS` annotations, which the Postgres grammar does not take, in its two forms:
 *
 *   CREATE TABLE t (..., ts TIMESTAMP NOT NULL LATENESS INTERVAL 1 HOUR, ...)   -- on a column of a table
 *   LATENESS v.c INTERVAL '1' HOUR;                                            -- a statement, on a view column
 *
 * `parse.ts` calls {@link cutLateness} on the program text after the other position-preserving rewrites (so the
 * expression may use Feldera's interval forms): each annotation is blanked out of the text the main parse sees,
 * and its expression is returned as a program-length text holding only `SELECT <expression>` (`LATENESS`, eight
 * characters, becomes `SELECT  `; every other character blanked, newlines kept), so the parser's locations are
 * those of the program text.
 * - The column form ends at the column's next top-level `,` or `)`, or at a following column constraint keyword
 *   (`NOT`, `NULL`, `PRIMARY`, `DEFAULT`, `REFERENCES`, `FOREIGN`, `WATERMARK`); it is attached to the column
 *   whose definition it is in (by name, as the parser would fold it).
 * - The statement form becomes one synthetic statement `{ HoldfastLateness: { relation, column, expr, location,
 *   quoted } }` that `program.ts` resolves once every relation is declared.
 * What a lateness means and what it is checked against is `lateness.ts`'s business.
 *
 * State: none. Invariant: the text given to the main parse keeps its length and every other character.
 */
import type { DialectToken } from './tokens.ts';

/** One LATENESS annotation cut out of the program. */
export interface CutLateness {
  /** 'column': inside a CREATE TABLE; 'statement': a `LATENESS rel.col expr;` statement. */
  readonly form: 'column' | 'statement';
  /** Character offset of the `LATENESS` keyword. */
  readonly start: number;
  /** Character offset just past the annotation (for a statement: past its `;` or at the end of the text). */
  readonly end: number;
  /** The relation (statement form only): name as written, and whether it was quoted. */
  readonly relation: { readonly name: string; readonly quoted: boolean } | null;
  /** The column: name as written, and whether it was quoted. */
  readonly column: { readonly name: string; readonly quoted: boolean } | null;
  /** Program-length text holding only `SELECT <expression>`. */
  readonly exprText: string;
  /** Text of the expression as written (for program info and messages). */
  readonly exprSource: string;
}

const upper = (t: DialectToken | undefined): string => (t?.kind === 'word' ? t.text.toUpperCase() : '');

const STOP = new Set(['NOT', 'NULL', 'PRIMARY', 'DEFAULT', 'REFERENCES', 'FOREIGN', 'WATERMARK', 'LATENESS']);

function exprOnly(chars: readonly string[], kw: DialectToken, from: number, to: number): string {
  const out: string[] = chars.map((c) => (c === '\n' ? '\n' : ' '));
  'SELECT  '.split('').forEach((c, k) => {
    out[kw.start + k] = c;
  });
  for (let i = from; i < to; i++) out[i] = chars[i] as string;
  return out.join('');
}

function blank(chars: string[], from: number, to: number): void {
  for (let i = from; i < to; i++) if (chars[i] !== '\n') chars[i] = ' ';
}

/** An identifier token as a name: unquoted words as written (the binder folds them), quoted ones exact. */
function ident(t: DialectToken | undefined): { name: string; quoted: boolean } | null {
  if (t?.kind === 'word' && !t.text.includes('.')) return { name: t.text, quoted: false };
  if (t?.kind === 'qident') return { name: t.text.slice(1, -1).replace(/""/g, '"'), quoted: true };
  return null;
}

/**
 * Finds every LATENESS annotation, blanks it in `chars` (in place) and returns what to parse for it. `sql` is
 * the program text (for the expression's source text). A malformed annotation is returned with a null column
 * (or relation), for `parse.ts` to report at its position.
 */
export function cutLateness(tokens: readonly DialectToken[], chars: string[], sql: string): CutLateness[] {
  const out: CutLateness[] = [];
  let s = 0;
  while (s < tokens.length) {
    let e = s;
    while (e < tokens.length && (tokens[e] as DialectToken).text !== ';') e++;
    if (upper(tokens[s]) === 'LATENESS') out.push(cutStatement(tokens, s, e, chars, sql));
    else if (upper(tokens[s]) === 'CREATE') {
      for (const c of cutColumns(tokens, s, e, chars, sql)) out.push(c);
    }
    s = e + 1;
  }
  for (const c of out) blank(chars, c.start, c.end);
  return out;
}

function cutStatement(
  tokens: readonly DialectToken[],
  s: number,
  e: number,
  chars: readonly string[],
  sql: string,
): CutLateness {
  const kw = tokens[s] as DialectToken;
  const end = e < tokens.length ? (tokens[e] as DialectToken).end : chars.length;
  // the name: `v.c` (one word token), or parts separated by '.' tokens (`"V"."c"`, `v."c"`)
  const parts: Array<{ name: string; quoted: boolean }> = [];
  let i = s + 1;
  const first = tokens[i];
  if (first?.kind === 'word' && first.text.includes('.')) {
    for (const p of first.text.split('.')) parts.push({ name: p, quoted: false });
    i++;
  } else {
    for (;;) {
      const id = ident(tokens[i]);
      if (id === null) break;
      parts.push(id);
      i++;
      if (tokens[i]?.text !== '.') break;
      i++;
    }
  }
  const ok = parts.length === 2 && parts.every((p) => p.name !== '');
  const exprFrom = i < e ? (tokens[i] as DialectToken).start : end;
  const exprTo = e < tokens.length ? (tokens[e] as DialectToken).start : chars.length;
  return {
    form: 'statement',
    start: kw.start,
    end,
    relation: ok ? (parts[0] as { name: string; quoted: boolean }) : null,
    column: ok ? (parts[1] as { name: string; quoted: boolean }) : null,
    exprText: exprOnly(chars, kw, exprFrom, exprTo),
    exprSource: sql.slice(exprFrom, exprTo).trim(),
  };
}

function cutColumns(
  tokens: readonly DialectToken[],
  s: number,
  e: number,
  chars: readonly string[],
  sql: string,
): CutLateness[] {
  const out: CutLateness[] = [];
  // only CREATE TABLE name ( ... )
  let k = s + 1;
  if (upper(tokens[k]) !== 'TABLE') return out;
  while (k < e && (tokens[k] as DialectToken).text !== '(') k++;
  if (k >= e) return out;
  let depth = 0;
  let colStart = k + 1;
  for (let i = k; i < e; i++) {
    const t = tokens[i] as DialectToken;
    if (t.text === '(') {
      depth++;
      continue;
    }
    if (t.text === ')') {
      if (--depth === 0) break;
      continue;
    }
    if (depth !== 1) continue;
    if (t.text === ',') {
      colStart = i + 1;
      continue;
    }
    if (upper(t) !== 'LATENESS' || i === colStart) continue;
    // the expression: up to a top-level ',' or ')' of the column list, or a following constraint keyword
    let j = i + 1;
    let d = 0;
    for (; j < e; j++) {
      const x = tokens[j] as DialectToken;
      if (x.text === '(') d++;
      else if (x.text === ')') {
        if (d === 0) break;
        d--;
      } else if (d === 0 && (x.text === ',' || STOP.has(upper(x)))) break;
    }
    const from = j > i + 1 ? (tokens[i + 1] as DialectToken).start : t.end;
    const to = j > i + 1 ? (tokens[j - 1] as DialectToken).end : t.end;
    out.push({
      form: 'column',
      start: t.start,
      end: to,
      relation: null,
      column: ident(tokens[colStart]),
      exprText: exprOnly(chars, t, from, to),
      exprSource: sql.slice(from, to).trim(),
    });
    i = j - 1;
  }
  return out;
}
