/**
 * `delta_table_input` against Delta tables built here in a temp directory: `_delta_log` JSON commits written by
 * hand, data files and a Parquet checkpoint written with hyparquet-writer. Covers the three modes, version and
 * datetime selection, partition columns, removes as deletes, compaction (dataChange false) skipped, a
 * checkpointed log whose early commits were cleaned up, resuming from every position a run reported, and the
 * errors (missing table, bad log, unsupported features, refused options).
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { parquetWriteBuffer, type SchemaElement } from 'hyparquet-writer';
import type { ParsedChange } from '../../../../src/connectors/formats/parse-result.ts';
import { type ConnectorContext, parseConnectorSpec } from '../../../../src/connectors/transports/config.ts';
import { checkDeltaInput, startDeltaInput } from '../../../../src/connectors/transports/delta-input.ts';
import type {
  DeltaInputPosition,
  HostInputEndpoint,
  InputPosition,
} from '../../../../src/connectors/transports/types.ts';
import { isServiceError } from '../../../../src/errors/service-error.ts';
import { compileProgram } from '../../../../src/sql/program.ts';
import type { TableSchema } from '../../../../src/sql/schema.ts';
import { FakeHost, recordingLog, tempDir, until } from './support.ts';

const program = await compileProgram(
  'CREATE TABLE t (id INT NOT NULL, name VARCHAR); CREATE TABLE p (id INT NOT NULL, Region VARCHAR, day DATE, name VARCHAR);',
);
const T = program.table('t') as TableSchema;
const P = program.table('p') as TableSchema;

const tmp = tempDir();
after(() => tmp.cleanup());
let tableNo = 0;

/** A host that also records the position given with each push. */
class PosHost extends FakeHost {
  readonly positions: Array<InputPosition | undefined> = [];
  override async push(
    endpoint: HostInputEndpoint,
    changes: ParsedChange[],
    bytes: number,
    options?: { position?: unknown },
  ): Promise<void> {
    await super.push(endpoint, changes, bytes);
    this.positions.push(options?.position as InputPosition | undefined);
  }
  /** Every change as [id, weight] (plus the other columns). */
  changes(): unknown[][] {
    return this.pushes.flatMap((p) => p.changes.map((c) => [...c.row, c.weight]));
  }
}

const OPT = 'OPTIONAL' as const;
const SCHEMA_T = JSON.stringify({
  type: 'struct',
  fields: [
    { name: 'id', type: 'integer', nullable: false, metadata: {} },
    { name: 'name', type: 'string', nullable: true, metadata: {} },
    { name: 'extra', type: 'double', nullable: true, metadata: {} },
  ],
});

function parquet(rows: Array<[number, string | null]>, rowGroupSize?: number): Uint8Array {
  return new Uint8Array(
    parquetWriteBuffer({
      schema: [
        { name: 'root', num_children: 3 },
        { name: 'id', type: 'INT32', repetition_type: 'REQUIRED' },
        { name: 'name', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: OPT },
        { name: 'extra', type: 'DOUBLE', repetition_type: OPT }, // a Delta column the SQL table does not declare
      ] as SchemaElement[],
      columnData: [
        { name: 'id', data: rows.map((r) => r[0]) },
        { name: 'name', data: rows.map((r) => r[1]) },
        { name: 'extra', data: rows.map(() => 1.5) },
      ],
      ...(rowGroupSize !== undefined ? { rowGroupSize } : {}),
    }),
  );
}

class Table {
  readonly dir: string;
  constructor() {
    this.dir = join(tmp.dir, `table-${++tableNo}`);
    mkdirSync(join(this.dir, '_delta_log'), { recursive: true });
  }
  file(path: string, bytes: Uint8Array): { path: string; size: number } {
    const full = join(this.dir, decodeURIComponent(path));
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, bytes);
    return { path, size: bytes.length };
  }
  commit(v: number, actions: unknown[], at?: Date): void {
    const key = join(this.dir, '_delta_log', `${String(v).padStart(20, '0')}.json`);
    writeFileSync(key, `${actions.map((a) => JSON.stringify(a)).join('\n')}\n`);
    if (at !== undefined) utimesSync(key, at, at);
  }
}

const protocol = { protocol: { minReaderVersion: 1, minWriterVersion: 2 } };
const meta = (schemaString = SCHEMA_T, partitionColumns: string[] = [], configuration = {}) => ({
  metaData: {
    id: 'x',
    format: { provider: 'parquet', options: {} },
    schemaString,
    partitionColumns,
    configuration,
  },
});
const add = (f: { path: string; size: number }, partitionValues = {}, dataChange = true) => ({
  add: { ...f, partitionValues, modificationTime: 0, dataChange },
});
const remove = (path: string, dataChange = true) => ({ remove: { path, deletionTimestamp: 0, dataChange } });

/**
 * The table used by most tests:
 * v0: a = {1,2}; v1: + b = {3,4,5} (two row groups); v2: - a, + c = {1} (2 deleted); v3: compaction of b,c into d
 * (dataChange false: no change); v4: + e = {6}.
 */
function basicTable(): Table {
  const t = new Table();
  const a = t.file(
    'a.parquet',
    parquet([
      [1, 'one'],
      [2, 'two'],
    ]),
  );
  const b = t.file(
    'b.parquet',
    parquet(
      [
        [3, 'three'],
        [4, null],
        [5, 'five'],
      ],
      2,
    ),
  );
  const c = t.file('c.parquet', parquet([[1, 'uno']]));
  const d = t.file(
    'd.parquet',
    parquet([
      [3, 'three'],
      [4, null],
      [5, 'five'],
      [1, 'uno'],
    ]),
  );
  const e = t.file('e.parquet', parquet([[6, 'six']]));
  t.commit(0, [protocol, meta(), add(a)]);
  t.commit(1, [{ commitInfo: { timestamp: 1_000_000 } }, add(b)]);
  t.commit(2, [remove('a.parquet'), add(c)]);
  t.commit(3, [remove('b.parquet', false), remove('c.parquet', false), add(d, {}, false)]);
  t.commit(4, [add(e)]);
  return t;
}

function ctxOf(table = 't'): ConnectorContext {
  return { relation: table, relationKind: 'table', connector: 'd', transport: 'delta_table_input' };
}

function specOf(config: Record<string, unknown>, maxBatch?: number) {
  return parseConnectorSpec(
    {
      name: 'd',
      transport: { name: 'delta_table_input', config },
      ...(maxBatch ? { max_batch_size: maxBatch } : {}),
    },
    0,
    't',
    'table',
  );
}

async function runToEnd(
  config: Record<string, unknown>,
  opts: { table?: TableSchema; position?: InputPosition | null; maxBatch?: number } = {},
) {
  const host = new PosHost();
  const { log, entries } = recordingLog();
  const table = opts.table ?? T;
  const c = startDeltaInput(ctxOf(table.name), specOf(config, opts.maxBatch), table, host, log, {
    baseDir: tmp.dir,
    position: opts.position ?? null,
  });
  await c.settled;
  const status = c.status();
  await c.stop();
  return { host, status, entries, position: c.position() };
}

const sorted = (rows: unknown[][]) =>
  [...rows].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));

test('snapshot: the latest version (live files only, compaction not duplicated), then end of input', async () => {
  const t = basicTable();
  const r = await runToEnd({ uri: t.dir, mode: 'snapshot' });
  assert.equal(r.status.state, 'end_of_input', r.status.error ?? '');
  assert.deepEqual(sorted(r.host.changes()), [
    [1, 'uno', 1],
    [3, 'three', 1],
    [4, null, 1],
    [5, 'five', 1],
    [6, 'six', 1],
  ]);
  assert.deepEqual(r.position, { version: 4, snapshot: true, file: 2, row: 0 });
});

test('snapshot at a version, by number (file:// uri) and by datetime', async () => {
  const t = basicTable();
  const v1 = await runToEnd({ uri: `file://${t.dir}`, mode: 'snapshot', version: 1 });
  assert.deepEqual(
    sorted(v1.host.changes()).map((r) => r[0]),
    [1, 2, 3, 4, 5],
  );
  const v0 = await runToEnd({ uri: t.dir, mode: 'snapshot', version: 0 });
  assert.deepEqual(
    sorted(v0.host.changes()).map((r) => r[0]),
    [1, 2],
  );
  // commit 1 records timestamp 1_000_000 ms; the others have file times far later
  const byTime = await runToEnd({ uri: t.dir, mode: 'snapshot', datetime: '1970-01-01T00:20:00Z' });
  assert.equal(byTime.status.state, 'end_of_input', byTime.status.error ?? '');
  assert.deepEqual(
    sorted(byTime.host.changes()).map((r) => r[0]),
    [1, 2, 3, 4, 5],
  );
});

test('follow from a version: removes as deletes before adds, compaction skipped, end_version ends', async () => {
  const t = basicTable();
  const r = await runToEnd({ uri: t.dir, mode: 'follow', version: 0, end_version: 4, poll_interval_ms: 10 });
  assert.equal(r.status.state, 'end_of_input', r.status.error ?? '');
  assert.deepEqual(r.host.changes(), [
    [3, 'three', 1],
    [4, null, 1],
    [5, 'five', 1],
    [1, 'one', -1],
    [2, 'two', -1],
    [1, 'uno', 1],
    [6, 'six', 1],
  ]);
  assert.deepEqual(r.position, { version: 4, file: 1, row: 0 });
});

test('snapshot_and_follow: the snapshot, then commits written while it runs', async () => {
  const t = basicTable();
  const host = new PosHost();
  const { log } = recordingLog();
  const c = startDeltaInput(
    ctxOf(),
    specOf({ uri: t.dir, mode: 'snapshot_and_follow', poll_interval_ms: 10 }),
    T,
    host,
    log,
    {
      baseDir: tmp.dir,
    },
  );
  await until(() => host.changes().length === 5, 'the snapshot');
  t.commit(5, [remove('e.parquet'), add(t.file('f.parquet', parquet([[7, 'seven']])))]);
  await until(() => host.changes().length === 7, 'commit 5');
  assert.deepEqual(host.changes().slice(5), [
    [6, 'six', -1],
    [7, 'seven', 1],
  ]);
  t.commit(6, [add(t.file('g.parquet', parquet([[8, 'eight']])))]);
  await until(() => host.changes().length === 8, 'commit 6');
  assert.equal(c.status().state, 'running');
  assert.deepEqual(c.position(), { version: 6, file: 1, row: 0 });
  await c.stop();
});

test('follow without a version starts after the latest version', async () => {
  const t = basicTable();
  const host = new PosHost();
  const c = startDeltaInput(
    ctxOf(),
    specOf({ uri: t.dir, mode: 'follow', poll_interval_ms: 10 }),
    T,
    host,
    () => {},
    {
      baseDir: tmp.dir,
    },
  );
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(host.changes().length, 0);
  t.commit(5, [add(t.file('f.parquet', parquet([[7, 'seven']])))]);
  await until(() => host.changes().length === 1, 'commit 5');
  assert.deepEqual(host.changes(), [[7, 'seven', 1]]);
  await c.stop();
});

test('partitioned table: partition values from the log (case-insensitive names, URL-encoded paths, NULL)', async () => {
  const t = new Table();
  const schema = JSON.stringify({
    type: 'struct',
    fields: [
      { name: 'id', type: 'integer', nullable: false, metadata: {} },
      { name: 'name', type: 'string', nullable: true, metadata: {} },
      { name: 'region', type: 'string', nullable: true, metadata: {} },
      { name: 'day', type: 'date', nullable: true, metadata: {} },
    ],
  });
  const f1 = t.file(
    'region=north%20east/day=2024-01-02/f1.parquet',
    parquet([
      [1, 'a'],
      [2, 'b'],
    ]),
  );
  const f2 = t.file('region=__HIVE_DEFAULT_PARTITION__/day=2024-01-03/f2.parquet', parquet([[3, 'c']]));
  t.commit(0, [
    protocol,
    meta(schema, ['region', 'day']),
    add(f1, { region: 'north east', day: '2024-01-02' }),
  ]);
  t.commit(1, [add(f2, { region: null, day: '2024-01-03' })]);
  t.commit(2, [remove('region=north%20east/day=2024-01-02/f1.parquet')]); // a remove without partitionValues
  const r = await runToEnd(
    { uri: t.dir, mode: 'snapshot_and_follow', version: 1, end_version: 2 },
    { table: P },
  );
  assert.equal(r.status.state, 'end_of_input', r.status.error ?? '');
  // DATE values are days since 1970-01-01
  const day = (s: string) => Date.parse(`${s}T00:00:00Z`) / 86_400_000;
  assert.deepEqual(r.host.changes(), [
    [3, null, day('2024-01-03'), 'c', 1], // snapshot files in path order
    [1, 'north east', day('2024-01-02'), 'a', 1],
    [2, 'north east', day('2024-01-02'), 'b', 1],
    [1, 'north east', day('2024-01-02'), 'a', -1],
    [2, 'north east', day('2024-01-02'), 'b', -1],
  ]);
});

/**
 * A classic checkpoint (Parquet, one row per action) summing up the log at version `v`, in `parts` files
 * (`<v>.checkpoint.<i>.<n>.parquet` when more than one), add actions with their partitionValues map.
 */
function checkpoint(
  t: Table,
  v: number,
  files: Array<{ path: string; size: number; partitionValues?: Record<string, string | null> }>,
  opts: { schemaString?: string; partitionColumns?: string[]; parts?: number } = {},
): void {
  const str = (name: string): SchemaElement => ({
    name,
    type: 'BYTE_ARRAY',
    converted_type: 'UTF8',
    repetition_type: OPT,
  });
  const schema = [
    { name: 'root', num_children: 3 },
    { name: 'protocol', repetition_type: OPT, num_children: 2 },
    { name: 'minReaderVersion', type: 'INT32', repetition_type: OPT },
    { name: 'minWriterVersion', type: 'INT32', repetition_type: OPT },
    { name: 'metaData', repetition_type: OPT, num_children: 3 },
    str('id'),
    str('schemaString'),
    { name: 'partitionColumns', repetition_type: OPT, converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    str('element'),
    { name: 'add', repetition_type: OPT, num_children: 4 },
    str('path'),
    { name: 'partitionValues', repetition_type: OPT, converted_type: 'MAP', num_children: 1 },
    { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
    { name: 'key', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
    str('value'),
    { name: 'size', type: 'INT64', repetition_type: OPT },
    { name: 'dataChange', type: 'BOOLEAN', repetition_type: OPT },
  ] as SchemaElement[];
  type Row = { protocol: unknown; metaData: unknown; add: unknown };
  const rows: Row[] = [
    { protocol: { minReaderVersion: 1, minWriterVersion: 2 }, metaData: null, add: null },
    {
      protocol: null,
      metaData: {
        id: 'x',
        schemaString: opts.schemaString ?? SCHEMA_T,
        partitionColumns: opts.partitionColumns ?? [],
      },
      add: null,
    },
    ...files.map((f) => ({
      protocol: null,
      metaData: null,
      add: {
        path: f.path,
        partitionValues: f.partitionValues ?? {},
        size: BigInt(f.size),
        dataChange: false,
      },
    })),
  ];
  const parts = opts.parts ?? 1;
  const per = Math.ceil(rows.length / parts);
  for (let i = 0; i < parts; i++) {
    const mine = rows.slice(i * per, (i + 1) * per);
    const bytes = parquetWriteBuffer({
      schema,
      columnData: (['protocol', 'metaData', 'add'] as const).map((name) => ({
        name,
        data: mine.map((r) => r[name]),
      })),
    });
    const name =
      parts === 1
        ? `${String(v).padStart(20, '0')}.checkpoint.parquet`
        : `${String(v).padStart(20, '0')}.checkpoint.${String(i + 1).padStart(10, '0')}.${String(parts).padStart(10, '0')}.parquet`;
    writeFileSync(join(t.dir, '_delta_log', name), new Uint8Array(bytes));
  }
  writeFileSync(
    join(t.dir, '_delta_log', '_last_checkpoint'),
    JSON.stringify({ version: v, size: rows.length }),
  );
}

test('a multi-part checkpoint of a partitioned table: partition values and schema from the checkpoint', async () => {
  const t = new Table();
  const schema = JSON.stringify({
    type: 'struct',
    fields: [
      { name: 'id', type: 'integer', nullable: false, metadata: {} },
      { name: 'name', type: 'string', nullable: true, metadata: {} },
      { name: 'region', type: 'string', nullable: true, metadata: {} },
      { name: 'day', type: 'date', nullable: true, metadata: {} },
    ],
  });
  const files = [
    {
      ...t.file('region=n/f1.parquet', parquet([[1, 'a']])),
      partitionValues: { region: 'n', day: '2024-01-01' },
    },
    { ...t.file('region=s/f2.parquet', parquet([[2, 'b']])), partitionValues: { region: 's', day: null } },
    {
      ...t.file('region=w/f3.parquet', parquet([[3, 'c']])),
      partitionValues: { region: 'w', day: '2024-01-03' },
    },
  ];
  checkpoint(t, 5, files, { schemaString: schema, partitionColumns: ['region', 'day'], parts: 3 });
  t.commit(6, [remove('region=s/f2.parquet')]); // no partitionValues: the checkpoint's state has them
  // an incomplete multi-part checkpoint (a part missing) at version 6 is ignored
  writeFileSync(
    join(t.dir, '_delta_log', `${'6'.padStart(20, '0')}.checkpoint.0000000001.0000000002.parquet`),
    'x',
  );
  const r = await runToEnd(
    { uri: t.dir, mode: 'snapshot_and_follow', version: 5, end_version: 6 },
    { table: P },
  );
  assert.equal(r.status.state, 'end_of_input', r.status.error ?? '');
  const day = (x: string) => Date.parse(`${x}T00:00:00Z`) / 86_400_000;
  assert.deepEqual(r.host.changes(), [
    [1, 'n', day('2024-01-01'), 'a', 1],
    [2, 's', null, 'b', 1],
    [3, 'w', day('2024-01-03'), 'c', 1],
    [2, 's', null, 'b', -1],
  ]);
});

test('a checkpointed log whose early commits were cleaned up: state from the checkpoint plus later commits', async () => {
  const t = basicTable();
  // checkpoint at version 2 (live: b, c); then commits 0..2 are deleted, as log cleanup does
  checkpoint(
    t,
    2,
    ['b.parquet', 'c.parquet'].map((path) => ({ path, size: statSync(join(t.dir, path)).size })),
  );
  for (const v of [0, 1, 2]) rmSync(join(t.dir, '_delta_log', `${String(v).padStart(20, '0')}.json`));
  const latest = await runToEnd({ uri: t.dir, mode: 'snapshot' });
  assert.equal(latest.status.state, 'end_of_input', latest.status.error ?? '');
  assert.deepEqual(
    sorted(latest.host.changes()).map((r) => r[0]),
    [1, 3, 4, 5, 6],
  );
  const v2 = await runToEnd({ uri: t.dir, mode: 'snapshot', version: 2 });
  assert.deepEqual(
    sorted(v2.host.changes()).map((r) => r[0]),
    [1, 3, 4, 5],
  );
  const v1 = await runToEnd({ uri: t.dir, mode: 'snapshot', version: 1 });
  assert.equal(v1.status.state, 'failed');
  assert.match(v1.status.error ?? '', /version 1 cannot be rebuilt.*no commit 0 and no checkpoint/);
});

test('resume: from every position a run reported, the rest of the input exactly (snapshot_and_follow)', async () => {
  const t = basicTable();
  const config = {
    uri: t.dir,
    mode: 'snapshot_and_follow',
    version: 1,
    end_version: 4,
    poll_interval_ms: 10,
  };
  const full = await runToEnd(config, { maxBatch: 1 });
  assert.equal(full.status.state, 'end_of_input', full.status.error ?? '');
  const all = full.host.changes();
  // the changes pushed before each position
  let seen = 0;
  const cuts: Array<{ pos: DeltaInputPosition; seen: number }> = [];
  full.host.pushes.forEach((p, i) => {
    seen += p.changes.length;
    const pos = full.host.positions[i];
    if (pos !== undefined) cuts.push({ pos: pos as DeltaInputPosition, seen });
  });
  assert.ok(cuts.length >= all.length, `${cuts.length} positions`);
  assert.ok(
    cuts.some((c) => c.pos.row > 0),
    'some positions fall inside a file',
  );
  for (const cut of cuts) {
    const r = await runToEnd(config, { position: cut.pos, maxBatch: 1 });
    assert.equal(r.status.state, 'end_of_input', r.status.error ?? '');
    assert.deepEqual(r.host.changes(), all.slice(cut.seen), `resumed at ${JSON.stringify(cut.pos)}`);
  }
});

test('filter (snapshot and follow) and snapshot_filter (snapshot only), compiled against the table', async () => {
  const t = basicTable();
  const r = await runToEnd({
    uri: t.dir,
    mode: 'snapshot_and_follow',
    version: 1,
    end_version: 4,
    filter: "name IS NULL OR name <> 'two'",
    snapshot_filter: 'id >= 2 AND id < 5',
  });
  assert.equal(r.status.state, 'end_of_input', r.status.error ?? '');
  assert.deepEqual(r.host.changes(), [
    // snapshot of version 1: a = {1, 2}, b = {3, 4, 5}; kept: 3, 4 (2 fails filter, 1 and 5 snapshot_filter)
    [3, 'three', 1],
    [4, null, 1],
    // commit 2: a removed (1 passes filter; 2 does not), c = {1} added
    [1, 'one', -1],
    [1, 'uno', 1],
    // commit 4
    [6, 'six', 1],
  ]);
  // a filter that fails on a row makes that row a parse error
  const e = await runToEnd({ uri: t.dir, mode: 'snapshot', filter: '10 / (id - 1) > 0' });
  assert.equal(e.status.state, 'end_of_input', e.status.error ?? '');
  assert.deepEqual(
    sorted(e.host.changes()).map((x) => x[0]),
    [3, 4, 5, 6],
  );
  assert.equal(e.status.parseErrors, 1);
});

test('errors: missing table, bad log, gaps, missing versions, unsupported features', async () => {
  const fails = async (config: Record<string, unknown>, re: RegExp) => {
    const r = await runToEnd(config);
    assert.equal(r.status.state, 'failed', `expected a failure for ${JSON.stringify(config)}`);
    assert.match(r.status.error ?? '', re);
  };
  await fails({ uri: join(tmp.dir, 'nowhere'), mode: 'snapshot' }, /no Delta table here/);
  const empty = new Table();
  await fails({ uri: empty.dir, mode: 'snapshot' }, /no Delta table here/);
  const t = basicTable();
  await fails(
    { uri: t.dir, mode: 'snapshot', version: 9 },
    /version 9 does not exist \(the latest version is 4\)/,
  );
  await fails(
    { uri: t.dir, mode: 'snapshot', datetime: '1960-01-01T00:00:00Z' },
    /no version of the table was committed/,
  );
  const bad = basicTable();
  writeFileSync(join(bad.dir, '_delta_log', `${'2'.padStart(20, '0')}.json`), '{"add": {"path": "x"\n');
  await fails({ uri: bad.dir, mode: 'snapshot' }, /line 1 of _delta_log\/0+2\.json is not JSON/);
  const gap = basicTable();
  rmSync(join(gap.dir, '_delta_log', `${'1'.padStart(20, '0')}.json`));
  await fails({ uri: gap.dir, mode: 'snapshot' }, /commit 1 is missing/);
  const dv = basicTable();
  dv.commit(5, [
    { add: { ...add(dv.file('f.parquet', parquet([[7, 'x']]))).add, deletionVector: { storageType: 'u' } } },
  ]);
  await fails({ uri: dv.dir, mode: 'snapshot' }, /deletion vector/);
  const dv0 = basicTable(); // a deletion vector deleting no row is no deletion vector
  dv0.commit(5, [
    {
      add: {
        ...add(dv0.file('f.parquet', parquet([[7, 'x']]))).add,
        deletionVector: { storageType: 'u', cardinality: 0 },
      },
    },
  ]);
  const ok = await runToEnd({ uri: dv0.dir, mode: 'snapshot' });
  assert.equal(ok.status.state, 'end_of_input', ok.status.error ?? '');
  assert.equal(ok.host.changes().length, 6);
  const feat = basicTable();
  feat.commit(5, [
    { protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['deletionVectors'] } },
  ]);
  await fails({ uri: feat.dir, mode: 'snapshot' }, /reader feature 'deletionVectors'/);
  const cm = basicTable();
  cm.commit(5, [meta(SCHEMA_T, [], { 'delta.columnMapping.mode': 'name' })]);
  await fails({ uri: cm.dir, mode: 'snapshot' }, /column mapping/);
  const vac = basicTable();
  rmSync(join(vac.dir, 'e.parquet'));
  await fails({ uri: vac.dir, mode: 'snapshot' }, /e\.parquet/);
});

test('config: cdc and timestamp_column refused, bad filters refused when checked; storage options; unknown options warned', () => {
  const check = (config: Record<string, unknown>) => {
    const { log, entries } = recordingLog();
    checkDeltaInput(ctxOf(), specOf(config), T, tmp.dir, log);
    return entries;
  };
  const refused = (config: Record<string, unknown>, re: RegExp) =>
    assert.throws(
      () => check(config),
      (e: unknown) => isServiceError(e, 'SqlPropertyError') && re.test((e as Error).message),
    );
  refused({ uri: '/x', mode: 'cdc' }, /"cdc".*not supported/);
  refused({ uri: '/x' }, /'mode' is required/);
  refused({ mode: 'snapshot' }, /'uri' is required/);
  refused({ uri: '/x', mode: 'snapshot', filter: 'nope > 1' }, /'filter' "nope > 1": .*nope/);
  refused({ uri: '/x', mode: 'snapshot', filter: 'id +' }, /'filter' "id \+": not a SQL expression/);
  refused({ uri: '/x', mode: 'snapshot', filter: 'id + 1' }, /not BOOLEAN/);
  refused({ uri: '/x', mode: 'snapshot', filter: 'id > 1 ORDER BY id' }, /expected one boolean expression/);
  refused({ uri: '/x', mode: 'snapshot', filter: 'id > 1; DROP TABLE t' }, /expected one boolean expression/);
  refused({ uri: '/x', mode: 'follow', snapshot_filter: 'id > 1' }, /'snapshot_filter' is only valid/);
  refused({ uri: '/x', mode: 'snapshot', timestamp_column: 'ts' }, /'timestamp_column'.*not supported/);
  refused({ uri: '/x', mode: 'snapshot', version: 1, datetime: '2024-01-01T00:00:00Z' }, /at most one/);
  refused({ uri: '/x', mode: 'snapshot', end_version: 3 }, /'end_version' is only valid/);
  refused({ uri: 'hdfs://x/y', mode: 'snapshot' }, /scheme 'hdfs:\/\/' is not supported/);
  refused(
    { uri: 's3://b/t', mode: 'snapshot', aws_endpoint: 'http://127.0.0.1:9000', aws_region: 'us-east-1' },
    /aws_allow_http/,
  );
  assert.deepEqual(
    check({
      uri: 's3://b/t',
      mode: 'follow',
      aws_access_key_id: 'k',
      aws_secret_access_key: 's',
      aws_region: 'us-east-1',
      aws_endpoint: 'http://127.0.0.1:9000',
      aws_allow_http: 'true',
      start_version: 3,
    }),
    [],
  );
  const warned = check({ uri: '/x', mode: 'snapshot', frobnicate: 1, transaction_mode: 'always' });
  assert.ok(warned.some((e) => /unknown delta_table_input option 'frobnicate'/.test(e.message)));
  assert.ok(warned.some((e) => /'transaction_mode' "always" is not supported/.test(e.message)));
  // a secret never appears in a message
  try {
    check({ uri: 's3://b/t', mode: 'nope', aws_secret_access_key: 'SECRET-123' });
  } catch (e) {
    assert.doesNotMatch((e as Error).message, /SECRET-123/);
  }
});
