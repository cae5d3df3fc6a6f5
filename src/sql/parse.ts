/**
 * SQL text → statements. Parsing is done by the real Postgres grammar (libpg-query, WASM); this module adds
 * what Feldera's dialect has on top:
 * - `WITH ('key' = 'value', ...)` property lists on CREATE TABLE (after the column list) and CREATE VIEW
 *   (before AS) are cut out by a string-literal-aware pre-pass, recorded with their source positions, and
 *   replaced by spaces so every other position is unchanged;
 * - `CREATE LOCAL VIEW` is recognised the same way.
 * Positions reported to users are 1-based line and column.
 */
import { loadModule, parseSync } from 'libpg-query';
import { ServiceError } from '../errors/service-error.ts';
import type { PropertyValue, SourceRange } from './schema.ts';

// biome-ignore lint/suspicious/noExplicitAny: the Postgres AST is an untyped JSON tree; accessors below narrow it.
export type Ast = any;

export interface ParsedStatement {
  readonly ast: Ast;
  /** The statement's text (with the WITH list blanked out). */
  readonly text: string;
  /** Offset of the statement in the program text. */
  readonly offset: number;
  readonly properties: Record<string, PropertyValue>;
  readonly local: boolean;
}

let loaded: Promise<void> | null = null;

/** Loads the WASM parser once. */
export function ensureParser(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

export class SourceMap {
  readonly #lineStarts: number[] = [0];
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.#lineStarts.push(i + 1);
  }

  /** 0-based character offset → 1-based line/column. */
  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.#lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.#lineStarts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - (this.#lineStarts[lo] as number) + 1 };
  }

  range(start: number, end: number): SourceRange {
    const a = this.position(start);
    const b = this.position(Math.max(start, end - 1));
    return { startLine: a.line, startColumn: a.column, endLine: b.line, endColumn: b.column };
  }

  /** Postgres reports byte offsets into the UTF-8 text; convert to a character offset. */
  charOffset(byteOffset: number): number {
    let bytes = 0;
    let i = 0;
    const t = this.#text;
    while (i < t.length && bytes < byteOffset) {
      const c = t.codePointAt(i) as number;
      bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
      i += c >= 0x10000 ? 2 : 1;
    }
    return i;
  }
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
              value: val.value,
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

  const cleaned = chars.join('');
  let parsed: Ast;
  try {
    parsed = parseSync(cleaned);
  } catch (err) {
    const details = (err as { sqlDetails?: { cursorPosition?: number; message?: string } }).sqlDetails;
    const msg = details?.message ?? (err as Error).message;
    const off =
      details?.cursorPosition !== undefined ? map.charOffset(Math.max(0, details.cursorPosition - 1)) : 0;
    throw syntaxAt(sql, Math.min(off, Math.max(0, sql.length - 1)), msg);
  }
  const out: ParsedStatement[] = [];
  for (const raw of parsed.stmts ?? []) {
    const start = map.charOffset(raw.stmt_location ?? 0);
    const end = raw.stmt_len ? map.charOffset((raw.stmt_location ?? 0) + raw.stmt_len) : cleaned.length;
    let offset = start;
    while (offset < end && /\s/.test(cleaned[offset] as string)) offset++;
    const extra = extras.find((x) => x.start >= start && x.start < Math.max(end, start + 1));
    out.push({
      ast: raw.stmt,
      text: cleaned.slice(offset, end),
      offset,
      properties: extra?.properties ?? {},
      local: extra?.local ?? false,
    });
  }
  return out;
}

function blank(chars: string[], t: Token): void {
  for (let i = t.start; i < t.end; i++) if (chars[i] !== '\n') chars[i] = ' ';
}

/** Parses a single query (ad-hoc). */
export async function parseQuery(sql: string): Promise<ParsedStatement[]> {
  return parseProgram(sql);
}
