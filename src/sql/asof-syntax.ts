/**
 * Feldera's `l LEFT ASOF JOIN r MATCH_CONDITION (l.ts >= r.ts) ON l.k = r.k` as a position-preserving rewrite
 * run by `parse.ts` (before the Postgres grammar sees the text), and the recognition of its result by the
 * planner (`asof-plan.ts`).
 *
 * The rewrite blanks `ASOF` and turns `MATCH_CONDITION (c) ON k` into `ON asof$match  (c) AND k` (the blank
 * before `ON` and `ON` itself become `AND`), or `MATCH_CONDITION (c)` without ON into `ON asof$match  (c)`:
 * Postgres then parses a LEFT JOIN whose condition is the conjunction of a call of the marker function
 * `asof$match` (the match condition) and the ON equalities. Each replacement has the length of what it
 * replaces, so positions in errors stay those of the text the user wrote.
 *
 * Feldera also takes the comparison without parentheses (`MATCH_CONDITION l.ts >= r.ts ON k`, as its Nexmark
 * q13 is written). There is no room for parentheses or for an AND in place of ON, so `MATCH_CONDITION` becomes
 * `ON asof$m()AND` (a call of the argument-less marker `asof$m`, padded) and `ON` becomes `OR`: Postgres then
 * parses `(asof$m() AND c) OR k` (AND binds tighter), and the planner reads the match condition as the conjunct
 * after the marker and the ON clause as the other side of the OR.
 *
 * Refused here, with the position: RIGHT/FULL/INNER `ASOF JOIN` (Feldera supports only the LEFT form), a
 * missing MATCH_CONDITION, and `USING` (`SqlUnsupported`/`SqlSyntaxError`). `ASOF` that is
 * not followed by JOIN, or `x ASOF JOIN` with no join keyword before ASOF and no MATCH_CONDITION after it, is
 * left alone (it is then a name, e.g. a table alias).
 *
 * State: none. Invariant: the output has the input's length.
 */
import { ServiceError } from '../errors/service-error.ts';
import type { ErrorCode } from '../types/error-codes.ts';
import type { Ast } from './source-map.ts';
import { SourceMap } from './source-map.ts';
import type { DialectToken } from './tokens.ts';

/** The marker function the rewrite puts in the join condition (lower case, as Postgres folds it). */
export const ASOF_MARKER = 'asof$match';
/** The argument-less marker of the unparenthesized form: the match condition is the conjunct after it. */
export const ASOF_BARE_MARKER = 'asof$m';

const JOIN_KIND_WORDS = new Set(['LEFT', 'RIGHT', 'FULL', 'INNER', 'CROSS', 'OUTER']);

const FORM = 'write FROM l LEFT ASOF JOIN r MATCH_CONDITION (l.ts >= r.ts) ON l.k = r.k';

function upper(t: DialectToken | undefined): string {
  return t?.kind === 'word' ? t.text.toUpperCase() : '';
}

function overwrite(chars: string[], start: number, end: number, text: string): void {
  for (let i = start; i < end; i++) chars[i] = i - start < text.length ? (text[i - start] as string) : ' ';
}

function errorAt(
  sql: string,
  offset: number,
  code: ErrorCode,
  message: string,
  construct?: string,
): ServiceError {
  const p = new SourceMap(sql).position(offset);
  return new ServiceError(code, `${message} (line ${p.line}, column ${p.column})`, {
    line: p.line,
    column: p.column,
    ...(construct ? { construct } : {}),
  });
}

/** Index of the token that closes the parenthesis opened at `open`, or -1. */
function closing(tokens: readonly DialectToken[], open: number): number {
  let depth = 0;
  for (let k = open; k < tokens.length; k++) {
    const x = (tokens[k] as DialectToken).text;
    if (x === ';') return -1;
    if (x === '(') depth++;
    else if (x === ')' && --depth === 0) return k;
  }
  return -1;
}

/** The MATCH_CONDITION token after the JOIN at `join` (same parenthesis level, before the next JOIN), or -1. */
function findMatchCondition(tokens: readonly DialectToken[], join: number): number {
  let depth = 0;
  for (let k = join + 1; k < tokens.length; k++) {
    const t = tokens[k] as DialectToken;
    if (t.text === ';') return -1;
    if (t.text === '(') depth++;
    else if (t.text === ')' && --depth < 0) return -1;
    else if (depth === 0 && t.kind === 'word') {
      const w = t.text.toUpperCase();
      if (w === 'MATCH_CONDITION') return k;
      if (w === 'JOIN' || w === 'ON' || w === 'WHERE' || w === 'USING') return -1;
    }
  }
  return -1;
}

/** Words that end a bare MATCH_CONDITION (beside `;` and a closing parenthesis of an outer level). */
const CONDITION_END = new Set([
  'ON',
  'USING',
  'WHERE',
  'GROUP',
  'HAVING',
  'ORDER',
  'LIMIT',
  'UNION',
  'EXCEPT',
  'INTERSECT',
  'WINDOW',
  'JOIN',
  'LEFT',
  'RIGHT',
  'FULL',
  'INNER',
  'CROSS',
  'NATURAL',
]);

function endsCondition(t: DialectToken | undefined): boolean {
  return t === undefined || t.text === ';' || t.text === ')' || t.text === ',' || CONDITION_END.has(upper(t));
}

/** Index of the last token of the unparenthesized condition after MATCH_CONDITION at `mc`. */
function bareConditionEnd(tokens: readonly DialectToken[], mc: number): number {
  let depth = 0;
  let k = mc + 1;
  for (; k < tokens.length; k++) {
    const t = tokens[k] as DialectToken;
    if (depth === 0 && endsCondition(t)) break;
    if (t.text === '(') depth++;
    else if (t.text === ')') depth--;
  }
  return k - 1;
}

export function rewriteAsofSyntax(tokens: readonly DialectToken[], chars: string[], sql: string): void {
  for (let i = 0; i + 1 < tokens.length; i++) {
    const t = tokens[i] as DialectToken;
    if (upper(t) !== 'ASOF' || upper(tokens[i + 1]) !== 'JOIN') continue;
    const before = upper(tokens[i - 1]);
    const mc = findMatchCondition(tokens, i + 1);
    if (!JOIN_KIND_WORDS.has(before) && mc < 0) continue; // `t asof JOIN u`: a table alias named asof
    if (before !== 'LEFT')
      throw errorAt(
        sql,
        t.start,
        'SqlUnsupported',
        `only the LEFT form of ASOF JOIN is supported (as in Feldera); ${FORM}`,
        'ASOF JOIN',
      );
    if (mc < 0)
      throw errorAt(
        sql,
        t.start,
        'SqlSyntaxError',
        `LEFT ASOF JOIN needs a MATCH_CONDITION after the right-hand table; ${FORM}`,
      );
    const open = tokens[mc + 1];
    let close = open?.text === '(' ? closing(tokens, mc + 1) : -1;
    // `(a) >= (b)` starts with a parenthesis too: the parenthesized form is `( ... )` followed by ON or the end
    if (close >= 0 && !endsCondition(tokens[close + 1])) close = -1;
    const bare = close < 0;
    if (bare) close = bareConditionEnd(tokens, mc);
    if (close <= mc)
      throw errorAt(
        sql,
        (tokens[mc] as DialectToken).start,
        'SqlSyntaxError',
        `MATCH_CONDITION needs a comparison; ${FORM}`,
      );
    const after = tokens[close + 1];
    if (upper(after) === 'USING')
      throw errorAt(
        sql,
        (after as DialectToken).start,
        'SqlUnsupported',
        `ASOF JOIN ... USING is not supported; ${FORM}`,
        'ASOF JOIN USING',
      );
    const m = tokens[mc] as DialectToken;
    if (upper(after) === 'ON' && bare) {
      const on = after as DialectToken;
      overwrite(chars, on.start, on.end, 'OR');
    } else if (upper(after) === 'ON') {
      const on = after as DialectToken;
      const gap = sql.slice((tokens[close] as DialectToken).end, on.start);
      const blankBefore = /\s/.test(sql[on.start - 1] ?? '');
      // the blank becomes the A of AND: it must not end a line comment (AND would join the comment)
      if (!blankBefore || (sql[on.start - 1] === '\n' && !/^\s*$/.test(gap)))
        throw errorAt(
          sql,
          on.start,
          'SqlSyntaxError',
          'a comment between MATCH_CONDITION (...) and an ON at the start of a line is not supported: move the comment or indent ON',
        );
      overwrite(chars, on.start - 1, on.end, 'AND');
    }
    overwrite(chars, t.start, t.end, '');
    overwrite(chars, m.start, m.end, bare ? `ON ${ASOF_BARE_MARKER}()AND` : `ON ${ASOF_MARKER}`);
    i = close;
  }
}

/** True when `ast` (a join condition) mentions the ASOF marker anywhere. */
export function mentionsAsofMarker(ast: Ast): boolean {
  if (ast === null || typeof ast !== 'object') return false;
  if (Array.isArray(ast)) return ast.some(mentionsAsofMarker);
  if (ast.FuncCall && isMarkerCall(ast)) return true;
  return Object.values(ast).some((v) => v !== null && typeof v === 'object' && mentionsAsofMarker(v));
}

export function isMarkerCall(ast: Ast): boolean {
  const names = ast?.FuncCall?.funcname as Ast[] | undefined;
  const name = names?.length === 1 ? names[0]?.String?.sval : undefined;
  return name === ASOF_MARKER || name === ASOF_BARE_MARKER;
}

/** True for the argument-less marker of the unparenthesized form. */
export function isBareMarkerCall(ast: Ast): boolean {
  const names = ast?.FuncCall?.funcname as Ast[] | undefined;
  return names?.length === 1 && names[0]?.String?.sval === ASOF_BARE_MARKER;
}
