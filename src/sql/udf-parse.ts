/**
 * Parsing Feldera's `CREATE FUNCTION` statements, which the Postgres grammar does not take:
 *
 *   CREATE FUNCTION name ( [param type [NOT NULL], ...] ) RETURNS type [NOT NULL] [AS expression] ;
 *
 * `parse.ts` calls {@link cutFunctions} on the program text (after the dialect rewrites): each such statement
 * is blanked out of the text the main parse sees and parsed on its own, in two position-preserving pieces
 * (every other character blanked, newlines kept, so libpg-query's locations are those of the program text):
 * - the header as a table definition: `CREATE FUNCTION` → `CREATE TABLE   `, the parameter list's closing
 *   parenthesis → `,` (or a space when there are no parameters), `RETURNS` stays as the name of a last column
 *   whose type is the result type, and `AS` (or the closing `;`) → `)`;
 * - the body as a query: `CREATE` → `SELECT`, the expression after `AS` kept.
 * The result is one synthetic statement `{ HoldfastFunction: { name, location, params, returns, body } }`
 * (params and returns are ColumnDef nodes, body an expression node or null) that `udf.ts` defines.
 *
 * State: none. Invariant: the text given to the main parse keeps its length and every other character.
 */
import type { DialectToken } from './dialect.ts';

// biome-ignore lint/suspicious/noExplicitAny: the Postgres AST is an untyped JSON tree.
type Ast = any;

/** One CREATE FUNCTION statement cut out of the program. */
export interface CutFunction {
  /** Character offset of `CREATE`. */
  readonly start: number;
  /** Character offset just past the statement (its `;` or the end of the text). */
  readonly end: number;
  /** Program-length text holding only the header, as a CREATE TABLE. */
  readonly header: string;
  /** Program-length text holding only the body, as a SELECT; null for a function without a body. */
  readonly body: string | null;
}

const upper = (t: DialectToken | undefined): string => (t?.kind === 'word' ? t.text.toUpperCase() : '');

function blankCopy(chars: readonly string[]): string[] {
  return chars.map((c) => (c === '\n' ? '\n' : ' '));
}

/**
 * Finds every `CREATE FUNCTION` statement, blanks it in `chars` (in place) and returns the texts to parse for
 * it. A statement that does not have the expected shape is left alone (the main parse then reports it).
 */
export function cutFunctions(tokens: readonly DialectToken[], chars: string[]): CutFunction[] {
  const out: CutFunction[] = [];
  let s = 0;
  while (s < tokens.length) {
    let e = s;
    while (e < tokens.length && (tokens[e] as DialectToken).text !== ';') e++;
    const cut =
      upper(tokens[s]) === 'CREATE' && upper(tokens[s + 1]) === 'FUNCTION'
        ? cutOne(tokens, s, e, chars)
        : null;
    if (cut) {
      out.push(cut);
      for (let i = cut.start; i < cut.end; i++) if (chars[i] !== '\n') chars[i] = ' ';
    }
    s = e + 1;
  }
  return out;
}

function cutOne(
  tokens: readonly DialectToken[],
  s: number,
  e: number,
  chars: readonly string[],
): CutFunction | null {
  const create = tokens[s] as DialectToken;
  const fn = tokens[s + 1] as DialectToken;
  const name = tokens[s + 2];
  if (name?.kind !== 'word' && name?.kind !== 'qident') return null;
  if (tokens[s + 3]?.text !== '(') return null;
  let depth = 0;
  let close = -1;
  for (let i = s + 3; i < e; i++) {
    const t = tokens[i] as DialectToken;
    if (t.text === '(') depth++;
    else if (t.text === ')' && --depth === 0) {
      close = i;
      break;
    }
  }
  if (close < 0 || upper(tokens[close + 1]) !== 'RETURNS') return null;
  let as = -1;
  depth = 0;
  for (let i = close + 2; i < e; i++) {
    const t = tokens[i] as DialectToken;
    if (t.text === '(') depth++;
    else if (t.text === ')') depth--;
    else if (depth === 0 && upper(t) === 'AS') {
      as = i;
      break;
    }
  }
  const end = e < tokens.length ? (tokens[e] as DialectToken).end : chars.length;
  const header = blankCopy(chars);
  for (let i = create.start; i < (as >= 0 ? (tokens[as] as DialectToken).start : end); i++)
    header[i] = chars[i] as string;
  'TABLE   '.split('').forEach((c, k) => {
    header[fn.start + k] = c;
  });
  const closeTok = tokens[close] as DialectToken;
  header[closeTok.start] = close === s + 4 ? ' ' : ',';
  if (as >= 0) {
    const asTok = tokens[as] as DialectToken;
    header[asTok.start] = ')';
    header[asTok.start + 1] = ' ';
  } else if (e < tokens.length) {
    header[(tokens[e] as DialectToken).start] = ')';
  } else {
    header.push(')');
  }
  let body: string[] | null = null;
  if (as >= 0) {
    body = blankCopy(chars);
    const asTok = tokens[as] as DialectToken;
    for (let i = asTok.end; i < end; i++) body[i] = chars[i] as string;
    'SELECT'.split('').forEach((c, k) => {
      (body as string[])[create.start + k] = c;
    });
  }
  return { start: create.start, end, header: header.join(''), body: body === null ? null : body.join('') };
}

/**
 * Builds the synthetic statement from the two parse trees (the header's CreateStmt and the body's
 * SelectStmt). Returns a message instead when the pieces are not what a function needs.
 */
export function functionStatement(headerStmt: Ast, bodyStmt: Ast | null): Ast | string {
  const create = headerStmt?.CreateStmt;
  if (!create) return 'expected CREATE FUNCTION name(parameters) RETURNS type [AS expression]';
  const elts = ((create.tableElts ?? []) as Ast[]).map((x) => x.ColumnDef);
  if (elts.some((x) => !x)) return 'a function parameter must be a name and a type';
  const returns = elts[elts.length - 1];
  const params = elts.slice(0, -1);
  let body: Ast | null = null;
  if (bodyStmt !== null) {
    const sel = bodyStmt?.SelectStmt;
    const targets = (sel?.targetList ?? []) as Ast[];
    if (!sel || targets.length !== 1 || sel.fromClause || sel.whereClause || targets[0].ResTarget?.name)
      return 'a function body must be a single expression';
    body = targets[0].ResTarget.val;
  }
  return {
    HoldfastFunction: {
      name: create.relation.relname,
      schemaname: create.relation.schemaname,
      location: create.relation.location,
      params,
      returns,
      body,
    },
  };
}
