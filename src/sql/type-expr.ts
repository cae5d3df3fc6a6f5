/**
 * Feldera's nested type syntax, which the Postgres grammar lacks, for the dialect pre-pass (`dialect.ts`) and
 * the parser (`parse.ts`):
 * - `MAP<K, V>`, `ARRAY<T>`, `ROW(name T [NOT NULL | NULL], ...)` as types, nested in any combination, with
 *   `T ARRAY` suffixes (any depth) and component nullability (`INT NOT NULL ARRAY`, `VARCHAR NULL`);
 * - the field list of `CREATE TYPE name AS (field T [NOT NULL | NULL], ...)`;
 * - Feldera's type aliases `CREATE TYPE name AS T;` (`CREATE TYPE id_t AS VARCHAR`): the statement is blanked
 *   and T recorded under the key `=name`; the name then stands for T wherever a type is written (a column's
 *   own NOT NULL still applies).
 * Nullability not written: an inline ROW's fields are NOT NULL (Calcite's rule, so Feldera's), a CREATE TYPE's
 * fields, array elements and map keys and values nullable (see {@link componentType}).
 * {@link rewriteTypes} replaces each such type expression by a placeholder identifier (`_h` + a base-36
 * number, padded with spaces to the original length, so every position is kept) and records what it stood
 * for in a side table; after Postgres parsed the text, {@link attachTypes} hangs each recorded type on its
 * TypeName node (`holdfast`), its leaf types (`INT`, `DECIMAL(6, 2)`, `user_def` ...) parsed by the Postgres
 * grammar too, and expands user-defined type names declared by CREATE TYPE into their ROW types.
 *
 * State: none (the side table lives for one `parseProgram` call). Invariant: the rewritten text has the
 * input's length.
 */
import { ServiceError } from '../errors/service-error.ts';
import { type SqlType, sqlType } from './sql-type.ts';
import type { DialectToken } from './tokens.ts';

/** A type as written: leaves are Postgres type texts, parsed into TypeName nodes by {@link attachTypes}. */
export type TypeSpec =
  | { readonly k: 'leaf'; readonly text: string; tn?: unknown }
  | { readonly k: 'array'; readonly element: Component }
  | { readonly k: 'map'; readonly key: Component; readonly value: Component }
  | { readonly k: 'row'; readonly fields: readonly { readonly name: string; readonly type: Component }[] };

/** A component type with its own nullability (null when not written: the default applies). */
export interface Component {
  readonly spec: TypeSpec;
  readonly nullable: boolean | null;
  /** A user-defined type's name, when the component names one (set by {@link attachTypes}). */
  userType?: string;
}

export type TypeTable = Map<string, Component>;

/** Words that begin a Postgres/Feldera type (for telling `ROW(a INT)` the type from `ROW(a, b)` the value). */
const TYPE_WORDS = new Set(
  (
    'bool boolean tinyint int1 smallint int2 int int4 integer bigint int8 utinyint usmallint uint uinteger ' +
    'ubigint real float4 float8 float32 float64 int64 float double decimal numeric number dec char character varchar text string binary ' +
    'varbinary bytea uuid date time timestamp variant map row array'
  ).split(' '),
);
const TYPE_CONTINUATION = new Set(['PRECISION', 'VARYING', 'WITH', 'WITHOUT', 'TIME', 'ZONE', 'UNSIGNED']);

const up = (t: DialectToken | undefined): string => (t?.kind === 'word' ? t.text.toUpperCase() : '');

class TypeParser {
  readonly #tokens: readonly DialectToken[];
  readonly #text: (from: number, to: number) => string;
  pos: number;
  constructor(tokens: readonly DialectToken[], text: (from: number, to: number) => string, pos: number) {
    this.#tokens = tokens;
    this.#text = text;
    this.pos = pos;
  }
  #peek(k = 0): DialectToken | undefined {
    return this.#tokens[this.pos + k];
  }
  #expect(p: string): void {
    if (this.#peek()?.text !== p) throw new Error(`expected '${p}'`);
    this.pos++;
  }
  /** A type with ARRAY suffixes (no nullability of its own). */
  type(): TypeSpec {
    let spec = this.#base();
    while (up(this.#peek()) === 'ARRAY' && this.#peek(1)?.text !== '[') {
      this.pos++;
      spec = { k: 'array', element: { spec, nullable: null } };
    }
    return spec;
  }
  /** A component: a type, optionally NOT NULL / NULL, with ARRAY suffixes applying to all of it. */
  component(): Component {
    let c: Component = { spec: this.#base(), nullable: null };
    for (;;) {
      if (up(this.#peek()) === 'NOT' && up(this.#peek(1)) === 'NULL') {
        this.pos += 2;
        c = { spec: c.spec, nullable: false };
      } else if (up(this.#peek()) === 'NULL') {
        this.pos++;
        c = { spec: c.spec, nullable: true };
      } else if (up(this.#peek()) === 'ARRAY' && this.#peek(1)?.text !== '[') {
        this.pos++;
        c = { spec: { k: 'array', element: c }, nullable: null };
      } else return c;
    }
  }
  #base(): TypeSpec {
    const t = this.#peek();
    const w = up(t);
    if (w === 'MAP' && this.#peek(1)?.text === '<') {
      this.pos += 2;
      const key = this.component();
      this.#expect(',');
      const value = this.component();
      this.#expect('>');
      return { k: 'map', key, value };
    }
    if (w === 'ARRAY' && this.#peek(1)?.text === '<') {
      this.pos += 2;
      const element = this.component();
      this.#expect('>');
      return { k: 'array', element };
    }
    if (w === 'ROW' && this.#peek(1)?.text === '(') {
      this.pos += 2;
      const fields: { name: string; type: Component }[] = [];
      for (;;) {
        const n = this.#peek();
        if (n === undefined || (n.kind !== 'word' && n.kind !== 'qident'))
          throw new Error('expected a field name');
        this.pos++;
        const name = n.kind === 'qident' ? n.text.slice(1, -1).replaceAll('""', '"') : n.text.toLowerCase();
        fields.push({ name, type: this.component() });
        if (this.#peek()?.text === ',') {
          this.pos++;
          continue;
        }
        this.#expect(')');
        return { k: 'row', fields };
      }
    }
    if (t === undefined || (t.kind !== 'word' && t.kind !== 'qident')) throw new Error('expected a type');
    const start = t.start;
    let end = t.end;
    this.pos++;
    for (;;) {
      const n = this.#peek();
      if (n?.text === '(') {
        let depth = 0;
        while (this.#peek() !== undefined) {
          const x = this.#peek() as DialectToken;
          this.pos++;
          if (x.text === '(') depth++;
          else if (x.text === ')' && --depth === 0) {
            end = x.end;
            break;
          }
        }
      } else if (TYPE_CONTINUATION.has(up(n))) {
        // `TIME` after TIMESTAMP WITH / WITHOUT only; a bare following word is not part of the type
        if ((up(n) === 'TIME' || up(n) === 'ZONE') && !/WITH|WITHOUT|TIME/.test(up(this.#peek(-1))))
          return { k: 'leaf', text: this.#text(start, end) };
        end = (n as DialectToken).end;
        this.pos++;
      } else return { k: 'leaf', text: this.#text(start, end) };
    }
  }
}

function isPlain(c: Component): boolean {
  return c.nullable === null && c.spec.k === 'leaf';
}

/**
 * Replaces Feldera's type expressions in `chars` by placeholders (see the header); returns the side table.
 * Text that does not parse as a type is left alone (Postgres then reports the syntax error).
 */
export function rewriteTypes(tokens: readonly DialectToken[], chars: string[]): TypeTable {
  const table: TypeTable = new Map();
  const text = (from: number, to: number) => chars.slice(from, to).join('');
  const userTypes = new Set<string>();
  const place = (from: number, to: number, c: Component): boolean => {
    const name = `_h${table.size.toString(36)}`;
    if (name.length > to - from) return false;
    table.set(name, c);
    for (let i = from; i < to; i++) {
      const j = i - from;
      chars[i] = j < name.length ? (name[j] as string) : chars[i] === '\n' ? '\n' : ' ';
    }
    return true;
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as DialectToken;
    if (t.kind !== 'word') continue;
    const w = t.text.toUpperCase();
    // CREATE TYPE name AS ( field type, ... )
    if (
      w === 'CREATE' &&
      up(tokens[i + 1]) === 'TYPE' &&
      up(tokens[i + 3]) === 'AS' &&
      tokens[i + 4]?.text === '('
    ) {
      const nameTok = tokens[i + 2] as DialectToken;
      userTypes.add(nameTok.kind === 'qident' ? nameTok.text.slice(1, -1) : nameTok.text.toLowerCase());
      let j = i + 5;
      try {
        for (;;) {
          const p = new TypeParser(tokens, text, j + 1);
          const c = p.component();
          const from = (tokens[j + 1] as DialectToken).start;
          const to = (tokens[p.pos - 1] as DialectToken).end;
          if (!isPlain(c)) place(from, to, c);
          j = p.pos;
          if (tokens[j]?.text === ',') {
            j++;
            continue;
          }
          break;
        }
      } catch {
        // not a field list we understand: Postgres reports it
      }
      i = j;
      continue;
    }
    // CREATE TYPE name AS type; (Feldera's type alias, e.g. `CREATE TYPE id_t AS VARCHAR`): recorded under
    // `=name` and the statement blanked (Postgres has no such statement)
    if (w === 'CREATE' && up(tokens[i + 1]) === 'TYPE' && up(tokens[i + 3]) === 'AS' && tokens[i + 4]) {
      const nameTok = tokens[i + 2] as DialectToken;
      try {
        const p = new TypeParser(tokens, text, i + 4);
        const c = p.component();
        const end = tokens[p.pos];
        if (end === undefined || end.text === ';') {
          const name = nameTok.kind === 'qident' ? nameTok.text.slice(1, -1) : nameTok.text.toLowerCase();
          if (table.has(`=${name}`))
            throw new ServiceError('SqlNameError', `type "${name}" is declared more than once`, { name });
          table.set(`=${name}`, c);
          userTypes.add(name);
          const to = (end ?? (tokens[p.pos - 1] as DialectToken)).end;
          for (let k = t.start; k < to; k++) if (chars[k] !== '\n') chars[k] = ' ';
          i = p.pos;
          continue;
        }
      } catch (e) {
        if (e instanceof ServiceError) throw e;
        // not a type we understand: Postgres reports it
      }
    }
    const next = tokens[i + 1];
    // `T ARRAY ARRAY` (Postgres takes one ARRAY suffix): from the base type's first token
    if (w === 'ARRAY' && up(next) === 'ARRAY') {
      let s = i - 1;
      if (tokens[s]?.text === ')') {
        let depth = 0;
        for (; s >= 0; s--) {
          const x = (tokens[s] as DialectToken).text;
          if (x === ')') depth++;
          else if (x === '(' && --depth === 0) break;
        }
        s--;
      }
      const base = tokens[s];
      if (
        base?.kind === 'word' &&
        (TYPE_WORDS.has(base.text.toLowerCase()) || userTypes.has(base.text.toLowerCase()))
      ) {
        try {
          const p = new TypeParser(tokens, text, s);
          const spec = p.type();
          if (place(base.start, (tokens[p.pos - 1] as DialectToken).end, { spec, nullable: null }))
            i = p.pos - 1;
        } catch {
          // leave it to Postgres
        }
        continue;
      }
    }
    let isType = (w === 'MAP' || w === 'ARRAY') && next?.text === '<';
    if (!isType && w === 'ROW' && next?.text === '(') {
      const field = tokens[i + 2];
      const ty = tokens[i + 3];
      isType =
        (field?.kind === 'word' || field?.kind === 'qident') &&
        ty?.kind === 'word' &&
        (TYPE_WORDS.has(ty.text.toLowerCase()) || userTypes.has(ty.text.toLowerCase()));
    }
    if (!isType) continue;
    try {
      const p = new TypeParser(tokens, text, i);
      const spec = p.type();
      if (place(t.start, (tokens[p.pos - 1] as DialectToken).end, { spec, nullable: null })) i = p.pos - 1;
    } catch {
      // leave it to Postgres
    }
  }
  return table;
}

// ---------------------------------------------------------------------------------------------------------
// after parsing

// biome-ignore lint/suspicious/noExplicitAny: the Postgres AST is an untyped JSON tree
type Ast = any;

const PLACEHOLDER = /^_h[0-9a-z]+$/;

function typeNameOf(tn: Ast): string | null {
  const names = (tn?.names ?? []) as Ast[];
  if (names.length !== 1) return null;
  return (names[0]?.String?.sval as string | undefined) ?? null;
}

/** Every TypeName node under `v` (iteratively), including those inside attached specs. */
function* typeNames(v: unknown): Generator<Ast> {
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (x === null || typeof x !== 'object') continue;
    if (Array.isArray(x)) {
      for (const y of x) stack.push(y);
      continue;
    }
    for (const [k, y] of Object.entries(x)) {
      if ((k === 'typeName' || k === 'TypeName') && y !== null && typeof y === 'object') yield y;
      if (k !== 'holdfast' && y !== null && typeof y === 'object') stack.push(y);
    }
  }
}

/**
 * Attaches the recorded types to the parsed statements (see the header) and returns the statements that
 * remain: CREATE TYPE statements are consumed here. `parseType(text)` parses a type's text with the Postgres
 * grammar into a TypeName node.
 */
export function attachTypes(
  stmts: readonly Ast[],
  table: TypeTable,
  parseType: (text: string) => Ast,
): Ast[] {
  const user = new Map<string, Component>();
  const leaves = (c: Component): void => {
    const s = c.spec;
    if (s.k === 'leaf') {
      s.tn ??= parseType(s.text);
      resolveUser(s.tn);
    } else if (s.k === 'array') leaves(s.element);
    else if (s.k === 'map') {
      leaves(s.key);
      leaves(s.value);
    } else for (const f of s.fields) leaves(f.type);
  };
  const resolveUser = (tn: Ast): void => {
    const name = typeNameOf(tn);
    if (name === null || tn.holdfast !== undefined) return;
    if (PLACEHOLDER.test(name) && table.has(name)) {
      const c = table.get(name) as Component;
      leaves(c);
      tn.holdfast = c;
      return;
    }
    const u = user.get(name);
    if (u !== undefined) tn.holdfast = u;
  };
  // type aliases (`CREATE TYPE name AS type`, recorded by rewriteTypes under `=name`), in declaration order
  for (const [key, c] of table) {
    if (!key.startsWith('=')) continue;
    const name = key.slice(1);
    if (user.has(name))
      throw new ServiceError('SqlNameError', `type "${name}" is declared more than once`, { name });
    leaves(c);
    user.set(name, c);
  }
  const out: Ast[] = [];
  for (const st of stmts) {
    const ct = st.CompositeTypeStmt;
    if (ct !== undefined) {
      const fields: { name: string; type: Component }[] = [];
      for (const el of ct.coldeflist ?? []) {
        const cd = el.ColumnDef;
        resolveUser(cd.typeName);
        const c: Component = cd.typeName.holdfast ?? {
          spec: { k: 'leaf', text: '', tn: cd.typeName },
          nullable: null,
        };
        fields.push({ name: cd.colname, type: c });
      }
      const name = ct.typevar.relname as string;
      if (user.has(name))
        throw new ServiceError('SqlNameError', `type "${name}" is declared more than once`, { name });
      user.set(name, { spec: { k: 'row', fields }, nullable: null, userType: name });
      continue;
    }
    for (const tn of typeNames(st)) resolveUser(tn);
    out.push(st);
  }
  return out;
}

/**
 * The SqlType of a recorded type: `nullable` applies where the component does not say (columns: the column's
 * NOT NULL; components: nullable, but an inline ROW's fields NOT NULL). `leaf` resolves a Postgres TypeName node.
 */
export function componentType(
  c: Component,
  nullable: boolean,
  leaf: (tn: Ast, nullable: boolean) => SqlType,
): SqlType {
  const n = c.nullable ?? nullable;
  const s = c.spec;
  switch (s.k) {
    case 'leaf':
      return leaf(s.tn, n);
    case 'array':
      return sqlType('ARRAY', n, { element: componentType(s.element, true, leaf) });
    case 'map':
      return sqlType('MAP', n, {
        key: componentType(s.key, true, leaf),
        value: componentType(s.value, true, leaf),
      });
    case 'row':
      return sqlType('ROW', n, {
        // an inline ROW's fields are NOT NULL unless declared NULL (Calcite, so Feldera); a CREATE TYPE's
        // fields are nullable unless declared NOT NULL, like a table's columns
        fields: s.fields.map((f) => ({
          name: f.name,
          type: componentType(f.type, c.userType !== undefined, leaf),
        })),
        ...(c.userType !== undefined ? { typeName: c.userType.toUpperCase() } : {}),
      });
  }
}
