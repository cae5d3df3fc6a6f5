/**
 * `delta_table_input` against a real S3 server (s3rver, signatures checked): a Delta table written under a
 * bucket prefix is read through `s3://bucket/prefix` with Delta's storage option names (`aws_endpoint`,
 * `aws_allow_http`, keys, region) in `snapshot_and_follow` mode, a commit written while it runs included; bad
 * credentials and a missing table fail the connector with the store's / Holdfast's error. The same table on
 * Azure Blob Storage (Azurite, shared key checked) through `az://container/prefix`.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { parquetWriteBuffer, type SchemaElement } from 'hyparquet-writer';
import { parseConnectorSpec } from '../../src/connectors/transports/config.ts';
import { startDeltaInput } from '../../src/connectors/transports/delta-input.ts';
import { compileProgram } from '../../src/sql/program.ts';
import type { TableSchema } from '../../src/sql/schema.ts';
import { AzureStore } from '../../src/sync/azure-store.ts';
import { S3Store } from '../../src/sync/s3-store.ts';
import { startAzurite } from '../helpers/azurite.ts';
import { startS3rver } from '../helpers/s3rver.ts';
import { FakeHost, until } from '../unit/connectors/transports/support.ts';

const program = await compileProgram('CREATE TABLE t (id INT NOT NULL, name VARCHAR, day VARCHAR);');
const table = program.table('t') as TableSchema;
const s3 = await startS3rver(undefined, { buckets: ['lake'] });
after(() => s3.stop());
const store = new S3Store({
  bucket: 'lake/warehouse/events',
  endpoint: s3.endpoint,
  accessKey: s3.accessKey,
  secretKey: s3.secretKey,
});
after(() => store.close());

function parquet(rows: Array<[number, string]>): Uint8Array {
  return new Uint8Array(
    parquetWriteBuffer({
      schema: [
        { name: 'root', num_children: 2 },
        { name: 'id', type: 'INT32', repetition_type: 'REQUIRED' },
        { name: 'name', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      ] as SchemaElement[],
      columnData: [
        { name: 'id', data: rows.map((r) => r[0]) },
        { name: 'name', data: rows.map((r) => r[1]) },
      ],
    }),
  );
}

async function addFile(path: string, day: string, rows: Array<[number, string]>) {
  const bytes = parquet(rows);
  await store.put(decodeURIComponent(path), bytes);
  return {
    add: { path, size: bytes.length, partitionValues: { day }, modificationTime: 0, dataChange: true },
  };
}

async function commit(v: number, actions: unknown[]) {
  await store.put(
    `_delta_log/${String(v).padStart(20, '0')}.json`,
    `${actions.map((a) => JSON.stringify(a)).join('\n')}\n`,
  );
}

const schemaString = JSON.stringify({
  type: 'struct',
  fields: [
    { name: 'id', type: 'integer', nullable: false, metadata: {} },
    { name: 'name', type: 'string', nullable: true, metadata: {} },
    { name: 'day', type: 'string', nullable: true, metadata: {} },
  ],
});

function connector(config: Record<string, unknown>) {
  const spec = parseConnectorSpec(
    { name: 'lake', transport: { name: 'delta_table_input', config } },
    0,
    't',
    'table',
  );
  const host = new FakeHost();
  const c = startDeltaInput(
    { relation: 't', relationKind: 'table', connector: 'lake', transport: 'delta_table_input' },
    spec,
    table,
    host,
    () => {},
    { baseDir: process.cwd() },
  );
  return { c, host };
}

const creds = () => ({
  aws_endpoint: s3.endpoint,
  aws_allow_http: 'true',
  aws_region: s3.region,
  AWS_ACCESS_KEY_ID: s3.accessKey, // Delta's option names in any case
  aws_secret_access_key: s3.secretKey,
});

test('s3:// table under a prefix: snapshot_and_follow with a commit written while it runs', async () => {
  await commit(0, [
    { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
    {
      metaData: {
        id: 'e',
        format: { provider: 'parquet', options: {} },
        schemaString,
        partitionColumns: ['day'],
        configuration: {},
      },
    },
    await addFile('day=2024-05-01/a.parquet', '2024-05-01', [
      [1, 'a'],
      [2, 'b'],
    ]),
  ]);
  await commit(1, [await addFile('day=2024-05-02/b%20c.parquet', '2024-05-02', [[3, 'c']])]);
  const { c, host } = connector({
    uri: 's3://lake/warehouse/events',
    mode: 'snapshot_and_follow',
    poll_interval_ms: 20,
    ...creds(),
  });
  await until(() => host.rows().length === 3, 'the snapshot');
  await commit(2, [{ remove: { path: 'day=2024-05-01/a.parquet', dataChange: true } }]);
  await until(() => host.rows().length === 5, 'commit 2');
  const changes = host.pushes.flatMap((p) => p.changes.map((ch) => [...ch.row, ch.weight]));
  assert.deepEqual(changes, [
    [1, 'a', '2024-05-01', 1],
    [2, 'b', '2024-05-01', 1],
    [3, 'c', '2024-05-02', 1],
    [1, 'a', '2024-05-01', -1],
    [2, 'b', '2024-05-01', -1],
  ]);
  assert.deepEqual(c.position(), { version: 2, file: 1, row: 0 });
  await c.stop();
});

test('s3://: bad credentials and a missing table fail the connector', async () => {
  const bad = connector({
    uri: 's3://lake/warehouse/events',
    mode: 'snapshot',
    ...creds(),
    aws_secret_access_key: 'wrong-secret',
    max_retries: 0,
  });
  await bad.c.settled;
  assert.equal(bad.c.status().state, 'failed');
  assert.doesNotMatch(bad.c.status().error ?? '', /wrong-secret/);
  assert.match(bad.c.status().error ?? '', /SignatureDoesNotMatch/);
  const missing = connector({ uri: 's3://lake/warehouse/nothing', mode: 'snapshot', ...creds() });
  await missing.c.settled;
  assert.equal(missing.c.status().state, 'failed');
  assert.match(missing.c.status().error ?? '', /no Delta table here/);
  await bad.c.stop();
  await missing.c.stop();
});

test('az://container/prefix on Azurite with azure_storage_account_name/key and an emulator endpoint', async (t) => {
  const az = await startAzurite(t, { containers: ['tables'] });
  const blob = new AzureStore({
    bucket: 'tables/sales',
    endpoint: az.endpoint,
    accountName: az.account,
    accountKey: az.key,
  });
  const bytes = parquet([
    [7, 'x'],
    [8, 'y'],
  ]);
  await blob.put('day=2024-06-01/part-0.parquet', bytes);
  await blob.put(
    `_delta_log/${'0'.padStart(20, '0')}.json`,
    [
      { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
      {
        metaData: {
          id: 's',
          format: { provider: 'parquet', options: {} },
          schemaString,
          partitionColumns: ['day'],
          configuration: {},
        },
      },
      {
        add: {
          path: 'day=2024-06-01/part-0.parquet',
          size: bytes.length,
          partitionValues: { day: '2024-06-01' },
          modificationTime: 0,
          dataChange: true,
        },
      },
    ]
      .map((a) => JSON.stringify(a))
      .join('\n'),
  );
  await blob.close();
  const { c, host } = connector({
    uri: 'az://tables/sales',
    mode: 'snapshot',
    azure_storage_account_name: az.account,
    azure_storage_account_key: az.key,
    azure_storage_endpoint: az.endpoint,
  });
  await c.settled;
  assert.equal(c.status().state, 'end_of_input', String(c.status().error));
  assert.deepEqual(host.rows(), [
    [7, 'x', '2024-06-01'],
    [8, 'y', '2024-06-01'],
  ]);
  await c.stop();
});
