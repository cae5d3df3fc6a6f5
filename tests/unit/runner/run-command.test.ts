/**
 * `holdfast run` as a user runs it: a real process over the example program. The printed result must not depend
 * on the batch size; errors go to stderr with a code and a non-zero exit.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../../..');
const EX = join(ROOT, 'examples/orders');
const INPUTS = ['--input', `customers=${EX}/customers.jsonl`, '--input', `orders=${EX}/orders.jsonl`];

function holdfast(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'src/bin/main.ts'), ...args], {
    encoding: 'utf8',
    cwd: ROOT,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('final view contents do not depend on the batch size', () => {
  const outs = [1, 2, 3, 7, 1000].map((n) =>
    holdfast('run', `${EX}/program.sql`, ...INPUTS, '--batch-size', String(n)),
  );
  for (const o of outs) assert.equal(o.code, 0, o.err);
  for (const o of outs.slice(1)) assert.equal(o.out, (outs[0] as { out: string }).out);
  const rows = (outs[0] as { out: string }).out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const north = rows.find((r) => r.view === 'region_totals' && r.row.region === 'north');
  assert.deepEqual(north.row, {
    region: 'north',
    orders: 3,
    revenue: 455.75,
    avg_amount: 151.91, // AVG keeps its argument's DECIMAL(10, 2) type, truncated (Feldera)
    largest: 310.25,
  });
  assert.deepEqual(
    rows.filter((r) => r.view === 'idle_customers').map((r) => r.row.id),
    [4, 5],
  );
  assert.ok(!rows.some((r) => r.view === 'big_orders'), 'local views are not printed');
});

test('--steps prints every change and --output text prints tables', () => {
  const s = holdfast('run', `${EX}/program.sql`, ...INPUTS, '--batch-size', '4', '--steps');
  assert.equal(s.code, 0, s.err);
  const lines = s.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const stepLines = lines.filter((l) => l.step !== undefined);
  assert.ok(stepLines.some((l) => l.step === 1 && l.view === 'idle_customers' && l.insert));
  assert.ok(
    stepLines.some((l) => l.delete),
    'deletions appear as changes',
  );
  const t = holdfast('run', `${EX}/program.sql`, ...INPUTS, '--output', 'text');
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /region_totals \(2 rows\)/);
  assert.match(t.out, / north {2}\| 3 {6}\| 455\.75/);
});

test('errors go to stderr with their code and a non-zero exit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-run-'));
  const bad = join(dir, 'bad.sql');
  writeFileSync(bad, 'CREATE TABLE t (a INT);\nCREATE VIEW v AS SELECT b FROM t;');
  const e1 = holdfast('run', bad);
  assert.equal(e1.code, 1);
  assert.match(e1.err, /^error \[SqlNameError\]: column "b" does not exist \(line 2, column 25\)/);
  assert.equal(e1.out, '');

  const plain = join(dir, 'plain.jsonl');
  writeFileSync(plain, '{"a": 1}\n{"insert": {"a": 2}}\n{"a": 3}\n{"delete": {"a": 1}}\n');
  const sum = join(dir, 'sum.sql');
  writeFileSync(
    sum,
    'CREATE TABLE t (a INT);\nCREATE VIEW s AS SELECT SUM(a) AS total, COUNT(*) AS n FROM t;',
  );
  const ok = holdfast('run', sum, '--input', `t=${plain}`, '--batch-size', '1');
  assert.equal(ok.code, 0, ok.err);
  assert.equal(
    ok.out.trim(),
    '{"view":"s","row":{"total":5,"n":2}}',
    'plain rows are inserts; envelopes insert and delete',
  );

  const rec = join(dir, 'rec.jsonl');
  writeFileSync(rec, '{"a": 1}\n{"a": "x"}\n');
  const good = join(dir, 'good.sql');
  writeFileSync(good, 'CREATE TABLE t (a INT);\nCREATE VIEW v AS SELECT a FROM t;');
  const e2 = holdfast('run', good, '--input', `t=${rec}`);
  assert.equal(e2.code, 1);
  assert.match(e2.err, /error \[InvalidRecord\]: .*rec\.jsonl:2: .*a/);

  const e3 = holdfast('run', good, '--input', `nope=${rec}`);
  assert.match(e3.err, /error \[UnknownInputTable\]/);
  const e4 = holdfast('run', join(dir, 'missing.sql'));
  assert.match(e4.err, /error \[FileReadError\]: cannot read program/);
  const e5 = holdfast('run', good, '--batch-size', '0');
  assert.equal(e5.code, 2);
  assert.match(e5.err, /error \[InvalidArguments\]: holdfast run: --batch-size must be a positive integer/);
  for (const e of [e1, e2, e3, e4, e5]) assert.doesNotMatch(e.err, /\n\s+at /, 'no stack traces');
});
