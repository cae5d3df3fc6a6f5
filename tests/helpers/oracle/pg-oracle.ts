/**
 * The reference side of the oracle: an in-process Postgres (PGlite) holding the same tables and views. Each
 * case runs inside one transaction that is rolled back afterwards, so a single database serves every case.
 *
 * Results are fetched as Postgres's own text output (every type parser is overridden by the identity), so
 * no value goes through a lossy JavaScript conversion before it is compared.
 */
import { PGlite } from '@electric-sql/pglite';
import {
  type GenValue,
  type Op,
  type Step,
  type TableDef,
  tableDdl,
  type ViewDef,
  valueSql,
  viewDdl,
} from './generate.ts';

export interface PgResult {
  /** Postgres type OID of each output column. */
  readonly oids: readonly number[];
  readonly rows: ReadonlyArray<ReadonlyArray<string | null>>;
}

/** OIDs whose default PGlite parser would convert the text (bool, int2/4/8, float4/8, numeric, dates, json, ...). */
const TEXT_OIDS = [
  16, 17, 18, 19, 20, 21, 23, 25, 26, 114, 700, 701, 1042, 1043, 1082, 1083, 1114, 1184, 1186, 1266, 1700,
  3802,
];
const identity = (x: string): string => x;
const PARSERS: Record<number, (x: string) => string> = Object.fromEntries(
  TEXT_OIDS.map((o) => [o, identity]),
);

export class PgOracle {
  private readonly db: PGlite;
  private inTx = false;

  private constructor(db: PGlite) {
    this.db = db;
  }

  static async create(): Promise<PgOracle> {
    const db = await PGlite.create();
    await db.exec("SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, MDY'; SET extra_float_digits = 1;");
    return new PgOracle(db);
  }

  /** Starts a case: a transaction with the tables and views created. */
  async begin(tables: readonly TableDef[], views: readonly ViewDef[]): Promise<void> {
    if (this.inTx) await this.rollback();
    await this.db.exec('BEGIN');
    this.inTx = true;
    await this.db.exec([...tables.map(tableDdl), ...views.map((v) => viewDdl(v, 'pg'))].join('\n'));
  }

  async rollback(): Promise<void> {
    if (!this.inTx) return;
    this.inTx = false;
    await this.db.exec('ROLLBACK');
  }

  /** Applies a batch of ops (deletes first, as generated) as one multi-statement exec. */
  async apply(tables: ReadonlyMap<string, TableDef>, ops: Step): Promise<void> {
    if (ops.length === 0) return;
    await this.db.exec(ops.map((op) => opSql(tables.get(op.table) as TableDef, op)).join('\n'));
  }

  async query(sql: string): Promise<PgResult> {
    const r = await this.db.query<unknown[]>(sql, [], { rowMode: 'array', parsers: PARSERS });
    return {
      oids: r.fields.map((f) => f.dataTypeID),
      rows: r.rows.map((row) => row.map((v) => (v === null ? null : String(v)))),
    };
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/** SQL for one op, mirroring Holdfast's table semantics (upsert on primary key; keyless = multiset). */
export function opSql(t: TableDef, op: Op): string {
  const colType = (name: string) =>
    (t.columns.find((c) => c.name === name) as TableDef['columns'][number]).type;
  const eq = (names: readonly string[], nullSafe: boolean) =>
    names
      .map((n) => {
        const v = op.values[n] ?? null;
        if (!nullSafe) return `${n} = ${valueSql(v, colType(n))}`;
        return v === null ? `${n} IS NULL` : `${n} IS NOT DISTINCT FROM ${valueSql(v, colType(n))}`;
      })
      .join(' AND ');
  if (t.primaryKey) {
    const del = `DELETE FROM ${t.name} WHERE ${eq(t.primaryKey, false)};`;
    if (op.kind === 'delete') return del;
    return `${del}\n${insertSql(t, op.values)}`;
  }
  if (op.kind === 'insert') return insertSql(t, op.values);
  const all = t.columns.map((c) => c.name);
  return `DELETE FROM ${t.name} WHERE ctid IN (SELECT ctid FROM ${t.name} WHERE ${eq(all, true)} LIMIT 1);`;
}

function insertSql(t: TableDef, values: Readonly<Record<string, GenValue>>): string {
  const names = t.columns.map((c) => c.name);
  const vals = t.columns.map((c) => valueSql(values[c.name] ?? null, c.type));
  return `INSERT INTO ${t.name} (${names.join(', ')}) VALUES (${vals.join(', ')});`;
}
