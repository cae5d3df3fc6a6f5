/**
 * The SQL engine's public API: compile a program (tables and views), instantiate it as a circuit, push table
 * changes step by step and read every view's changes; read materialized contents; run ad-hoc queries; snapshot
 * and restore the whole state. Views are planned in program order; with `DECLARE RECURSIVE VIEW` declarations a
 * view may read a declared view defined later, and views that read each other are planned together as one
 * fixed-point operator (`recursive.ts`).
 *
 * @example
 * const program = await compileProgram('CREATE TABLE t (x INT); CREATE VIEW v AS SELECT COUNT(*) AS n FROM t;');
 * const circuit = program.instantiate();
 * const out = circuit.step(new Map([['t', { rows: [[1], [2]], weights: [1, 1] }]]));
 * out.get('v'); // { rows: [[0n], [2n]], weights: [-1, 1] }
 */

import { Circuit, type CircuitSnapshot, type NodeId } from '../circuit/circuit.ts';
import { ServiceError } from '../errors/service-error.ts';
import { MaterializeOperator } from '../operators/integrate.ts';
import { LatenessFilterOperator } from '../operators/lateness-filter.ts';
import { TableInputOperator } from '../operators/table-input.ts';
import { type Batch, consolidate, emptyBatch } from '../zset/batch.ts';
import type { Row, Value } from '../zset/value.ts';
import { columnDefault } from './column-defaults.ts';
import { type CompilerSetting, compilerSetting, ignoresWarning } from './compiler-settings.ts';
import { emitFinalFor } from './emit-final.ts';
import {
  type Ast,
  type BindContext,
  type Bound,
  bindExpr,
  comparator,
  resolveTypeName,
  type ScopeColumn,
  sqlError,
} from './expr.ts';
import { rewriteGroupWindows } from './group-windows.ts';
import { latenessNameError, type ResolvedLateness, resolveLateness } from './lateness.ts';
import { NOW_TABLE, NOW_TABLE_DDL, rewriteNow, rewriteTemporalFilters } from './now-clock.ts';
import {
  type LatenessClause,
  type ParsedStatement,
  parseProgram,
  SourceMap,
  stackOverflowAsSqlError,
} from './parse.ts';
import { Planner, type Rel } from './planner.ts';
import {
  checkDeclaredColumns,
  planRecursiveGroup,
  planUnits,
  type RecursiveDeclaration,
  referencedNames,
} from './recursive.ts';
import type {
  ColumnSchema,
  PropertyValue,
  RelationSchema,
  TableSchema,
  ViewKind,
  ViewSchema,
} from './schema.ts';
import { type SqlType, sqlType } from './sql-type.ts';
import { type DefinedFunction, defineFunction, usedFunctions } from './udf.ts';
import { ExternalFunctions } from './udf-ts.ts';
import { type UnusedColumns, unusedColumns } from './unused-columns.ts';
import { compileCast } from './values/cast.ts';
import { withWaterlines } from './waterline-plan.ts';

export { rowFromJson, rowToJson } from './records.ts';
export type { ColumnSchema, RelationSchema, TableSchema, ViewSchema } from './schema.ts';
export { formatValue } from './values/format.ts';

const TABLE_PROPERTIES = new Set([
  'materialized',
  'append_only',
  'connectors',
  'skip_unused_columns',
  'expected_size',
]);
const VIEW_PROPERTIES = new Set(['connectors', 'emit_final']);

interface TableDef {
  schema: TableSchema;
  readonly pk: readonly number[] | null;
  /** LATENESS annotations (on columns, and from LATENESS statements naming the table). */
  readonly lateness: LatenessClause[];
}

interface ViewDef {
  readonly schema: ViewSchema;
  readonly select: Ast;
  readonly aliases: readonly string[];
  /** LATENESS statements naming the view's columns (resolved when the view is planned). */
  readonly lateness: LatenessClause[];
}

/**
 * How one relation maps onto a circuit built by {@link Program.instantiate}: used to describe a program in its
 * checkpoints and to carry an unchanged relation's state over to a changed program (see `bootstrap.ts`).
 */
export interface RelationInfo {
  readonly name: string;
  readonly kind: 'table' | ViewKind;
  readonly materialized: boolean;
  /** Relations this one reads directly (views only), in first-use order. */
  readonly deps: readonly string[];
  /** State keys of the relation's stateful operators, in circuit order. */
  readonly stateKeys: readonly string[];
  /** What defines the relation's plan and state, apart from its inputs: hashed to detect a modification. */
  readonly definition: unknown;
}

type Def = { readonly k: 'table'; readonly d: TableDef } | { readonly k: 'view'; readonly d: ViewDef };

export interface QueryResult {
  readonly columns: readonly ColumnSchema[];
  readonly rows: Row[];
}

/** What a program is made of besides its SQL. */
export interface ProgramParts {
  /** TypeScript implementing the functions declared without a body (the `udf_ts` program field). */
  readonly udfTs?: string;
}

/**
 * Compiles a program. @throws ServiceError (SqlSyntaxError, SqlNameError, SqlTypeError, SqlUnsupported,
 * SqlPropertyError; UdfSyntaxError, UdfTypeError, UdfMissingExport, UdfRuntimeError for udf_ts).
 */
export async function compileProgram(sql: string, parts: ProgramParts = {}): Promise<Program> {
  try {
    return await compileProgramUnguarded(sql, parts.udfTs ?? '');
  } catch (e) {
    throw stackOverflowAsSqlError(e);
  }
}

async function compileProgramUnguarded(sql: string, udfTs: string): Promise<Program> {
  const stmts = await parseProgram(sql);
  const source = new SourceMap(sql);
  const defs: Def[] = [];
  const names = new Set<string>();
  const functions = new Map<string, DefinedFunction>();
  const externals = new ExternalFunctions(udfTs);
  const latenessStatements: Array<LatenessClause & { relation: { name: string; quoted: boolean } }> = [];
  const settings: CompilerSetting[] = [];
  const declarations = new Map<string, RecursiveDeclaration>();
  // NOW(): a hidden clock input table, declared before every statement (now-clock.ts)
  let nowCalls = 0;
  for (const st of stmts)
    if (st.ast.CreateStmt === undefined) nowCalls += rewriteTemporalFilters(st.ast) + rewriteNow(st.ast);
  if (nowCalls > 0) {
    const [clock] = await parseProgram(NOW_TABLE_DDL);
    const def = defineStatement(clock as ParsedStatement, new SourceMap(NOW_TABLE_DDL), NOW_TABLE_DDL, defs);
    names.add(def.d.schema.name);
    defs.push(def);
  }
  for (const st of stmts) {
    if (st.declaration === true) {
      const d = defineDeclaration(st, source, sql);
      if (declarations.has(d.name))
        throw new ServiceError('SqlNameError', `recursive view "${d.name}" is declared more than once`, {
          name: d.name,
        });
      declarations.set(d.name, d);
      continue;
    }
    if (st.ast.HoldfastFunction) {
      const f = defineFunction(st.ast.HoldfastFunction, source, functions, externals);
      functions.set(f.name.toLowerCase(), f);
      continue;
    }
    if (st.ast.HoldfastLateness) {
      latenessStatements.push(st.ast.HoldfastLateness);
      continue;
    }
    // Feldera's compiler options (SET FELDERA_IGNORE_WARNING_... = ON): accepted (compiler-settings.ts)
    if (st.ast.VariableSetStmt) {
      settings.push(compilerSetting(st.ast.VariableSetStmt, source.position(st.offset)));
      continue;
    }
    const def = defineStatement(st, source, sql, defs);
    const name = def.d.schema.name;
    if (names.has(name) && nowCalls > 0 && name === NOW_TABLE)
      throw new ServiceError(
        'SqlNameError',
        `the program calls NOW(), whose clock is the hidden table "${NOW_TABLE}": rename the table "${name}"`,
        { name },
      );
    if (names.has(name)) {
      throw new ServiceError('SqlNameError', `relation "${name}" is declared more than once`, { name });
    }
    names.add(name);
    defs.push(def);
  }
  for (const l of latenessStatements) {
    const want = l.relation.quoted ? l.relation.name : l.relation.name.toLowerCase();
    const def =
      defs.find((d) => d.d.schema.name === want) ??
      defs.find(
        (d) => !l.relation.quoted && !d.d.schema.caseSensitive && d.d.schema.name.toLowerCase() === want,
      );
    if (def === undefined)
      throw latenessNameError(
        `LATENESS names relation "${l.relation.name}", which is not declared in the program`,
        source,
        l.offset,
      );
    def.d.lateness.push({ column: l.column, expr: l.expr, source: l.source, offset: l.offset });
    if (def.k === 'table') def.d.schema = withLateness(def.d.schema, def.d.lateness, source);
  }
  checkDeclarations(declarations, defs, source);
  await externals.load();
  const program = new Program(sql, source, defs, functions, declarations, externals.stubs());
  program.usesNow = nowCalls > 0;
  program.instantiate(); // plans every view once: reports errors now
  program.unused = unusedColumns(sql, source, stmts, program.tables); // warnings (unused-columns.ts)
  // SET FELDERA_IGNORE_WARNING_UNUSED_COLUMN = ON silences them (the columns stay marked unused)
  if (ignoresWarning(settings, 'unused_column')) program.unused = { ...program.unused, warnings: [] };
  return program;
}

/** A `DECLARE RECURSIVE VIEW` statement (parsed as a CREATE TABLE): its name and columns. */
function defineDeclaration(st: ParsedStatement, source: SourceMap, sql: string): RecursiveDeclaration {
  const n = st.ast.CreateStmt as Ast;
  const quoted =
    typeof n.relation.location === 'number' && sql[source.charOffset(n.relation.location)] === '"';
  const t = defineTable(n, st, source, quoted);
  if (t.pk !== null || t.lateness.length > 0 || Object.keys(st.properties).length > 0)
    throw sqlError(
      'SqlUnsupported',
      `the declaration of recursive view "${t.schema.name}" takes column names and types only (no keys, LATENESS or WITH properties)`,
      bindCtx(source),
      n.relation.location,
    );
  return { name: t.schema.name, columns: t.schema.columns, offset: st.offset };
}

/** Every declared recursive view that is used must be defined, as a view. */
function checkDeclarations(
  declarations: ReadonlyMap<string, RecursiveDeclaration>,
  defs: readonly Def[],
  source: SourceMap,
): void {
  for (const d of declarations.values()) {
    const def = defs.find((x) => x.d.schema.name === d.name);
    const p = source.position(d.offset);
    if (def?.k === 'table')
      throw new ServiceError(
        'SqlNameError',
        `"${d.name}" is declared as a recursive view (line ${p.line}, column ${p.column}) but created as a table`,
        { name: d.name, line: p.line, column: p.column },
      );
    if (def === undefined && defs.some((x) => x.k === 'view' && referencedNames(x.d.select).includes(d.name)))
      throw new ServiceError(
        'SqlNameError',
        `recursive view "${d.name}" is declared (line ${p.line}, column ${p.column}) and used but never defined; define it with CREATE VIEW ${d.name} AS ...`,
        { name: d.name, line: p.line, column: p.column },
      );
  }
}

function bindCtx(source: SourceMap): BindContext {
  return { columns: [], source };
}

function defineStatement(st: ParsedStatement, source: SourceMap, sql: string, earlier: readonly Def[]): Def {
  const kind = Object.keys(st.ast)[0] as string;
  const n = st.ast[kind];
  const quoted = (loc: number | undefined) => typeof loc === 'number' && sql[source.charOffset(loc)] === '"';
  switch (kind) {
    case 'CreateStmt':
      return { k: 'table', d: defineTable(n, st, source, quoted(n.relation.location)) };
    case 'ViewStmt': {
      if (n.replace)
        throw sqlError(
          'SqlUnsupported',
          'CREATE OR REPLACE VIEW is not supported',
          bindCtx(source),
          n.view.location,
        );
      return {
        k: 'view',
        d: defineView(
          n.view,
          n.query.SelectStmt,
          n.aliases,
          st.local ? 'local' : 'view',
          st,
          source,
          quoted,
          earlier,
        ),
      };
    }
    case 'CreateTableAsStmt': {
      if (n.objtype !== 'OBJECT_MATVIEW') {
        throw sqlError(
          'SqlUnsupported',
          'CREATE TABLE AS is not supported; use CREATE VIEW',
          bindCtx(source),
          n.into?.rel?.location,
        );
      }
      return {
        k: 'view',
        d: defineView(
          n.into.rel,
          n.query.SelectStmt,
          n.into.colNames,
          'materialized',
          st,
          source,
          quoted,
          earlier,
        ),
      };
    }
    default: {
      const what = kind
        .replace(/Stmt$/, '')
        .replace(/([a-z])([A-Z])/g, '$1 $2')
        .toUpperCase();
      const p = source.position(st.offset);
      throw new ServiceError(
        'SqlUnsupported',
        `statement ${what} is not supported in a program (line ${p.line}, column ${p.column}); a program declares tables (CREATE TABLE) and views (CREATE [MATERIALIZED|LOCAL] VIEW)`,
        { construct: what, line: p.line, column: p.column },
      );
    }
  }
}

function checkProperties(
  props: Record<string, PropertyValue>,
  allowed: ReadonlySet<string>,
  what: string,
  name: string,
): void {
  for (const [k, v] of Object.entries(props)) {
    const at = `at line ${v.keyPosition.startLine}, column ${v.keyPosition.startColumn}`;
    if (!allowed.has(k)) {
      throw new ServiceError(
        'SqlPropertyError',
        `unknown ${what} property '${k}' on "${name}" ${at}; supported: ${[...allowed].join(', ')}`,
        { property: k, line: v.keyPosition.startLine, column: v.keyPosition.startColumn },
      );
    }
    if (
      (k === 'materialized' || k === 'append_only' || k === 'skip_unused_columns') &&
      !/^(true|false)$/i.test(v.value)
    ) {
      throw new ServiceError(
        'SqlPropertyError',
        `property '${k}' must be 'true' or 'false', got '${v.value}' ${at}`,
        {
          property: k,
          line: v.keyPosition.startLine,
          column: v.keyPosition.startColumn,
        },
      );
    }
    if (k === 'connectors') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(v.value);
      } catch (e) {
        throw new ServiceError(
          'SqlPropertyError',
          `property 'connectors' is not valid JSON ${at}: ${(e as Error).message}`,
          {
            property: k,
            line: v.valuePosition.startLine,
            column: v.valuePosition.startColumn,
          },
        );
      }
      if (!Array.isArray(parsed)) {
        throw new ServiceError('SqlPropertyError', `property 'connectors' must be a JSON array ${at}`, {
          property: k,
        });
      }
      const seen = new Set<string>();
      for (const c of parsed) {
        const nm = (c as { name?: unknown })?.name;
        if (typeof nm === 'string') {
          if (seen.has(nm))
            throw new ServiceError(
              'SqlPropertyError',
              `duplicate connector name '${nm}' on "${name}" ${at}`,
              { property: k },
            );
          seen.add(nm);
        }
      }
    }
  }
}

function defineTable(n: Ast, st: ParsedStatement, source: SourceMap, caseSensitive: boolean): TableDef {
  const ctx = bindCtx(source);
  const name = n.relation.relname as string;
  if (n.relation.schemaname)
    throw sqlError('SqlUnsupported', 'schema-qualified names are not supported', ctx, n.relation.location);
  if (n.inhRelations || n.partspec || n.ofTypename)
    throw sqlError(
      'SqlUnsupported',
      'table inheritance and partitioning are not supported',
      ctx,
      n.relation.location,
    );
  const cols: Array<{ name: string; type: SqlType; notNull: boolean; location: number; dflt?: Ast }> = [];
  let pk: string[] | null = null;
  const setPk = (keys: string[], loc: number) => {
    if (pk !== null)
      throw sqlError('SqlNameError', `multiple primary keys for table "${name}" are not allowed`, ctx, loc);
    pk = keys;
  };
  for (const el of (n.tableElts ?? []) as Ast[]) {
    if (el.ColumnDef) {
      const cd = el.ColumnDef;
      let notNull = false;
      let dflt: Ast | undefined;
      for (const c of (cd.constraints ?? []) as Ast[]) {
        const con = c.Constraint;
        switch (con.contype) {
          case 'CONSTR_DEFAULT': // column-defaults.ts
            dflt = con.raw_expr;
            break;
          case 'CONSTR_NOTNULL':
            notNull = true;
            break;
          case 'CONSTR_NULL':
            break;
          case 'CONSTR_PRIMARY':
            setPk([cd.colname], con.location);
            notNull = true;
            break;
          case 'CONSTR_FOREIGN': // accepted and not enforced, as Feldera does (README)
            break;
          default:
            throw sqlError(
              'SqlUnsupported',
              `column constraint ${String(con.contype).replace('CONSTR_', '')} is not supported`,
              ctx,
              con.location,
              {
                construct: con.contype,
              },
            );
        }
      }
      if (cols.some((c) => c.name === cd.colname)) {
        throw sqlError('SqlNameError', `column "${cd.colname}" specified more than once`, ctx, cd.location, {
          name: cd.colname,
        });
      }
      cols.push({
        name: cd.colname,
        type: resolveTypeName(cd.typeName, ctx, true, true),
        notNull,
        location: cd.location,
        ...(dflt !== undefined ? { dflt } : {}),
      });
    } else if (el.Constraint) {
      const con = el.Constraint;
      if (con.contype === 'CONSTR_FOREIGN') continue; // accepted and not enforced, as Feldera does (README)
      if (con.contype !== 'CONSTR_PRIMARY') {
        throw sqlError(
          'SqlUnsupported',
          `table constraint ${String(con.contype).replace('CONSTR_', '')} is not supported`,
          ctx,
          con.location,
          {
            construct: con.contype,
          },
        );
      }
      setPk(
        ((con.keys ?? []) as Ast[]).map((k) => k.String.sval as string),
        con.location,
      );
    } else {
      throw sqlError('SqlUnsupported', `unsupported table element ${Object.keys(el)[0]}`, ctx, undefined);
    }
  }
  if (cols.length === 0)
    throw sqlError('SqlUnsupported', `table "${name}" needs at least one column`, ctx, n.relation.location);
  let pkIdx: number[] | null = null;
  if (pk !== null) {
    pkIdx = (pk as string[]).map((k) => {
      const i = cols.findIndex((c) => c.name === k);
      if (i < 0)
        throw sqlError(
          'SqlNameError',
          `column "${k}" named in key does not exist`,
          ctx,
          n.relation.location,
          { name: k },
        );
      (cols[i] as { notNull: boolean }).notNull = true;
      return i;
    });
  }
  checkProperties(st.properties, TABLE_PROPERTIES, 'table', name);
  const mat = st.properties.materialized?.value.toLowerCase() === 'true';
  const lateness = [...(st.lateness ?? [])];
  const schema: TableSchema = {
    kind: 'table',
    name,
    caseSensitive,
    columns: cols.map((c) => ({
      name: c.name,
      type: { ...c.type, nullable: !c.notNull },
      caseSensitive: false,
      ...(c.dflt !== undefined
        ? { default: columnDefault(c.dflt, { ...c.type, nullable: !c.notNull }, c.name, ctx) }
        : {}),
    })),
    primaryKey: pk,
    materialized: pk !== null || mat,
    appendOnly: st.properties.append_only?.value.toLowerCase() === 'true',
    properties: st.properties,
  };
  return { schema: withLateness(schema, lateness, source), pk: pkIdx, lateness };
}

/**
 * The table's schema with each annotated column's `lateness` text; a table whose primary key has a LATENESS
 * column is not materialized implicitly (as in Feldera: its old rows may be discarded), only by the property.
 */
function withLateness(
  schema: TableSchema,
  clauses: readonly LatenessClause[],
  source: SourceMap,
): TableSchema {
  if (clauses.length === 0) return schema;
  const resolved = resolveLateness(schema.name, schema.columns, clauses, source);
  const columns = schema.columns.map((c, i) => {
    const r = resolved.find((x) => x.index === i);
    return r === undefined ? c : { ...c, lateness: r.source };
  });
  const keyLate = (schema.primaryKey ?? []).some((k) => columns.find((c) => c.name === k)?.lateness);
  const mat = schema.properties.materialized?.value.toLowerCase() === 'true';
  return { ...schema, columns, materialized: keyLate ? mat : schema.materialized };
}

function defineView(
  rv: Ast,
  select: Ast,
  aliases: Ast[] | undefined,
  kind: ViewKind,
  st: ParsedStatement,
  source: SourceMap,
  quoted: (loc: number | undefined) => boolean,
  _earlier: readonly Def[],
): ViewDef {
  const name = rv.relname as string;
  if (rv.schemaname)
    throw sqlError(
      'SqlUnsupported',
      'schema-qualified names are not supported',
      bindCtx(source),
      rv.location,
    );
  checkProperties(st.properties, VIEW_PROPERTIES, 'view', name);
  rewriteGroupWindows(select);
  const schema: ViewSchema = {
    kind,
    name,
    caseSensitive: quoted(rv.location),
    columns: [],
    materialized: kind === 'materialized',
    properties: st.properties,
    query: st.text,
  };
  return {
    schema,
    select,
    aliases: ((aliases ?? []) as Ast[]).map((a) => a.String.sval as string),
    lateness: [],
  };
}

/** A compiled program: its schema, and a factory of circuits that run it. */
export class Program {
  readonly sql: string;
  readonly #source: SourceMap;
  readonly #defs: readonly Def[];
  readonly #declarations: ReadonlyMap<string, RecursiveDeclaration>;
  #tables: TableSchema[] = [];
  #views: ViewSchema[] = [];

  /** The program's user-defined functions (lower-case name → function). */
  readonly functions: ReadonlyMap<string, DefinedFunction>;
  /** TypeScript stubs of the functions declared without a body (`program_info.udf_stubs`); '' when none. */
  readonly udfStubs: string;
  /** The program calls NOW(): it has the hidden clock table (now-clock.ts), which the controller advances. */
  usesNow = false;
  /** Table columns no view reads: Feldera's "Unused column" warnings (unused-columns.ts). */
  unused: UnusedColumns = { warnings: [], unused: new Map() };

  constructor(
    sql: string,
    source: SourceMap,
    defs: readonly Def[],
    functions: ReadonlyMap<string, DefinedFunction> = new Map(),
    declarations: ReadonlyMap<string, RecursiveDeclaration> = new Map(),
    udfStubs = '',
  ) {
    this.sql = sql;
    this.#source = source;
    this.#defs = defs;
    this.#declarations = declarations;
    this.functions = functions;
    this.udfStubs = udfStubs;
  }

  get tables(): readonly TableSchema[] {
    return this.#tables;
  }

  /** All views, local ones included (`kind === 'local'`). */
  get views(): readonly ViewSchema[] {
    return this.#views;
  }

  /** Output views: every non-local view. */
  get outputs(): readonly ViewSchema[] {
    return this.#views.filter((v) => v.kind !== 'local');
  }

  relation(name: string): RelationSchema | undefined {
    return (
      [...this.#tables, ...this.#views].find((r) => r.name === name) ??
      [...this.#tables, ...this.#views].find((r) => !r.caseSensitive && r.name === name.toLowerCase())
    );
  }

  table(name: string): TableSchema | undefined {
    const r = this.relation(name);
    return r?.kind === 'table' ? r : undefined;
  }

  /** Builds a fresh circuit for the program (no state). */
  instantiate(): SqlCircuit {
    const circuit = new Circuit();
    const rels = new Map<string, Rel>();
    const tables = new Map<string, TableEntry>();
    const views = new Map<string, { node: NodeId; mat: MaterializeOperator | null; schema: ViewSchema }>();
    let deps: string[] = [];
    // with recursive views, units may be planned out of program order (recursive.ts); a relation defined
    // later than the one being planned stays invisible unless it is declared recursive
    const defIndex = new Map(this.#defs.map((d, i) => [d.d.schema.name, i]));
    let current = 0;
    const resolve = (n: string): Rel | null => {
      const at = defIndex.get(n);
      if (at !== undefined && at > current && !this.#declarations.has(n)) return null;
      const r = rels.get(n) ?? null;
      if (r !== null && !deps.includes(n)) deps.push(n);
      return r;
    };
    const planner = new Planner(circuit, { resolve, source: this.#source, functions: this.functions });
    const tableSchemas: TableSchema[] = [];
    const viewSchemas: ViewSchema[] = [];
    const infos: RelationInfo[] = [];
    const units =
      this.#declarations.size === 0
        ? this.#defs.map((_d, index) => ({ k: 'one' as const, index }))
        : planUnits(
            this.#defs.map((d) => ({
              name: d.d.schema.name,
              reads: d.k === 'view' ? referencedNames(d.d.select) : [],
            })),
            new Set(this.#declarations.keys()),
          );
    /** Adds a planned view's LATENESS filter, materialization and schema; returns its schema. */
    const finishView = (d: ViewDef, planned: Rel, columns: ColumnSchema[]): ViewSchema => {
      let cols = columns;
      let node = planned.node;
      let viewLate: LatenessFilterOperator | null = null;
      if (d.lateness.length > 0) {
        const resolved = resolveLateness(d.schema.name, cols, d.lateness, this.#source);
        viewLate = latenessFilter(resolved);
        node = circuit.add(viewLate, [node]);
        cols = cols.map((c, i) => {
          const r = resolved.find((x) => x.index === i);
          return r === undefined ? c : { ...c, lateness: r.source };
        });
      }
      // waterlines propagated through the query (waterline-plan.ts), overridden by the view's own LATENESS
      const waterlines =
        viewLate === null
          ? planned.waterlines
          : new Map([...(planned.waterlines ?? []), ...waterlinesOf(viewLate, cols)]);
      // emit_final delays the view's output only: other views read its changes undelayed (emit-final.ts)
      const readNode = node;
      const final = emitFinalFor(
        d.schema.name,
        d.schema.kind,
        d.schema.properties.emit_final,
        cols,
        waterlines,
      );
      if (final !== null) node = circuit.add(final, [node]);
      let mat: MaterializeOperator | null = null;
      if (d.schema.materialized) {
        mat = new MaterializeOperator();
        node = circuit.add(mat, [node]);
      }
      const schema: ViewSchema = { ...d.schema, columns: cols };
      rels.set(schema.name, {
        node: final === null ? node : readNode,
        cols: cols.map((c) => ({ qualifier: schema.name, name: c.name, type: c.type })),
        ...withWaterlines(waterlines),
      });
      views.set(schema.name, { node, mat, schema });
      viewSchemas.push(schema);
      return schema;
    };
    const viewDefinition = (d: ViewDef, schema: ViewSchema) => ({
      kind: schema.kind,
      caseSensitive: schema.caseSensitive,
      select: withoutLocations(d.select),
      ...usedFunctions(d.select, this.functions),
      aliases: d.aliases,
      properties: definingProperties(schema.properties),
      ...(d.lateness.length > 0 ? { lateness: schema.columns.map((c) => c.lateness ?? null) } : {}),
    });
    for (const unit of units) {
      if (unit.k === 'group') {
        const group = unit.indexes.map((i) => (this.#defs[i] as Def & { k: 'view' }).d);
        current = Math.max(...unit.indexes);
        deps = [];
        let first = circuit.nodeCount;
        const planned = planRecursiveGroup({
          circuit,
          views: group.map((d) => ({
            name: d.schema.name,
            select: d.select,
            local: d.schema.kind === 'local',
            declaration: this.#declarations.get(d.schema.name) ?? null,
            exported:
              d.schema.kind !== 'local' ||
              this.#defs.some(
                (x, i) =>
                  x.k === 'view' &&
                  !unit.indexes.includes(i) &&
                  referencedNames(x.d.select).includes(d.schema.name),
              ),
            hasLateness: d.lateness.length > 0,
            columnsOf: (cols) => viewColumns(cols, d, this.#source),
          })),
          resolve,
          source: this.#source,
          functions: this.functions,
        });
        // every view of the group depends on the whole group: its definition covers all of them
        const groupDefinition = group.map((d) => ({
          name: d.schema.name,
          select: withoutLocations(d.select),
          declared: this.#declarations.get(d.schema.name)?.columns ?? null,
        }));
        group.forEach((d, w) => {
          const p = planned.views[w] as { node: NodeId; columns: readonly ColumnSchema[] };
          const schema = finishView(d, { node: p.node, cols: [] }, [...p.columns]);
          const keys = circuit.stateKeys().filter((k) => Number(/^n(\d+):/.exec(k)?.[1]) >= first);
          first = circuit.nodeCount;
          infos.push({
            name: schema.name,
            kind: schema.kind,
            materialized: schema.materialized,
            deps: [...planned.reads],
            stateKeys: keys,
            definition: { ...viewDefinition(d, schema), recursiveGroup: groupDefinition },
          });
        });
        continue;
      }
      const def = this.#defs[unit.index] as Def;
      current = unit.index;
      const first = circuit.nodeCount;
      deps = [];
      const done = (name: string, kind: RelationInfo['kind'], materialized: boolean, definition: unknown) => {
        const keys = circuit.stateKeys().filter((k) => Number(/^n(\d+):/.exec(k)?.[1]) >= first);
        infos.push({ name, kind, materialized, deps: [...deps], stateKeys: keys, definition });
      };
      if (def.k === 'table') {
        const s = def.d.schema;
        let src = circuit.addSource(s.name);
        let late: LatenessFilterOperator | null = null;
        if (def.d.lateness.length > 0) {
          late = latenessFilter(resolveLateness(s.name, s.columns, def.d.lateness, this.#source));
          src = circuit.add(late, [src]);
        }
        const op = new TableInputOperator({
          primaryKey: def.d.pk,
          materialized: s.materialized,
          typedColumns: true,
        });
        const node = circuit.add(op, [src]);
        rels.set(s.name, {
          node,
          cols: s.columns.map((c) => ({ qualifier: s.name, name: c.name, type: c.type })),
          unique: def.d.pk ?? undefined,
          // with a primary key, an update retracts the key's old row, whose other columns may be below their
          // waterline: only LATENESS columns in the key bound the table's changes
          ...(late === null ? {} : { waterlines: waterlinesOf(late, s.columns, s.primaryKey) }),
          // NOW()'s clock only moves forward (its row is replaced by a later one): its value is a waterline
          ...(this.usesNow && s.name === NOW_TABLE ? { waterlines: clockWaterline(op) } : {}),
        });
        tables.set(s.name, { op, schema: s, late });
        tableSchemas.push(s);
        done(s.name, 'table', s.materialized, {
          caseSensitive: s.caseSensitive,
          columns: s.columns,
          primaryKey: s.primaryKey,
          materialized: s.materialized,
          appendOnly: s.appendOnly,
          properties: definingProperties(s.properties),
        });
        continue;
      }
      const d = def.d;
      const rel = planner.planSelect(d.select);
      planner.retireBypassed(rel.node);
      let cols = viewColumns(rel.cols, d, this.#source);
      const declared = this.#declarations.get(d.schema.name);
      if (declared !== undefined) {
        // declared recursive but in no cycle: a plain view of the declared type
        checkDeclaredColumns(d.schema.name, declared, cols, this.#source);
        cols = declared.columns.map((c) => ({ ...c }));
      }
      const schema = finishView(d, rel, cols);
      done(schema.name, schema.kind, schema.materialized, viewDefinition(d, schema));
    }
    this.#tables = tableSchemas;
    this.#views = viewSchemas;
    return new SqlCircuit(this, circuit, tables, views, this.#source, infos);
  }
}

/** The filter that drops a relation's late rows (see `operators/lateness-filter.ts`). */
function latenessFilter(resolved: readonly ResolvedLateness[]): LatenessFilterOperator {
  return new LatenessFilterOperator({ columns: resolved.map((r) => r.column) });
}

/**
 * The clock table's waterline (now-clock.ts): its current value. A step that moves the clock retracts the old
 * value and inserts a later one, so every change after the step is at or above the value the step left.
 */
function clockWaterline(op: TableInputOperator): ReadonlyMap<number, () => Value> {
  return new Map([
    [
      0,
      () => {
        const b = op.contents();
        let max: Value = null;
        b.rows.forEach((r, i) => {
          const v = r[0] as Value;
          if ((b.weights[i] as number) > 0 && v !== null && (max === null || (v as number) > (max as number)))
            max = v;
        });
        return max;
      },
    ],
  ]);
}

/** The waterline getters of a relation's LATENESS columns (see `Rel.waterlines`). */
function waterlinesOf(
  op: LatenessFilterOperator,
  cols: readonly ColumnSchema[],
  primaryKey?: readonly string[] | null,
): ReadonlyMap<number, () => Value> {
  const out = new Map<number, () => Value>();
  cols.forEach((c, i) => {
    if (c.lateness !== undefined && (!primaryKey?.length || primaryKey.includes(c.name)))
      out.set(i, () => op.waterline(i));
  });
  return out;
}

/** A table of a running circuit: its input operator, schema, and LATENESS filter (null without LATENESS). */
interface TableEntry {
  readonly op: TableInputOperator;
  readonly schema: TableSchema;
  readonly late: LatenessFilterOperator | null;
}

/** WITH properties that shape a relation's plan or state (connectors are compared on their own). */
function definingProperties(props: Readonly<Record<string, PropertyValue>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(props).sort())
    if (k !== 'connectors') out[k] = (props[k] as PropertyValue).value;
  return out;
}

/**
 * The parse tree without source positions, so whitespace and comments do not count as changes. Iterative (a
 * long expression is a deep tree); keys keep their order.
 */
function withoutLocations(a: unknown): unknown {
  const root: { v: unknown } = { v: undefined };
  const stack: Array<[unknown, (x: unknown) => void]> = [
    [
      a,
      (x) => {
        root.v = x;
      },
    ],
  ];
  while (stack.length > 0) {
    const [v, set] = stack.pop() as [unknown, (x: unknown) => void];
    if (Array.isArray(v)) {
      const out: unknown[] = new Array(v.length);
      set(out);
      v.forEach((x, i) => {
        stack.push([
          x,
          (y) => {
            out[i] = y;
          },
        ]);
      });
    } else if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      set(out);
      for (const [k, x] of Object.entries(v)) {
        if (k === 'location' || k === 'stmt_location') continue;
        out[k] = undefined;
        stack.push([
          x,
          (y) => {
            out[k] = y;
          },
        ]);
      }
    } else set(v);
  }
  return root.v;
}

function viewColumns(cols: readonly ScopeColumn[], d: ViewDef, source: SourceMap): ColumnSchema[] {
  if (d.aliases.length > cols.length) {
    throw sqlError(
      'SqlNameError',
      `CREATE VIEW "${d.schema.name}" specifies more column names than columns`,
      bindCtx(source),
      undefined,
    );
  }
  // Names from the query that repeat get Feldera's (Calcite's) fresh names: the name plus 0, 1, ... (the first
  // not taken), so `SELECT t.r.a, t.s.a` gives columns a and a0; names in the view's column list must differ.
  const taken = new Set<string>();
  const out = cols.map((c, i) => {
    let name = d.aliases[i] ?? c.name;
    if (d.aliases[i] === undefined && taken.has(name)) {
      let k = 0;
      while (taken.has(`${c.name}${k}`)) k++;
      name = `${c.name}${k}`;
    }
    taken.add(name);
    return {
      name,
      type: c.type.kind === 'NULL' ? sqlType('VARCHAR', true, { length: null }) : c.type,
      caseSensitive: false,
    };
  });
  const seen = new Set<string>();
  for (const c of out) {
    if (seen.has(c.name)) {
      throw new ServiceError(
        'SqlNameError',
        `column "${c.name}" specified more than once in view "${d.schema.name}"; give the columns distinct aliases`,
        {
          name: c.name,
          view: d.schema.name,
        },
      );
    }
    seen.add(c.name);
  }
  return out;
}

/** A running instance of a program. Not thread-safe; steps run one at a time. */
/** Parses an ad-hoc statement: exactly one statement, parse errors as AdHocQueryError. */
async function parseAdHoc(sql: string): Promise<ParsedStatement> {
  let stmts: ParsedStatement[];
  try {
    stmts = await parseProgram(sql);
  } catch (e) {
    throw new ServiceError('AdHocQueryError', (e as Error).message, (e as ServiceError).details ?? {});
  }
  if (stmts.length !== 1)
    throw new ServiceError('AdHocQueryError', 'an ad-hoc query must be exactly one statement', {});
  return stmts[0] as ParsedStatement;
}

export class SqlCircuit {
  readonly program: Program;
  readonly circuit: Circuit;
  readonly #tables: Map<string, TableEntry>;
  readonly #views: Map<string, { node: NodeId; mat: MaterializeOperator | null; schema: ViewSchema }>;
  readonly #want: NodeId[];
  readonly #outputs: Array<[string, NodeId]>;
  readonly #source: SourceMap;
  /** Each relation's place in this circuit, in declaration order. */
  readonly relations: readonly RelationInfo[];

  constructor(
    program: Program,
    circuit: Circuit,
    tables: Map<string, TableEntry>,
    views: Map<string, { node: NodeId; mat: MaterializeOperator | null; schema: ViewSchema }>,
    source: SourceMap,
    relations: readonly RelationInfo[] = [],
  ) {
    this.relations = relations;
    this.program = program;
    this.circuit = circuit;
    this.#tables = tables;
    this.#views = views;
    this.#outputs = [...views.values()]
      .filter((v) => v.schema.kind !== 'local')
      .map((v) => [v.schema.name, v.node]);
    this.#want = this.#outputs.map(([, n]) => n);
    this.#source = source;
  }

  #tableName(name: string): string {
    if (this.#tables.has(name)) return name;
    const lower = name.toLowerCase();
    const t = this.#tables.get(lower);
    if (t && !t.schema.caseSensitive) return lower;
    throw new ServiceError(
      'UnknownInputTable',
      `table '${name}' does not exist; tables: ${[...this.#tables.keys()].join(', ') || '(none)'}`,
      {
        name,
      },
    );
  }

  /**
   * Runs one step: applies each table's changes and returns each output view's change (consolidated; views
   * with no change map to an empty batch).
   */
  step(inputs: ReadonlyMap<string, Batch> | Readonly<Record<string, Batch>> = new Map()): Map<string, Batch> {
    const m = new Map<string, Batch>();
    const entries = inputs instanceof Map ? inputs.entries() : Object.entries(inputs);
    for (const [k, b] of entries) m.set(this.#tableName(k), b);
    const outs = this.circuit.step(m, this.#want);
    const result = new Map<string, Batch>();
    for (const [name, node] of this.#outputs) result.set(name, consolidate(outs.get(node) ?? emptyBatch()));
    return result;
  }

  /**
   * Changes dropped as late (LATENESS) per table that has a LATENESS column, since the pipeline started (part
   * of the checkpointed state).
   */
  lateRecords(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, t] of this.#tables) if (t.late !== null) out.set(name, t.late.lateRecords);
    return out;
  }

  /** For each table with LATENESS: the indexes (in the table's input of the last step) of the changes dropped. */
  lastDropped(): Map<string, readonly number[]> {
    const out = new Map<string, readonly number[]>();
    for (const [name, t] of this.#tables)
      if (t.late !== null && t.late.lastDropped.length > 0) out.set(name, t.late.lastDropped);
    return out;
  }

  /** Current contents of a materialized table or view. */
  contents(name: string): Batch {
    const t = this.#tables.get(name) ?? this.#tables.get(name.toLowerCase());
    if (t) {
      if (!t.op.stored)
        throw new ServiceError(
          'AdHocQueryError',
          `table '${name}' is not materialized; declare it with a PRIMARY KEY or WITH ('materialized' = 'true')`,
          { name },
        );
      return t.op.contents();
    }
    const v = this.#views.get(name) ?? this.#views.get(name.toLowerCase());
    if (v) {
      if (!v.mat)
        throw new ServiceError(
          'AdHocQueryError',
          `view '${name}' is not materialized; declare it with CREATE MATERIALIZED VIEW`,
          { name },
        );
      return v.mat.contents();
    }
    throw new ServiceError('AdHocQueryError', `relation '${name}' does not exist`, { name });
  }

  snapshot(): CircuitSnapshot {
    return this.circuit.snapshot();
  }

  restore(base: CircuitSnapshot, deltas: readonly CircuitSnapshot[] = []): void {
    this.circuit.restore(base, deltas);
  }

  trackChanges(on: boolean): void {
    this.circuit.trackChanges(on);
  }

  takeDelta(): CircuitSnapshot {
    return this.circuit.takeDelta();
  }

  /**
   * Runs an ad-hoc SELECT over the current contents of materialized tables and views (ORDER BY, LIMIT and
   * OFFSET allowed). @throws ServiceError AdHocQueryError for anything that cannot run.
   */
  async query(sql: string): Promise<QueryResult> {
    const stmt = await parseAdHoc(sql);
    // NOW() in an ad-hoc query reads the pipeline's clock (the last step's), when the program has one
    if (this.program.usesNow) rewriteNow(stmt.ast);
    if (!stmt.ast.SelectStmt) {
      throw new ServiceError(
        'AdHocQueryError',
        'an ad-hoc query must be exactly one SELECT statement (or an INSERT into a table, run by the pipeline)',
        {},
      );
    }
    return this.#select(stmt.ast.SelectStmt, sql);
  }

  /**
   * An ad-hoc `INSERT INTO table [(columns)] VALUES ... | SELECT ...` (Feldera's ad-hoc DML): evaluates the
   * source rows over the current contents and converts them to the table's row shape with assignment casts
   * (omitted columns NULL). Returns null when `sql` is not an INSERT. The caller applies the rows as input.
   * @throws ServiceError AdHocQueryError: not a table, unknown or repeated column, wrong arity, NULL into a NOT
   * NULL column, a value that does not fit.
   */
  async prepareInsert(sql: string): Promise<{ table: string; rows: Row[] } | null> {
    const stmt = await parseAdHoc(sql);
    const ins = stmt.ast.InsertStmt as Ast | undefined;
    if (!ins) return null;
    const bad = (message: string): ServiceError => new ServiceError('AdHocQueryError', message, {});
    if (ins.withClause || ins.onConflictClause || ins.returningList)
      throw bad('INSERT supports only INSERT INTO table [(columns)] VALUES ... or SELECT ...');
    const relname = ins.relation?.relname as string;
    const rel = this.program.relation(relname);
    if (rel === undefined)
      throw bad(
        `table '${relname}' does not exist; tables: ${this.program.tables.map((t) => t.name).join(', ') || '(none)'}`,
      );
    if (rel.kind !== 'table')
      throw bad(`cannot INSERT INTO '${rel.name}': it is a view; insert into a table`);
    const table = rel as TableSchema;
    const find = (name: string) =>
      table.columns.findIndex((c) => c.name === name || (!c.caseSensitive && c.name === name.toLowerCase()));
    const targets: number[] = [];
    for (const t of (ins.cols ?? []) as Ast[]) {
      const name = t.ResTarget.name as string;
      const j = find(name);
      if (j < 0) throw bad(`column '${name}' of table '${table.name}' does not exist`);
      if (targets.includes(j)) throw bad(`column '${name}' is given more than once`);
      targets.push(j);
    }
    if (targets.length === 0) targets.push(...table.columns.map((_c, j) => j));
    if (!ins.selectStmt?.SelectStmt) throw bad('INSERT needs VALUES or a SELECT');
    const src = await this.#select(ins.selectStmt.SelectStmt, sql);
    if (src.columns.length !== targets.length)
      throw bad(
        `INSERT has ${src.columns.length} expression(s) for ${targets.length} target column(s) of '${table.name}'`,
      );
    const casts = targets.map((j, k) => {
      const to = (table.columns[j] as ColumnSchema).type;
      try {
        return compileCast((src.columns[k] as { type: SqlType }).type, to, false);
      } catch (e) {
        throw bad(`column '${(table.columns[j] as ColumnSchema).name}': ${(e as Error).message}`);
      }
    });
    const rows = src.rows.map((r) => {
      const row: Value[] = table.columns.map(() => null);
      targets.forEach((j, k) => {
        const v = r[k] as Value;
        try {
          row[j] = v === null ? null : (casts[k] as (v: Value) => Value)(v);
        } catch (e) {
          throw bad(`column '${(table.columns[j] as ColumnSchema).name}': ${(e as Error).message}`);
        }
      });
      table.columns.forEach((c, j) => {
        if (row[j] === null && !c.type.nullable)
          throw bad(`NULL for column '${c.name}' of '${table.name}', which is NOT NULL`);
      });
      return row as Row;
    });
    return { table: table.name, rows };
  }

  async #select(select: Ast, sql: string): Promise<QueryResult> {
    const source = new SourceMap(sql);
    // Plans `sel` in a fresh circuit whose sources are the materialized relations it reads (one source per
    // relation, so a self-join reads it once).
    const build = (sel: Ast): { circuit: Circuit; inputs: Map<string, Batch>; rel: Rel } => {
      const circuit = new Circuit();
      const inputs = new Map<string, Batch>();
      const nodes = new Map<string, NodeId>();
      const planner = new Planner(circuit, {
        source,
        functions: this.program.functions,
        allowOrderBy: true,
        resolve: (name) => {
          const r = this.program.relation(name);
          if (!r) return null;
          let node = nodes.get(r.name);
          if (node === undefined) {
            inputs.set(r.name, this.contents(r.name));
            node = circuit.addSource(r.name);
            nodes.set(r.name, node);
          }
          return { node, cols: r.columns.map((c) => ({ qualifier: r.name, name: c.name, type: c.type })) };
        },
      });
      try {
        return {
          circuit,
          inputs,
          rel: planner.planSelect({
            ...sel,
            sortClause: undefined,
            limitCount: undefined,
            limitOffset: undefined,
          }),
        };
      } catch (e) {
        if (e instanceof ServiceError && e.errorCode === 'AdHocQueryError') throw e;
        throw new ServiceError('AdHocQueryError', (e as Error).message, (e as ServiceError).details ?? {});
      }
    };
    let plan = build(select);
    const width = plan.rel.cols.length;
    // ORDER BY may name expressions that are not in the select list (as in Postgres): plan them as hidden
    // trailing columns, sort, then drop them.
    const sortClause = (select.sortClause ?? []) as Ast[];
    const hidden = new Map<number, number>();
    const simple =
      (!select.op || select.op === 'SETOP_NONE') &&
      !(Array.isArray(select.distinctClause) && select.distinctClause.length > 0);
    const extra: Ast[] = [];
    sortClause.forEach((sb, k) => {
      const node = sb.SortBy.node;
      if (node.A_Const?.ival !== undefined || !simple || bindsTo(node, plan.rel.cols, source)) return;
      hidden.set(k, width + extra.length);
      extra.push({ ResTarget: { name: `__sort${extra.length}`, val: node } });
    });
    if (extra.length > 0)
      plan = build({ ...select, targetList: [...(select.targetList as Ast[]), ...extra] });
    let out: Batch;
    try {
      out = consolidate(plan.circuit.step(plan.inputs, [plan.rel.node]).get(plan.rel.node) as Batch);
    } catch (e) {
      throw new ServiceError('AdHocQueryError', (e as Error).message, (e as ServiceError).details ?? {});
    }
    let rows: Row[] = [];
    for (let i = 0; i < out.rows.length; i++)
      for (let k = 0; k < (out.weights[i] as number); k++) rows.push(out.rows[i] as Row);
    const columns = plan.rel.cols
      .slice(0, width)
      .map((c) => ({ name: c.name, type: c.type, caseSensitive: false }));
    if (sortClause.length > 0) rows = sortRows(rows, sortClause, plan.rel.cols, source, hidden);
    if (extra.length > 0) rows = rows.map((r) => r.slice(0, width));
    const limitOf = (a: Ast | undefined, what: string): number | null => {
      if (!a) return null;
      const v = a.A_Const?.ival?.ival ?? (a.A_Const?.ival ? 0 : undefined);
      if (typeof v !== 'number' || v < 0)
        throw new ServiceError('AdHocQueryError', `${what} must be a non-negative integer constant`, {});
      return v;
    };
    const offset = limitOf(select.limitOffset, 'OFFSET') ?? 0;
    const limit = limitOf(select.limitCount, 'LIMIT');
    rows = rows.slice(offset, limit === null ? undefined : offset + limit);
    return { columns, rows };
  }

  /** The compiled circuit, one node per line. */
  explain(): string {
    void this.#source;
    return this.circuit.describe();
  }
}

/** True when `node` binds against the query's output columns alone. */
function bindsTo(node: Ast, cols: readonly ScopeColumn[], source: SourceMap): boolean {
  try {
    bindExpr(node, { columns: cols.map((c) => ({ ...c, qualifier: null })), source });
    return true;
  } catch {
    return false;
  }
}

/** Sorts ad-hoc results; `hidden` maps a sort key's index to the hidden column that holds its value. */
function sortRows(
  rows: Row[],
  sortClause: Ast[],
  cols: readonly ScopeColumn[],
  source: SourceMap,
  hidden: ReadonlyMap<number, number>,
): Row[] {
  const ctx: BindContext = { columns: cols.map((c) => ({ ...c, qualifier: null })), source };
  const keys = sortClause.map((s, k) => {
    const sb = s.SortBy;
    const node = sb.node;
    let bound: Bound;
    const h = hidden.get(k);
    if (h !== undefined) {
      const c = cols[h] as ScopeColumn;
      bound = { type: c.type, cols: [h], gen: (x) => x.col(h), colRef: h };
    } else if (node.A_Const?.ival !== undefined) {
      const i = (node.A_Const.ival.ival ?? 0) as number;
      const c = cols[i - 1];
      if (!c) throw new ServiceError('AdHocQueryError', `ORDER BY position ${i} is not in select list`, {});
      bound = { type: c.type, cols: [i - 1], gen: (x) => x.col(i - 1), colRef: i - 1 };
    } else {
      try {
        bound = bindExpr(node, ctx);
      } catch (e) {
        throw new ServiceError('AdHocQueryError', `ORDER BY ${(e as Error).message}`, {});
      }
    }
    const ev = bound.gen({ col: (i) => (a) => a[i] as Value });
    const desc = sb.sortby_dir === 'SORTBY_DESC';
    const nullsFirst =
      sb.sortby_nulls === 'SORTBY_NULLS_FIRST'
        ? true
        : sb.sortby_nulls === 'SORTBY_NULLS_LAST'
          ? false
          : desc;
    const cmp = comparator(bound.type.kind === 'NULL' ? 'INTEGER' : bound.type.kind);
    return { ev, desc, nullsFirst, cmp };
  });
  const decorated = rows.map((r) => ({ r, k: keys.map((k) => k.ev(r, r)) }));
  decorated.sort((x, y) => {
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as (typeof keys)[number];
      const a = x.k[i] as Value;
      const b = y.k[i] as Value;
      if (a === null || b === null) {
        if (a === b) continue;
        return (a === null) === k.nullsFirst ? -1 : 1;
      }
      const c = k.cmp(a, b);
      if (c !== 0) return k.desc ? -c : c;
    }
    return 0;
  });
  return decorated.map((d) => d.r);
}
