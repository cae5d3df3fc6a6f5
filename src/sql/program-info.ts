/**
 * Compile reports in Feldera's wire shape, for the manager: `program_status` (`Success` | `SqlError`),
 * `program_error` (`sql_compilation.messages[]` with positions: the error, or on success the warnings, such
 * as Feldera's "Unused column" ones, `unused-columns.ts`, which do not fail the program), and `program_info`
 * (the schema of tables and non-local views, with fields, types, properties, `unused` flags and connector
 * declarations).
 */
import { isServiceError } from '../errors/service-error.ts';
import type { ProgramError, ProgramStatus, SqlCompilerMessage } from '../types/pipeline-api.ts';
import { compileProgram, type Program } from './program.ts';
import type { ColumnSchema, PropertyValue, RelationSchema, SourceRange } from './schema.ts';
import type { SqlType } from './sql-type.ts';

export interface CompileReport {
  program_status: Extract<ProgramStatus, 'Success' | 'SqlError' | 'SystemError'>;
  program_error: ProgramError;
  program_info: Record<string, unknown> | null;
}

export type { SqlCompilerMessage };

function columnType(t: SqlType): Record<string, unknown> {
  const out: Record<string, unknown> = { type: t.kind === 'NULL' ? 'NULL' : t.kind, nullable: t.nullable };
  if (t.kind === 'VARCHAR' || t.kind === 'CHAR' || t.kind === 'BINARY' || t.kind === 'VARBINARY')
    out.precision = t.length ?? -1;
  if (t.kind === 'TIME' || t.kind === 'TIMESTAMP') out.precision = 0;
  if (t.kind === 'DECIMAL') {
    out.precision = t.precision ?? 28;
    out.scale = t.scale ?? 10;
  }
  // nested types as Feldera's schema describes them
  if (t.kind === 'ARRAY' && t.element) out.component = columnType(t.element);
  if (t.kind === 'MAP' && t.key && t.value) {
    out.key = columnType(t.key);
    out.value = columnType(t.value);
  }
  if (t.kind === 'ROW') {
    out.type = 'STRUCT';
    out.fields = (t.fields ?? []).map((f) => ({
      name: f.name,
      case_sensitive: false,
      columntype: columnType(f.type),
    }));
  }
  return out;
}

function position(r: SourceRange): Record<string, number> {
  return {
    start_line_number: r.startLine,
    start_column: r.startColumn,
    end_line_number: r.endLine,
    end_column: r.endColumn,
  };
}

function properties(p: Readonly<Record<string, PropertyValue>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p))
    out[k] = {
      value: v.value,
      key_position: position(v.keyPosition),
      value_position: position(v.valuePosition),
    };
  return out;
}

function relation(r: RelationSchema, unused?: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: r.name,
    case_sensitive: r.caseSensitive,
    fields: r.columns.map((c: ColumnSchema) => ({
      name: c.name,
      case_sensitive: c.caseSensitive,
      columntype: columnType(c.type),
      unused: unused?.has(c.name) ?? false,
      ...(c.lateness !== undefined ? { lateness: c.lateness } : {}),
    })),
    materialized: r.materialized,
    properties: properties(r.properties),
  };
  if (r.kind === 'table') {
    if (r.primaryKey) out.primary_key = r.primaryKey;
    out.foreign_keys = [];
  }
  return out;
}

function connectors(rels: readonly RelationSchema[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of rels) {
    const raw = r.properties.connectors?.value;
    if (!raw) continue;
    const list = JSON.parse(raw) as Array<Record<string, unknown>>;
    // an unnamed connector is named by its index in the list, as Feldera does (and as the runtime does)
    for (const [i, c] of list.entries()) {
      const name = typeof c.name === 'string' ? c.name : `unnamed-${i}`;
      out[`${r.name}.${name}`] = { ...c, stream: r.caseSensitive ? `"${r.name}"` : r.name };
    }
  }
  return out;
}

/** The program's compile warnings (unused columns) as Feldera's `sql_compilation.messages`. */
function warningMessages(p: Program, sql: string): SqlCompilerMessage[] {
  const lines = sql.split('\n');
  return p.unused.warnings.map((w) => ({
    start_line_number: w.startLine,
    start_column: w.startColumn,
    end_line_number: w.endLine,
    end_column: w.endColumn,
    warning: true,
    error_type: w.type,
    message: w.message,
    snippet: lines[w.startLine - 1] ?? null,
  }));
}

export function programInfo(p: Program): Record<string, unknown> {
  return {
    schema: {
      inputs: p.tables.map((t) => relation(t, p.unused.unused.get(t.name))),
      outputs: p.outputs.map((v) => relation(v)),
    },
    udf_stubs: p.udfStubs,
    input_connectors: connectors(p.tables),
    output_connectors: connectors(p.outputs),
  };
}

/**
 * Compiles and reports in Feldera's shape; never throws for SQL errors. An error in `udf_ts` is reported like an
 * SQL error: its message names the udf_ts position and the snippet is the udf_ts line.
 */
export async function compileReport(sql: string, udfTs = ''): Promise<CompileReport> {
  try {
    const p = await compileProgram(sql, { udfTs });
    return {
      program_status: 'Success',
      program_error: {
        sql_compilation: { exit_code: 0, messages: warningMessages(p, sql) },
        rust_compilation: { exit_code: 0, stdout: '', stderr: '' },
        system_error: null,
      },
      program_info: programInfo(p),
    };
  } catch (e) {
    if (!isServiceError(e)) {
      return {
        program_status: 'SystemError',
        program_error: { sql_compilation: null, rust_compilation: null, system_error: (e as Error).message },
        program_info: null,
      };
    }
    const d = e.details as { line?: number; column?: number; source?: string };
    const line = d.line ?? 0;
    const column = d.column ?? 0;
    const lines = (d.source === 'udf_ts' ? udfTs : sql).split('\n');
    return {
      program_status: 'SqlError',
      program_error: {
        sql_compilation: {
          exit_code: 1,
          messages: [
            {
              start_line_number: line,
              start_column: column,
              end_line_number: line,
              end_column: column,
              warning: false,
              error_type: e.errorCode,
              message: e.message,
              snippet: line > 0 ? (lines[line - 1] ?? null) : null,
            },
          ],
        },
        rust_compilation: null,
        system_error: null,
      },
      program_info: null,
    };
  }
}
