/**
 * SQL text → statements. Parsing is done by the real Postgres grammar (libpg-query, WASM); this module adds
 * what Feldera's dialect has on top:
 * - `WITH ('key' = 'value', ...)` property lists on CREATE TABLE (after the column list) and CREATE VIEW
 *   (before AS) are cut out by a string-literal-aware pre-pass, recorded with their source positions, and
 *   replaced by spaces so every other position is unchanged (a `'connectors'` value with trailing commas in
 *   its JSON is stored without them, `json-relaxed-syntax.ts`);
 * - `CREATE LOCAL VIEW` is recognised the same way, and so are Feldera's `DECLARE RECURSIVE VIEW v (cols)`
 *   forward declarations (`recursive-syntax.ts`: parsed as a CREATE TABLE, flagged `declaration`);
 * - the position-preserving rewrites of `dialect.ts` (e.g. Feldera's `SOME(x)` aggregate, nested types) and of
 *   `interval-syntax.ts` (Feldera's interval forms: `INTERVAL 7 DAYS`, `(a - b) SECOND`) and `window-syntax.ts`
 *   (`TABLE(TUMBLE(TABLE t, ...))`) and `asof-syntax.ts` (`LEFT ASOF JOIN r MATCH_CONDITION (...) ON ...`);
 * - a column named `binary` (a keyword in Postgres) renamed to a placeholder before parsing and back in the tree
 *   (`binary-ident-syntax.ts`), and `CONNECTOR_METADATA()` parenthesized so a subscript may follow it
 *   (`connector-metadata-syntax.ts`);
 * - Feldera's `CREATE FUNCTION ... RETURNS type AS expression` statements, cut out (after the rewrites, so a
 *   function body may use them) and parsed on their own by `udf-parse.ts` (a synthetic `HoldfastFunction`
 *   statement in program order).
 * - Feldera's `LATENESS` annotations (`lateness-syntax.ts`), cut out after the rewrites: a column's is attached
 *   to its CREATE TABLE statement (`lateness`), a `LATENESS v.c expr;` statement becomes a synthetic
 *   `HoldfastLateness` statement in program order.
 * - subscripts and field access on call results (`f(x)[i]`, `SPLIT(s, ',')[1]`): the call is wrapped in
 *   parentheses just before parsing, and the tree's positions shifted back (`subscript-syntax.ts`);
 * - Feldera's nested types hung on their TypeName nodes and user-defined types (CREATE TYPE) expanded where
 *   they are used (`type-expr.ts`); CREATE TYPE statements are consumed and not returned.
 * Positions reported to users are 1-based line and column.
 *
 * Depth: the binder and planner recurse over the tree, so every statement's nesting is measured here
 * (iteratively) and refused past {@link MAX_EXPR_DEPTH} levels with `SqlUnsupported` at the position where the
 * limit is crossed. Left-deep chains of the arithmetic and concatenation operators (`a + b + c ...`,
 * `s1 || s2 || ...`), which is what long expressions are in practice, count as one level: the binder walks
 * them iteratively (AND/OR chains arrive flattened from the Postgres grammar). A statement too deep for the
 * parser itself (beyond a few thousand chained terms, or the grammar's own nesting limit) is `SqlUnsupported`
 * too, never a stack overflow or a syntax error.
 */
import { loadModule, parseSync } from 'libpg-query';
import { ServiceError } from '../errors/service-error.ts';
import { rewriteAsofSyntax } from './asof-syntax.ts';
import { restoreBinaryIdents, restoreBinaryText, rewriteBinaryIdents } from './binary-ident-syntax.ts';
import { rewriteConnectorMetadata } from './connector-metadata-syntax.ts';
import { rewriteDialect } from './dialect.ts';
import { markIntervalQualifiers, rewriteIntervalSyntax } from './interval-syntax.ts';
import { withoutTrailingCommas } from './json-relaxed-syntax.ts';
import { type CutLateness, cutLateness } from './lateness-syntax.ts';
import { rewriteNullTreatment } from './null-treatment-syntax.ts';
import { rewriteRecursiveDeclarations } from './recursive-syntax.ts';
import type { PropertyValue } from './schema.ts';
import { type Ast, SourceMap } from './source-map.ts';
import { insertedBytes, restoreLocations, unshiftOffset, wrapCallSubscripts } from './subscript-syntax.ts';
import { attachTypes } from './type-expr.ts';
import { cutFunctions, functionStatement } from './udf-parse.ts';
import { rewriteWindowSyntax } from './window-syntax.ts';

export type { Ast } from './source-map.ts';
export { SourceMap } from './source-map.ts';

export interface ParsedStatement {
  readonly ast: Ast;
  /** The statement's text (with the WITH list blanked out). */
  readonly text: string;
  /** Offset of the statement in the program text. */
  readonly offset: number;
  readonly properties: Record<string, PropertyValue>;
  readonly local: boolean;
  /** A forward declaration `DECLARE RECURSIVE VIEW v (cols)`, parsed as a CREATE TABLE (`recursive-syntax.ts`). */
  readonly declaration?: boolean;
  /** LATENESS annotations on the columns of a CREATE TABLE statement. */
  readonly lateness?: readonly LatenessClause[];
}

/** A parsed LATENESS annotation: the column it names and its expression. */
export interface LatenessClause {
  readonly column: { readonly name: string; readonly quoted: boolean };
  readonly expr: Ast;
  /** The expression as written. */
  readonly source: string;
  /** Character offset of the `LATENESS` keyword. */
  readonly offset: number;
}

let loaded: Promise<void> | null = null;

/** Loads the WASM parser once. */
export function ensureParser(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

interface Token {
  readonly kind: 'word' | 'string' | 'punct' | 'qident';
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** Unquoted value for strings. */
  readonly value: string;
}

/** A light tokenizer: enough to find statement ends and WITH property lists (skips comments). */
function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      const e = sql.indexOf('*/', i + 2);
      i = e < 0 ? n : e + 2;
    } else if (c === "'") {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= n) throw syntaxAt(sql, start, 'unterminated string literal');
        if (sql[i] === "'") {
          if (sql[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += sql[i];
        i++;
      }
      out.push({ kind: 'string', text: sql.slice(start, i), start, end: i, value });
    } else if (c === '"') {
      const start = i;
      i++;
      while (i < n && !(sql[i] === '"' && sql[i + 1] !== '"')) i += sql[i] === '"' ? 2 : 1;
      i++;
      out.push({
        kind: 'qident',
        text: sql.slice(start, i),
        start,
        end: i,
        value: sql.slice(start + 1, i - 1),
      });
    } else if (/[A-Za-z_0-9$]/.test(c)) {
      const start = i;
      while (i < n && /[A-Za-z_0-9$.]/.test(sql[i] as string)) i++;
      out.push({ kind: 'word', text: sql.slice(start, i), start, end: i, value: sql.slice(start, i) });
    } else {
      out.push({ kind: 'punct', text: c, start: i, end: i + 1, value: c });
      i++;
    }
  }
  return out;
}

function syntaxAt(sql: string, offset: number, message: string): ServiceError {
  const p = new SourceMap(sql).position(offset);
  return new ServiceError('SqlSyntaxError', `${message} at line ${p.line}, column ${p.column}`, {
    line: p.line,
    column: p.column,
  });
}

/**
 * Parses a whole program. Returns one entry per statement, in order.
 * @throws ServiceError SqlSyntaxError / SqlPropertyError with the line and column.
 */
export async function parseProgram(sql: string): Promise<ParsedStatement[]> {
  // Feldera compiles an empty program (no text at all, like whitespace or comments only) to an empty circuit
  if (sql === '') return [];
  await ensureParser();
  const map = new SourceMap(sql);
  const chars = sql.split('');
  const tokens = tokenize(sql);
  const extras: Array<{ start: number; properties: Record<string, PropertyValue>; local: boolean }> = [];

  // Walk statements (split on ';') looking for CREATE [LOCAL] ... WITH ('k' = 'v', ...).
  let s = 0;
  while (s < tokens.length) {
    let e = s;
    while (e < tokens.length && (tokens[e] as Token).text !== ';') e++;
    const stmt = tokens.slice(s, e);
    const properties: Record<string, PropertyValue> = {};
    let local = false;
    const w = (k: number) => (stmt[k]?.kind === 'word' ? (stmt[k] as Token).text.toUpperCase() : '');
    if (w(0) === 'CREATE') {
      if (w(1) === 'LOCAL' && w(2) === 'VIEW') {
        local = true;
        blank(chars, stmt[1] as Token);
      }
      for (let k = 1; k < stmt.length - 2; k++) {
        if (w(k) === 'WITH' && stmt[k + 1]?.text === '(' && stmt[k + 2]?.kind === 'string') {
          let j = k + 2;
          for (;;) {
            const key = stmt[j];
            const eq = stmt[j + 1];
            const val = stmt[j + 2];
            if (key?.kind !== 'string' || eq?.text !== '=' || val?.kind !== 'string') {
              throw syntaxAt(
                sql,
                (key ?? stmt[j - 1] ?? (stmt[k] as Token)).start,
                "expected 'key' = 'value' in WITH list",
              );
            }
            if (Object.hasOwn(properties, key.value)) {
              const p = map.position(key.start);
              throw new ServiceError(
                'SqlPropertyError',
                `duplicate property '${key.value}' at line ${p.line}, column ${p.column}`,
                { line: p.line, column: p.column, property: key.value },
              );
            }
            properties[key.value] = {
              // Feldera's demos write trailing commas in connector JSON (json-relaxed-syntax.ts)
              value: key.value === 'connectors' ? withoutTrailingCommas(val.value) : val.value,
              keyPosition: map.range(key.start, key.end),
              valuePosition: map.range(val.start, val.end),
            };
            const next = stmt[j + 3];
            if (next?.text === ',') {
              j += 4;
              continue;
            }
            if (next?.text !== ')')
              throw syntaxAt(sql, (next ?? val).start, "expected ',' or ')' in WITH list");
            for (let x = k; x <= j + 3; x++) blank(chars, stmt[x] as Token);
            break;
          }
          break;
        }
      }
    }
    if (stmt.length > 0) extras.push({ start: (stmt[0] as Token).start, properties, local });
    s = e + 1;
  }

  const declarations = rewriteRecursiveDeclarations(tokens, chars);
  const types = rewriteDialect(tokens, chars);
  rewriteBinaryIdents(tokens, chars);
  rewriteNullTreatment(tokens, chars);
  rewriteConnectorMetadata(tokens, chars);
  const intervalMarks = rewriteIntervalSyntax(tokens, chars);
  rewriteWindowSyntax(tokens, chars);
  rewriteAsofSyntax(tokens, chars, sql);
  const functions = cutFunctions(tokens, chars);
  const lateness = cutLateness(tokens, chars, sql);
  const cleaned = chars.join('');
  const parsed = parseText(
    sql,
    cleaned,
    map,
    extras.map((x) => x.start),
  );
  const out: ParsedStatement[] = [];
  const kept = new Set(
    attachTypes(
      (parsed.stmts ?? []).map((r: Ast) => r.stmt),
      types,
      parseTypeText,
    ),
  );
  for (const raw of parsed.stmts ?? []) {
    if (!kept.has(raw.stmt)) continue; // CREATE TYPE: consumed by attachTypes
    const start = map.charOffset(raw.stmt_location ?? 0);
    const end = raw.stmt_len ? map.charOffset((raw.stmt_location ?? 0) + raw.stmt_len) : cleaned.length;
    let offset = start;
    while (offset < end && /\s/.test(cleaned[offset] as string)) offset++;
    const extra = extras.find((x) => x.start >= start && x.start < Math.max(end, start + 1));
    checkDepth(raw.stmt, sql, map, offset);
    restoreBinaryIdents(raw.stmt);
    markIntervalQualifiers(raw.stmt, intervalMarks, map);
    const mine = lateness.filter((l) => l.form === 'column' && l.start >= start && l.start < end);
    out.push({
      ast: raw.stmt,
      text: restoreBinaryText(cleaned.slice(offset, end)),
      offset,
      properties: extra?.properties ?? {},
      local: extra?.local ?? false,
      ...(declarations.some((d) => d >= start && d < Math.max(end, start + 1)) ? { declaration: true } : {}),
      ...(mine.length > 0 ? { lateness: mine.map((l) => latenessClause(l, sql, map, intervalMarks)) } : {}),
    });
  }
  for (const l of lateness) {
    if (l.form === 'column') {
      if (!out.some((st) => st.lateness?.some((c) => c.offset === l.start)))
        throw syntaxAt(sql, l.start, 'LATENESS belongs after a column definition of a CREATE TABLE');
      continue;
    }
    if (l.relation === null)
      throw syntaxAt(
        sql,
        l.start,
        'expected LATENESS view.column expression (e.g. LATENESS v.ts INTERVAL 1 HOUR;)',
      );
    const c = latenessClause(l, sql, map, intervalMarks);
    const ast = { HoldfastLateness: { relation: l.relation, ...c } };
    const at = out.findIndex((x) => x.offset > l.start);
    const st = { ast, text: sql.slice(l.start, l.end), offset: l.start, properties: {}, local: false };
    out.splice(at < 0 ? out.length : at, 0, st);
  }
  for (const f of functions) {
    const header = parseText(sql, f.header, map, [f.start]).stmts?.[0]?.stmt;
    const body = f.body === null ? null : parseText(sql, f.body, map, [f.start]).stmts?.[0]?.stmt;
    if (body) markIntervalQualifiers(body, intervalMarks, map);
    restoreBinaryIdents([header, body]);
    attachTypes(
      [header, body].filter((x) => x),
      types,
      parseTypeText,
    ); // nested types in the signature or body
    const ast = functionStatement(header, body);
    if (typeof ast === 'string') throw syntaxAt(sql, f.start, ast);
    checkDepth(ast, sql, map, f.start);
    const at = out.findIndex((x) => x.offset > f.start);
    const st = { ast, text: sql.slice(f.start, f.end), offset: f.start, properties: {}, local: false };
    out.splice(at < 0 ? out.length : at, 0, st);
  }
  return out;
}

/** Parses a cut LATENESS annotation's expression. */
function latenessClause(
  l: CutLateness,
  sql: string,
  map: SourceMap,
  marks: Parameters<typeof markIntervalQualifiers>[1],
): LatenessClause {
  if (l.column === null)
    throw syntaxAt(
      sql,
      l.start,
      'LATENESS must follow a column name and type (e.g. ts TIMESTAMP LATENESS INTERVAL 1 HOUR)',
    );
  if (l.exprSource === '')
    throw syntaxAt(
      sql,
      l.start,
      'LATENESS needs an expression (e.g. LATENESS INTERVAL 1 HOUR, or LATENESS 10)',
    );
  const sel = parseText(sql, l.exprText, map, [l.start]).stmts?.[0]?.stmt?.SelectStmt;
  const targets = (sel?.targetList ?? []) as Ast[];
  if (targets.length !== 1 || sel.fromClause || sel.whereClause)
    throw syntaxAt(sql, l.start, 'LATENESS takes one constant expression');
  const expr = targets[0].ResTarget.val;
  markIntervalQualifiers(expr, marks, map);
  checkDepth(expr, sql, map, l.start);
  return { column: l.column, expr, source: l.exprSource, offset: l.start };
}

/** Runs the Postgres parser on position-preserving text, reporting errors against the program text. */
function parseText(sql: string, cleaned: string, map: SourceMap, starts: readonly number[]): Ast {
  // subscripts on call results (`f(x)[i]`): wrapped in parentheses, positions restored (subscript-syntax.ts)
  const wrapped = wrapCallSubscripts(cleaned);
  const shifts = insertedBytes(wrapped.text, wrapped.inserted);
  try {
    const tree = parseSync(wrapped.text);
    restoreLocations(tree, shifts);
    return tree;
  } catch (err) {
    if (isStackOverflow(err)) throw tooDeepForParser(sql, cleaned, starts);
    const details = (err as { sqlDetails?: { cursorPosition?: number; message?: string } }).sqlDetails;
    const msg = details?.message ?? (err as Error).message;
    const off =
      details?.cursorPosition !== undefined
        ? map.charOffset(unshiftOffset(Math.max(0, details.cursorPosition - 1), shifts))
        : 0;
    // the grammar's own stack limit (bison): nesting, not a syntax error
    if (/^memory exhausted/.test(msg)) throw tooDeep(sql, off, TOO_DEEP_FOR_PARSER, { limit: null });
    throw syntaxAt(sql, Math.min(off, Math.max(0, sql.length - 1)), msg);
  }
}

/** Nesting levels of a statement's tree that the binder and planner accept (see the module header). */
export const MAX_EXPR_DEPTH = 1000;

/** Operators whose left-deep chains the binder flattens (expr.ts `bindAExpr`). */
export const CHAIN_OPS: ReadonlySet<string> = new Set(['+', '-', '*', '/', '%', '||']);

/** True for a binary `A_Expr` node (`{A_Expr: ...}`) of one of the {@link CHAIN_OPS}. */
export function isChainNode(node: Ast): boolean {
  const e = node?.A_Expr;
  if (e === undefined || e.kind !== 'AEXPR_OP' || !e.lexpr || !e.rexpr) return false;
  const name = e.name as Ast[] | undefined;
  return name?.length === 1 && CHAIN_OPS.has(name[0]?.String?.sval as string);
}

/** A stack overflow anywhere in compilation, as the coded error (the last line of defence behind the limits). */
export function stackOverflowAsSqlError(e: unknown): unknown {
  if (!isStackOverflow(e)) return e;
  return new ServiceError(
    'SqlUnsupported',
    'the program is nested too deeply to compile (a very long or deeply nested expression or query): split it, e.g. compute parts in a subquery or a LOCAL view',
    { construct: 'deeply nested expression' },
  );
}

function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError || /maximum call stack size exceeded/i.test(String((e as Error)?.message));
}

function tooDeep(
  sql: string,
  offset: number,
  message: string,
  details: Record<string, unknown>,
): ServiceError {
  const p = new SourceMap(sql).position(Math.min(Math.max(0, offset), Math.max(0, sql.length - 1)));
  return new ServiceError('SqlUnsupported', `${message} (line ${p.line}, column ${p.column})`, {
    line: p.line,
    column: p.column,
    construct: 'deeply nested expression',
    ...details,
  });
}

/** The parser ran out of stack: find the statement (each parsed alone) and report it. */
function tooDeepForParser(sql: string, cleaned: string, starts: readonly number[]): ServiceError {
  let at = 0;
  for (let i = 0; i < starts.length; i++) {
    const from = starts[i] as number;
    try {
      parseSync(cleaned.slice(from, starts[i + 1] ?? cleaned.length));
    } catch (e) {
      if (isStackOverflow(e)) {
        at = from;
        break;
      }
    }
  }
  return tooDeep(sql, at, TOO_DEEP_FOR_PARSER, { limit: null });
}

const TOO_DEEP_FOR_PARSER =
  'statement nested too deeply for the SQL parser (an expression of many thousands of chained or nested terms; chains of a few thousand terms parse): split the expression, e.g. compute partial results in a subquery or a LOCAL view and combine them';

/**
 * Measures a statement's nesting without recursion and refuses it past {@link MAX_EXPR_DEPTH} levels: a node
 * is an object with one PascalCase key; the left operand of a chain operator that is itself a chain
 * operator stays at its parent's level.
 */
function checkDepth(stmt: Ast, sql: string, map: SourceMap, stmtOffset: number): void {
  const stack: Array<[Ast, number, number | undefined]> = [[stmt, 0, undefined]];
  let deepest = 0;
  let crossedAt: number | undefined | null = null;
  while (stack.length > 0) {
    const [v, depth, loc] = stack.pop() as [Ast, number, number | undefined];
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const x of v) stack.push([x, depth, loc]);
      continue;
    }
    const keys = Object.keys(v);
    const key = keys[0] as string;
    if (keys.length === 1 && /^[A-Z]/.test(key) && typeof v[key] === 'object' && v[key] !== null) {
      const inner = v[key];
      const level = depth + 1;
      const here = typeof inner.location === 'number' && inner.location >= 0 ? inner.location : loc;
      if (level > deepest) deepest = level;
      if (level > MAX_EXPR_DEPTH && crossedAt === null) crossedAt = here;
      const chain = key === 'A_Expr' && isChainNode(v);
      for (const [k, x] of Object.entries(inner)) {
        if (x === null || typeof x !== 'object') continue;
        stack.push([x, chain && k === 'lexpr' && isChainNode(x) ? depth : level, here]);
      }
      continue;
    }
    for (const x of Object.values(v)) if (x !== null && typeof x === 'object') stack.push([x, depth, loc]);
  }
  if (crossedAt !== null)
    throw tooDeep(
      sql,
      crossedAt === undefined ? stmtOffset : map.charOffset(crossedAt),
      `expression nested too deeply: ${deepest} levels, limit ${MAX_EXPR_DEPTH}; flatten it (long chains such as a + b + c ... or x OR y OR z ... are fine) or compute parts in a subquery or a LOCAL view`,
      { depth: deepest, limit: MAX_EXPR_DEPTH },
    );
}

function blank(chars: string[], t: Token): void {
  for (let i = t.start; i < t.end; i++) if (chars[i] !== '\n') chars[i] = ' ';
}

/** A type's text (a leaf of a nested type) as a Postgres TypeName node. */
function parseTypeText(text: string): Ast {
  const r: Ast = parseSync(`SELECT CAST(NULL AS ${text})`);
  return r.stmts[0].stmt.SelectStmt.targetList[0].ResTarget.val.TypeCast.typeName;
}
