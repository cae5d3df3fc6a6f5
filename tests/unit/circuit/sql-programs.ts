/**
 * SQL programs and seeded random input generators shared by the circuit-level property tests
 * (`tests/property/snapshot-restore.property.test.ts`, `tests/property/determinism.property.test.ts`).
 *
 * Inputs stay "valid": deletes of keyless non-materialized tables only remove rows that are present, so the
 * integrals every operator sees are non-negative multisets. DOUBLE values are multiples of 1/4 with small
 * magnitude, so sums are exact whatever the order of additions. Values are in their canonical representation
 * (DECIMAL(10,2) always with scale 2, no -0): equal values with different representations (1.5 vs 1.50, -0 vs 0)
 * are covered by a dedicated test instead.
 */
import { compileProgram, type Program } from '../../../src/sql/program.ts';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import { type Batch, emptyBatch } from '../../../src/zset/batch.ts';
import { encodeColumns, encodeRow, type Row, type Value } from '../../../src/zset/value.ts';
import { mulberry32, pick, randInt } from '../operators/support.ts';

export type Rnd = () => number;
type Gen = (rnd: Rnd) => Value;

const maybeNull =
  (g: Gen, p = 0.15): Gen =>
  (rnd) =>
    rnd() < p ? null : g(rnd);

export const G = {
  int: maybeNull((r) => randInt(r, -3, 6)),
  bigint: maybeNull((r) => BigInt(randInt(r, 0, 5))),
  varchar: maybeNull((r) => pick(r, ['a', 'b', 'c', '', 'a b', 'null', 'é'])),
  decimal: maybeNull((r) =>
    Decimal.parse(pick(r, ['0.00', '1.50', '-2.25', '10.00', '3.10', '-0.05', '99999999.99'])),
  ),
  double: maybeNull((r) => pick(r, [0, 0.5, -1.25, 2, 1000, 0.25, -3.75])),
  boolean: maybeNull((r) => r() < 0.5),
  date: maybeNull((r) => 18000 + randInt(r, 0, 5)),
  keyInt: (r: Rnd) => randInt(r, 0, 6),
  keyBigint: (r: Rnd) => BigInt(randInt(r, 0, 6)),
  keyVarchar: (r: Rnd) => pick(r, ['x', 'y', 'z']),
} satisfies Record<string, Gen>;

export interface TableGen {
  readonly name: string;
  readonly cols: readonly Gen[];
  /** Primary-key column indexes, or null. */
  readonly pk: readonly number[] | null;
  /** Keyless table declared WITH ('materialized' = 'true'). */
  readonly materialized?: boolean;
}

export interface ProgramCase {
  readonly name: string;
  readonly sql: string;
  readonly tables: readonly TableGen[];
}

export const PROGRAMS: readonly ProgramCase[] = [
  {
    name: 'joins',
    sql: `
      CREATE TABLE cust (id INT PRIMARY KEY, name VARCHAR, region VARCHAR, since DATE);
      CREATE TABLE ord (oid BIGINT PRIMARY KEY, cid INT, amount DECIMAL(10,2), paid BOOLEAN, at DATE);
      CREATE MATERIALIZED VIEW inner_j AS SELECT c.id, c.name, o.oid, o.amount FROM cust c JOIN ord o ON c.id = o.cid;
      CREATE MATERIALIZED VIEW left_j AS SELECT c.id, c.region, o.oid FROM cust c LEFT JOIN ord o ON c.id = o.cid AND o.paid;
      CREATE MATERIALIZED VIEW right_j AS SELECT c.name, o.oid, o.amount FROM cust c RIGHT JOIN ord o ON c.id = o.cid AND o.at >= c.since;
      CREATE MATERIALIZED VIEW full_j AS SELECT c.id, o.cid, o.oid, o.paid FROM cust c FULL JOIN ord o ON c.id = o.cid;
      CREATE VIEW full_j_stream AS SELECT c.region, o.amount FROM cust c FULL JOIN ord o ON c.region = o.paid::VARCHAR;
    `,
    tables: [
      { name: 'cust', cols: [G.keyInt, G.varchar, G.varchar, G.date], pk: [0] },
      { name: 'ord', cols: [G.keyBigint, G.int, G.decimal, G.boolean, G.date], pk: [0] },
    ],
  },
  {
    name: 'aggregates',
    sql: `
      CREATE TABLE m (id INT PRIMARY KEY, g VARCHAR, i INT, b BIGINT, d DECIMAL(10,2), f DOUBLE, ok BOOLEAN, dt DATE);
      CREATE MATERIALIZED VIEW by_g AS SELECT g, COUNT(*) AS n, COUNT(i) AS ni, SUM(i) AS si, SUM(b) AS sb, SUM(d) AS sd,
        MIN(d) AS mind, MAX(d) AS maxd, MIN(dt) AS mindt, MAX(dt) AS maxdt, MIN(g) AS ming, AVG(d) AS avgd, AVG(i) AS avgi,
        AVG(f) AS avgf, SUM(f) AS sf, COUNT(DISTINCT i) AS cdi, COUNT(DISTINCT d) AS cdd, MAX(f) AS mf, MIN(b) AS mb
        FROM m GROUP BY g;
      CREATE MATERIALIZED VIEW glob AS SELECT COUNT(*) AS n, SUM(d) AS s, MIN(i) AS mn, MAX(i) AS mx, AVG(f) AS af, COUNT(DISTINCT g) AS cg FROM m;
      CREATE MATERIALIZED VIEW having_v AS SELECT ok, dt, COUNT(*) AS n, SUM(b) AS sb FROM m GROUP BY ok, dt HAVING COUNT(*) > 1;
      CREATE VIEW glob_stream AS SELECT SUM(i) AS s FROM m WHERE ok;
    `,
    tables: [
      {
        name: 'm',
        cols: [G.keyInt, G.varchar, G.int, G.bigint, G.decimal, G.double, G.boolean, G.date],
        pk: [0],
      },
    ],
  },
  {
    // Feldera's aggregates (ARG_MIN/ARG_MAX keep a sorted multiset; the others are invertible) and FILTER
    name: 'feldera-aggregates',
    sql: `
      CREATE TABLE fa (id INT PRIMARY KEY, g VARCHAR, i INT, b BIGINT, d DECIMAL(10,2), f DOUBLE, ok BOOLEAN);
      CREATE MATERIALIZED VIEW fa_g AS SELECT g, ARG_MIN(i, d) AS amin, ARG_MAX(g, b) AS amax,
        ARG_MAX(DISTINCT d, i) AS amaxd, EVERY(ok) AS ev, SOME(ok) AS so, BOOL_OR(i > 2) AS bo, COUNTIF(ok) AS ci,
        BIT_AND(i) AS ba, BIT_OR(b) AS bor, BIT_XOR(i) AS bx, BIT_XOR(DISTINCT i) AS bxd, STDDEV_POP(i) AS sp,
        STDDEV_SAMP(d) AS ss, VAR_POP(f) AS vp, VARIANCE(b) AS vs, AVG(i) AS ai, AVG(d) AS ad,
        SUM(i) FILTER (WHERE ok) AS sf, COUNT(*) FILTER (WHERE i > 0) AS cf, ARG_MIN(id, i) FILTER (WHERE ok) AS amf
        FROM fa GROUP BY g;
      CREATE MATERIALIZED VIEW fa_glob AS SELECT ARG_MAX(id, f) AS am, LOGICAL_AND(ok) AS la, BIT_OR(i) AS bo,
        STDDEV(f) AS sd, COUNT(DISTINCT i) FILTER (WHERE ok) AS cdf FROM fa;
    `,
    tables: [
      {
        name: 'fa',
        cols: [G.keyInt, G.varchar, G.int, G.bigint, G.decimal, G.double, G.boolean],
        pk: [0],
      },
    ],
  },
  {
    name: 'keyless',
    sql: `
      CREATE TABLE ev (k VARCHAR, v INT, f DOUBLE);
      CREATE TABLE evm (k VARCHAR, v INT, d DATE) WITH ('materialized' = 'true');
      CREATE MATERIALIZED VIEW dist AS SELECT DISTINCT k FROM ev;
      CREATE MATERIALIZED VIEW cnt AS SELECT k, COUNT(*) AS n, SUM(v) AS s, MIN(f) AS mf, MAX(v) AS mv FROM ev GROUP BY k;
      CREATE MATERIALIZED VIEW j AS SELECT ev.k, ev.v, evm.v AS w, evm.d FROM ev JOIN evm ON ev.k = evm.k;
      CREATE MATERIALIZED VIEW lj AS SELECT evm.k, evm.d, ev.f FROM evm LEFT JOIN ev ON evm.k = ev.k AND ev.v > evm.v;
      CREATE VIEW passthru AS SELECT k, v * 2 AS v2 FROM evm WHERE v > 0;
    `,
    tables: [
      { name: 'ev', cols: [G.varchar, G.int, G.double], pk: null },
      { name: 'evm', cols: [G.varchar, G.int, G.date], pk: null, materialized: true },
    ],
  },
  {
    name: 'set-ops',
    sql: `
      CREATE TABLE a (x INT, s VARCHAR) WITH ('materialized' = 'true');
      CREATE TABLE b (x INT, s VARCHAR);
      CREATE MATERIALIZED VIEW u AS SELECT x, s FROM a UNION SELECT x, s FROM b;
      CREATE MATERIALIZED VIEW ua AS SELECT x FROM a UNION ALL SELECT x FROM b;
      CREATE MATERIALIZED VIEW e AS SELECT x, s FROM a EXCEPT SELECT x, s FROM b;
      CREATE MATERIALIZED VIEW ea AS SELECT x FROM a EXCEPT ALL SELECT x FROM b;
      CREATE MATERIALIZED VIEW i AS SELECT s FROM a INTERSECT SELECT s FROM b;
      CREATE MATERIALIZED VIEW ia AS SELECT x FROM a INTERSECT ALL SELECT x FROM b;
      CREATE VIEW u_stream AS SELECT s FROM a UNION SELECT s FROM b;
    `,
    tables: [
      { name: 'a', cols: [G.int, G.varchar], pk: null, materialized: true },
      { name: 'b', cols: [G.int, G.varchar], pk: null },
    ],
  },
  {
    name: 'views-over-views',
    sql: `
      CREATE TABLE t (id BIGINT PRIMARY KEY, v DECIMAL(10,2), tag VARCHAR, f DOUBLE);
      CREATE MATERIALIZED VIEW k AS SELECT 1 AS one, 'x' AS s, CAST(NULL AS INT) AS n, 2.50 AS d;
      CREATE LOCAL VIEW base AS SELECT tag, v, f FROM t WHERE v IS NOT NULL;
      CREATE VIEW per_tag AS SELECT tag, SUM(v) AS s, COUNT(*) AS n, MAX(f) AS mf FROM base GROUP BY tag;
      CREATE MATERIALIZED VIEW top AS SELECT MAX(s) AS best, MIN(s) AS worst, COUNT(*) AS tags, SUM(n) AS total FROM per_tag;
      CREATE MATERIALIZED VIEW dd AS SELECT DISTINCT n FROM per_tag;
      CREATE MATERIALIZED VIEW with_k AS SELECT p.tag, p.s, k.one FROM per_tag p JOIN k ON p.n = k.one;
    `,
    tables: [{ name: 't', cols: [G.keyBigint, G.decimal, G.varchar, G.double], pk: [0] }],
  },
  {
    name: 'join-then-aggregate',
    sql: `
      CREATE TABLE p (id INT PRIMARY KEY, cat VARCHAR, price DECIMAL(10,2), w DOUBLE, live BOOLEAN, d DATE);
      CREATE TABLE s (pid INT, qty BIGINT, d DATE);
      CREATE MATERIALIZED VIEW sales AS SELECT p.cat, COUNT(s.pid) AS n, SUM(s.qty) AS q, MIN(p.price) AS lo, MAX(s.d) AS last,
        COUNT(DISTINCT p.id) AS products, AVG(p.price) AS ap FROM p LEFT JOIN s ON p.id = s.pid GROUP BY p.cat;
      CREATE MATERIALIZED VIEW orphan AS SELECT s.pid, s.qty FROM p RIGHT JOIN s ON p.id = s.pid WHERE p.id IS NULL;
      CREATE MATERIALIZED VIEW dist_live AS SELECT DISTINCT live, d FROM p;
      CREATE MATERIALIZED VIEW all_cnt AS SELECT COUNT(*) AS n, SUM(s.qty) AS q FROM p FULL JOIN s ON p.id = s.pid AND s.d > p.d;
    `,
    tables: [
      { name: 'p', cols: [G.keyInt, G.varchar, G.decimal, G.double, G.boolean, G.date], pk: [0] },
      { name: 's', cols: [G.int, G.bigint, G.date], pk: null },
    ],
  },
  {
    name: 'composite-pk',
    sql: `
      CREATE TABLE kv (a INT, b VARCHAR, v BIGINT, PRIMARY KEY (a, b));
      CREATE MATERIALIZED VIEW self AS SELECT x.a, x.b, y.b AS b2 FROM kv x JOIN kv y ON x.a = y.a AND x.b < y.b;
      CREATE MATERIALIZED VIEW sums AS SELECT a, SUM(v) AS s, MAX(b) AS mb, MIN(v) AS mv FROM kv GROUP BY a;
      CREATE MATERIALIZED VIEW g AS SELECT COUNT(*) AS n FROM kv WHERE v > 2;
      CREATE MATERIALIZED VIEW c AS SELECT 42 AS answer;
    `,
    tables: [{ name: 'kv', cols: [G.keyInt, G.keyVarchar, G.bigint], pk: [0, 1] }],
  },
  {
    name: 'asof-join',
    sql: `
      CREATE TABLE tr (id INT PRIMARY KEY, k VARCHAR, at DATE, n INT);
      CREATE TABLE qu (k VARCHAR, at DATE, v DECIMAL(10,2));
      CREATE MATERIALIZED VIEW asof_j AS SELECT tr.id, tr.at, qu.at AS qat, qu.v
        FROM tr LEFT ASOF JOIN qu MATCH_CONDITION (tr.at >= qu.at) ON tr.k = qu.k;
      CREATE VIEW asof_stream AS SELECT tr.n, qu.v FROM tr LEFT ASOF JOIN qu
        MATCH_CONDITION (tr.n >= CAST(qu.v AS INT)) ON tr.k = qu.k WHERE qu.v IS NULL OR tr.n > 0;
    `,
    tables: [
      { name: 'tr', cols: [G.keyInt, G.varchar, G.date, G.int], pk: [0] },
      { name: 'qu', cols: [G.varchar, G.date, G.decimal], pk: null },
    ],
  },
  {
    name: 'constant-only-and-global',
    sql: `
      CREATE TABLE e (x INT);
      CREATE MATERIALIZED VIEW c AS SELECT 1 AS one, 'two' AS two, TRUE AS t;
      CREATE MATERIALIZED VIEW n AS SELECT COUNT(*) AS n, SUM(x) AS s, MAX(x) AS mx FROM e;
      CREATE VIEW n_stream AS SELECT COUNT(DISTINCT x) AS cd FROM e;
      CREATE MATERIALIZED VIEW u AS SELECT one FROM c UNION ALL SELECT x FROM e;
    `,
    tables: [{ name: 'e', cols: [G.int], pk: null }],
  },
  {
    // DECLARE RECURSIVE VIEW: one fixpoint operator (closure + a LOCAL step), a mutually recursive pair, and a
    // non-monotone recursive view (an aggregate inside the recursion)
    name: 'recursive',
    sql: `
      CREATE TABLE edge (a INT, b INT);
      CREATE TABLE pk_edge (id INT PRIMARY KEY, a INT, b INT);
      DECLARE RECURSIVE VIEW reach (a INT, b INT);
      CREATE LOCAL VIEW hop AS SELECT e.a, r.b FROM edge e JOIN reach r ON e.b = r.a;
      CREATE MATERIALIZED VIEW reach AS SELECT a, b FROM edge UNION SELECT a, b FROM hop;
      DECLARE RECURSIVE VIEW even_from (n INT, d INT);
      DECLARE RECURSIVE VIEW odd_from (n INT, d INT);
      CREATE MATERIALIZED VIEW odd_from AS SELECT a AS n, b AS d FROM pk_edge
        UNION SELECT e.a, o.d FROM pk_edge e JOIN even_from o ON e.b = o.n;
      CREATE VIEW even_from AS SELECT e.a AS n, o.d FROM pk_edge e JOIN odd_from o ON e.b = o.n;
      DECLARE RECURSIVE VIEW lo (a INT, m INT);
      CREATE MATERIALIZED VIEW lo AS SELECT a, MIN(b) AS m FROM (SELECT a, b FROM edge UNION SELECT e.a, l.m FROM edge e JOIN lo l ON e.b = l.a) GROUP BY a;
      CREATE MATERIALIZED VIEW reach_count AS SELECT a, COUNT(*) AS n FROM reach GROUP BY a;
    `,
    tables: [
      { name: 'edge', cols: [G.keyInt, G.keyInt], pk: null },
      { name: 'pk_edge', cols: [G.keyInt, G.keyInt, G.keyInt], pk: [0] },
    ],
  },
];

/** Generates one step's input batches for every table, keeping a shadow of the tables to pick deletes from. */
export class InputGen {
  readonly #rnd: Rnd;
  readonly #tables: readonly TableGen[];
  readonly #shadow = new Map<string, Map<string, Row[]>>();

  constructor(seed: number, tables: readonly TableGen[]) {
    this.#rnd = mulberry32(seed);
    this.#tables = tables;
    for (const t of tables) this.#shadow.set(t.name, new Map());
  }

  #keyOf(t: TableGen, row: Row): string {
    return t.pk === null ? encodeRow(row) : encodeColumns(row, t.pk);
  }

  #randomRow(t: TableGen): Row {
    return t.cols.map((g) => g(this.#rnd));
  }

  /** One step: a map of table → batch (some tables absent, some batches empty). */
  next(maxRows = 4): Map<string, Batch> {
    const rnd = this.#rnd;
    const out = new Map<string, Batch>();
    for (const t of this.#tables) {
      if (rnd() < 0.25) continue;
      const b = emptyBatch();
      const shadow = this.#shadow.get(t.name) as Map<string, Row[]>;
      for (let i = randInt(rnd, 0, maxRows); i > 0; i--) {
        const r = rnd();
        const present = [...shadow.values()].flat();
        if (r < 0.35 && present.length > 0) {
          // delete a present row (for a PK table: by key, other columns NULL half of the time)
          const row = pick(rnd, present);
          const k = this.#keyOf(t, row);
          let sent: Row = row;
          if (t.pk !== null && rnd() < 0.5)
            sent = row.map((v, j) => ((t.pk as readonly number[]).includes(j) ? v : null));
          b.rows.push(sent);
          b.weights.push(-1);
          const list = shadow.get(k) as Row[];
          if (t.pk !== null || list.length === 1) shadow.delete(k);
          else list.splice(list.indexOf(row), 1);
        } else if (r < 0.4 && (t.pk !== null || t.materialized === true)) {
          // delete something that is (probably) not there: ignored / clamped by the table
          const row = this.#randomRow(t);
          const k = this.#keyOf(t, row);
          if (shadow.has(k)) continue;
          b.rows.push(row);
          b.weights.push(-1);
        } else {
          const row = this.#randomRow(t);
          const w = t.pk === null && rnd() < 0.2 ? 2 : 1;
          b.rows.push(row);
          b.weights.push(w);
          const k = this.#keyOf(t, row);
          if (t.pk !== null) shadow.set(k, [row]);
          else {
            const list = shadow.get(k) ?? [];
            for (let c = 0; c < w; c++) list.push(row);
            shadow.set(k, list);
          }
        }
      }
      out.set(t.name, b);
    }
    return out;
  }
}

/** Splits one step's inputs into single-row steps (same order: table by table, row by row). */
export function oneRowSteps(step: Map<string, Batch>): Array<Map<string, Batch>> {
  const out: Array<Map<string, Batch>> = [];
  for (const [name, b] of step)
    for (let i = 0; i < b.rows.length; i++) {
      const w = b.weights[i] as number;
      const row = b.rows[i] as Row;
      // a weight-2 insert becomes two single inserts so each step carries one row change
      for (let c = 0; c < Math.abs(w); c++)
        out.push(new Map([[name, { rows: [row], weights: [Math.sign(w)] }]]));
    }
  return out;
}

const compiled = new Map<string, Program>();

/** Compiles a case's program once per test process. */
export async function programOf(p: ProgramCase): Promise<Program> {
  let prog = compiled.get(p.name);
  if (prog === undefined) {
    prog = await compileProgram(p.sql);
    compiled.set(p.name, prog);
  }
  return prog;
}
