/**
 * Canonical multiset comparison of query results, as text.
 *
 * Both sides are turned into Postgres's text output first (Postgres natively, Holdfast through its
 * `formatValue`), then normalised per column class, taken from the Postgres result's type OIDs:
 *   - exact numerics (SMALLINT, INTEGER, BIGINT, DECIMAL): by value — trailing fractional zeros are dropped,
 *     so 1.50 == 1.5 and -0.00 == 0; BIGINT stays exact integer text (no JS number in between);
 *   - DOUBLE/REAL: parsed and compared with a relative tolerance of 1e-9 (absolute 1e-12 near zero). Doubles
 *     are inexact in both systems and the order in which a SUM or AVG adds its inputs differs between them;
 *   - DATE 'YYYY-MM-DD'; TIMESTAMP 'YYYY-MM-DD HH:MM:SS[.ffffff]' with trailing fractional zeros dropped;
 *   - BOOLEAN 't'/'f' (also accepting 'true'/'false'); text exactly; NULL as its own value.
 * Rows are matched as a multiset: exact canonical matches first, then the leftovers pairwise with the
 * float tolerance.
 */

export type ColClass = 'exact' | 'float' | 'bool' | 'ts' | 'text';

export const REL_TOLERANCE = 1e-9;
export const ABS_TOLERANCE = 1e-12;

export function classOfOid(oid: number): ColClass {
  switch (oid) {
    case 20:
    case 21:
    case 23:
    case 1700:
      return 'exact';
    case 700:
    case 701:
      return 'float';
    case 16:
      return 'bool';
    case 1114:
    case 1184:
      return 'ts';
    default:
      return 'text';
  }
}

export function normaliseExact(s: string): string {
  let t = s.trim();
  let neg = false;
  if (t.startsWith('-')) {
    neg = true;
    t = t.slice(1);
  } else if (t.startsWith('+')) t = t.slice(1);
  let [ip = '', fp = ''] = t.split('.');
  ip = ip.replace(/^0+(?=\d)/, '');
  if (ip === '') ip = '0';
  fp = fp.replace(/0+$/, '');
  const body = fp === '' ? ip : `${ip}.${fp}`;
  return neg && body !== '0' ? `-${body}` : body;
}

export function normaliseTimestamp(s: string): string {
  const m = /^(.*\d\d:\d\d:\d\d)(?:\.(\d+))?$/.exec(s);
  if (!m) return s;
  const frac = (m[2] ?? '').replace(/0+$/, '');
  return frac === '' ? (m[1] as string) : `${m[1]}.${frac}`;
}

export function parseFloatText(s: string): number {
  const t = s.trim();
  if (t === 'Infinity' || t === 'inf') return Number.POSITIVE_INFINITY;
  if (t === '-Infinity' || t === '-inf') return Number.NEGATIVE_INFINITY;
  if (t === 'NaN') return Number.NaN;
  return Number(t);
}

/** Canonical text of one value of a class (floats: the shortest round-trip text of the parsed number). */
export function canonicalValue(v: string | null, cls: ColClass): string | null {
  if (v === null) return null;
  switch (cls) {
    case 'exact':
      return normaliseExact(v);
    case 'float': {
      const n = parseFloatText(v);
      return Object.is(n, -0) ? '0' : String(n);
    }
    case 'bool':
      return v === 't' || v === 'true' ? 't' : v === 'f' || v === 'false' ? 'f' : v;
    case 'ts':
      return normaliseTimestamp(v);
    default:
      return v;
  }
}

export function floatsClose(a: number, b: number): boolean {
  if (a === b) return true;
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  const diff = Math.abs(a - b);
  return diff <= ABS_TOLERANCE || diff <= REL_TOLERANCE * Math.max(Math.abs(a), Math.abs(b));
}

export type CanonRow = ReadonlyArray<string | null>;

function rowsClose(a: CanonRow, b: CanonRow, classes: readonly ColClass[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === null || y === null) {
      if (x !== y) return false;
    } else if (classes[i] === 'float') {
      if (!floatsClose(parseFloatText(x), parseFloatText(y))) return false;
    } else if (x !== y) return false;
  }
  return true;
}

export interface Diff {
  /** Rows Postgres has that the engine lacks (with multiplicity). */
  readonly missing: CanonRow[];
  /** Rows the engine has that Postgres lacks. */
  readonly extra: CanonRow[];
}

/** Multiset comparison of canonical rows; null when equal. */
export function compareRows(
  expected: readonly CanonRow[],
  actual: readonly CanonRow[],
  classes: readonly ColClass[],
): Diff | null {
  const key = (r: CanonRow) => JSON.stringify(r);
  const counts = new Map<string, { row: CanonRow; n: number }>();
  for (const r of expected) {
    const k = key(r);
    const e = counts.get(k);
    if (e) e.n++;
    else counts.set(k, { row: r, n: 1 });
  }
  const extra: CanonRow[] = [];
  for (const r of actual) {
    const e = counts.get(key(r));
    if (e && e.n > 0) e.n--;
    else extra.push(r);
  }
  const missing: CanonRow[] = [];
  for (const e of counts.values()) for (let i = 0; i < e.n; i++) missing.push(e.row);
  if (missing.length === 0 && extra.length === 0) return null;
  // Pair leftovers within the float tolerance.
  if (classes.includes('float')) {
    const stillExtra: CanonRow[] = [];
    for (const r of extra) {
      const j = missing.findIndex((m) => rowsClose(m, r, classes));
      if (j >= 0) missing.splice(j, 1);
      else stillExtra.push(r);
    }
    if (missing.length === 0 && stillExtra.length === 0) return null;
    return { missing, extra: stillExtra };
  }
  return { missing, extra };
}

export function formatRow(r: CanonRow): string {
  return `(${r.map((v) => (v === null ? 'NULL' : JSON.stringify(v))).join(', ')})`;
}
