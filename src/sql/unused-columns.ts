/**
 * Feldera's "Unused column" compiler warnings: a table column that no view reads is reported as a warning
 * (`Column 'c' of table 't' is unused`, at the column's declaration) and flagged `unused: true` in the schema of
 * `program_info`; the program still compiles and runs. Primary-key columns are never reported (as in Feldera),
 * materialized tables are (as in Feldera).
 *
 * The analysis is on the parsed program, by name, and errs toward "used": a column counts as read when any view
 * refers to a column of that name (any table's: `id` read from one table counts for every table with an `id`),
 * names it in `USING (...)`, or when a view's statement selects `*` / `t.*` or joins `NATURAL` over a FROM that
 * names the table (all its columns). So every reported column is one no view can read; Feldera's analysis, on
 * the optimized circuit, may report a few more (a column read only by an unused local view, say).
 *
 * State: none. Pure function of the parsed statements.
 */
import { walkAst } from './ast-walk.ts';
import type { Ast, ParsedStatement, SourceMap } from './parse.ts';
import type { TableSchema } from './schema.ts';

/** A compiler warning with its source range (1-based, end inclusive), in Feldera's message shape. */
export interface CompileWarning {
  readonly startLine: number;
  readonly startColumn: number;
  readonly endLine: number;
  readonly endColumn: number;
  /** Feldera's `error_type` of the warning. */
  readonly type: string;
  readonly message: string;
}

/** The unused columns of each table (by table name) and their warnings, in program order. */
export interface UnusedColumns {
  readonly warnings: readonly CompileWarning[];
  readonly unused: ReadonlyMap<string, ReadonlySet<string>>;
}

interface Usage {
  readonly names: Set<string>;
  /** Tables (lower-cased names) a `*`, `t.*` or NATURAL join reads every column of. */
  readonly whole: Set<string>;
}

function lastField(n: Ast): Ast | undefined {
  const fields = (n.fields ?? []) as Ast[];
  return fields[fields.length - 1];
}

/** Records what one view statement reads. */
function collect(root: Ast, usage: Usage): void {
  let star = false;
  const relations: string[] = [];
  walkAst(root, (n) => {
    if (n.A_Const) return 'skip';
    if (n.ColumnRef) {
      const last = lastField(n.ColumnRef);
      if (last?.A_Star) star = true;
      else if (typeof last?.String?.sval === 'string') usage.names.add(last.String.sval.toLowerCase());
    }
    if (n.RangeVar && typeof n.RangeVar.relname === 'string')
      relations.push(n.RangeVar.relname.toLowerCase());
    if (n.JoinExpr) {
      if (n.JoinExpr.isNatural) star = true;
      for (const u of (n.JoinExpr.usingClause ?? []) as Ast[])
        if (typeof u?.String?.sval === 'string') usage.names.add(u.String.sval.toLowerCase());
    }
    return undefined;
  });
  if (star) for (const r of relations) usage.whole.add(r);
}

/** The source range of a column declaration: its name and type (`COL2 DOUBLE`), else its name. */
function declarationEnd(sql: string, start: number): number {
  const m = /^("(?:[^"]|"")*"|[A-Za-z_][\w$]*)(\s+[A-Za-z_][\w$]*(?:\s*\(\s*\d+\s*(?:,\s*\d+\s*)?\))?)?/.exec(
    sql.slice(start, start + 200),
  );
  return start + (m ? m[0].length : 1);
}

/**
 * The unused columns of the program's tables. `stmts` are the parsed statements, `tables` the table schemas
 * (lower-cased names unless quoted), `sql` and `source` the program text and its position map.
 */
export function unusedColumns(
  sql: string,
  source: SourceMap,
  stmts: readonly ParsedStatement[],
  tables: readonly TableSchema[],
): UnusedColumns {
  const usage: Usage = { names: new Set(), whole: new Set() };
  for (const st of stmts) {
    const a = st.ast;
    if (a.CreateStmt || a.HoldfastFunction || a.HoldfastLateness) continue;
    collect(a, usage);
  }
  const warnings: CompileWarning[] = [];
  const unused = new Map<string, Set<string>>();
  for (const st of stmts) {
    const create = st.ast.CreateStmt;
    if (!create || st.declaration === true) continue;
    const table = tables.find((t) => t.name.toLowerCase() === String(create.relation?.relname).toLowerCase());
    if (table === undefined || usage.whole.has(table.name.toLowerCase())) continue;
    const pk = new Set((table.primaryKey ?? []).map((c) => c.toLowerCase()));
    for (const el of (create.tableElts ?? []) as Ast[]) {
      const cd = el?.ColumnDef;
      if (!cd || typeof cd.colname !== 'string') continue;
      const name = cd.colname as string;
      const lower = name.toLowerCase();
      if (usage.names.has(lower) || pk.has(lower)) continue;
      const col = table.columns.find((c) => c.name.toLowerCase() === lower);
      if (col === undefined) continue;
      let set = unused.get(table.name);
      if (set === undefined) unused.set(table.name, (set = new Set()));
      set.add(col.name);
      const start = typeof cd.location === 'number' ? source.charOffset(cd.location) : st.offset;
      const from = source.position(start);
      const to = source.position(Math.max(start, declarationEnd(sql, start) - 1));
      warnings.push({
        startLine: from.line,
        startColumn: from.column,
        endLine: to.line,
        endColumn: to.column,
        type: 'Unused column',
        message: `Column '${col.name}' of table '${table.name}' is unused`,
      });
    }
  }
  return { warnings, unused };
}
