/**
 * Random programs for the oracle suite: table schemas, views (as SQL text both Holdfast and Postgres accept) and
 * sequences of change batches. Everything derives from one seed, so a case replays exactly.
 *
 * The generator keeps every query free of run-time errors in Postgres: divisors are always `NULLIF(x, 0)`,
 * integer expressions carry a bound on their magnitude so that no operation can overflow its type, casts to
 * narrower types only apply to values known to fit, and SUBSTRING lengths are never negative.
 *
 * Doubles: table values are multiples of 1/4 with small magnitudes, so sums and products of them are exact in
 * binary floating point and independent of summation order. Expressions that may lose that property (a
 * division, a cast from DECIMAL) are marked inexact; aggregating an inexact double gives an *unstable* value
 * (its last bits depend on evaluation order), which the generator never uses where a value decides row
 * identity (WHERE, HAVING, GROUP BY, DISTINCT, join keys, set operations) — only as plain output, which
 * `compare.ts` matches with a relative tolerance.
 */
import type { Prng } from './prng.ts';

export type Kind = 'bool' | 'int2' | 'int4' | 'int8' | 'double' | 'decimal' | 'text' | 'date' | 'ts';
export type Family = 'num' | 'text' | 'date' | 'ts' | 'bool';
export type Focus = 'expressions' | 'aggregates' | 'joins' | 'setops' | 'mixed';
export const FOCI: readonly Focus[] = ['expressions', 'aggregates', 'joins', 'setops', 'mixed'];

export interface GenType {
  readonly kind: Kind;
  readonly precision?: number;
  readonly scale?: number;
}

/**
 * A generated value: BOOLEAN boolean; SMALLINT/INTEGER/DOUBLE number; BIGINT bigint; DECIMAL, VARCHAR, DATE
 * ('YYYY-MM-DD') and TIMESTAMP ('YYYY-MM-DD HH:MM:SS[.ffffff]') strings.
 */
export type GenValue = null | boolean | number | bigint | string;

export interface ColumnDef {
  readonly name: string;
  readonly type: GenType;
  readonly notNull: boolean;
  /** Non-null values this column draws from. */
  readonly pool: readonly GenValue[];
  /** Largest magnitude of a numeric value in the pool. */
  readonly bound: number;
}

export interface TableDef {
  readonly name: string;
  readonly columns: readonly ColumnDef[];
  readonly primaryKey: readonly string[] | null;
}

/** An output column of a view (what later views can reference). */
export interface OutCol {
  readonly name: string;
  readonly type: GenType;
  readonly bound: number;
  readonly stable: boolean;
  readonly exact: boolean;
  /** Values a base-table column draws from (for literals that hit). */
  readonly pool?: readonly GenValue[];
}

export interface ViewDef {
  readonly name: string;
  /** Holdfast's view kind; Postgres always gets a plain view. */
  readonly kind: 'view' | 'materialized' | 'local';
  /** Column names given in `CREATE VIEW v (a, b) AS`, if any. */
  readonly aliases: readonly string[] | null;
  /** The SELECT (without `CREATE VIEW`). */
  readonly query: string;
  /** Tables and views this view reads directly. */
  readonly deps: readonly string[];
  readonly columns: readonly OutCol[];
}

export interface Op {
  readonly table: string;
  readonly kind: 'insert' | 'delete';
  /** Column name → value. A delete on a primary-key table may carry only the key columns. */
  readonly values: Readonly<Record<string, GenValue>>;
}

export type Step = readonly Op[];

export interface OracleCase {
  readonly seed: number;
  readonly focus: Focus;
  readonly tables: readonly TableDef[];
  readonly views: readonly ViewDef[];
  readonly steps: readonly Step[];
}

/** Switches for constructs that can be turned off (e.g. while an engine feature is missing). */
export interface GenConfig {
  readonly likeEscape: boolean;
  readonly setOpAll: boolean;
  readonly joinKeyExprs: boolean;
  readonly dateTimestampMix: boolean;
  readonly booleanTests: boolean;
  readonly isDistinctFrom: boolean;
  readonly distinctAggregates: boolean;
  /**
   * SUM/AVG over doubles whose partial sums are not exact (large magnitudes, divisions). Off by default: an
   * incremental engine adds and subtracts, so after retracting a large value the result keeps its rounding
   * error (catastrophic cancellation), which no relative tolerance absorbs.
   */
  readonly inexactDoubleSums: boolean;
  /** Deletes on primary-key tables of keys that are not present (must be a no-op). */
  readonly deleteMissingKeys: boolean;
}

export const DEFAULT_CONFIG: GenConfig = {
  likeEscape: true,
  setOpAll: true,
  joinKeyExprs: true,
  dateTimestampMix: true,
  booleanTests: true,
  isDistinctFrom: true,
  distinctAggregates: true,
  inexactDoubleSums: false,
  deleteMissingKeys: true,
};

// ---------------------------------------------------------------------------------------------------------
// types and literals

const INT_LIMIT: Readonly<Record<string, number>> = { int2: 32767, int4: 2147483647, int8: 9.2e18 };

export function familyOf(k: Kind): Family {
  switch (k) {
    case 'int2':
    case 'int4':
    case 'int8':
    case 'double':
    case 'decimal':
      return 'num';
    default:
      return k;
  }
}

const isInt = (k: Kind): boolean => k === 'int2' || k === 'int4' || k === 'int8';

/** SQL spelling of a type (DDL and CAST). */
export function typeSql(t: GenType): string {
  switch (t.kind) {
    case 'bool':
      return 'BOOLEAN';
    case 'int2':
      return 'SMALLINT';
    case 'int4':
      return 'INTEGER';
    case 'int8':
      return 'BIGINT';
    case 'double':
      return 'DOUBLE PRECISION';
    case 'decimal':
      return t.precision === undefined ? 'DECIMAL' : `DECIMAL(${t.precision}, ${t.scale ?? 0})`;
    case 'text':
      return 'VARCHAR';
    case 'date':
      return 'DATE';
    case 'ts':
      return 'TIMESTAMP';
  }
}

const quote = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/** SQL literal for a value of a type (typed, so that it never depends on context). */
export function literalSql(v: GenValue, t: GenType): string {
  if (v === null) return `CAST(NULL AS ${typeSql(t)})`;
  switch (t.kind) {
    case 'bool':
      return v ? 'TRUE' : 'FALSE';
    case 'int2':
    case 'int4':
    case 'int8': {
      const s = String(v);
      const lit =
        t.kind === 'int4' || (t.kind === 'int8' && !fitsInt4(v)) ? s : `CAST(${s} AS ${typeSql(t)})`;
      return s.startsWith('-') && !lit.startsWith('CAST') ? `(${lit})` : lit;
    }
    case 'double':
      return `CAST(${String(v)} AS DOUBLE PRECISION)`;
    case 'decimal': {
      // Always a numeric literal: a bare `42` would be an INTEGER.
      const text = String(v).includes('.') ? String(v) : `${String(v)}.0`;
      return text.startsWith('-') ? `(${text})` : text;
    }
    case 'text':
      return quote(String(v));
    case 'date':
      return `DATE ${quote(String(v))}`;
    case 'ts':
      return `TIMESTAMP ${quote(String(v))}`;
  }
}

function fitsInt4(v: GenValue): boolean {
  const n = typeof v === 'bigint' ? v : BigInt(v as number);
  return n >= -2147483648n && n <= 2147483647n;
}

/** Plain SQL value (for INSERT ... VALUES and key predicates): typed by its column, so untyped is fine. */
export function valueSql(v: GenValue, t: GenType): string {
  if (v === null) return 'NULL';
  switch (t.kind) {
    case 'bool':
      return v ? 'TRUE' : 'FALSE';
    case 'int2':
    case 'int4':
    case 'int8':
    case 'double':
    case 'decimal':
      return String(v);
    default:
      return quote(String(v));
  }
}

export const TEXT_POOL: readonly string[] = [
  '',
  'a',
  'A',
  'b',
  'ab',
  'abc',
  'ABC',
  'a b',
  ' a',
  'b ',
  '  ',
  '%',
  '_',
  'a%b',
  'x_y',
  '50%',
  'hello world',
  'Zed',
  'aa',
  'ba',
  "it's",
];
export const DATE_POOL: readonly string[] = [
  '2020-01-01',
  '2020-02-29',
  '2019-12-31',
  '1970-01-01',
  '1969-12-31',
  '2000-03-01',
  '2024-07-15',
  '1999-01-04',
  '2023-11-05',
];
export const TS_POOL: readonly string[] = [
  '2020-01-01 00:00:00',
  '2020-01-01 12:34:56',
  '2020-01-01 12:34:56.5',
  '1969-12-31 23:59:59.999999',
  '2024-02-29 08:00:00.123456',
  '2000-01-01 00:00:01',
  '2019-12-31 23:59:59',
  '1970-01-01 00:00:00',
  '2023-06-15 18:45:30.25',
];
const LIKE_PATTERNS: readonly string[] = [
  'a%',
  '%b',
  '%a%',
  '_',
  '%',
  '',
  'a_',
  '_b%',
  'A%',
  '% %',
  'abc',
  '%\\%%',
  '%\\_%',
];
const SMALL_INTS = [-3, -2, -1, 0, 0, 1, 1, 2, 2, 3, 4, 5];

/** Value pool and bound for a column type. */
function poolFor(rng: Prng, t: GenType): { pool: GenValue[]; bound: number } {
  const some = <T>(xs: readonly T[], n: number): T[] => rng.shuffle(xs).slice(0, n);
  switch (t.kind) {
    case 'bool':
      return { pool: [true, false], bound: 1 };
    case 'int2': {
      const pool: GenValue[] = some(SMALL_INTS, rng.int(3, 7));
      if (rng.chance(0.3)) pool.push(300, -300);
      return { pool, bound: 300 };
    }
    case 'int4': {
      const pool: GenValue[] = some(SMALL_INTS, rng.int(3, 8));
      if (rng.chance(0.3)) pool.push(100000, -70000);
      return { pool, bound: 100000 };
    }
    case 'int8': {
      const pool: GenValue[] = some(SMALL_INTS, rng.int(3, 7)).map((n) => BigInt(n));
      if (rng.chance(0.5)) pool.push(9007199254740993n, -9007199254740995n);
      if (rng.chance(0.4)) pool.push(1152921504606846983n, 1234567890123456789n);
      return { pool, bound: 1.3e18 };
    }
    case 'double': {
      const base = [-2, -1.5, -0.25, 0, 0.25, 0.5, 1, 1.5, 2, 3.75, 7, 100.5];
      return { pool: some(base, rng.int(3, 8)), bound: 128 };
    }
    case 'decimal': {
      const s = t.scale ?? 0;
      const ints = [0, 1, -1, 2, 3, 10, -7, 42];
      const fracs = s === 0 ? [''] : ['0', '5', '25', '125', '01', '999'];
      const pool: GenValue[] = [];
      const n = rng.int(3, 7);
      for (let i = 0; i < n; i++) {
        const ip = rng.pick(ints);
        let f = rng.pick(fracs).slice(0, s);
        f = f.padEnd(s, '0');
        const neg = ip < 0 || (ip === 0 && f !== '' && /[1-9]/.test(f) && rng.chance(0.3));
        pool.push(`${neg ? '-' : ''}${Math.abs(ip)}${s > 0 ? `.${f}` : ''}`);
      }
      const intDigits = (t.precision ?? 10) - s;
      if (intDigits >= 8 && rng.chance(0.4)) pool.push(`12345678${s > 0 ? `.${'9'.repeat(s)}` : ''}`);
      return { pool: [...new Set(pool)], bound: intDigits >= 8 ? 1.3e7 : 50 };
    }
    case 'text':
      return { pool: some(TEXT_POOL, rng.int(3, 9)), bound: 0 };
    case 'date':
      return { pool: some(DATE_POOL, rng.int(2, 6)), bound: 0 };
    case 'ts':
      return { pool: some(TS_POOL, rng.int(2, 6)), bound: 0 };
  }
}

function randomType(rng: Prng): GenType {
  const kind = rng.weighted<Kind>([
    [2, 'bool'],
    [2, 'int2'],
    [5, 'int4'],
    [3, 'int8'],
    [2, 'double'],
    [3, 'decimal'],
    [4, 'text'],
    [2, 'date'],
    [2, 'ts'],
  ]);
  if (kind !== 'decimal') return { kind };
  const [precision, scale] = rng.pick([
    [10, 2],
    [6, 3],
    [18, 0],
    [4, 1],
    [12, 4],
  ] as const);
  return { kind, precision, scale };
}

// ---------------------------------------------------------------------------------------------------------
// schemas

export function generateTables(rng: Prng, count: number): TableDef[] {
  const tables: TableDef[] = [];
  for (let ti = 0; ti < count; ti++) {
    const prefix = String.fromCharCode(97 + ti); // a, b, c
    const ncols = rng.int(2, 5);
    const types: GenType[] = [{ kind: rng.chance(0.7) ? 'int4' : rng.pick<Kind>(['int2', 'int8']) }];
    for (let i = 1; i < ncols; i++) types.push(randomType(rng));
    // Join-friendly: a second small-domain column of a common kind half the time.
    if (rng.chance(0.5)) types.push({ kind: rng.pick<Kind>(['text', 'int4', 'date']) });
    const hasPk = rng.chance(0.5);
    const pkCount = hasPk ? (rng.chance(0.75) ? 1 : 2) : 0;
    const columns: ColumnDef[] = types.map((type, i) => {
      const { pool, bound } = poolFor(rng, type);
      const isKey = i < pkCount;
      let keyPool = pool;
      if (isKey && isInt(type.kind)) {
        keyPool = [0, 1, 2, 3, 4, 5, 6, 7]
          .slice(0, rng.int(4, 8))
          .map((n) => (type.kind === 'int8' ? BigInt(n) : n));
      }
      const notNull = isKey || rng.chance(0.15);
      return {
        name: `${prefix}${i}`,
        type,
        notNull,
        pool: keyPool,
        bound: isKey && isInt(type.kind) ? 8 : bound,
      };
    });
    // Primary-key columns must be of a kind with exact equality and a decent domain.
    const pk = hasPk ? columns.slice(0, pkCount).map((c) => c.name) : null;
    if (pk) {
      for (const c of columns.slice(0, pkCount)) {
        if (c.type.kind === 'bool' || c.type.kind === 'double') {
          // Replace with an INTEGER key column.
          const idx = columns.indexOf(c);
          columns[idx] = {
            name: c.name,
            type: { kind: 'int4' },
            notNull: true,
            pool: [0, 1, 2, 3, 4, 5],
            bound: 8,
          };
        }
      }
    }
    tables.push({ name: `t${ti}`, columns, primaryKey: pk });
  }
  return tables;
}

export function tableDdl(t: TableDef): string {
  const cols = t.columns.map((c) => `  ${c.name} ${typeSql(c.type)}${c.notNull ? ' NOT NULL' : ''}`);
  if (t.primaryKey) cols.push(`  PRIMARY KEY (${t.primaryKey.join(', ')})`);
  return `CREATE TABLE ${t.name} (\n${cols.join(',\n')}\n);`;
}

/** `CREATE VIEW` for Holdfast (`dialect: 'holdfast'`, with MATERIALIZED/LOCAL) or Postgres (always plain). */
export function viewDdl(v: ViewDef, dialect: 'holdfast' | 'pg' = 'holdfast'): string {
  const kind = dialect === 'pg' || v.kind === 'view' ? '' : `${v.kind.toUpperCase()} `;
  const aliases = v.aliases ? ` (${v.aliases.join(', ')})` : '';
  return `CREATE ${kind}VIEW ${v.name}${aliases} AS\n${v.query};`;
}

/** The whole program as SQL text (tables, then views in dependency order). */
export function programSql(
  tables: readonly TableDef[],
  views: readonly ViewDef[],
  dialect: 'holdfast' | 'pg' = 'holdfast',
): string {
  return [...tables.map(tableDdl), ...views.map((v) => viewDdl(v, dialect))].join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// expressions

/** A generated expression with what the generator knows about its values. */
interface Expr {
  readonly sql: string;
  readonly type: GenType;
  /** Upper bound on |value| for numerics (Infinity when unknown). */
  readonly bound: number;
  /** Deterministic regardless of evaluation order (false only for sums/averages of inexact doubles). */
  readonly stable: boolean;
  /** For doubles: exactly representable and summation-safe. */
  readonly exact: boolean;
  /** Values of the underlying table column, when the expression is a plain column reference. */
  readonly pool?: readonly GenValue[];
}

/** A column in scope: `sql` is the (qualified) reference. */
interface Col extends Expr {
  readonly name: string;
}

const isLeafRef = (s: string): boolean => /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/.test(s);

function fits(kind: Kind, bound: number): boolean {
  const lim = INT_LIMIT[kind];
  return lim === undefined || bound <= lim * 0.5;
}

function arithKind(a: Kind, b: Kind): Kind {
  if (a === 'double' || b === 'double') return 'double';
  if (a === 'decimal' || b === 'decimal') return 'decimal';
  if (a === 'int8' || b === 'int8') return 'int8';
  if (a === 'int4' || b === 'int4') return 'int4';
  return 'int2';
}

function unifyType(types: readonly GenType[]): GenType {
  const first = types[0] as GenType;
  if (familyOf(first.kind) !== 'num') {
    if (first.kind === 'date' && types.some((t) => t.kind === 'ts')) return { kind: 'ts' };
    return first;
  }
  let k: Kind = first.kind;
  for (const t of types.slice(1)) k = arithKind(k, t.kind);
  if (k === 'decimal') {
    const d = types.filter((t) => t.kind === 'decimal');
    if (
      d.length === types.length &&
      d.every((t) => t.precision === first.precision && t.scale === first.scale)
    )
      return first;
    return { kind: 'decimal' };
  }
  return { kind: k };
}

// EXTRACT is Feldera's (a BIGINT; README "deliberate differences"): only the fields whose integer value Postgres
// shares are generated, cast to BIGINT for both. Left out: DOW (Sunday = 1), SECOND and MILLISECOND (whole units,
// where Postgres has a fraction), EPOCH of a TIMESTAMP (whole seconds).
const EXTRACT_BOTH = ['YEAR', 'QUARTER', 'MONTH', 'WEEK', 'DAY', 'ISODOW', 'DOY', 'DECADE', 'CENTURY'];
const EXTRACT_DATE = [...EXTRACT_BOTH, 'EPOCH'];
const EXTRACT_TS = [...EXTRACT_BOTH, 'HOUR', 'MINUTE', 'MICROSECOND'];

class ExprGen {
  private readonly rng: Prng;
  private readonly cols: readonly Col[];
  private readonly cfg: GenConfig;
  /** Restrict to stable columns (predicates, keys). */
  private readonly needStable: boolean;

  constructor(rng: Prng, cols: readonly Col[], cfg: GenConfig, needStable: boolean) {
    this.rng = rng;
    this.cols = needStable ? cols.filter((c) => c.stable) : cols;
    this.cfg = cfg;
    this.needStable = needStable;
  }

  withStable(): ExprGen {
    return this.needStable ? this : new ExprGen(this.rng, this.cols, this.cfg, true);
  }

  columnsOf(f: Family | null): Col[] {
    return this.cols.filter((c) => f === null || familyOf(c.type.kind) === f);
  }

  /** A family, preferring those with columns in scope. */
  family(allowBool = true): Family {
    const avail = new Set(this.cols.map((c) => familyOf(c.type.kind)));
    const fams: Family[] = ['num', 'text', 'date', 'ts', ...(allowBool ? (['bool'] as Family[]) : [])];
    return this.rng.weighted(fams.map((f) => [avail.has(f) ? (f === 'num' ? 6 : 3) : 0.15, f] as const));
  }

  literal(f: Family): Expr {
    const rng = this.rng;
    switch (f) {
      case 'num': {
        const k = rng.weighted<Kind>([
          [6, 'int4'],
          [2, 'decimal'],
          [1, 'double'],
          [1, 'int8'],
        ]);
        if (k === 'int4') {
          const v = rng.pick(SMALL_INTS);
          return lit(literalSql(v, { kind: 'int4' }), { kind: 'int4' }, Math.abs(v));
        }
        if (k === 'int8') {
          const v = rng.pick([9007199254740993n, -9007199254740995n, 3000000000n]);
          return lit(literalSql(v, { kind: 'int8' }), { kind: 'int8' }, 9.1e15);
        }
        if (k === 'decimal') {
          const v = rng.pick(['1.5', '0.25', '2.00', '-1.25', '0.1', '3', '100.001']);
          return lit(literalSql(v, { kind: 'decimal' }), { kind: 'decimal' }, 101);
        }
        const v = rng.pick([0.5, -1.25, 2, 0.25, 10]);
        return lit(literalSql(v, { kind: 'double' }), { kind: 'double' }, 10);
      }
      case 'text':
        return lit(literalSql(rng.pick(TEXT_POOL), { kind: 'text' }), { kind: 'text' }, 0);
      case 'date':
        return lit(literalSql(rng.pick(DATE_POOL), { kind: 'date' }), { kind: 'date' }, 0);
      case 'ts':
        return lit(literalSql(rng.pick(TS_POOL), { kind: 'ts' }), { kind: 'ts' }, 0);
      case 'bool':
        return lit(rng.chance(0.5) ? 'TRUE' : 'FALSE', { kind: 'bool' }, 1);
    }
  }

  /** A literal of the same type as `e` (for comparisons). */
  literalLike(e: Expr): Expr {
    const k = e.type.kind;
    if (e.pool && e.pool.length > 0 && isLeafRef(e.sql) && this.rng.chance(0.7)) {
      const v = this.rng.pick(e.pool);
      const b = typeof v === 'number' ? Math.abs(v) : typeof v === 'bigint' ? Math.abs(Number(v)) : 0;
      return lit(literalSql(v, e.type), e.type, k === 'decimal' ? Math.abs(Number(v)) : b);
    }
    if (familyOf(k) !== 'num') return this.literal(familyOf(k));
    if (isInt(k) || this.rng.chance(0.5)) {
      const v = this.rng.pick(SMALL_INTS);
      return lit(literalSql(v, { kind: 'int4' }), { kind: 'int4' }, Math.abs(v));
    }
    return this.literal('num');
  }

  leaf(f: Family): Expr {
    const cs = this.columnsOf(f);
    if (cs.length > 0 && this.rng.chance(0.85)) return this.rng.pick(cs);
    return this.literal(f);
  }

  expr(f: Family, depth: number): Expr {
    switch (f) {
      case 'num':
        return this.num(depth);
      case 'text':
        return this.text(depth);
      case 'date':
        return this.date(depth);
      case 'ts':
        return this.ts(depth);
      case 'bool':
        return this.pred(depth);
    }
  }

  any(depth: number): Expr {
    return this.expr(this.family(), depth);
  }

  /** CASE / COALESCE / NULLIF over a family. */
  private conditional(f: Family, depth: number): Expr {
    const rng = this.rng;
    const choice = rng.int(0, 3);
    if (choice === 0) {
      const a = this.expr(f, depth - 1);
      const b = this.expr(f, depth - 1);
      const parts = [a, b];
      let s = `CASE WHEN ${this.pred(depth - 1).sql} THEN ${a.sql}`;
      if (rng.chance(0.4)) {
        const c = this.expr(f, depth - 1);
        parts.push(c);
        s += ` WHEN ${this.pred(depth - 1).sql} THEN ${c.sql}`;
      }
      s += rng.chance(0.8) ? ` ELSE ${b.sql} END` : ' END';
      return combine(s, parts);
    }
    if (choice === 1) {
      // Simple CASE: CASE x WHEN v1 THEN r1 ... ELSE r END
      const g = this.family(false);
      const x = this.expr(g, depth - 1);
      const a = this.expr(f, depth - 1);
      const b = this.expr(f, depth - 1);
      const c = this.expr(f, 0);
      const s = `CASE ${x.sql} WHEN ${this.literalLike(x).sql} THEN ${a.sql} WHEN ${this.literalLike(x).sql} THEN ${b.sql} ELSE ${c.sql} END`;
      return combine(s, [a, b, c]);
    }
    if (choice === 2) {
      const n = rng.int(2, 3);
      const parts: Expr[] = [];
      for (let i = 0; i < n; i++) parts.push(this.expr(f, depth - 1));
      return combine(`COALESCE(${parts.map((p) => p.sql).join(', ')})`, parts);
    }
    const a = this.expr(f, depth - 1);
    const b =
      f === 'num' ? this.literalLike(a) : this.rng.chance(0.5) ? this.literal(f) : this.expr(f, depth - 1);
    // Postgres resolves NULLIF's operands to a common type (NULLIF(numeric, double) is a double).
    const u = combine(`NULLIF(${a.sql}, ${b.sql})`, [a, b]);
    return { ...u, bound: a.bound };
  }

  num(depth: number): Expr {
    const rng = this.rng;
    if (depth <= 0) return this.leaf('num');
    const has = (f: Family) => this.cols.some((c) => familyOf(c.type.kind) === f);
    const choice = rng.weighted<string>([
      [4, 'leaf'],
      [6, 'arith'],
      [1, 'neg'],
      [3, 'func'],
      [2, 'cond'],
      [2, 'cast'],
      [has('text') ? 2 : 0.2, 'strfunc'],
      [has('date') || has('ts') ? 2 : 0.2, 'extract'],
    ]);
    switch (choice) {
      case 'arith':
        return this.arith(depth);
      case 'neg': {
        const a = this.num(depth - 1);
        return { ...a, sql: `-(${a.sql})` };
      }
      case 'func':
        return this.numFunc(depth);
      case 'cond':
        return this.conditional('num', depth);
      case 'cast':
        return this.numCast(depth);
      case 'strfunc': {
        const s = this.text(depth - 1);
        if (rng.chance(0.6)) {
          const fn = rng.pick(['CHAR_LENGTH', 'LENGTH', 'CHARACTER_LENGTH']);
          return { sql: `${fn}(${s.sql})`, type: { kind: 'int4' }, bound: 64, stable: s.stable, exact: true };
        }
        const needle = rng.chance(0.6) ? this.literal('text') : this.text(depth - 1);
        return {
          sql: `POSITION(${needle.sql} IN ${s.sql})`,
          type: { kind: 'int4' },
          bound: 64,
          stable: s.stable && needle.stable,
          exact: true,
        };
      }
      case 'extract': {
        const useTs =
          has('ts') && has('date') ? rng.chance(0.5) : has('ts') || (!has('date') && rng.chance(0.5));
        const src = useTs ? this.ts(depth - 1) : this.date(depth - 1);
        const field = rng.pick(useTs ? EXTRACT_TS : EXTRACT_DATE);
        const bound = field === 'EPOCH' ? 2e9 : field === 'MICROSECOND' ? 6e7 : 3000;
        return {
          sql: `CAST(EXTRACT(${field} FROM ${src.sql}) AS BIGINT)`,
          type: { kind: 'int8' },
          bound,
          stable: src.stable,
          exact: true,
        };
      }
      default:
        return this.leaf('num');
    }
  }

  private arith(depth: number): Expr {
    const rng = this.rng;
    for (let attempt = 0; attempt < 6; attempt++) {
      const op = rng.pick(['+', '-', '*', '/', '%', '+', '-', '*']);
      const a = this.num(depth - 1);
      const b = rng.chance(0.4) ? this.literalLike(a) : this.num(depth - 1);
      const kind = arithKind(a.type.kind, b.type.kind);
      const stable = a.stable && b.stable;
      if (op === '%' && kind === 'double') continue;
      let bound: number;
      let exact = a.exact && b.exact;
      if (op === '+' || op === '-') bound = a.bound + b.bound;
      else if (op === '*') bound = a.bound * b.bound;
      else if (op === '/') {
        bound = isInt(kind) ? a.bound : kind === 'decimal' ? Number.POSITIVE_INFINITY : a.bound * 1e6;
        exact = false;
      } else bound = Math.min(a.bound, b.bound);
      if (!fits(kind, bound)) continue;
      if (kind === 'double')
        exact = exact && bound < 2 ** 30 && a.type.kind !== 'decimal' && b.type.kind !== 'decimal';
      const rhs = op === '/' || op === '%' ? `NULLIF(${b.sql}, 0)` : b.sql;
      return { sql: `(${a.sql} ${op} ${rhs})`, type: { kind }, bound, stable, exact };
    }
    return this.leaf('num');
  }

  private numFunc(depth: number): Expr {
    const rng = this.rng;
    const a = this.num(depth - 1);
    const k = a.type.kind;
    const fn = rng.pick(['ABS', 'FLOOR', 'CEIL', 'CEILING', 'ROUND', 'ROUND2']);
    if (fn === 'ABS') return { ...a, sql: `ABS(${a.sql})` };
    if (fn === 'ROUND2') {
      if (k === 'double') return { ...a, sql: `ROUND(${a.sql})` };
      const places = rng.int(-1, 3);
      return {
        sql: `ROUND(${a.sql}, ${places < 0 ? `(${places})` : places})`,
        type: { kind: 'decimal' },
        bound: a.bound + 10,
        stable: a.stable,
        exact: true,
      };
    }
    // FLOOR/CEIL of an integer is that integer, of its own type, in Feldera (and so in Holdfast), a double in
    // Postgres: cast back to the integer type, both sides agree (the value is exact within the bound).
    // (beyond 2^52 Postgres's double would round: there the argument goes through NUMERIC, exact on both sides)
    if (isInt(k) && fn !== 'ROUND')
      return {
        sql:
          a.bound < 2 ** 52
            ? `CAST(${fn}(${a.sql}) AS ${typeSql(a.type)})`
            : `CAST(${fn}(CAST(${a.sql} AS NUMERIC)) AS ${typeSql(a.type)})`,
        type: a.type,
        bound: a.bound + 1,
        stable: a.stable,
        exact: a.exact,
      };
    // ROUND of an integer is a double in Postgres.
    const type: GenType = isInt(k) ? { kind: 'double' } : k === 'decimal' ? { kind: 'decimal' } : a.type;
    return {
      sql: `${fn}(${a.sql})`,
      type,
      bound: a.bound + 1,
      stable: a.stable,
      exact: type.kind === 'double' ? a.exact && a.bound < 2 ** 30 : true,
    };
  }

  private numCast(depth: number): Expr {
    const rng = this.rng;
    if (rng.chance(0.15)) {
      const b = this.pred(depth - 1);
      return {
        sql: `CAST(${b.sql} AS INTEGER)`,
        type: { kind: 'int4' },
        bound: 1,
        stable: b.stable,
        exact: true,
      };
    }
    const a = this.num(depth - 1);
    const targets: GenType[] = [
      { kind: 'int2' },
      { kind: 'int4' },
      { kind: 'int8' },
      { kind: 'double' },
      { kind: 'decimal', precision: 12, scale: 2 },
      { kind: 'decimal', precision: 20, scale: 4 },
      { kind: 'decimal', precision: 8, scale: 0 },
    ];
    const ok = targets.filter((t) => {
      if (isInt(t.kind)) return fits(t.kind, a.bound + 1);
      if (t.kind === 'decimal') return a.bound < 10 ** ((t.precision ?? 10) - (t.scale ?? 0)) / 2;
      return true;
    });
    if (ok.length === 0) return a;
    const t = rng.pick(ok);
    const exact =
      t.kind === 'double'
        ? isInt(a.type.kind)
          ? a.bound < 2 ** 40
          : a.type.kind === 'double' && a.exact
        : true;
    // a fraction cast to an integer: Feldera (Holdfast) cuts toward zero where Postgres rounds; TRUNC first
    // makes both the same (the difference itself: tests/unit/sql/feldera-casts.test.ts)
    const src = isInt(t.kind) && !isInt(a.type.kind) ? `TRUNC(${a.sql})` : a.sql;
    return { sql: `CAST(${src} AS ${typeSql(t)})`, type: t, bound: a.bound + 1, stable: a.stable, exact };
  }

  text(depth: number): Expr {
    const rng = this.rng;
    if (depth <= 0) return this.leaf('text');
    const choice = rng.weighted<string>([
      [4, 'leaf'],
      [2, 'case'],
      [2, 'trim'],
      [2, 'substr'],
      [2, 'concat'],
      [2, 'cond'],
      [2, 'cast'],
    ]);
    switch (choice) {
      case 'case': {
        const a = this.text(depth - 1);
        return { ...a, sql: `${rng.pick(['UPPER', 'LOWER'])}(${a.sql})`, type: { kind: 'text' } };
      }
      case 'trim': {
        const a = this.text(depth - 1);
        const form = rng.int(0, 3);
        if (form === 0) return { ...a, sql: `TRIM(${a.sql})`, type: { kind: 'text' } };
        const where = rng.pick(['BOTH', 'LEADING', 'TRAILING']);
        const chars = rng.pick(["' '", "'a'", "'ab'", "'_%'"]);
        if (form === 1) return { ...a, sql: `TRIM(${where} ${chars} FROM ${a.sql})`, type: { kind: 'text' } };
        if (form === 2) return { ...a, sql: `TRIM(${where} FROM ${a.sql})`, type: { kind: 'text' } };
        return { ...a, sql: `${rng.pick(['LTRIM', 'RTRIM', 'BTRIM'])}(${a.sql})`, type: { kind: 'text' } };
      }
      case 'substr': {
        const a = this.text(depth - 1);
        const from = rng.int(-1, 4);
        const fromSql = from < 0 ? `(${from})` : String(from);
        const len = rng.int(0, 3);
        const form = rng.int(0, 2);
        const sql =
          form === 0
            ? `SUBSTRING(${a.sql} FROM ${fromSql} FOR ${len})`
            : form === 1
              ? `SUBSTRING(${a.sql} FROM ${fromSql})`
              : `SUBSTRING(${a.sql}, ${fromSql}, ${len})`;
        return { ...a, sql, type: { kind: 'text' } };
      }
      case 'concat': {
        const a = this.text(depth - 1);
        const b = rng.chance(0.5) ? this.literal('text') : this.text(depth - 1);
        return combine(`(${a.sql} || ${b.sql})`, [a, b]);
      }
      case 'cond':
        return this.conditional('text', depth);
      case 'cast': {
        const src = rng.weighted<string>([
          [3, 'int'],
          [1, 'bool'],
          [1, 'date'],
          [1, 'ts'],
          [1, 'deccol'],
        ]);
        let e: Expr;
        if (src === 'int') {
          e = this.num(depth - 1);
          if (!isInt(e.type.kind))
            e = { ...e, sql: `CAST(TRUNC(${e.sql}) AS BIGINT)`, type: { kind: 'int8' } };
          if (!fits('int8', e.bound)) return this.leaf('text');
        } else if (src === 'bool') e = this.pred(depth - 1);
        else if (src === 'date') e = this.date(depth - 1);
        else if (src === 'ts') e = this.leaf('ts');
        else {
          const ds = this.cols.filter((c) => c.type.kind === 'decimal' && c.type.precision !== undefined);
          if (ds.length === 0) return this.leaf('text');
          e = rng.pick(ds);
        }
        return {
          // a boolean's text is Feldera's 'TRUE' (Postgres 'true'; README deliberate differences): compare it lowered
          sql: src === 'bool' ? `LOWER(CAST(${e.sql} AS VARCHAR))` : `CAST(${e.sql} AS VARCHAR)`,
          type: { kind: 'text' },
          bound: 0,
          stable: e.stable,
          exact: true,
        };
      }
      default:
        return this.leaf('text');
    }
  }

  date(depth: number): Expr {
    if (depth <= 0) return this.leaf('date');
    const c = this.rng.int(0, 5);
    if (c === 0) return this.conditional('date', depth);
    if (c === 1) {
      const t = this.ts(depth - 1);
      return { ...t, sql: `CAST(${t.sql} AS DATE)`, type: { kind: 'date' } };
    }
    return this.leaf('date');
  }

  ts(depth: number): Expr {
    if (depth <= 0) return this.leaf('ts');
    const c = this.rng.int(0, 5);
    if (c === 0) return this.conditional('ts', depth);
    if (c === 1) {
      const d = this.date(depth - 1);
      return { ...d, sql: `CAST(${d.sql} AS TIMESTAMP)`, type: { kind: 'ts' } };
    }
    return this.leaf('ts');
  }

  /** A boolean expression (three-valued). */
  pred(depth: number): Expr {
    const rng = this.rng;
    const choice =
      depth <= 0
        ? rng.weighted<string>([
            [6, 'cmp'],
            [2, 'null'],
            [1, 'boolcol'],
          ])
        : rng.weighted<string>([
            [8, 'cmp'],
            [2, 'null'],
            [2, 'in'],
            [2, 'between'],
            [2, 'like'],
            [2, 'not'],
            [4, 'andor'],
            [2, 'boolcol'],
            [this.cfg.booleanTests ? 1 : 0, 'is'],
            [this.cfg.isDistinctFrom ? 1 : 0, 'distinct'],
            [1, 'cond'],
          ]);
    const boolExpr = (sql: string, parts: readonly Expr[]): Expr => ({
      sql,
      type: { kind: 'bool' },
      bound: 1,
      stable: parts.every((p) => p.stable),
      exact: true,
    });
    switch (choice) {
      case 'cmp': {
        const f = this.family(false);
        const a = this.expr(f, depth - 1);
        let b: Expr;
        if (f === 'date' && this.cfg.dateTimestampMix && rng.chance(0.15)) b = this.leaf('ts');
        else b = rng.chance(0.5) ? this.literalLike(a) : this.expr(f, depth - 1);
        const op = rng.pick(['=', '<>', '<', '<=', '>', '>=', '!=']);
        return boolExpr(`${a.sql} ${op} ${b.sql}`, [a, b]);
      }
      case 'null': {
        const a = this.any(depth - 1);
        return boolExpr(`${a.sql} IS ${rng.chance(0.5) ? 'NOT ' : ''}NULL`, [a]);
      }
      case 'in': {
        const f = this.family(false);
        const a = this.expr(f, depth - 1);
        const items: string[] = [];
        const n = rng.int(1, 4);
        for (let i = 0; i < n; i++) items.push(this.literalLike(a).sql);
        if (rng.chance(0.2)) items.push(`CAST(NULL AS ${typeSql(f === 'num' ? { kind: 'int4' } : a.type)})`);
        return boolExpr(`${a.sql} ${rng.chance(0.3) ? 'NOT ' : ''}IN (${items.join(', ')})`, [a]);
      }
      case 'between': {
        const f = this.family(false);
        const a = this.expr(f, depth - 1);
        const lo = this.literalLike(a);
        const hi = rng.chance(0.7) ? this.literalLike(a) : this.expr(f, depth - 1);
        return boolExpr(`${a.sql} ${rng.chance(0.3) ? 'NOT ' : ''}BETWEEN ${lo.sql} AND ${hi.sql}`, [
          a,
          lo,
          hi,
        ]);
      }
      case 'like': {
        const a = this.text(depth - 1);
        const pats = this.cfg.likeEscape ? LIKE_PATTERNS : LIKE_PATTERNS.filter((p) => !p.includes('\\'));
        return boolExpr(`${a.sql} ${rng.chance(0.3) ? 'NOT ' : ''}LIKE ${quote(rng.pick(pats))}`, [a]);
      }
      case 'not': {
        const a = this.pred(depth - 1);
        return boolExpr(`NOT (${a.sql})`, [a]);
      }
      case 'andor': {
        const a = this.pred(depth - 1);
        const b = this.pred(depth - 1);
        return boolExpr(`(${a.sql} ${rng.chance(0.5) ? 'AND' : 'OR'} ${b.sql})`, [a, b]);
      }
      case 'boolcol': {
        const cs = this.columnsOf('bool');
        if (cs.length === 0) return this.pred(0);
        const c = rng.pick(cs);
        return boolExpr(c.sql, [c]);
      }
      case 'is': {
        const a = this.pred(depth - 1);
        return boolExpr(`(${a.sql}) IS ${rng.chance(0.5) ? 'NOT ' : ''}${rng.pick(['TRUE', 'FALSE'])}`, [a]);
      }
      case 'distinct': {
        const f = this.family(false);
        const a = this.expr(f, depth - 1);
        const b = rng.chance(0.5) ? this.literalLike(a) : this.expr(f, depth - 1);
        return boolExpr(`(${a.sql} IS ${rng.chance(0.5) ? 'NOT ' : ''}DISTINCT FROM ${b.sql})`, [a, b]);
      }
      case 'cond':
        return this.conditional('bool', depth);
      default:
        return this.pred(0);
    }
  }
}

function lit(sql: string, type: GenType, bound: number): Expr {
  return { sql, type, bound, stable: true, exact: true };
}

function combine(sql: string, parts: readonly Expr[]): Expr {
  return {
    sql,
    type: unifyType(parts.map((p) => p.type)),
    bound: Math.max(...parts.map((p) => p.bound)),
    stable: parts.every((p) => p.stable),
    exact: parts.every((p) => p.exact),
  };
}

// ---------------------------------------------------------------------------------------------------------
// queries

/** A FROM item with the columns it exposes. */
interface Rel {
  readonly from: string;
  readonly cols: readonly Col[];
  readonly deps: readonly string[];
}

interface Query {
  readonly sql: string;
  readonly cols: readonly OutCol[];
  readonly deps: readonly string[];
}

interface Source {
  readonly name: string;
  readonly cols: readonly OutCol[];
}

class QueryGen {
  private readonly rng: Prng;
  private readonly cfg: GenConfig;
  readonly sources: Source[];
  private aliasCounter = 0;

  constructor(rng: Prng, cfg: GenConfig, tables: readonly TableDef[]) {
    this.rng = rng;
    this.cfg = cfg;
    this.sources = tables.map((t) => ({
      name: t.name,
      cols: t.columns.map((c) => ({
        name: c.name,
        type: c.type,
        bound: c.bound,
        stable: true,
        exact: true,
        pool: c.pool,
      })),
    }));
  }

  private alias(): string {
    return `q${this.aliasCounter++}`;
  }

  /** A FROM item: a table or view (optionally aliased), or a subquery. */
  rel(depth: number, used: Set<string>, allowSub = true): Rel {
    const rng = this.rng;
    if (allowSub && depth < 2 && rng.chance(0.15)) {
      const q = this.query(rng.pick(['project', 'aggregate', 'join'] as const), depth + 1);
      const alias = this.alias();
      used.add(alias);
      return { from: `(${q.sql}) AS ${alias}`, cols: qualify(alias, q.cols), deps: q.deps };
    }
    const s = rng.pick(this.sources);
    let alias = s.name;
    if (used.has(alias) || rng.chance(0.2)) alias = this.alias();
    used.add(alias);
    return {
      from: alias === s.name ? s.name : `${s.name} AS ${alias}`,
      cols: qualify(alias, s.cols),
      deps: [s.name],
    };
  }

  query(shape: 'project' | 'aggregate' | 'global' | 'join' | 'setop' | 'distinct', depth = 0): Query {
    switch (shape) {
      case 'project':
        return this.project(this.rel(depth, new Set()), depth, false);
      case 'distinct':
        return this.project(this.rel(depth, new Set()), depth, true);
      case 'aggregate':
        return this.aggregate(this.rel(depth, new Set()), depth, true);
      case 'global':
        return this.aggregate(this.rel(depth, new Set()), depth, false);
      case 'join': {
        const j = this.join(depth);
        return this.rng.chance(0.3)
          ? this.aggregate(j, depth, this.rng.chance(0.8))
          : this.project(j, depth, this.rng.chance(0.15));
      }
      case 'setop':
        return this.setop(depth);
    }
  }

  private where(g: ExprGen, depth: number, p = 0.6): string {
    return this.rng.chance(p) ? `\nWHERE ${g.withStable().pred(2 - Math.min(depth, 1)).sql}` : '';
  }

  /** Output list with unique names: plain column refs keep their name half the time, the rest get aliases. */
  private outputs(exprs: readonly Expr[]): { list: string; cols: OutCol[] } {
    const names = new Set<string>();
    const parts: string[] = [];
    const cols: OutCol[] = [];
    exprs.forEach((e, i) => {
      let name = `c${i}`;
      let text = `${e.sql} AS ${name}`;
      if (isLeafRef(e.sql) && this.rng.chance(0.5)) {
        const bare = e.sql.split('.').pop() as string;
        if (!names.has(bare) && !/^c\d+$/.test(bare)) {
          name = bare;
          text = e.sql;
        }
      }
      if (names.has(name)) {
        name = `x${i}`;
        text = `${e.sql} AS ${name}`;
      }
      names.add(name);
      parts.push(text);
      cols.push({
        name,
        type: e.type,
        bound: e.bound,
        stable: e.stable,
        exact: e.exact,
        ...(e.pool && isLeafRef(e.sql) ? { pool: e.pool } : {}),
      });
    });
    return { list: parts.join(', '), cols };
  }

  private project(src: Rel, depth: number, distinct: boolean): Query {
    const rng = this.rng;
    const g = new ExprGen(rng, src.cols, this.cfg, distinct);
    const names = src.cols.map((c) => c.sql.split('.').pop() as string);
    if (
      rng.chance(0.1) &&
      new Set(names).size === names.length &&
      (!distinct || src.cols.every((c) => c.stable))
    ) {
      // SELECT * / SELECT alias.*
      const single = !src.from.includes(' JOIN ') && src.cols[0] !== undefined;
      const star = single && rng.chance(0.5) ? `${(src.cols[0] as Col).sql.split('.')[0] as string}.*` : '*';
      const cols = src.cols.map((c, i) => ({
        name: names[i] as string,
        type: c.type,
        bound: c.bound,
        stable: c.stable,
        exact: c.exact,
        ...(c.pool ? { pool: c.pool } : {}),
      }));
      const sql = `SELECT ${distinct ? 'DISTINCT ' : ''}${star}\nFROM ${src.from}${this.where(g, depth)}`;
      return { sql, cols, deps: src.deps };
    }
    const n = rng.int(1, 4);
    const exprs: Expr[] = [];
    for (let i = 0; i < n; i++) {
      if (rng.chance(0.35))
        exprs.push(rng.pick(g.columnsOf(null).length > 0 ? g.columnsOf(null) : [g.any(1)]));
      else exprs.push(g.any(rng.int(1, 3)));
    }
    const out = this.outputs(exprs);
    const sql = `SELECT ${distinct ? 'DISTINCT ' : ''}${out.list}\nFROM ${src.from}${this.where(g, depth)}`;
    return { sql, cols: out.cols, deps: src.deps };
  }

  private aggregate(src: Rel, depth: number, grouped: boolean): Query {
    const rng = this.rng;
    const g = new ExprGen(rng, src.cols, this.cfg, false);
    const sg = g.withStable();
    const keys: Expr[] = [];
    if (grouped) {
      const nk = rng.int(1, 2);
      for (let i = 0; i < nk; i++) {
        const cs = sg.columnsOf(null);
        const k = cs.length > 0 && rng.chance(0.75) ? rng.pick(cs) : sg.any(1);
        // Postgres rejects constants in GROUP BY (an integer is a select-list position): keys read a column.
        if (!cs.some((c) => k.sql.includes(c.sql))) continue;
        if (!keys.some((x) => x.sql === k.sql)) keys.push(k);
      }
    }
    const aggs: Expr[] = [];
    const na = rng.int(1, 4);
    for (let i = 0; i < na; i++) aggs.push(this.aggCall(g));
    const out = this.outputs([...keys, ...aggs]);
    let sql = `SELECT ${out.list}\nFROM ${src.from}${this.where(g, depth, 0.4)}`;
    if (keys.length > 0) sql += `\nGROUP BY ${keys.map((k) => k.sql).join(', ')}`;
    if (rng.chance(0.35)) sql += `\nHAVING ${this.having(sg, keys, 1)}`;
    return { sql, cols: out.cols, deps: src.deps };
  }

  /** An aggregate call over expressions from `g`. */
  private aggCall(g: ExprGen): Expr {
    const rng = this.rng;
    const fn = rng.weighted<string>([
      [3, 'count*'],
      [2, 'count'],
      [this.cfg.distinctAggregates ? 2 : 0, 'countd'],
      [4, 'sum'],
      [3, 'avg'],
      [3, 'min'],
      [3, 'max'],
      [this.cfg.distinctAggregates ? 1 : 0, 'sumd'],
    ]);
    const int8: GenType = { kind: 'int8' };
    switch (fn) {
      case 'count*':
        return { sql: 'COUNT(*)', type: int8, bound: 1e5, stable: true, exact: true };
      case 'count': {
        const a = g.any(rng.int(0, 1));
        return { sql: `COUNT(${a.sql})`, type: int8, bound: 1e5, stable: true, exact: true };
      }
      case 'countd': {
        const a = g.withStable().any(rng.int(0, 1));
        return { sql: `COUNT(DISTINCT ${a.sql})`, type: int8, bound: 1e5, stable: true, exact: true };
      }
      case 'sum':
      case 'sumd':
      case 'avg': {
        let a = (fn === 'sumd' ? g.withStable() : g).num(rng.int(0, 1));
        for (let i = 0; i < 5 && a.type.kind === 'double' && !a.exact && !this.cfg.inexactDoubleSums; i++) {
          a = (fn === 'sumd' ? g.withStable() : g).num(rng.int(0, 1));
        }
        if (a.type.kind === 'double' && !a.exact && !this.cfg.inexactDoubleSums)
          a = lit('CAST(0.5 AS DOUBLE PRECISION)', { kind: 'double' }, 1);
        const k = a.type.kind;
        const stable = a.stable && (k !== 'double' || a.exact);
        if (fn === 'avg') {
          // AVG of an exact numeric has Feldera's type in Holdfast (the argument's, truncated) and Postgres's
          // (numeric) in the oracle; averaging it as an unconstrained NUMERIC is the same in both. Feldera's
          // AVG typing is covered by tests/unit/sql/aggregates.test.ts.
          return {
            sql: k === 'double' ? `AVG(${a.sql})` : `AVG(CAST(${a.sql} AS NUMERIC))`,
            type: k === 'double' ? { kind: 'double' } : { kind: 'decimal' },
            bound: a.bound,
            stable,
            exact: false,
          };
        }
        const type: GenType =
          k === 'int2' || k === 'int4' ? int8 : k === 'double' ? { kind: 'double' } : { kind: 'decimal' };
        // SUM of an integer has the argument's type in Holdfast (Feldera: overflow is an error) and a wider one in
        // the oracle; summing it cast to the wider type is the same in both (the result cast back, below). Feldera's SUM typing is covered by
        // tests/unit/sql/aggregates.test.ts.
        const arg =
          k === 'int2' || k === 'int4'
            ? `CAST(${a.sql} AS BIGINT)`
            : k === 'int8'
              ? `CAST(${a.sql} AS NUMERIC)`
              : a.sql;
        const sum = `SUM(${fn === 'sumd' ? 'DISTINCT ' : ''}${arg})`;
        return {
          // Postgres types SUM(BIGINT) as NUMERIC; casting the result back keeps both sides BIGINT, so later
          // arithmetic on it (an integer division) means the same in both.
          sql: type.kind === 'int8' ? `CAST(${sum} AS BIGINT)` : sum,
          type,
          bound: a.bound * 1e3,
          stable,
          exact: k === 'double' ? a.exact : true,
        };
      }
      default: {
        const f = g.family(false);
        const a = g.expr(f, rng.int(0, 1));
        return { ...a, sql: `${fn.toUpperCase()}(${a.sql})` };
      }
    }
  }

  /** HAVING predicate: comparisons of (stable) aggregates and keys. */
  private having(sg: ExprGen, keys: readonly Expr[], depth: number): string {
    const rng = this.rng;
    if (depth > 0 && rng.chance(0.3)) {
      const a = this.having(sg, keys, depth - 1);
      const b = this.having(sg, keys, depth - 1);
      return rng.chance(0.2) ? `NOT (${a})` : `(${a} ${rng.chance(0.5) ? 'AND' : 'OR'} ${b})`;
    }
    let e: Expr;
    if (keys.length > 0 && rng.chance(0.25)) e = rng.pick(keys);
    else {
      let tries = 0;
      do e = this.aggCall(sg);
      while (!e.stable && tries++ < 5);
      if (!e.stable) return 'COUNT(*) > 1';
    }
    if (e.type.kind === 'bool') return `${e.sql} IS NOT NULL`;
    const op = rng.pick(['=', '<>', '<', '<=', '>', '>=']);
    const c = sg.literalLike(e);
    if (rng.chance(0.15)) return `${e.sql} IS ${rng.chance(0.5) ? 'NOT ' : ''}NULL`;
    return `${e.sql} ${op} ${c.sql}`;
  }

  /** Two or three FROM items joined with equi-keys plus optional residual predicates. */
  join(depth: number): Rel {
    const rng = this.rng;
    const used = new Set<string>();
    let left = this.rel(depth, used);
    const n = rng.chance(0.3) ? 3 : 2;
    for (let i = 1; i < n; i++) {
      const right = this.rel(depth, used, i === 1);
      const kind = rng.weighted<string>([
        [4, 'JOIN'],
        [1, 'INNER JOIN'],
        [3, 'LEFT JOIN'],
        [1, 'LEFT OUTER JOIN'],
        [2, 'RIGHT JOIN'],
        [2, 'FULL JOIN'],
        [1, 'FULL OUTER JOIN'],
      ]);
      const conds: string[] = [];
      const nk = rng.chance(0.25) ? 2 : 1;
      const lg = new ExprGen(rng, left.cols, this.cfg, true);
      const rg = new ExprGen(rng, right.cols, this.cfg, true);
      for (let k = 0; k < nk; k++) {
        const pair = this.equiPair(lg, rg);
        if (pair) conds.push(pair);
      }
      if (conds.length === 0) conds.push(`${lg.literal('num').sql} = ${rg.literal('num').sql}`);
      if (rng.chance(0.45)) {
        const both = new ExprGen(rng, [...left.cols, ...right.cols], this.cfg, true);
        const r = rng.chance(0.5) ? this.crossPred(lg, rg) : both.pred(1).sql;
        conds.push(r.includes(' OR ') ? `(${r})` : r);
      }
      left = {
        from: `${left.from}\n  ${kind} ${right.from} ON ${conds.join(' AND ')}`,
        cols: [...left.cols, ...right.cols],
        deps: [...left.deps, ...right.deps],
      };
    }
    return left;
  }

  /** `l.x = r.y` over join-compatible columns (or, rarely, expressions). */
  private equiPair(lg: ExprGen, rg: ExprGen): string | null {
    const rng = this.rng;
    const pairs: [Col, Col][] = [];
    for (const a of lg.columnsOf(null)) {
      for (const b of rg.columnsOf(null)) {
        if (joinCompatible(a.type.kind, b.type.kind)) pairs.push([a, b]);
      }
    }
    if (pairs.length === 0) return null;
    const [a, b] = rng.pick(pairs);
    if (this.cfg.joinKeyExprs && familyOf(a.type.kind) === 'num' && rng.chance(0.1)) {
      return fits(a.type.kind, a.bound + 1) ? `${a.sql} + 1 = ${b.sql}` : `${a.sql} = ${b.sql}`;
    }
    if (this.cfg.joinKeyExprs && a.type.kind === 'text' && rng.chance(0.1))
      return `UPPER(${a.sql}) = ${b.sql}`;
    return rng.chance(0.5) ? `${a.sql} = ${b.sql}` : `${b.sql} = ${a.sql}`;
  }

  /** A residual predicate comparing a left column with a right one. */
  private crossPred(lg: ExprGen, rg: ExprGen): string {
    const rng = this.rng;
    const f = lg.family(false);
    const a = lg.expr(f, 0);
    const b = rg.columnsOf(f).length > 0 ? rg.expr(f, 0) : rg.literalLike(a);
    return `${a.sql} ${rng.pick(['<', '<=', '>', '>=', '<>'])} ${b.sql}`;
  }

  private setop(depth: number): Query {
    const rng = this.rng;
    const width = rng.int(1, 3);
    const slots: Family[] = [];
    const first = this.rel(depth, new Set(), false);
    const fg = new ExprGen(rng, first.cols, this.cfg, true);
    for (let i = 0; i < width; i++) slots.push(fg.family(true));
    const nOps = rng.chance(0.25) ? 3 : 2;
    const operands: { sql: string; exprs: Expr[] }[] = [];
    const deps: string[] = [];
    for (let i = 0; i < nOps; i++) {
      const src = i === 0 ? first : this.rel(depth, new Set(), false);
      deps.push(...src.deps);
      const g = new ExprGen(rng, src.cols, this.cfg, true);
      const exprs = slots.map((f) => (rng.chance(0.6) ? g.leaf(f) : g.expr(f, 1)));
      const where = this.where(g, 1, 0.4).replace('\n', ' ');
      operands.push({
        sql: `SELECT ${exprs.map((e, j) => `${e.sql} AS c${j}`).join(', ')} FROM ${src.from}${where}`,
        exprs,
      });
    }
    const ops = this.cfg.setOpAll
      ? [
          'UNION ALL',
          'UNION',
          'EXCEPT',
          'INTERSECT',
          'UNION ALL',
          'UNION',
          'EXCEPT',
          'INTERSECT',
          'EXCEPT ALL',
          'INTERSECT ALL',
        ]
      : ['UNION ALL', 'UNION', 'EXCEPT', 'INTERSECT'];
    let sql = (operands[0] as { sql: string }).sql;
    for (let i = 1; i < operands.length; i++) {
      const op = rng.pick(ops);
      const rhs = (operands[i] as { sql: string }).sql;
      sql += i === 2 && rng.chance(0.5) ? `\n${op} (${rhs})` : `\n${op} ${rhs}`;
    }
    const cols: OutCol[] = slots.map((_, j) => {
      const es = operands.map((o) => o.exprs[j] as Expr);
      const t = unifyType(es.map((e) => e.type));
      return {
        name: `c${j}`,
        type: t,
        bound: Math.max(...es.map((e) => e.bound)),
        stable: true,
        exact: es.every((e) => e.exact),
      };
    });
    return { sql, cols, deps };
  }
}

function qualify(alias: string, cols: readonly OutCol[]): Col[] {
  return cols.map((c) => ({ ...c, sql: `${alias}.${c.name}` }));
}

function joinCompatible(a: Kind, b: Kind): boolean {
  const fa = familyOf(a);
  const fb = familyOf(b);
  if (fa !== fb) return false;
  if (fa !== 'num') return true;
  // Avoid DECIMAL = DOUBLE (PG compares as double; rounding makes that a poor key).
  return !((a === 'double' && b === 'decimal') || (a === 'decimal' && b === 'double'));
}

// ---------------------------------------------------------------------------------------------------------
// programs and batches

type Shape = 'project' | 'aggregate' | 'global' | 'join' | 'setop' | 'distinct';

const SHAPES: Readonly<Record<Focus, ReadonlyArray<readonly [number, Shape]>>> = {
  expressions: [
    [6, 'project'],
    [2, 'distinct'],
    [1, 'aggregate'],
  ],
  aggregates: [
    [6, 'aggregate'],
    [2, 'global'],
    [1, 'distinct'],
    [1, 'project'],
  ],
  joins: [
    [6, 'join'],
    [1, 'project'],
    [1, 'aggregate'],
  ],
  setops: [
    [6, 'setop'],
    [1, 'distinct'],
    [1, 'project'],
  ],
  mixed: [
    [3, 'project'],
    [1, 'distinct'],
    [3, 'aggregate'],
    [1, 'global'],
    [3, 'join'],
    [2, 'setop'],
  ],
};

export function generateViews(
  rng: Prng,
  tables: readonly TableDef[],
  focus: Focus,
  cfg: GenConfig,
): ViewDef[] {
  const qg = new QueryGen(rng, cfg, tables);
  const views: ViewDef[] = [];
  const n = rng.int(2, 5);
  for (let i = 0; i < n; i++) {
    const q = qg.query(rng.weighted(SHAPES[focus]));
    const kind = i < n - 1 && rng.chance(0.15) ? 'local' : rng.chance(0.2) ? 'materialized' : 'view';
    const aliases = rng.chance(0.15) ? q.cols.map((_, j) => `v${i}_${j}`) : null;
    const columns = aliases ? q.cols.map((c, j) => ({ ...c, name: aliases[j] as string })) : q.cols;
    const v: ViewDef = { name: `v${i}`, kind, aliases, query: q.sql, deps: [...new Set(q.deps)], columns };
    views.push(v);
    // Later views may read this one (views over views).
    qg.sources.push({ name: v.name, cols: v.columns });
  }
  return views;
}

/** Canonical identity of a row of a table (for multiset bookkeeping). */
export function rowKey(values: Readonly<Record<string, GenValue>>, names: readonly string[]): string {
  return JSON.stringify(
    names.map((n) => (typeof values[n] === 'bigint' ? `${values[n]}n` : (values[n] ?? null))),
  );
}

function randomRow(rng: Prng, t: TableDef): Record<string, GenValue> {
  const row: Record<string, GenValue> = {};
  for (const c of t.columns) row[c.name] = !c.notNull && rng.chance(0.15) ? null : rng.pick(c.pool);
  return row;
}

/** Per-table contents while generating or validating steps. */
export class TableState {
  readonly table: TableDef;
  /** PK table: key → row. Keyless: row key → { row, count }. */
  readonly rows = new Map<string, { row: Record<string, GenValue>; count: number }>();

  constructor(table: TableDef) {
    this.table = table;
  }

  keyOf(values: Readonly<Record<string, GenValue>>): string {
    const pk = this.table.primaryKey;
    return rowKey(values, pk ?? this.table.columns.map((c) => c.name));
  }

  /** Applies one op; returns false when it is not valid (a keyless delete of an absent row). */
  apply(op: Op): boolean {
    const k = this.keyOf(op.values);
    const cur = this.rows.get(k);
    if (this.table.primaryKey) {
      if (op.kind === 'insert') this.rows.set(k, { row: { ...op.values }, count: 1 });
      else this.rows.delete(k);
      return true;
    }
    if (op.kind === 'insert') {
      if (cur) cur.count++;
      else this.rows.set(k, { row: { ...op.values }, count: 1 });
      return true;
    }
    if (!cur) return false;
    if (--cur.count === 0) this.rows.delete(k);
    return true;
  }

  size(): number {
    let n = 0;
    for (const e of this.rows.values()) n += e.count;
    return n;
  }
}

/**
 * Change batches. Within a batch every primary key appears at most once (insert = upsert, or delete), and a
 * keyless delete removes one copy of a row present before the batch; deletes come before inserts.
 */
export function generateSteps(rng: Prng, tables: readonly TableDef[], cfg: GenConfig): Step[] {
  const states = new Map(tables.map((t) => [t.name, new TableState(t)]));
  const steps: Step[] = [];
  const nSteps = rng.int(3, 7);
  for (let s = 0; s < nSteps; s++) {
    const deletes: Op[] = [];
    const inserts: Op[] = [];
    const nOps = s === 0 ? rng.int(4, 10) : rng.chance(0.1) ? rng.int(12, 24) : rng.int(1, 8);
    const touchedKeys = new Map<string, Set<string>>();
    if (s > 0 && rng.chance(0.12)) {
      // Empty a table (views over it go back to their empty-input results).
      const t = rng.pick(tables);
      const st = states.get(t.name) as TableState;
      const ops: Op[] = [];
      for (const e of st.rows.values()) {
        for (let i = 0; i < e.count; i++) {
          const values = t.primaryKey
            ? Object.fromEntries(t.primaryKey.map((k) => [k, e.row[k] ?? null]))
            : { ...e.row };
          ops.push({ table: t.name, kind: 'delete', values });
        }
      }
      for (const op of ops) st.apply(op);
      if (ops.length > 0) {
        steps.push(ops);
        continue;
      }
    }
    for (let i = 0; i < nOps; i++) {
      const t = rng.pick(tables);
      const st = states.get(t.name) as TableState;
      const touched = touchedKeys.get(t.name) ?? new Set<string>();
      touchedKeys.set(t.name, touched);
      const existing = [...st.rows.entries()];
      const wantDelete = existing.length > 0 && rng.chance(s === 0 ? 0.1 : 0.35);
      if (t.primaryKey) {
        let op: Op;
        if (wantDelete) {
          const [, e] = rng.pick(existing);
          const keyOnly = rng.chance(0.5);
          const values = keyOnly
            ? Object.fromEntries(t.primaryKey.map((k) => [k, e.row[k] ?? null]))
            : { ...e.row };
          op = { table: t.name, kind: 'delete', values };
        } else if (cfg.deleteMissingKeys && rng.chance(0.05)) {
          const r = randomRow(rng, t);
          if (st.rows.has(st.keyOf(r))) continue;
          op = {
            table: t.name,
            kind: 'delete',
            values: Object.fromEntries(t.primaryKey.map((k) => [k, r[k] ?? null])),
          };
        } else if (existing.length > 0 && rng.chance(0.3)) {
          // Upsert an existing key (sometimes with identical values).
          const [, e] = rng.pick(existing);
          const r = rng.chance(0.2) ? { ...e.row } : randomRow(rng, t);
          for (const k of t.primaryKey) r[k] = e.row[k] ?? null;
          op = { table: t.name, kind: 'insert', values: r };
        } else op = { table: t.name, kind: 'insert', values: randomRow(rng, t) };
        const k = st.keyOf(op.values);
        if (touched.has(k)) continue;
        touched.add(k);
        (op.kind === 'delete' ? deletes : inserts).push(op);
      } else if (wantDelete) {
        // Delete one copy of a row present before this batch and not already deleted in it.
        const [k, e] = rng.pick(existing);
        const already = deletes.filter(
          (d) =>
            d.table === t.name &&
            rowKey(
              d.values,
              t.columns.map((c) => c.name),
            ) === k,
        );
        if (already.length >= e.count) continue;
        deletes.push({ table: t.name, kind: 'delete', values: { ...e.row } });
      } else {
        // Sometimes duplicate an existing row (multiset semantics).
        const r =
          existing.length > 0 && rng.chance(0.2) ? { ...rng.pick(existing)[1].row } : randomRow(rng, t);
        inserts.push({ table: t.name, kind: 'insert', values: r });
      }
    }
    const step = [...deletes, ...inserts];
    for (const op of step) (states.get(op.table) as TableState).apply(op);
    if (step.length > 0) steps.push(step);
  }
  return steps;
}

/** True when the steps are valid for the tables (used by the shrinker to reject candidates). */
export function validSteps(tables: readonly TableDef[], steps: readonly Step[]): boolean {
  const states = new Map(tables.map((t) => [t.name, new TableState(t)]));
  for (const step of steps) {
    const seen = new Set<string>();
    const before = new Map<string, Map<string, number>>();
    for (const [name, st] of states) before.set(name, new Map([...st.rows].map(([k, e]) => [k, e.count])));
    let sawInsert = false;
    for (const op of step) {
      const st = states.get(op.table);
      if (!st) return false;
      if (op.kind === 'insert') sawInsert = true;
      else if (sawInsert) return false;
      const k = st.keyOf(op.values);
      if (st.table.primaryKey) {
        if (seen.has(`${op.table}:${k}`)) return false;
        seen.add(`${op.table}:${k}`);
      } else if (op.kind === 'delete') {
        const m = before.get(op.table) as Map<string, number>;
        const c = m.get(k) ?? 0;
        if (c <= 0) return false;
        m.set(k, c - 1);
      }
      if (!st.apply(op)) return false;
    }
  }
  return true;
}

export function generateCase(
  rng: Prng,
  seed: number,
  focus: Focus,
  cfg: GenConfig = DEFAULT_CONFIG,
): OracleCase {
  const effective: Focus =
    focus === 'mixed' ? rng.pick(['expressions', 'aggregates', 'joins', 'setops', 'mixed']) : focus;
  const nTables =
    effective === 'joins'
      ? rng.int(2, 3)
      : effective === 'setops'
        ? rng.int(1, 3)
        : effective === 'mixed'
          ? rng.int(1, 3)
          : rng.int(1, 2);
  const tables = generateTables(rng, nTables);
  const views = generateViews(rng, tables, effective, cfg);
  const steps = generateSteps(rng, tables, cfg);
  return { seed, focus, tables, views, steps };
}
