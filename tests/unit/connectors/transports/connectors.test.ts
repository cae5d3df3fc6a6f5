import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { declaredConnectors, startConnectors } from '../../../../src/connectors/connectors.ts';
import { Controller } from '../../../../src/controller/controller.ts';
import { isServiceError } from '../../../../src/errors/service-error.ts';
import { compileProgram } from '../../../../src/sql/program.ts';
import { recordingLog, tempDir, until } from './support.ts';

const tmp = tempDir();
after(tmp.cleanup);

/** `WITH ('connectors' = '...')` for a list of connector objects. */
const withConnectors = (list: unknown[]) =>
  `WITH ('connectors' = '${JSON.stringify(list).replace(/'/g, "''")}')`;

function fileIn(name: string, path: string, format: unknown, extra: Record<string, unknown> = {}) {
  return { name, transport: { name: 'file_input', config: { path, ...extra } }, format };
}

function fileOut(name: string, path: string, format: unknown) {
  return { name, transport: { name: 'file_output', config: { path } }, format };
}

/** Applies JSON insert/delete lines to a multiset of row texts. */
function replayJson(text: string): string[] {
  const m = new Map<string, number>();
  for (const line of text.split('\n').filter((l) => l !== '')) {
    const ev = JSON.parse(line) as { insert?: unknown; delete?: unknown };
    const key = JSON.stringify(ev.insert ?? ev.delete);
    m.set(key, (m.get(key) ?? 0) + (ev.insert !== undefined ? 1 : -1));
  }
  return [...m]
    .filter(([, n]) => n !== 0)
    .flatMap(([k, n]) => Array(n).fill(k))
    .sort();
}

test('end to end: file and datagen inputs → views → JSON and CSV file outputs', async () => {
  const orders = join(tmp.dir, 'orders.json');
  writeFileSync(
    orders,
    [
      '{"id": 1, "cust": 1, "amount": 10}',
      '{"id": 2, "cust": 2, "amount": 5}',
      '{"id": 3, "cust": 1, "amount": 7}',
    ].join('\n'),
  );
  const totalsJson = join(tmp.dir, 'totals.json');
  const bigCsv = join(tmp.dir, 'big.csv');
  const program = await compileProgram(`
    CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, cust INT, amount INT)
      ${withConnectors([fileIn('file', orders, { name: 'json', config: { update_format: 'raw' } })])};
    CREATE TABLE customers (cid INT NOT NULL, name VARCHAR)
      ${withConnectors([
        {
          name: 'gen',
          transport: {
            name: 'datagen',
            config: {
              seed: 5,
              plan: [
                { limit: 3, fields: { cid: { range: [1, 4] }, name: { values: ['ann', 'bob', 'cy'] } } },
              ],
            },
          },
        },
      ])};
    CREATE MATERIALIZED VIEW totals ${withConnectors([fileOut('json', totalsJson, { name: 'json' })])} AS
      SELECT c.name, SUM(o.amount) AS total FROM orders o JOIN customers c ON o.cust = c.cid GROUP BY c.name;
    CREATE VIEW big ${withConnectors([fileOut('csv', bigCsv, { name: 'csv' })])} AS
      SELECT id, amount FROM orders WHERE amount > 6;`);
  const controller = new Controller(program);
  const handle = await startConnectors(controller, program);
  await handle.settled();
  await controller.idle();
  assert.equal(controller.complete, true, 'every input reported end of input');
  await handle.stop();
  const expected = (await controller.query('SELECT name, total FROM totals')).rows;
  assert.deepEqual(expected.map((r) => [r[0], Number(r[1])]).sort(), [
    ['ann', 17],
    ['bob', 5],
  ]);
  assert.deepEqual(replayJson(readFileSync(totalsJson, 'utf8')), [
    '{"name":"ann","total":17}',
    '{"name":"bob","total":5}',
  ]);
  assert.deepEqual(readFileSync(bigCsv, 'utf8').split('\n').filter(Boolean).sort(), ['1,10,1', '3,7,1']);
  const status = handle.status();
  assert.deepEqual(
    status.map((s) => [
      s.endpoint,
      s.transport,
      s.direction,
      s.state,
      s.endpoint === 'totals.json' ? null : s.records,
    ]),
    [
      ['orders.file', 'file_input', 'input', 'end_of_input', 3],
      ['customers.gen', 'datagen', 'input', 'end_of_input', 3],
      ['totals.json', 'file_output', 'output', 'stopped', null],
      ['big.csv', 'file_output', 'output', 'stopped', 2],
    ],
  );
  assert.deepEqual(handle.positions(), {
    'orders.file': { offset: Buffer.byteLength(readFileSync(orders)) },
    'customers.gen': { index: 3, seed: 5 },
  });
});

test('resuming from positions ingests only what was not ingested before', async () => {
  const path = join(tmp.dir, 'nums.csv');
  writeFileSync(path, '1\n2\n3\n');
  const sql = `CREATE TABLE n (x INT) ${withConnectors([
    fileIn('f', path, { name: 'csv' }),
    {
      name: 'g',
      transport: {
        name: 'datagen',
        config: { seed: 9, plan: [{ limit: 5, fields: { x: { range: [100, 200] } } }] },
      },
    },
  ])};
  CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS c, SUM(x) AS t FROM n;`;
  const program = await compileProgram(sql);
  const c1 = new Controller(program);
  const h1 = await startConnectors(c1, program);
  await h1.settled();
  await c1.idle();
  await h1.stop();
  const positions = h1.positions();
  appendFileSync(path, '4\n5\n');
  const c2 = new Controller(program);
  const h2 = await startConnectors(c2, program, {
    positions: { ...positions, 'n.g': { index: 3, seed: 9 } },
  });
  await h2.settled();
  await c2.idle();
  await h2.stop();
  const [count, sum] = (await c2.query('SELECT c, t FROM s')).rows[0] as [bigint, number];
  assert.equal(count, 4n, 'two new CSV lines and the last two datagen rows');
  assert.equal(sum, 4 + 5 + 103 + 104);
});

test('follow mode: rows appended to the file reach the view; the input never ends', async () => {
  const path = join(tmp.dir, 'follow.json');
  writeFileSync(path, '{"x": 1}\n');
  const program = await compileProgram(`
    CREATE TABLE t (x INT) ${withConnectors([fileIn('tail', path, { name: 'json', config: { update_format: 'raw' } }, { follow: true })])};
    CREATE MATERIALIZED VIEW s AS SELECT SUM(x) AS s FROM t;`);
  const controller = new Controller(program);
  const handle = await startConnectors(controller, program, { followPollMs: 10 });
  const sum = async () => (await controller.query('SELECT s FROM s')).rows[0]?.[0];
  let current: unknown = null;
  const poll = async (want: number) => {
    const end = Date.now() + 5000;
    while ((current = await sum()) !== want) {
      if (Date.now() > end) throw new Error(`sum is ${String(current)}, expected ${want}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await poll(1);
  appendFileSync(path, '{"x": 2}\n{"x": 3}\n');
  await poll(6);
  assert.equal(controller.complete, false);
  assert.equal(handle.status()[0]?.state, 'running');
  await handle.stop();
  assert.equal(handle.status()[0]?.state, 'stopped');
});

test('http_input / http_output / null_output / empty_input are accepted', async () => {
  const program = await compileProgram(`
    CREATE TABLE t (x INT) ${withConnectors([
      { name: 'api', transport: { name: 'http_input' } },
      { name: 'nothing', transport: { name: 'empty_input' } },
    ])};
    CREATE VIEW v ${withConnectors([
      { transport: { name: 'http_output' } },
      { name: 'void', transport: { name: 'null_output' } },
    ])} AS SELECT * FROM t;`);
  const controller = new Controller(program);
  const handle = await startConnectors(controller, program);
  await handle.settled();
  assert.deepEqual(
    handle.status().map((s) => s.endpoint),
    ['t.api', 't.nothing', 'v.unnamed-0', 'v.void'],
  );
  assert.deepEqual(
    controller.inputs.map((e) => [e.name, e.metrics.end_of_input]),
    [['t.nothing', true]],
  );
  await handle.stop();
});

test('unsupported connector options are reported as warnings; an input declared paused starts paused', async () => {
  const program = await compileProgram(
    `CREATE TABLE t (x INT) ${withConnectors([{ name: 'e', transport: { name: 'empty_input' }, paused: true, start_after: ['x'], labels: ['a'] }])};`,
  );
  const { log, entries } = recordingLog();
  const controller = new Controller(program);
  const handle = await startConnectors(controller, program, { log });
  await handle.stop();
  assert.ok(entries.some((e) => e.level === 'warn' && /'start_after' is not supported/.test(e.message)));
  assert.ok(!entries.some((e) => /labels|'paused'/.test(e.message)));
  assert.equal(controller.inputs.find((i) => i.name === 't.e')?.paused, true);
});

test('declaration errors name the relation and connector and list the supported transports', async () => {
  const bad = async (sql: string, re: RegExp) => {
    const program = await compileProgram(sql);
    assert.throws(
      () => declaredConnectors(program),
      (e: unknown) => isServiceError(e) && re.test(e.message),
      sql,
    );
    const controller = new Controller(program);
    await assert.rejects(startConnectors(controller, program), re);
  };
  await bad(
    `CREATE TABLE t (x INT) ${withConnectors([{ name: 'k', transport: { name: 'kafkaa_input', config: {} } }])};`,
    /connector 'k' \(kafkaa_input\) of table 't': unknown transport 'kafkaa_input'; supported input transports: file_input, s3_input, object_store_input, datagen, nexmark, empty_input, http_input/,
  );
  await bad(
    `CREATE TABLE t (x INT) ${withConnectors([{ name: 'k', transport: { name: 'kafka_input', config: {} } }])};`,
    /transport 'kafka_input' is not supported by Holdfast; supported input transports/,
  );
  await bad(
    `CREATE TABLE t (x INT) ${withConnectors([fileOut('o', '/tmp/x', { name: 'json' })])};`,
    /'file_output' is an output transport, but tables take input connectors/,
  );
  await bad(
    `CREATE TABLE t (x INT); CREATE VIEW v ${withConnectors([{ name: 'g', transport: { name: 'datagen' } }])} AS SELECT * FROM t;`,
    /connector 'g' \(datagen\) of view 'v': 'datagen' is an input transport, but views take output connectors; supported output transports: file_output, null_output, http_output/,
  );
  await bad(
    `CREATE TABLE t (x INT) ${withConnectors([42])};`,
    /connector 'unnamed-0' \(\?\) of table 't': a connector must be a JSON object/,
  );
  await bad(`CREATE TABLE t (x INT) ${withConnectors([{ name: 'x' }])};`, /"transport" must be an object/);
  await bad(
    `CREATE TABLE t (x INT) ${withConnectors([{ name: 'bad name!', transport: { name: 'empty_input' } }])};`,
    /"name" must be 1 to 100 characters/,
  );
  await bad(
    `CREATE TABLE t (x INT); CREATE LOCAL VIEW l ${withConnectors([{ transport: { name: 'null_output' } }])} AS SELECT * FROM t;`,
    /view 'l' is LOCAL/,
  );
  await bad(
    `CREATE TABLE t (x INT) ${withConnectors([{ name: 'g', transport: { name: 'datagen', config: { plan: [{ fields: { x: { strategy: 'wordz' } } }] } } }])};`,
    /connector 'g' \(datagen\) of table 't': datagen field 'x': unsupported strategy "wordz"; supported strategies: increment, uniform, zipf, word/,
  );
});

test('when one connector cannot start, none keeps running', async () => {
  const out = join(tmp.dir, 'never.json');
  const program = await compileProgram(`
    CREATE TABLE t (x INT) ${withConnectors([
      { name: 'gen', transport: { name: 'datagen', config: { seed: 1 } } },
      fileIn('missing', join(tmp.dir, 'does-not-exist.json'), { name: 'json' }),
    ])};
    CREATE VIEW v ${withConnectors([fileOut('o', out, { name: 'json' })])} AS SELECT * FROM t;`);
  const controller = new Controller(program);
  await assert.rejects(
    startConnectors(controller, program),
    (e: unknown) => isServiceError(e, 'FileReadError') && /connector 'missing'/.test(e.message),
  );
  const before = controller.totals.input_records;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(controller.totals.input_records, before, 'the datagen started first was stopped');
});

test('a connector whose pushes fail (pipeline terminated) ends as stopped or failed, without throwing', async () => {
  const program = await compileProgram(
    `CREATE TABLE t (x INT) ${withConnectors([{ name: 'gen', transport: { name: 'datagen', config: { seed: 1 } } }])};`,
  );
  const controller = new Controller(program, { maxBufferedRecords: 1000 });
  const { log, entries } = recordingLog();
  const handle = await startConnectors(controller, program, { log });
  await until(() => controller.totals.input_records > 0, 'some rows');
  controller.terminate();
  await handle.settled().catch(() => {});
  await until(() => handle.status()[0]?.state !== 'running', 'the connector to end');
  assert.equal(handle.status()[0]?.state, 'failed');
  assert.match(handle.status()[0]?.error ?? '', /shutting down/);
  assert.ok(entries.some((e) => e.level === 'error'));
  await handle.stop();
});
