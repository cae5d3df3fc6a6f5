/**
 * A/B of the ingress body parsers alone (no HTTP, no steps): `node bench/ingest/parse-ab.ts <checkoutA>
 * <checkoutB> [rounds]` loads `connectors/formats` from both checkouts into this process and, round by round
 * (A B, then B A, ...), feeds each the same bodies of 10,000 records, cut into 64 KiB pieces as an HTTP body
 * arrives, through the streaming parser an ingress request uses (`streamingInputParser`). Reports the CPU time
 * (user + system of this process) per record, median over the rounds, for JSON (`insert_delete`) and CSV, and
 * B ÷ A. The table and records are those of `bench/ingest/ab.ts`. CPU time, not wall time: the machine is
 * shared. Each round parses 10 bodies per side after a warm-up of 10.
 */
import { join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

const SQL =
  'CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR, amount DECIMAL(10,2), ts TIMESTAMP);';
const RECORDS = 10_000;
const BODIES_PER_ROUND = 10;

interface Side {
  parser: (format: string) => (table: unknown) => {
    write(t: string): { changes: unknown[] };
    end(): { changes: unknown[] };
  };
  table: unknown;
}

async function load(checkout: string): Promise<Side> {
  const root = resolve(checkout);
  const formats = await import(join(root, 'src/connectors/formats/index.ts'));
  const program = await import(join(root, 'src/sql/program.ts'));
  const p = await program.compileProgram(SQL);
  return { parser: (format) => formats.streamingInputParser(format, {}), table: p.table('t') };
}

function record(i: number, format: 'json' | 'csv'): string {
  const amount = ((i * 37) % 10000) / 100;
  if (format === 'json')
    return `{"insert":{"id":${i},"name":"customer-${i % 1000}","amount":${amount},"ts":"2026-01-01 00:00:00"}}`;
  return `${i},customer-${i % 1000},${amount},2026-01-01 00:00:00`;
}

function pieces(format: 'json' | 'csv'): Buffer[] {
  const lines: string[] = [];
  for (let i = 0; i < RECORDS; i++) lines.push(record(i, format));
  const body = Buffer.from(`${lines.join('\n')}\n`);
  const out: Buffer[] = [];
  for (let o = 0; o < body.length; o += 65536) out.push(body.subarray(o, o + 65536));
  return out;
}

/** CPU µs per record to parse `n` bodies. */
function parse(side: Side, format: 'json' | 'csv', body: readonly Buffer[], n: number): number {
  const make = side.parser(format);
  const c0 = process.cpuUsage();
  for (let k = 0; k < n; k++) {
    const p = make(side.table);
    const d = new StringDecoder('utf8');
    let got = 0;
    for (const c of body) got += p.write(d.write(c)).changes.length;
    got += p.write(d.end()).changes.length + p.end().changes.length;
    if (got !== RECORDS) throw new Error(`parsed ${got} of ${RECORDS} records`);
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / (n * RECORDS);
}

const [a, b, roundsText] = process.argv.slice(2);
if (!a || !b) throw new Error('usage: node bench/ingest/parse-ab.ts <checkoutA> <checkoutB> [rounds]');
const rounds = Number(roundsText ?? 15);
const sides = [await load(a), await load(b)];
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
console.log('| format | A CPU µs/record (median) | B CPU µs/record (median) | B/A |');
console.log('| --- | ---: | ---: | ---: |');
for (const format of ['json', 'csv'] as const) {
  const body = pieces(format);
  for (const s of sides) parse(s, format, body, BODIES_PER_ROUND);
  const times: number[][] = [[], []];
  for (let r = 0; r < rounds; r++)
    for (const i of r % 2 === 0 ? [0, 1] : [1, 0])
      (times[i] as number[]).push(parse(sides[i] as Side, format, body, BODIES_PER_ROUND));
  const ma = median(times[0] as number[]);
  const mb = median(times[1] as number[]);
  console.log(`| ${format} | ${ma.toFixed(2)} | ${mb.toFixed(2)} | ${(mb / ma).toFixed(2)} |`);
}
