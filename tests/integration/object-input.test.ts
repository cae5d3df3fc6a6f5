/**
 * Object-store inputs (`s3_input`, `object_store_input`) against real servers: s3rver (S3, signatures checked),
 * Azurite (Azure Blob, shared key checked) and a local directory; a fault proxy in front of s3rver for cut-off
 * bodies; and a pipeline process killed with SIGKILL under exactly_once, resumed from its checkpointed
 * position with nothing skipped and nothing repeated.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type ConnectorContext, parseConnectorSpec } from '../../src/connectors/transports/config.ts';
import { startObjectInput } from '../../src/connectors/transports/object-input.ts';
import type { InputPosition } from '../../src/connectors/transports/types.ts';
import { isServiceError } from '../../src/errors/service-error.ts';
import { compileProgram } from '../../src/sql/program.ts';
import type { TableSchema } from '../../src/sql/schema.ts';
import { AzureStore } from '../../src/sync/azure-store.ts';
import { S3Store } from '../../src/sync/s3-store.ts';
import { checkpoint, kill9, query, startPipeline, until } from '../ft/support.ts';
import { startAzurite } from '../helpers/azurite.ts';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { startS3rver } from '../helpers/s3rver.ts';
import { FakeHost } from '../unit/connectors/transports/support.ts';

const program = await compileProgram('CREATE TABLE t (id INT NOT NULL, name VARCHAR);');
const table = program.table('t') as TableSchema;
const tmp = mkdtempSync(join(tmpdir(), 'holdfast-objin-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const s3 = await startS3rver(undefined, { buckets: ['input'] });
after(() => s3.stop());

const JSON_RAW = { name: 'json', config: { update_format: 'raw' } };

function spec(
  transport: string,
  config: Record<string, unknown>,
  format: Record<string, unknown> = JSON_RAW,
) {
  const s = parseConnectorSpec(
    { name: 'src', transport: { name: transport, config }, format },
    0,
    't',
    'table',
  );
  const ctx: ConnectorContext = { relation: 't', relationKind: 'table', connector: 'src', transport };
  return { spec: s, ctx };
}

function s3Config(extra: Record<string, unknown>, endpoint = s3.endpoint): Record<string, unknown> {
  return {
    bucket_name: 'input',
    region: 'us-east-1',
    endpoint_url: endpoint,
    aws_access_key_id: s3.accessKey,
    aws_secret_access_key: s3.secretKey,
    ...extra,
  };
}

const s3Store = (prefix = '') =>
  new S3Store({
    bucket: prefix === '' ? 'input' : `input/${prefix}`,
    endpoint: s3.endpoint,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
  });

const lines = (from: number, to: number) => {
  let out = '';
  for (let i = from; i < to; i++) out += `{"id": ${i}, "name": "n${i}"}\n`;
  return out;
};

async function run(
  transport: string,
  config: Record<string, unknown>,
  options: { format?: Record<string, unknown>; position?: InputPosition | null } = {},
) {
  const host = new FakeHost();
  const { spec: s, ctx } = spec(transport, config, options.format);
  const c = await startObjectInput(ctx, s, table, host, () => {}, {
    baseDir: tmp,
    position: options.position ?? null,
  });
  return { host, c };
}

test('s3_input reads every object under the prefix in key order, then ends with the last position', async () => {
  const store = s3Store();
  // written out of order; one object outside the prefix
  await store.put('batch/b.json', lines(3, 6));
  await store.put('batch/a.json', lines(0, 3));
  await store.put('batch/c.json', lines(6, 8));
  await store.put('other/x.json', lines(100, 101));
  const { host, c } = await run('s3_input', s3Config({ prefix: 'batch/' }));
  await c.settled;
  assert.equal(c.status().state, 'end_of_input', String(c.status().error));
  assert.deepEqual(
    host.rows().map((r) => r[0]),
    [0, 1, 2, 3, 4, 5, 6, 7],
  );
  const pos = c.position() as { key: string; offset: number };
  assert.equal(pos.key, 'batch/c.json');
  assert.equal(pos.offset, Buffer.byteLength(lines(6, 8)));
  await c.stop();
  await store.close();
});

test('s3_input with key reads one object; a resume position skips what was read, mid-object included', async () => {
  const store = s3Store();
  await store.put('resume/a.json', lines(0, 2));
  await store.put('resume/b.json', lines(2, 6));
  await store.put('resume/c.json', lines(6, 7));
  const one = await run('s3_input', s3Config({ key: 'resume/b.json' }));
  await one.c.settled;
  assert.deepEqual(
    one.host.rows().map((r) => r[0]),
    [2, 3, 4, 5],
  );
  await one.c.stop();
  // b.json read up to the end of its second record
  const offset = Buffer.byteLength(lines(2, 4));
  const resumed = await run('s3_input', s3Config({ prefix: 'resume/' }), {
    position: { key: 'resume/b.json', offset },
  });
  await resumed.c.settled;
  assert.deepEqual(
    resumed.host.rows().map((r) => r[0]),
    [4, 5, 6],
  );
  await resumed.c.stop();
  await store.close();
});

test('s3_input with no_sign_request reads a public bucket without credentials', async () => {
  const store = s3Store();
  await store.put('public/a.json', lines(0, 3));
  const { aws_access_key_id: _a, aws_secret_access_key: _s, ...anon } = s3Config({ key: 'public/a.json' });
  const { host, c } = await run('s3_input', { ...anon, no_sign_request: true });
  await c.settled;
  assert.equal(c.status().state, 'end_of_input', String(c.status().error));
  assert.deepEqual(
    host.rows().map((r) => r[0]),
    [0, 1, 2],
  );
  await c.stop();
  await store.close();
});

test('object_store_input reads CSV objects (a header in each) from Azure Blob Storage (Azurite)', async (t) => {
  const az = await startAzurite(t, { containers: ['feed'] });
  const store = new AzureStore({
    bucket: 'feed',
    endpoint: az.endpoint,
    accountName: az.account,
    accountKey: az.key,
  });
  await store.put('in/2.csv', 'id,name\n3,c\n');
  await store.put('in/1.csv', 'id,name\n1,a\n2,"b,\nb"\n');
  const { host, c } = await run(
    'object_store_input',
    {
      provider: 'AzureBlob',
      bucket: 'feed',
      endpoint: az.endpoint,
      access_key: az.account,
      secret_key: az.key,
      prefix: 'in/',
    },
    { format: { name: 'csv', config: { headers: true } } },
  );
  await c.settled;
  assert.equal(c.status().state, 'end_of_input', String(c.status().error));
  assert.deepEqual(host.rows(), [
    [1, 'a'],
    [2, 'b,\nb'],
    [3, 'c'],
  ]);
  await c.stop();
  await store.close();
});

test('object_store_input with provider Local follows a directory for new objects with larger keys', async () => {
  const dir = join(tmp, 'drop');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '0001.json'), lines(0, 2));
  const { host, c } = await run('object_store_input', {
    provider: 'Local',
    bucket: dir,
    prefix: '',
    follow: true,
    poll_interval_ms: 20,
  });
  const until2 = async (n: number) => {
    const t0 = Date.now();
    while (host.rows().length < n) {
      if (Date.now() - t0 > 10_000) assert.fail(`waited for ${n} rows, have ${host.rows().length}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await until2(2);
  writeFileSync(join(dir, '0002.json'), lines(2, 5));
  await until2(5);
  assert.deepEqual(
    host.rows().map((r) => r[0]),
    [0, 1, 2, 3, 4],
  );
  assert.equal(c.status().state, 'running');
  await c.stop();
  assert.equal(c.status().state, 'stopped');
});

test('a body cut off in transit is read again from the byte reached: no record lost or repeated', async (t) => {
  const proxy = await startFaultProxy(s3.endpoint, t);
  const store = s3Store();
  const body = lines(0, 2000); // ~50 KB
  await store.put('cut/big.json', body);
  proxy.inject({ kinds: ['get', 'range'], key: 'cut/', fault: { type: 'truncate', keep: 10_000 }, times: 2 });
  const { host, c } = await run('s3_input', s3Config({ key: 'cut/big.json' }, proxy.endpoint));
  await c.settled;
  assert.equal(c.status().state, 'end_of_input', String(c.status().error));
  assert.equal(proxy.counts().injected.truncate, 2);
  const ids = host.rows().map((r) => r[0]);
  assert.equal(ids.length, 2000);
  assert.deepEqual(
    ids,
    Array.from({ length: 2000 }, (_, i) => i),
  );
  await c.stop();
  await store.close();
});

test('max_concurrent_fetches: N objects are fetched at once behind a slow store, records still in key order', async (t) => {
  const proxy = await startFaultProxy(s3.endpoint, t);
  const store = s3Store();
  const N_OBJECTS = 16;
  const PER = 100;
  for (let i = 0; i < N_OBJECTS; i++)
    await store.put(`par/${String(i).padStart(3, '0')}.json`, lines(i * PER, (i + 1) * PER));
  // every object GET waits 250 ms before it reaches the store (listings are not delayed)
  proxy.inject({ kinds: ['get', 'range'], key: 'par/', fault: { type: 'delay', ms: 250 } });
  const timed = async (n: number) => {
    proxy.resetPeak();
    const t0 = performance.now();
    const { host, c } = await run(
      's3_input',
      s3Config({ prefix: 'par/', max_concurrent_fetches: n }, proxy.endpoint),
    );
    await c.settled;
    const ms = performance.now() - t0;
    assert.equal(c.status().state, 'end_of_input', String(c.status().error));
    assert.deepEqual(
      host.rows().map((r) => r[0]),
      Array.from({ length: N_OBJECTS * PER }, (_, i) => i),
      `max_concurrent_fetches ${n}: every record once, in key order`,
    );
    const pos = c.position() as { key: string; offset: number };
    assert.equal(pos.key, `par/${String(N_OBJECTS - 1).padStart(3, '0')}.json`);
    await c.stop();
    return { ms, peak: proxy.counts().peakInFlight };
  };
  const one = await timed(1);
  const eight = await timed(8);
  process.stderr.write(
    `max_concurrent_fetches 1: ${one.ms.toFixed(0)} ms, peak ${one.peak} in flight; 8: ${eight.ms.toFixed(0)} ms, peak ${eight.peak}\n`,
  );
  assert.equal(one.peak, 1, 'one object at a time with max_concurrent_fetches 1');
  assert.equal(eight.peak, 8, 'eight objects in flight with max_concurrent_fetches 8');
  assert.ok(one.ms >= N_OBJECTS * 250, `sequential reads wait for every delay (${one.ms} ms)`);
  assert.ok(eight.ms < one.ms / 3, `8 in flight: ${eight.ms} ms vs ${one.ms} ms for 1`);
  await store.close();
});

test('resuming in an object that was replaced since fails with ObjectInputChanged', async () => {
  const store = s3Store();
  await store.put('swap/a.json', lines(0, 4));
  const first = await run('s3_input', s3Config({ key: 'swap/a.json' }));
  await first.c.settled;
  const pos = first.c.position() as { key: string; offset: number; etag: string };
  await first.c.stop();
  assert.equal(typeof pos.etag, 'string');
  await store.put('swap/a.json', lines(10, 20));
  const again = await run('s3_input', s3Config({ key: 'swap/a.json' }), {
    position: { ...pos, offset: Buffer.byteLength(lines(0, 2)) },
  });
  await again.c.settled;
  assert.equal(again.c.status().state, 'failed');
  assert.match(String(again.c.status().error), /was replaced since the checkpoint/);
  assert.equal(again.host.rows().length, 0);
  await again.c.stop();
  await store.close();
});

test('configuration errors name the connector and the field', async () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [s3Config({}), /exactly one of 'key'/],
    [s3Config({ key: 'a', prefix: 'b' }), /exactly one of 'key'/],
    [{ ...s3Config({ key: 'a' }), bucket_name: undefined }, /'bucket_name'/],
    [{ ...s3Config({ key: 'a' }), region: undefined }, /'region' is required/],
    [{ ...s3Config({ key: 'a' }), aws_secret_access_key: undefined }, /no_sign_request/],
    [s3Config({ key: 'a', endpoint_url: 'ftp://x' }), /http:\/\/ or https:\/\//],
  ];
  for (const [config, re] of cases) {
    await assert.rejects(
      run('s3_input', config),
      (e: unknown) =>
        isServiceError(e) &&
        re.test(e.message) &&
        /connector 'src' \(s3_input\) of table 't'/.test(e.message),
      JSON.stringify(config),
    );
  }
  await assert.rejects(
    run('object_store_input', { provider: 'Nope', bucket: 'b', key: 'k' }),
    (e: unknown) => isServiceError(e, 'InvalidObjectStoreConfig') && /unknown provider/.test(e.message),
  );
});

test('exactly_once: a pipeline reading objects (4 fetched at once, behind a slow store) is killed with SIGKILL and resumes without skipping or repeating', async (t) => {
  // the store answers every object GET 200 ms late: the kill comes while several objects are being read ahead
  const proxy = await startFaultProxy(s3.endpoint, t);
  proxy.inject({ kinds: ['get', 'range'], key: 'ft/', fault: { type: 'delay', ms: 200 } });
  const store = s3Store('ft');
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-objin-ft-'));
  try {
    for (let i = 0; i < 8; i++) await store.put(`part-0${i}.json`, lines(i * 250, (i + 1) * 250));
    const connector = {
      transport: {
        name: 's3_input',
        config: {
          ...s3Config(
            { prefix: 'ft/', follow: true, poll_interval_ms: 1000, max_concurrent_fetches: 4 },
            proxy.endpoint,
          ),
        },
      },
      format: JSON_RAW,
      max_batch_size: 100,
    };
    const cfg = join(dir, 'config.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        program_code: `CREATE TABLE t (id INT NOT NULL, name VARCHAR) WITH ('connectors' = '${JSON.stringify([connector])}');
CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n, SUM(id) AS sid, COUNT(DISTINCT id) AS d FROM t;`,
        storage: {},
        fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
      }),
    );
    const expect = (n: number) => `{"n":${n},"sid":${(n * (n - 1)) / 2},"d":${n}}`;
    let p = await startPipeline(cfg);
    await until(
      () => query(p.base, 'SELECT n, sid, d FROM s'),
      (v) => v === expect(2000),
      'first objects',
    );
    await checkpoint(p.base);
    // more objects after the checkpoint (written within one poll interval, so one listing sees several): the
    // process dies while reading them, with the next ones being fetched
    proxy.resetPeak();
    for (let i = 8; i < 24; i++)
      await store.put(`part-${String(i).padStart(2, '0')}.json`, lines(i * 250, (i + 1) * 250));
    await until(
      () => query(p.base, 'SELECT n FROM s'),
      (v) => Number(JSON.parse(v || '{"n":0}').n) > 2000,
      'reading the new objects',
    );
    // a checkpoint while objects are being read ahead: its position must be the last record fed, not fetched
    await checkpoint(p.base);
    await kill9(p);
    assert.ok(proxy.counts().peakInFlight > 1, 'several objects were being fetched at once');
    p = await startPipeline(cfg);
    await until(
      () => query(p.base, 'SELECT n, sid, d FROM s'),
      (v) => v === expect(6000),
      'all objects exactly once after the restart',
    );
    await kill9(p);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await store.close();
  }
});
