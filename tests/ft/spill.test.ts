/**
 * State beyond memory in a real pipeline process: `storage.min_storage_bytes: 0` puts every sealed trace batch in
 * a batch file under `<storage>/spill/`. Rows are ingested and updated over HTTP (exactly_once), a checkpoint is
 * taken, more rows arrive (journaled), the process is `kill -9`ed and restarted: the restart opens the
 * checkpoint's batch files, replays the journal, and the views equal what the rows say; a second checkpoint and
 * restart (graceful this time) agree too.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  checkpoint,
  ingestRows,
  kill9,
  pipelineConfig,
  query,
  startPipeline,
  syncAndWait,
  until,
} from './support.ts';

const PROGRAM = `CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, k INT NOT NULL, v BIGINT NOT NULL);
CREATE MATERIALIZED VIEW agg AS SELECT k, COUNT(*) AS c, SUM(v) AS s FROM t GROUP BY k;
CREATE MATERIALIZED VIEW tot AS SELECT COUNT(*) AS c, SUM(v) AS s FROM t;`;

const row = (id: number, version: number) => ({ id, k: id % 7, v: id * 10 + version });

test('spilled state: checkpoint, kill -9, restart opens the batch files and replays; views stay exact', {
  timeout: 120_000,
}, async () => {
  const { cfg, dir } = pipelineConfig('holdfast-spill-ft-', {
    program_code: PROGRAM,
    storage: { min_storage_bytes: 0, cache_mib: 1 },
    fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
  });
  const spillDir = join(dir, 'storage', 'spill');
  const model = new Map<number, ReturnType<typeof row>>();
  const send = async (base: string, rows: Array<ReturnType<typeof row>>): Promise<void> => {
    // a primary-key table: an insert of an existing key replaces its row
    for (const r of rows) model.set(r.id, r);
    await ingestRows(base, 't', rows);
  };
  const want = (): string => {
    let c = 0;
    let s = 0;
    for (const r of model.values()) {
      c++;
      s += r.v;
    }
    return JSON.stringify({ c, s });
  };
  const tot = async (base: string): Promise<string> => {
    const t = await query(base, 'SELECT c, s FROM tot');
    return t === '' ? '{}' : JSON.stringify(JSON.parse(t));
  };

  let p = await startPipeline(cfg);
  // enough steps that the trace seals and merges several times (each seal spills)
  for (let b = 0; b < 40; b++)
    await send(
      p.base,
      Array.from({ length: 50 }, (_, i) => row(b * 50 + i, 0)),
    );
  for (let b = 0; b < 10; b++)
    await send(
      p.base,
      Array.from({ length: 30 }, (_, i) => row((b * 131 + i * 17) % 2000, b + 1)),
    );
  await until(
    () => tot(p.base),
    (t) => t === want(),
    'views before the checkpoint',
  );
  await checkpoint(p.base);
  assert.ok(readdirSync(spillDir).length > 0, 'batch files in the spill directory');
  // after the checkpoint: journaled only
  for (let b = 0; b < 5; b++)
    await send(
      p.base,
      Array.from({ length: 40 }, (_, i) => row(2000 + b * 40 + i, 0)).concat([row(b * 7, 99)]),
    );
  await until(
    () => tot(p.base),
    (t) => t === want(),
    'views after more input',
  );
  await kill9(p);

  p = await startPipeline(cfg);
  await until(
    () => tot(p.base),
    (t) => t === want(),
    'views after kill -9 and restart',
  );
  assert.ok(readdirSync(spillDir).length > 0, 'the restart opened batch files from the checkpoint');
  const agg = await query(p.base, 'SELECT k, c, s FROM agg ORDER BY k');
  const byK = new Map<number, { c: number; s: number }>();
  for (const r of model.values()) {
    const g = byK.get(r.k) ?? { c: 0, s: 0 };
    g.c++;
    g.s += r.v;
    byK.set(r.k, g);
  }
  const got = agg
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { k: number; c: number; s: number });
  assert.deepEqual(
    got.sort((a, b) => a.k - b.k),
    [...byK].sort((a, b) => a[0] - b[0]).map(([k, g]) => ({ k, c: g.c, s: g.s })),
  );
  // more changes, a checkpoint, a graceful restart
  await send(
    p.base,
    Array.from({ length: 25 }, (_, i) => row(i * 3, 500)),
  );
  await until(
    () => tot(p.base),
    (t) => t === want(),
    'views after more updates',
  );
  await checkpoint(p.base);
  await kill9(p);
  p = await startPipeline(cfg);
  await until(
    () => tot(p.base),
    (t) => t === want(),
    'views after the second restart',
  );
  await kill9(p);
});

test('spilled state syncs: batch files pushed to a bucket restore a new pipeline on another storage directory', {
  timeout: 120_000,
}, async () => {
  const bucketRoot = pipelineConfig('holdfast-spill-bucket-', {}).dir;
  const storage = (extra: Record<string, unknown>) => ({
    min_storage_bytes: 0,
    backend: { name: 'file', config: { sync: { bucket: 'b', endpoint: `file://${bucketRoot}`, ...extra } } },
  });
  const a = pipelineConfig('holdfast-spill-sync-a-', {
    program_code: PROGRAM,
    storage: storage({}),
    fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
  });
  const rows = Array.from({ length: 3000 }, (_, i) => row(i, 0));
  let c = 0;
  let s = 0;
  for (const r of rows) {
    c++;
    s += r.v;
  }
  const want = JSON.stringify({ c, s });
  const tot = async (base: string): Promise<string> => {
    const t = await query(base, 'SELECT c, s FROM tot');
    return t === '' ? '{}' : JSON.stringify(JSON.parse(t));
  };
  const p = await startPipeline(a.cfg);
  for (let b = 0; b < rows.length; b += 500) await ingestRows(p.base, 't', rows.slice(b, b + 500));
  await until(
    () => tot(p.base),
    (t) => t === want,
    'views on the primary',
  );
  await checkpoint(p.base);
  const pushed = await syncAndWait(p.base);
  assert.ok(pushed.ok, JSON.stringify(pushed));
  assert.ok(readdirSync(join(a.dir, 'storage', 'spill')).length > 0, 'the primary spilled');
  const inBucket = readdirSync(join(bucketRoot, 'b', 'files'));
  assert.ok(
    inBucket.some((f) => readFileSync(join(bucketRoot, 'b', 'files', f))[4] === 7),
    'the bucket holds batch files (segment format v7)',
  );
  await kill9(p);

  const b = pipelineConfig('holdfast-spill-sync-b-', {
    program_code: PROGRAM,
    storage: storage({ start_from_checkpoint: 'latest', fail_if_no_checkpoint: true }),
    fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
  });
  const q = await startPipeline(b.cfg);
  await until(
    () => tot(q.base),
    (t) => t === want,
    'views on the pipeline started from the bucket',
  );
  assert.ok(readdirSync(join(b.dir, 'storage', 'spill')).length > 0, 'it opened the pulled batch files');
  await kill9(q);
});
