import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  charLength,
  coerceToLength,
  compileLike,
  lower,
  position,
  substring,
  trim,
  upper,
} from '../../../../src/sql/values/strings.ts';
import { mismatches, type Oracle, ours, prng, startOracle } from './pg-oracle.ts';

let pg: Oracle;
before(async () => {
  pg = await startOracle();
});
after(async () => {
  await pg.close();
});

function q(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

const rand = prng(99);

test('LIKE matches Postgres on fixed and random patterns', async () => {
  const cases: [string, string, string?][] = [
    ['abc', 'abc'],
    ['abc', 'a%'],
    ['abc', '%c'],
    ['abc', '%b%'],
    ['abc', 'a_c'],
    ['abc', '_'],
    ['', ''],
    ['', '%'],
    ['a%', 'a\\%'],
    ['a_b', 'a\\_b'],
    ['axb', 'a\\_b'],
    ['ab', 'ab\\'],
    ['ab\\', 'ab\\'],
    ['a\nb', 'a%b'],
    ['a\nb', 'a_b'],
    ['ABC', 'abc'],
    ['a.c', 'a.c'],
    ['abc', 'a.c'],
    ['a(b', 'a(%'],
    ['x[y]', '%[y]'],
    ['日本語', '日_語'],
    ['😀x', '_x'],
    ['abc', 'a%', ''],
    ['a%c', 'a!%c', '!'],
    ['abc', 'a!%c', '!'],
    ['abc', '%%%'],
    ['aaa', '%a%a%a%'],
    ['aa', '%a%a%a%'],
    ['abc', 'a%', 'xx'],
    ['a\\b', 'a\\\\b'],
    ['a$b', 'a$b'],
    ['a^b', '%^%'],
    ['x|y', 'x|y'],
    ['xy', 'x|y'],
  ];
  const alphabet = ['a', 'b', '%', '_', '\\'];
  for (let i = 0; i < 300; i++) {
    let s = '';
    let p = '';
    const sl = Math.floor(rand() * 6);
    const pl = Math.floor(rand() * 6);
    for (let j = 0; j < sl; j++) s += rand() < 0.5 ? 'a' : 'b';
    for (let j = 0; j < pl; j++) p += alphabet[Math.floor(rand() * alphabet.length)];
    cases.push([s, p]);
  }
  const exprs = cases.map(([s, p, e]) => `${q(s)} LIKE ${q(p)}${e === undefined ? '' : ` ESCAPE ${q(e)}`}`);
  const got = await pg.evalMany(exprs);
  const mine = cases.map(([s, p, e]) => ours(() => String(compileLike(p, e)(s))));
  // Postgres prints booleans as 'true'/'false' when cast to text
  assert.deepEqual(mismatches(exprs, got, mine), []);
});

test('substring, position, trim, length, upper/lower', async () => {
  const labels: string[] = [];
  const exprs: string[] = [];
  const mine: ReturnType<typeof ours>[] = [];
  const strs = ['hello', '', 'a😀b😀c', '日本語テキスト', '  pad  ', 'xxabxx'];
  for (const s of strs) {
    for (const start of [-3, -1, 0, 1, 2, 4, 10]) {
      labels.push(`substring(${s} from ${start})`);
      exprs.push(`substring(${q(s)} from ${start})`);
      mine.push(ours(() => substring(s, start)));
      for (const len of [-1, 0, 1, 2, 5, 100]) {
        labels.push(`substring(${s} from ${start} for ${len})`);
        exprs.push(`substring(${q(s)} from ${start} for ${len})`);
        mine.push(ours(() => substring(s, start, len)));
      }
    }
    for (const needle of ['', 'l', 'lo', 'z', '😀', 'c', 'テ', 'ab', ' ']) {
      labels.push(`position(${needle} in ${s})`);
      exprs.push(`position(${q(needle)} in ${q(s)})`);
      mine.push(ours(() => String(position(needle, s))));
    }
    for (const [mode, fn] of [
      ['both', 'btrim'],
      ['leading', 'ltrim'],
      ['trailing', 'rtrim'],
    ] as const) {
      for (const chars of [' ', 'x', 'xa', '😀a', '']) {
        labels.push(`${fn}(${s}, ${chars})`);
        exprs.push(`${fn}(${q(s)}, ${q(chars)})`);
        mine.push(ours(() => trim(s, mode, chars)));
      }
    }
    labels.push(`length ${s}`, `upper ${s}`, `lower ${s}`);
    exprs.push(`char_length(${q(s)})`, `upper(${q(s)})`, `lower(${q(s)})`);
    mine.push(
      ours(() => String(charLength(s))),
      ours(() => upper(s)),
      ours(() => lower(s)),
    );
  }
  const caseStrs = ['Straße', 'ǅungla', 'ÀÉÎõü', 'ﬀ', 'ΣΑΣ', 'İi', 'ǰ', 'Ωmega', 'ŉ', 'µ'];
  for (const s of caseStrs) {
    labels.push(`upper ${s}`, `lower ${s}`);
    exprs.push(`upper(${q(s)})`, `lower(${q(s)})`);
    mine.push(
      ours(() => upper(s)),
      ours(() => lower(s)),
    );
  }
  const got = await pg.evalMany(exprs);
  assert.deepEqual(mismatches(labels, got, mine), []);
});

test('CHAR(n)/VARCHAR(n) coercion: explicit casts truncate, assignments keep only trailing spaces', async () => {
  const labels: string[] = [];
  const exprs: string[] = [];
  const mine: ReturnType<typeof ours>[] = [];
  for (const s of ['abcd', 'ab', 'ab   ', 'a😀😀', '']) {
    for (const kind of ['CHAR', 'VARCHAR'] as const) {
      const pgType = kind === 'CHAR' ? 'character' : 'character varying';
      for (const n of [1, 2, 3, 5]) {
        // explicit cast
        labels.push(`${s}::${kind}(${n})`);
        exprs.push(`(${q(s)}::${pgType}(${n}) || '|')`);
        mine.push(
          ours(
            () =>
              `${kind === 'CHAR' ? coerceToLength(s, kind, n, true).trimEnd() : coerceToLength(s, kind, n, true)}|`,
          ),
        );
      }
    }
  }
  const got = await pg.evalMany(exprs);
  assert.deepEqual(mismatches(labels, got, mine), []);
  // assignment semantics (INSERT): checked against a real table
  const assignCases: [string, 'CHAR' | 'VARCHAR', number][] = [
    ['abcd', 'VARCHAR', 2],
    ['ab   ', 'VARCHAR', 2],
    ['ab', 'CHAR', 4],
    ['abc ', 'CHAR', 2],
    ['a😀😀', 'VARCHAR', 2],
  ];
  const pgAssign: ReturnType<typeof ours>[] = [];
  for (const [s, kind, n] of assignCases) {
    const pgType = kind === 'CHAR' ? 'character' : 'character varying';
    pgAssign.push(
      await pg.run(
        `DROP TABLE IF EXISTS t; CREATE TEMP TABLE t (x ${pgType}(${n})); INSERT INTO t VALUES (${q(s)}); SELECT x::text || '|' FROM t`,
      ),
    );
  }
  const ourAssign = assignCases.map(([s, kind, n]) =>
    ours(() => `${coerceToLength(s, kind, n, false).trimEnd()}|`),
  );
  assert.deepEqual(mismatches(assignCases.map(String), pgAssign, ourAssign), []);
  assert.equal(coerceToLength('ab', 'CHAR', 4, false), 'ab  ');
  assert.equal(coerceToLength('ab   ', 'VARCHAR', 2, false), 'ab');
  assert.throws(() => coerceToLength('abcd', 'VARCHAR', 2, false), {
    errorCode: 'SqlRuntimeError',
    message: 'value too long for type character varying(2)',
  });
  assert.throws(() => coerceToLength('abc ', 'CHAR', 2, false), {
    message: 'value too long for type character(2)',
  });
  assert.equal(coerceToLength('a😀😀', 'VARCHAR', 2, true), 'a😀');
  assert.equal(coerceToLength('x', 'VARCHAR', null, false), 'x');
});

test('compileLike caches and rejects multi-character escapes', () => {
  assert.equal(compileLike('a%'), compileLike('a%'));
  assert.throws(() => compileLike('a%', 'xx'), {
    errorCode: 'SqlRuntimeError',
    message: 'invalid escape string',
  });
  assert.throws(() => substring('abc', 1, -1), { message: 'negative substring length not allowed' });
});
