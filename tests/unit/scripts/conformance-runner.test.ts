/**
 * `scripts/conformance.ts` as a real process on a small corpus in a temp folder: a case that calls a SQL function
 * or a type declared only by another case of its folder passes (Feldera ran a folder as one program; a type's own
 * dependencies come along, declared first), and a call to a function that no case declares still fails as an
 * unknown function.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'holdfast-conformance-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const DECL = `CREATE FUNCTION d_tz() RETURNS TIMESTAMP NOT NULL AS CAST('1970-01-01 00:00:00' AS TIMESTAMP);`;
const TABLE = 'CREATE TABLE t (id INT NOT NULL, s INT);';

function kase(folder: string, id: string, program: string, expected: unknown[]) {
  return {
    id: `${folder}/${id}`,
    program,
    view: 'v',
    inputs: { t: [{ insert: { id: 1, s: 60 } }] },
    expected_rows: expected,
    expected_error: null,
  };
}

test('a function or type declared by one case of a folder is visible to the others; an undeclared one is not', () => {
  mkdirSync(join(dir, 'cases'));
  const view = 'CREATE MATERIALIZED VIEW v AS SELECT id, TIMESTAMPADD(SECOND, s, d_tz()) AS ts FROM t;';
  const row = {
    $obj: [
      ['id', 1],
      ['ts', { $ts: '1970-01-01 00:01:00' }],
    ],
  };
  const cases = [
    kase('f', 'declares', `${DECL}\n${TABLE}\n${view}`, [row]),
    kase('f', 'uses', `${TABLE}\n${view}`, [row]),
  ];
  writeFileSync(join(dir, 'cases', 'f.json'), JSON.stringify({ folder: 'f', cases }));
  const other = [
    kase('g', 'unknown', `${TABLE}\nCREATE MATERIALIZED VIEW v AS SELECT id, nowhere_fn() AS x FROM t;`, []),
  ];
  const types = 'CREATE TYPE inner_t AS (i INT, j INT);\nCREATE TYPE outer_t AS (a inner_t, s VARCHAR);';
  const tableU = 'CREATE TABLE u (id INT NOT NULL, o outer_t);';
  const viewU = 'CREATE MATERIALIZED VIEW v AS SELECT id, u.o.a.j AS j FROM u;';
  const inputsU = { u: [{ insert: { id: 1, o: { a: { i: 6, j: 7 }, s: 'x' } } }] };
  const rowU = {
    $obj: [
      ['id', 1],
      ['j', 7],
    ],
  };
  const h = [
    { ...kase('h', 'declares', `${types}\n${tableU}\n${viewU}`, [rowU]), inputs: inputsU },
    { ...kase('h', 'uses', `${tableU}\n${viewU}`, [rowU]), inputs: inputsU },
  ];
  writeFileSync(join(dir, 'cases', 'h.json'), JSON.stringify({ folder: 'h', cases: h }));
  writeFileSync(join(dir, 'cases', 'g.json'), JSON.stringify({ folder: 'g', cases: other }));
  const out = join(dir, 'out.json');
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'conformance.ts'), '--dir', dir, '--json', out], {
    cwd: ROOT,
    stdio: 'pipe',
  });
  const report = JSON.parse(readFileSync(out, 'utf8')) as {
    folders: Record<string, { pass: number; total: number }>;
    failures: Array<{ id: string; reason: string }>;
  };
  assert.deepEqual(report.folders.f, { pass: 2, total: 2, positive: 2, positivePass: 2 });
  assert.deepEqual(
    report.folders.h,
    { pass: 2, total: 2, positive: 2, positivePass: 2 },
    JSON.stringify(report),
  );
  assert.equal(report.folders.g?.pass, 0);
  assert.match(report.failures.find((f) => f.id === 'g/unknown')?.reason ?? '', /NOWHERE_FN/i);
});
