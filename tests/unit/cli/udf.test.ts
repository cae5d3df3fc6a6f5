/** `holdfast pipeline create|update NAME ... --udf FILE.ts` against a stub server over real HTTP: udf_ts is sent. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../kit/cli.ts';
import { FakeServer, pipelineDescr } from '../client/fake-server.ts';

const server = FakeServer.forFile();
const dir = mkdtempSync(join(tmpdir(), 'holdfast-cli-udf-'));
const SQL = 'CREATE FUNCTION f(x INT) RETURNS INT;';
const UDF = 'export const f = (x: number | null) => x;';
writeFileSync(join(dir, 'p.sql'), SQL);
writeFileSync(join(dir, 'udf.ts'), UDF);

test('create --udf sends the file as udf_ts; update --udf patches it', async () => {
  server
    .on('POST', '/v0/pipelines', { status: 201, json: pipelineDescr('p') })
    .on('GET', '/v0/pipelines/p', { json: pipelineDescr('p') })
    .on('PATCH', '/v0/pipelines/p', { json: pipelineDescr('p') });
  const created = await runCli(server.url, [
    'create',
    'p',
    '--sql',
    join(dir, 'p.sql'),
    '--udf',
    join(dir, 'udf.ts'),
  ]);
  assert.equal(created.code, 0, created.err.join('\n'));
  const body = JSON.parse(server.calls('/v0/pipelines', 'POST')[0]?.body ?? '{}');
  assert.equal(body.program_code, SQL);
  assert.equal(body.udf_ts, UDF);
  const updated = await runCli(server.url, ['update', 'p', '--udf', join(dir, 'udf.ts')]);
  assert.equal(updated.code, 0, updated.err.join('\n'));
  assert.deepEqual(JSON.parse(server.calls('/v0/pipelines/p', 'PATCH')[0]?.body ?? '{}'), { udf_ts: UDF });
});
