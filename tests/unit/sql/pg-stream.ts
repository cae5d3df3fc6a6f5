/**
 * Shared by the window tests (windows, window-rank, window-agg): a seeded stream of inserts and deletes into a
 * table `t` with an `id INT` column, applied step by step to a compiled program and to Postgres (PGlite), with
 * every view compared with its Postgres query after every step.
 */
import assert from 'node:assert/strict';
import { PGlite } from '@electric-sql/pglite';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import type { Row } from '../../../src/zset/value.ts';

export type Rec = Record<string, unknown>;

const byJson = (x: Rec, y: Rec) => JSON.stringify(x).localeCompare(JSON.stringify(y));

/** A view's contents as JSON records, one per copy, in a canonical order. */
export function contents(columns: Parameters<typeof rowToJson>[0], b: Batch): Rec[] {
  const out: Rec[] = [];
  b.rows.forEach((row, i) => {
    for (let k = 0; k < (b.weights[i] as number); k++) out.push(rowToJson(columns, row as Row) as Rec);
  });
  return out.sort(byJson);
}

export interface StreamOptions {
  /** `CREATE TABLE t (id INT NOT NULL, ...)`: the same DDL for the program and for Postgres. */
  readonly table: string;
  /** Per view: Holdfast's query, and Postgres's when it differs. */
  readonly views: ReadonlyArray<readonly [string, string?]>;
  readonly seed: number;
  readonly steps: number;
  /** A new row with id `id`, drawn with `rnd(n)` (0 .. n-1). */
  readonly record: (rnd: (n: number) => number, id: number) => Rec;
}

/** Runs the stream (see the module header); a difference fails with the seed, the step and the view. */
export async function streamAgainstPostgres(o: StreamOptions): Promise<void> {
  let a = o.seed;
  const rnd = (n: number) => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a % n;
  };
  const pg = await PGlite.create();
  try {
    await pg.exec(o.table);
    const p = await compileProgram(
      `${o.table} ${o.views.map(([q], i) => `CREATE MATERIALIZED VIEW v${i} AS ${q};`).join(' ')}`,
    );
    const c = p.instantiate();
    const t = p.table('t') as TableSchema;
    const live = new Map<number, Rec>();
    let nextId = 1;
    for (let step = 0; step < o.steps; step++) {
      const rows: Row[] = [];
      const weights: number[] = [];
      for (let k = rnd(5); k >= 0; k--) {
        if (live.size > 0 && rnd(10) < 4) {
          const ids = [...live.keys()];
          const id = ids[rnd(ids.length)] as number;
          rows.push(rowFromJson(t, live.get(id) as Rec));
          weights.push(-1);
          live.delete(id);
          await pg.query('DELETE FROM t WHERE id = $1', [id]);
        } else {
          const r = o.record(rnd, nextId++);
          rows.push(rowFromJson(t, r));
          weights.push(1);
          live.set(r.id as number, r);
          const cols = Object.keys(r);
          await pg.query(
            `INSERT INTO t (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`,
            Object.values(r),
          );
        }
      }
      c.step(new Map([['t', { rows, weights }]]));
      for (let i = 0; i < o.views.length; i++) {
        const [mine, theirs] = o.views[i] as readonly [string, string?];
        const got = contents(p.views.find((x) => x.name === `v${i}`)?.columns ?? [], c.contents(`v${i}`));
        const want = (await pg.query<Rec>(theirs ?? mine)).rows
          .map((r) =>
            Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
          )
          .sort(byJson);
        assert.deepEqual(got, want, `seed ${o.seed} step ${step} view v${i}`);
      }
    }
  } finally {
    await pg.close();
  }
}
