/**
 * Test helper for SQL function tests: compiles `ddl` plus `CREATE MATERIALIZED VIEW v AS query`, steps the rows
 * (JSON records) into table `t` once, and returns the view's rows as JSON records, sorted, with its column types.
 */
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Row } from '../../../src/zset/value.ts';

export type Rec = Record<string, unknown>;

export async function view(
  ddl: string,
  query: string,
  rows: Rec[],
): Promise<{ rows: Rec[]; types: string[] }> {
  const p = await compileProgram(`${ddl} CREATE MATERIALIZED VIEW v AS ${query};`);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  c.step(new Map([['t', { rows: rows.map((x) => rowFromJson(t, x)), weights: rows.map(() => 1) }]]));
  const cols = p.views.find((x) => x.name === 'v')?.columns ?? [];
  return {
    rows: c
      .contents('v')
      .rows.map((r) => rowToJson(cols, r as Row) as Rec)
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    types: cols.map((x) => x.type.kind),
  };
}
