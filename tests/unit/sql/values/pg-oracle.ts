/**
 * Test helper: a PGlite instance used as the oracle, evaluating many SQL expressions to Postgres text at once.
 * Each expression's result is `{ value }` (its `::text`, or null) or `{ error }` (Postgres's message).
 */
import { PGlite } from '@electric-sql/pglite';
import { isServiceError } from '../../../../src/errors/service-error.ts';

export type Outcome = { value: string | null } | { error: string };

export interface Oracle {
  /** Evaluates each SQL expression (cast to text) in as few queries as possible. */
  evalMany(exprs: readonly string[]): Promise<Outcome[]>;
  eval(expr: string): Promise<Outcome>;
  /** Runs statements; the outcome is the first column of the first row of the last statement (as text). */
  run(sql: string): Promise<Outcome>;
  close(): Promise<void>;
}

export async function startOracle(): Promise<Oracle> {
  const db = await PGlite.create();
  async function one(expr: string): Promise<Outcome> {
    try {
      const r = await db.query<unknown[]>(`SELECT (${expr})::text`, [], { rowMode: 'array' });
      return { value: (r.rows[0]?.[0] ?? null) as string | null };
    } catch (e) {
      return { error: (e as Error).message };
    }
  }
  async function evalMany(exprs: readonly string[]): Promise<Outcome[]> {
    const out: Outcome[] = [];
    const CHUNK = 400;
    for (let i = 0; i < exprs.length; i += CHUNK) {
      const chunk = exprs.slice(i, i + CHUNK);
      try {
        const sql = `SELECT ${chunk.map((e) => `(${e})::text`).join(', ')}`;
        const r = await db.query<unknown[]>(sql, [], { rowMode: 'array' });
        const row = r.rows[0] ?? [];
        for (let j = 0; j < chunk.length; j++) out.push({ value: (row[j] ?? null) as string | null });
      } catch {
        for (const e of chunk) out.push(await one(e));
      }
    }
    return out;
  }
  async function run(sql: string): Promise<Outcome> {
    try {
      const results = await db.exec(sql);
      const last = results[results.length - 1];
      const row = last?.rows[0];
      const v = row === undefined ? null : Object.values(row)[0];
      return { value: v === null || v === undefined ? null : String(v) };
    } catch (e) {
      return { error: (e as Error).message };
    }
  }
  return { evalMany, eval: one, run, close: () => db.close() };
}

/** Runs our implementation the same way: its text, or the error message. Non-ServiceErrors are rethrown. */
export function ours(fn: () => string | null): Outcome {
  try {
    return { value: fn() };
  } catch (e) {
    if (isServiceError(e)) return { error: e.message };
    throw e;
  }
}

/** Compares outcomes pairwise; returns readable mismatch lines (empty when all agree). */
export function mismatches(
  labels: readonly string[],
  pg: readonly Outcome[],
  mine: readonly Outcome[],
  opts: { compareMessages?: boolean } = {},
): string[] {
  const bad: string[] = [];
  for (let i = 0; i < labels.length; i++) {
    const a = pg[i] as Outcome;
    const b = mine[i] as Outcome;
    if ('error' in a || 'error' in b) {
      if (!('error' in a && 'error' in b))
        bad.push(`${labels[i]}: pg=${JSON.stringify(a)} ours=${JSON.stringify(b)}`);
      else if (opts.compareMessages !== false && a.error !== b.error) {
        bad.push(`${labels[i]}: pg error "${a.error}" ours "${b.error}"`);
      }
    } else if (a.value !== b.value) bad.push(`${labels[i]}: pg=${a.value} ours=${b.value}`);
  }
  return bad;
}

/** Seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
