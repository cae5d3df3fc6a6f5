/**
 * Object-input suite: the `s3_input` connector reading many small objects from s3rver (127.0.0.1, data in a temp
 * dir), with `max_concurrent_fetches` 1 (one object at a time) and 8 (the default) in the same run, on the same
 * objects: objects/s and records/s from the connector's start to its end of input (listing included).
 *
 * Two settings: s3rver directly (a loopback round trip: little latency to hide), and behind the fault proxy of
 * the tests (tests/helpers/fault-proxy.ts) delaying every object GET by DELAY_MS, a stand-in for a remote object
 * store's first-byte latency. Records go to an in-memory host (no pipeline), so the figures are the connector's:
 * fetch, parse, push. Every measurement runs `runs` times (median; default 3), the two settings' order
 * alternating. Results: `bench/results/objinput.json` and the `objinput` section of BENCHMARKS.md (full runs only).
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import type { ParsedChange } from '../../src/connectors/formats/parse-result.ts';
import { type ConnectorContext, parseConnectorSpec } from '../../src/connectors/transports/config.ts';
import { startObjectInput } from '../../src/connectors/transports/object-input.ts';
import type { ConnectorHost, HostInputEndpoint } from '../../src/connectors/transports/types.ts';
import { compileProgram } from '../../src/sql/program.ts';
import type { TableSchema } from '../../src/sql/schema.ts';
import { S3Store } from '../../src/sync/s3-store.ts';
import { startFaultProxy } from '../../tests/helpers/fault-proxy.ts';
import { startS3rver } from '../../tests/helpers/s3rver.ts';
import { int, machineInfo, median, writeSuiteResults } from '../lib/report.ts';
import type { Suite, SuiteOptions } from '../suite.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const DELAY_MS = 20;
const LINES_PER_OBJECT = 100;

/** Counts what the connector pushes; nothing else. */
class CountingHost implements ConnectorHost {
  records = 0;
  inputEndpoint(name: string, table: string): HostInputEndpoint {
    return { name, table, metrics: { num_parse_errors: 0, num_transport_errors: 0, end_of_input: false } };
  }
  async push(_e: HostInputEndpoint, changes: ParsedChange[]): Promise<void> {
    this.records += changes.length;
  }
  listen(): () => void {
    return () => {};
  }
}

async function readAll(
  table: TableSchema,
  config: Record<string, unknown>,
): Promise<{ seconds: number; records: number }> {
  const spec = parseConnectorSpec(
    {
      name: 'src',
      transport: { name: 's3_input', config },
      format: { name: 'json', config: { update_format: 'raw' } },
    },
    0,
    't',
    'table',
  );
  const ctx: ConnectorContext = {
    relation: 't',
    relationKind: 'table',
    connector: 'src',
    transport: 's3_input',
  };
  const host = new CountingHost();
  const t0 = performance.now();
  const c = await startObjectInput(ctx, spec, table, host, () => {}, { baseDir: ROOT });
  await c.settled;
  const seconds = (performance.now() - t0) / 1000;
  const status = c.status();
  await c.stop();
  if (status.state !== 'end_of_input')
    throw new Error(`the connector ended ${status.state}: ${status.error}`);
  return { seconds, records: host.records };
}

async function run(options: SuiteOptions): Promise<void> {
  const runs = options.quick ? 1 : Number(options.flags.runs ?? 3);
  const objects = options.quick ? 40 : 200;
  const official = !options.quick && options.flags.runs === undefined;
  const load0 = loadavg()[0] as number;
  const program = await compileProgram('CREATE TABLE t (id BIGINT NOT NULL, name VARCHAR);');
  const table = program.table('t') as TableSchema;
  const s3 = await startS3rver(undefined, { buckets: ['bench'] });
  const proxy = await startFaultProxy(s3.endpoint, undefined, { seed: 1 });
  proxy.inject({ kinds: ['get', 'range'], fault: { type: 'delay', ms: DELAY_MS } });
  try {
    const store = new S3Store({
      bucket: 'bench',
      endpoint: s3.endpoint,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
    });
    let bytes = 0;
    for (let i = 0; i < objects; i++) {
      let body = '';
      for (let j = 0; j < LINES_PER_OBJECT; j++) {
        const id = i * LINES_PER_OBJECT + j;
        body += `{"id": ${id}, "name": "name-${id}"}\n`;
      }
      bytes += Buffer.byteLength(body);
      await store.put(`in/${String(i).padStart(5, '0')}.json`, body);
    }
    await store.close();
    const settings = [
      { name: 's3rver (loopback)', endpoint: s3.endpoint },
      { name: `s3rver + ${DELAY_MS} ms per GET`, endpoint: proxy.endpoint },
    ];
    const rows: Array<{
      setting: string;
      fetches: number;
      seconds: number;
      objectsPerSec: number;
      recordsPerSec: number;
    }> = [];
    for (const s of settings) {
      const times = new Map<number, number[]>([
        [1, []],
        [8, []],
      ]);
      for (let r = 0; r < runs; r++) {
        for (const n of r % 2 === 0 ? [1, 8] : [8, 1]) {
          const out = await readAll(table, {
            bucket_name: 'bench',
            region: 'us-east-1',
            endpoint_url: s.endpoint,
            aws_access_key_id: s3.accessKey,
            aws_secret_access_key: s3.secretKey,
            prefix: 'in/',
            max_concurrent_fetches: n,
          });
          if (out.records !== objects * LINES_PER_OBJECT) throw new Error(`read ${out.records} records`);
          times.get(n)?.push(out.seconds);
        }
      }
      for (const [n, ts] of times) {
        const seconds = median(ts);
        rows.push({
          setting: s.name,
          fetches: n,
          seconds,
          objectsPerSec: objects / seconds,
          recordsPerSec: (objects * LINES_PER_OBJECT) / seconds,
        });
        console.log(`  ${s.name}, max_concurrent_fetches ${n}: ${int(objects / seconds)} objects/s`);
      }
    }
    const load1 = loadavg()[0] as number;
    const m = machineInfo();
    const ratio = (setting: string) => {
      const one = rows.find((r) => r.setting === setting && r.fetches === 1)?.seconds ?? Number.NaN;
      const eight = rows.find((r) => r.setting === setting && r.fetches === 8)?.seconds ?? Number.NaN;
      return (one / eight).toFixed(1);
    };
    const markdown = `## Object input: parallel fetches (\`npm run bench -- --only objinput\`)

Measured ${m.date.slice(0, 10)} on ${m.cpus}× ${m.cpuModel}, Node ${m.node}, s3rver 3.7.1 on 127.0.0.1 (client and server on one small shared VM). \`s3_input\` reads ${objects} objects of ${LINES_PER_OBJECT} JSON lines (${int(bytes / objects)} bytes each) under one prefix into an in-memory host (no pipeline): from the connector's start to its end of input, listing included. Median of ${runs} runs, the two settings alternating. 1-minute load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end. The delayed setting puts the tests' fault proxy in front of s3rver, holding every object GET ${DELAY_MS} ms (a remote store's first-byte latency); the proxy runs in the bench process, so it competes with the connector for one thread (with a remote store the 8 fetches would wait on the network, not on this process). On loopback there is little latency to hide; what 8 fetches overlap there is s3rver's per-request work with the connector's parsing.

| store | \`max_concurrent_fetches\` | seconds | objects/s | records/s |
|---|---:|---:|---:|---:|
${rows.map((r) => `| ${r.setting} | ${r.fetches} | ${r.seconds.toFixed(2)} | ${int(r.objectsPerSec)} | ${int(r.recordsPerSec)} |`).join('\n')}

8 over 1: ${ratio(settings[0]?.name as string)}× on loopback, ${ratio(settings[1]?.name as string)}× with ${DELAY_MS} ms per GET.`;
    writeSuiteResults(
      ROOT,
      'objinput',
      official,
      {
        machine: m,
        objects,
        linesPerObject: LINES_PER_OBJECT,
        delayMs: DELAY_MS,
        runs,
        rows,
        load: [load0, load1],
      },
      markdown,
    );
  } finally {
    await proxy.stop();
    await s3.stop();
  }
}

export const objinputSuite: Suite = {
  name: 'objinput',
  description:
    's3_input: objects/s reading small objects from s3rver with max_concurrent_fetches 1 vs 8 (loopback and 20 ms per GET)',
  run,
};
