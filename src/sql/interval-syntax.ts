/**
 * Feldera's interval syntax that the Postgres grammar lacks, as position-preserving rewrites of the program
 * text (run by `parse.ts` next to `dialect.ts`; every replacement has the length of what it replaces), plus a
 * pass over the parsed tree that turns the marked spots back into interval nodes:
 *
 * 1. Plural units after an interval literal (`INTERVAL '150' DAYS`, `'3600' HOURS`; Postgres would read the word
 *    as a column alias) → the singular followed by a space.
 * 2. `INTERVAL <expr> <unit>` where the value is not a string literal (`INTERVAL 7 DAYS`, `INTERVAL -5 MINUTE`,
 *    also any value before Calcite's WEEK[S] (7 days) and QUARTER[S] (3 months), which Postgres lacks,
 *    `INTERVAL v.months_str MONTH`, `INTERVAL (a + b) HOUR`) → a call `i$day___(<expr>)`: the name (8 characters)
 *    takes the place of `INTERVAL`, the `(` that of the blank after it, the `)` the first character of the unit.
 *    The binder (`intervals.ts`) knows these `i$<unit>` names.
 * 3. The qualifier on a parenthesised difference, `(a - b) SECOND`, `(d1 - d2) YEAR TO MONTH` → an array
 *    subscript `(a - b) [6]`, whose constant's position is recorded; `markIntervalQualifiers` then replaces
 *    exactly those subscripts in the tree by `{HfIntervalQualified: {arg, qualifier, location}}` nodes, so a
 *    real array subscript is never mistaken for one.
 *
 * State: none. Invariant: the output has the input's length; text outside the listed forms is unchanged.
 */

import type { IntervalQualifier, IntervalUnit } from './sql-type.ts';
import type { DialectToken } from './tokens.ts';

// biome-ignore lint/suspicious/noExplicitAny: the Postgres AST is an untyped JSON tree (as parse.ts's Ast).
type Ast = any;
/** What the tree pass needs of parse.ts's SourceMap (declared here: parse.ts imports this module). */
interface OffsetMap {
  charOffset(byteOffset: number): number;
}

const UNITS: Readonly<Record<string, IntervalUnit>> = {
  YEAR: 'YEAR',
  YEARS: 'YEAR',
  MONTH: 'MONTH',
  MONTHS: 'MONTH',
  DAY: 'DAY',
  DAYS: 'DAY',
  HOUR: 'HOUR',
  HOURS: 'HOUR',
  MINUTE: 'MINUTE',
  MINUTES: 'MINUTE',
  SECOND: 'SECOND',
  SECONDS: 'SECOND',
};
const ORDER: readonly IntervalUnit[] = ['YEAR', 'MONTH', 'DAY', 'HOUR', 'MINUTE', 'SECOND'];

/** The function names of rewrite 2 (8 characters each), by unit. */
export const INTERVAL_CALLS: Readonly<Record<string, IntervalUnit>> = {
  i$year__: 'YEAR',
  i$month_: 'MONTH',
  i$day___: 'DAY',
  i$hour__: 'HOUR',
  i$minute: 'MINUTE',
  i$second: 'SECOND',
};
/**
 * Calcite's units that are multiples of another (a week is 7 days, a quarter 3 months): `INTERVAL 2 WEEKS`,
 * `INTERVAL '1' QUARTER` → `i$week__(...)` / `i$quartr(...)`, an interval of the base unit.
 */
export const SCALED_INTERVAL_CALLS: Readonly<Record<string, { unit: IntervalUnit; factor: number }>> = {
  i$week__: { unit: 'DAY', factor: 7 },
  i$quartr: { unit: 'MONTH', factor: 3 },
};
const SCALED_UNITS: Readonly<Record<string, string>> = {
  WEEK: 'i$week__',
  WEEKS: 'i$week__',
  QUARTER: 'i$quartr',
  QUARTERS: 'i$quartr',
};
const scaledCall = (t: DialectToken | undefined): string | undefined =>
  t?.kind === 'word' ? SCALED_UNITS[t.text.toUpperCase()] : undefined;

const CALL_OF: Readonly<Record<IntervalUnit, string>> = Object.fromEntries(
  Object.entries(INTERVAL_CALLS).map(([k, v]) => [v, k]),
) as Record<IntervalUnit, string>;

/** Character offset of a subscript constant written by rewrite 3 → the qualifier it stands for. */
export type IntervalMarks = Map<number, IntervalQualifier>;

function overwrite(chars: string[], start: number, end: number, text: string): void {
  for (let i = start; i < end; i++) chars[i] = i - start < text.length ? (text[i - start] as string) : ' ';
}

const unitOf = (t: DialectToken | undefined): IntervalUnit | undefined =>
  t?.kind === 'word' ? UNITS[t.text.toUpperCase()] : undefined;

/** Index of the token after a balanced parenthesis group starting at `i` (or -1 when unbalanced). */
function afterGroup(tokens: readonly DialectToken[], i: number): number {
  let depth = 0;
  for (let k = i; k < tokens.length; k++) {
    const t = (tokens[k] as DialectToken).text;
    if (t === '(') depth++;
    else if (t === ')' && --depth === 0) return k + 1;
    else if (t === ';') return -1;
  }
  return -1;
}

/** Applies the rewrites to `chars` in place; returns the marks of rewrite 3. */
export function rewriteIntervalSyntax(tokens: readonly DialectToken[], chars: string[]): IntervalMarks {
  const marks: IntervalMarks = new Map();
  const singular = (t: DialectToken): void => {
    const u = UNITS[t.text.toUpperCase()];
    if (u !== undefined && t.text.length > u.length) overwrite(chars, t.start, t.end, u);
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as DialectToken;
    if (t.kind === 'word' && t.text.toUpperCase() === 'INTERVAL') {
      const next = tokens[i + 1];
      if (next === undefined) continue;
      if (next.kind === 'string' && scaledCall(tokens[i + 2]) === undefined) {
        // rewrite 1: INTERVAL 'v' UNIT[S] [TO UNIT[S]]
        const u = tokens[i + 2];
        if (unitOf(u) === undefined) continue;
        singular(u as DialectToken);
        if (tokens[i + 3]?.text.toUpperCase() === 'TO' && unitOf(tokens[i + 4]) !== undefined)
          singular(tokens[i + 4] as DialectToken);
        continue;
      }
      // rewrite 2: INTERVAL [sign] (word | (group)) UNIT
      let k = i + 1;
      if (next.kind === 'punct' && (next.text === '-' || next.text === '+')) k++;
      const v = tokens[k];
      if (v === undefined) continue;
      let after: number;
      if (v.kind === 'word' || v.kind === 'qident' || v.kind === 'string') after = k + 1;
      else if (v.text === '(') after = afterGroup(tokens, k);
      else continue;
      const unitTok = tokens[after];
      const unit = unitOf(unitTok);
      const scaled = scaledCall(unitTok);
      if ((unit === undefined && scaled === undefined) || unitTok === undefined || after < 0) continue;
      if (tokens[after + 1]?.text.toUpperCase() === 'TO') continue; // INTERVAL x DAY TO HOUR: not Feldera SQL
      const first = tokens[i + 1] as DialectToken;
      const name = scaled ?? CALL_OF[unit as IntervalUnit];
      if (first.start > t.end) {
        overwrite(chars, t.start, t.end + 1, `${name}(`);
        overwrite(chars, unitTok.start, unitTok.end, ')');
      } else if (first.text === '(' && k === i + 1) {
        overwrite(chars, t.start, t.end, name);
        overwrite(chars, unitTok.start, unitTok.end, '');
      } else continue;
      i = after;
      continue;
    }
    // rewrite 3: ( ... ) UNIT [TO UNIT]
    if (t.kind === 'punct' && t.text === ')') {
      const u1 = tokens[i + 1];
      const start = unitOf(u1);
      if (start === undefined || u1 === undefined) continue;
      let end = start;
      let last = u1;
      const to = tokens[i + 2];
      const u2 = tokens[i + 3];
      if (to?.kind === 'word' && to.text.toUpperCase() === 'TO' && unitOf(u2) !== undefined) {
        end = unitOf(u2) as IntervalUnit;
        last = u2 as DialectToken;
      }
      const a = ORDER.indexOf(start);
      const b = ORDER.indexOf(end);
      const code = start === end ? String(a + 1) : `${a + 1}${b + 1}`;
      if (last.end - u1.start < code.length + 2) continue;
      overwrite(chars, u1.start, last.end, `[${code}]`);
      marks.set(u1.start + 1, { start, end });
      i += last === u1 ? 1 : 3;
    }
  }
  return marks;
}

/**
 * Replaces each subscript written by rewrite 3 (found by its constant's position) with an
 * `HfIntervalQualified` node. Iterative: the tree may be deep.
 */
export function markIntervalQualifiers(root: Ast, marks: IntervalMarks, map: OffsetMap, base = 0): void {
  if (marks.size === 0) return;
  const stack: Ast[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    for (const key of Object.keys(v)) {
      const child = v[key];
      if (child === null || typeof child !== 'object') continue;
      const ind = child.A_Indirection;
      if (ind !== undefined && Array.isArray(ind.indirection) && ind.indirection.length === 1) {
        const c = ind.indirection[0]?.A_Indices?.uidx?.A_Const;
        const at = typeof c?.location === 'number' ? map.charOffset(c.location + base) : -1;
        const q = marks.get(at);
        if (q !== undefined && !ind.indirection[0].A_Indices.is_slice) {
          v[key] = { HfIntervalQualified: { arg: ind.arg, qualifier: q, location: c.location } };
          stack.push(ind.arg);
          continue;
        }
      }
      stack.push(child);
    }
  }
}
