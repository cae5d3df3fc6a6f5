/**
 * Checkpoints in a real pipeline process: state and input positions survive `kill -9` (restart from the newest
 * checkpoint: nothing lost from before it, nothing read twice from a file input), corruption of the newest
 * checkpoint falls back to the previous one, and a changed program that cannot be bootstrapped is refused clearly.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkpoint, kill9, MAIN, query, startPipeline, untilEqual } from '../../ft/support.ts';

test('state and file positions survive kill -9 via checkpoints', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-ckpt-'));
  const input = join(dir, 'in.csv');
  writeFileSync(input, '1\n2\n3\n');
  const sql = `CREATE TABLE f (x INT) WITH ('connectors' = '[{"name": "file", "transport": {"name": "file_input", "config": {"path": "${input}", "follow": true}}, "format": {"name": "csv"}}]');
CREATE TABLE h (id INT NOT NULL PRIMARY KEY, v DECIMAL(10,2));
CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n, SUM(x) AS sx FROM f;
CREATE MATERIALIZED VIEW hv AS SELECT SUM(v) AS sv, COUNT(*) AS c FROM h;`;
  const cfg = join(dir, 'config.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      program_code: sql,
      storage: {},
      fault_tolerance: { model: 'at_least_once', checkpoint_interval_secs: null },
    }),
  );

  let { base, child } = await startPipeline(cfg);
  await untilEqual(() => query(base, 'SELECT n, sx FROM s'), '{"n":3,"sx":6}');
  await fetch(`${base}/ingress/h?format=json`, {
    method: 'POST',
    body: '{"insert": {"id": 1, "v": "1.25"}}\n{"insert": {"id": 2, "v": 2}}',
  });
  await untilEqual(() => query(base, 'SELECT sv, c FROM hv'), '{"sv":3.25,"c":2}');
  await checkpoint(base);
  appendFileSync(input, '10\n');
  await untilEqual(() => query(base, 'SELECT n, sx FROM s'), '{"n":4,"sx":16}');
  await checkpoint(base); // an incremental checkpoint on top
  await kill9(child);

  ({ base, child } = await startPipeline(cfg));
  // restored: nothing lost, and the file is not read again from the start
  assert.equal(await query(base, 'SELECT n, sx FROM s'), '{"n":4,"sx":16}');
  assert.equal(await query(base, 'SELECT sv, c FROM hv'), '{"sv":3.25,"c":2}');
  appendFileSync(input, '100\n');
  await untilEqual(() => query(base, 'SELECT n, sx FROM s'), '{"n":5,"sx":116}');
  const list = (await (await fetch(`${base}/checkpoints`)).json()) as Array<{
    uuid: string;
    processed_records: number;
  }>;
  assert.ok(list.length >= 1);
  await kill9(child);

  // corrupt the newest checkpoint's manifest: recovery skips it, falls back to the previous intact one, and
  // the file input resumes from that checkpoint's position (re-reading 10 and 100, nothing else)
  const manifests = readdirSync(join(dir, 'storage/checkpoint-store/checkpoints')).sort();
  writeFileSync(join(dir, 'storage/checkpoint-store/checkpoints', manifests.at(-1) as string), '{"truncat');
  const third = await startPipeline(cfg);
  ({ base, child } = third);
  const log = third.log;
  assert.equal(await query(base, 'SELECT sv, c FROM hv'), '{"sv":3.25,"c":2}');
  await untilEqual(() => query(base, 'SELECT n, sx FROM s'), '{"n":5,"sx":116}');
  const older = (manifests.at(-2) as string).replace('.json', '');
  assert.ok(
    log.some((l) => l.includes('skipping checkpoint that is not intact')),
    log.join('\n'),
  );
  assert.ok(
    log.some((l) => l.includes(`resuming from checkpoint ${older}`)),
    log.join('\n'),
  );
  await kill9(child);

  // a changed program that cannot be bootstrapped (a new view over the non-materialized table f) is refused
  // clearly (see pipeline-bootstrap.test.ts for bootstrapping)
  writeFileSync(
    cfg,
    JSON.stringify({ program_code: `${sql}\nCREATE VIEW extra AS SELECT x FROM f;`, storage: {} }),
  );
  const r = spawnSync(process.execPath, [MAIN, 'pipeline', 'run', '--config', cfg], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /error \[BootstrapNotAllowed\]: .*not materialized.*'f'/s);
});
