/**
 * The TypeScript SDK against a real `holdfast server` and real pipeline processes: create, start, inputJson
 * (waiting on the completion token), listen, query, stats, pause/resume, stop, delete, and ApiError codes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { HoldfastClient, isApiError, Pipeline } from '../../src/client/index.ts';
import { startManager } from '../kit/index.ts';

test('a pipeline driven end to end through the SDK', { timeout: 60_000 }, async () => {
  const { base: url } = await startManager(mkdtempSync(join(tmpdir(), 'holdfast-sdk-')), [
    '--api-key',
    'k3y',
  ]);
  const client = new HoldfastClient({ url, apiKey: 'k3y' });
  assert.equal((await client.getConfig()).edition, 'Enterprise');

  await assert.rejects(
    Pipeline.create(client, { name: 'bad', sql: 'CREATE VIEW v AS SELECT * FROM missing;' }),
    (e: unknown) => e instanceof Error && /missing/.test(e.message),
  );
  const p = await Pipeline.create(client, {
    name: 'sales',
    sql: `CREATE TABLE sales (id INT NOT NULL PRIMARY KEY, region VARCHAR, amount DECIMAL(10,2));
          CREATE MATERIALIZED VIEW by_region AS SELECT region, SUM(amount) AS total FROM sales GROUP BY region;`,
  });
  await p.start({ wait: true, timeoutMs: 20_000 });
  assert.equal(await p.status(), 'Running');

  const changes = p.listen('by_region');
  await changes.ready;
  await p.inputJson(
    'sales',
    [
      { id: 1, region: 'north', amount: 10 },
      { id: 2, region: 'north', amount: 5.5 },
      { id: 3, region: 'south', amount: 1 },
    ],
    { wait: true },
  );
  const seen: unknown[] = [];
  for await (const c of changes) {
    seen.push(c);
    if (seen.length === 2) break;
  }
  assert.deepEqual(seen.map((c) => JSON.stringify(c)).sort(), [
    '{"insert":{"region":"north","total":15.5}}',
    '{"insert":{"region":"south","total":1}}',
  ]);

  const rows: unknown[] = [];
  for await (const r of p.query('SELECT region, total FROM by_region ORDER BY region')) rows.push(r);
  assert.deepEqual(rows, [
    { region: 'north', total: 15.5 },
    { region: 'south', total: 1 },
  ]);
  const stats = await p.stats();
  assert.equal(stats.global_metrics.total_processed_records, 3);

  const seq = await p.checkpoint({ wait: true, timeoutMs: 20_000 });
  assert.deepEqual(await p.checkpointStatus(seq), { status: 'Success' });
  assert.ok((await p.checkpoints()).length >= 1);

  await p.pause({ wait: true });
  assert.equal(await p.status(), 'Paused');
  await p.resume({ wait: true });

  await assert.rejects(
    client.ingress('sales', 'nope', '{}', { format: 'json' }),
    (e: unknown) => isApiError(e, 'ConfigError.UnknownInputStream') && e.status === 404,
  );
  await assert.rejects(client.getPipeline('ghost'), (e: unknown) => isApiError(e, 'UnknownPipelineName'));
  await assert.rejects(
    new HoldfastClient({ url }).listPipelines(),
    (e: unknown) => isApiError(e, 'AuthenticationFailed') && e.status === 401,
  );

  await p.stop({ force: true, wait: true, timeoutMs: 20_000 });
  assert.equal(await p.status(), 'Stopped');
  await p.delete({ clearStorage: true });
  assert.equal(await p.status(), 'NotFound');
});
