/**
 * Subscripts and field access on call results, for the Postgres grammar: Feldera (Calcite) accepts `f(x)[i]`,
 * `SPLIT(s, ',')[1]`, `PARSE_JSON(s)['a']`, `MAP[...]['k']` (a call of `map` after `dialect.ts`),
 * `ARRAY[1, 2][2]` and `f(x).field`, where Postgres allows a subscript or a field only after a column reference
 * or a parenthesized expression. This pass wraps each such call or constructor in parentheses
 * (`(f(x))[i]`), which Postgres parses as the same indirection; a chain (`f(x)[1][2].a`) needs one pair.
 *
 * The same pass parenthesizes the query of Feldera's MAP aggregate, `MAP(SELECT k, v FROM t)` →
 * `MAP((SELECT k, v FROM t))` (a call of `map` with a scalar subquery, which `collection-subqueries.ts` turns
 * into the aggregate; Postgres parses `ARRAY(SELECT ...)` itself).
 *
 * Unlike the other pre-passes this one inserts characters, so it runs last, inside `parse.ts`'s `parseText`,
 * on exactly the text handed to the parser, and {@link restoreLocations} shifts every `location` of the tree
 * (and the statement offsets, and an error's cursor) back to the text before the insertion: positions in
 * errors stay those of the text the user wrote.
 *
 * Not wrapped: a parenthesized group after an SQL keyword (`AND (a)[1]`, `IN (...)`), an empty `[]` (an array
 * type such as `VARCHAR(10)[]`), and anything inside string literals, quoted identifiers and comments.
 *
 * State: none. Invariant: removing the inserted characters gives back the input.
 */

interface Tok {
  readonly kind: 'word' | 'punct' | 'other';
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

/** Words after which a parenthesized group is an expression or a list, not a call's arguments. */
const NOT_CALLS = new Set(
  (
    'AND OR NOT IN IS LIKE ILIKE SIMILAR BETWEEN SELECT WHERE ON THEN WHEN ELSE CASE AS BY HAVING FROM JOIN ' +
    'USING VALUES SET WITH RETURN RETURNS DISTINCT ALL ANY SOME EXISTS UNION INTERSECT EXCEPT LATERAL TABLE ' +
    'OVER FILTER WITHIN VIEW INTO LIMIT OFFSET RETURNING PARTITION ORDER GROUP ESCAPE DEFAULT CHECK KEY ' +
    'REFERENCES WINDOW ROWS RANGE PRECEDING FOLLOWING ASC DESC NULLS MATCH_CONDITION DESCRIPTOR'
  ).split(' '),
);

/** Words that start a query (`MAP(SELECT ...)`, `MAP(WITH ...)`, `MAP(VALUES ...)`). */
const QUERY_STARTS = new Set(['SELECT', 'WITH', 'VALUES']);

function scan(text: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i] as string;
    if (/\s/.test(c)) i++;
    else if (c === '-' && text[i + 1] === '-') {
      while (i < n && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const e = text.indexOf('*/', i + 2);
      i = e < 0 ? n : e + 2;
    } else if (c === "'" || c === '"') {
      const start = i;
      i++;
      while (i < n) {
        if (text[i] === c) {
          if (text[i + 1] === c) {
            i += 2;
            continue;
          }
          i++;
          break;
        }
        i++;
      }
      out.push({ kind: 'other', text: text.slice(start, i), start, end: i });
    } else if (/[A-Za-z_0-9$]/.test(c)) {
      const start = i;
      while (i < n && /[A-Za-z_0-9$.]/.test(text[i] as string)) i++;
      // a trailing dot belongs to what follows (`f(x).a` has no word ending in '.', but `t.` + `"c"` does)
      let end = i;
      while (end > start + 1 && text[end - 1] === '.') end--;
      i = end;
      out.push({ kind: 'word', text: text.slice(start, end), start, end });
    } else {
      out.push({ kind: 'punct', text: c, start: i, end: i + 1 });
      i++;
    }
  }
  return out;
}

/**
 * Wraps the calls and constructors that carry a subscript or a field access. Returns the new text and the
 * character offsets, in the new text, of the inserted characters (ascending); `inserted` is empty when nothing
 * changed.
 */
export function wrapCallSubscripts(text: string): { text: string; inserted: number[] } {
  if (!/[[.]|map\s*\(/i.test(text)) return { text, inserted: [] };
  const toks = scan(text);
  const opens: number[] = [];
  // insertion points in the input: offset → characters inserted there (')' before '(')
  const at = new Map<number, { close: number; open: number }>();
  const add = (offset: number, ch: '(' | ')') => {
    const e = at.get(offset) ?? { close: 0, open: 0 };
    if (ch === '(') e.open++;
    else e.close++;
    at.set(offset, e);
  };
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i] as Tok;
    if (t.kind !== 'punct') continue;
    if (t.text === '(' || t.text === '[') {
      opens.push(i);
      continue;
    }
    if (t.text !== ')' && t.text !== ']') continue;
    const o = opens.pop();
    if (o === undefined) continue;
    const first = toks[o + 1];
    if (
      t.text === ')' &&
      toks[o - 1]?.kind === 'word' &&
      (toks[o - 1] as Tok).text.toUpperCase() === 'MAP' &&
      first?.kind === 'word' &&
      QUERY_STARTS.has(first.text.toUpperCase())
    ) {
      // MAP(SELECT k, v ...) → MAP((SELECT k, v ...)): a call with a scalar subquery Postgres parses
      add((toks[o] as Tok).end, '(');
      add(t.start, ')');
    }
    const next = toks[i + 1];
    const after = toks[i + 2];
    const indexed =
      next?.text === '['
        ? after !== undefined && after.text !== ']'
        : next?.text === '.' && after !== undefined;
    if (!indexed) continue;
    const head = toks[o - 1];
    if (head?.kind !== 'word') continue;
    const up = head.text.toUpperCase();
    const opener = (toks[o] as Tok).text;
    const call = opener === '(' && !NOT_CALLS.has(up) && !/^\d/.test(head.text);
    const arrayLiteral = opener === '[' && up === 'ARRAY';
    if (!call && !arrayLiteral) continue;
    add(head.start, '(');
    add(t.end, ')');
  }
  if (at.size === 0) return { text, inserted: [] };
  let out = '';
  let from = 0;
  const inserted: number[] = [];
  for (const offset of [...at.keys()].sort((a, b) => a - b)) {
    out += text.slice(from, offset);
    const e = at.get(offset) as { close: number; open: number };
    for (let k = 0; k < e.close; k++) {
      inserted.push(out.length);
      out += ')';
    }
    for (let k = 0; k < e.open; k++) {
      inserted.push(out.length);
      out += '(';
    }
    from = offset;
  }
  out += text.slice(from);
  return { text: out, inserted };
}

/** UTF-8 byte offsets of the inserted characters (the parser reports byte offsets). */
export function insertedBytes(text: string, inserted: readonly number[]): number[] {
  const out: number[] = [];
  let bytes = 0;
  let ci = 0;
  for (const target of inserted) {
    while (ci < target) {
      const c = text.codePointAt(ci) as number;
      bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
      ci += c >= 0x10000 ? 2 : 1;
    }
    out.push(bytes);
  }
  return out;
}

/** A byte offset in the wrapped text → the same position in the text before the insertions. */
export function unshiftOffset(offset: number, insertedAt: readonly number[]): number {
  let lo = 0;
  let hi = insertedAt.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((insertedAt[mid] as number) < offset) lo = mid + 1;
    else hi = mid;
  }
  return offset - lo;
}

/**
 * Shifts every `location` (and `stmt_location` / `stmt_len`) in a parse result back to the text before the
 * insertions; `insertedAt` holds the byte offsets from {@link insertedBytes}. Iterative: trees may be deep.
 */
// biome-ignore lint/suspicious/noExplicitAny: the Postgres parse tree is untyped JSON
export function restoreLocations(tree: any, insertedAt: readonly number[]): void {
  if (insertedAt.length === 0) return;
  const stack: unknown[] = [tree];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const x of v) if (x !== null && typeof x === 'object') stack.push(x);
      continue;
    }
    const o = v as Record<string, unknown>;
    if (typeof o.stmt_location === 'number' || typeof o.stmt_len === 'number') {
      const s = (o.stmt_location as number | undefined) ?? 0;
      const start = unshiftOffset(s, insertedAt);
      if (typeof o.stmt_len === 'number' && o.stmt_len > 0)
        o.stmt_len = unshiftOffset(s + o.stmt_len, insertedAt) - start;
      if (typeof o.stmt_location === 'number') o.stmt_location = start;
    }
    for (const [k, x] of Object.entries(o)) {
      if (k === 'location' && typeof x === 'number' && x >= 0) o[k] = unshiftOffset(x, insertedAt);
      else if (x !== null && typeof x === 'object') stack.push(x);
    }
  }
}
