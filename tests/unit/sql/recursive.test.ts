/**
 * DECLARE RECURSIVE VIEW (issue 17, Programs): recursive views evaluated to a fixed point within each step,
 * incrementally, under insertions and deletions.
 * - transitive closure under a seeded random stream of edge inserts and deletes, compared after every step with
 *   PGlite's `WITH RECURSIVE ... UNION` over the same edges (a from-scratch recompute) and with a fresh
 *   instance of the same program fed the whole table in one step; `SEED=<n>` replays a run;
 * - deletions that leave a cycle of derived rows supporting each other (exactly the case a naive "continue from
 *   the old fixed point" evaluation gets wrong);
 * - mutual recursion (two declared views), checked against a direct computation;
 * - a non-monotone recursive view (an aggregate inside the recursion) and constants in the recursion;
 * - programs without declarations are planned exactly as before; negative cases Feldera rejects; the iteration
 *   limit (RecursionLimitExceeded) instead of a hang.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { compileProgram, type SqlCircuit } from '../../../src/sql/program.ts';
import { type Batch, emptyBatch } from '../../../src/zset/batch.ts';
import type { Row } from '../../../src/zset/value.ts';
import { runSeed } from '../../kit/seed.ts';
import { mulberry32, norm, randInt } from '../operators/support.ts';

const CLOSURE = `
  CREATE TABLE edges (x INT, y INT);
  DECLARE RECURSIVE VIEW closure (x INT, y INT);
  CREATE LOCAL VIEW step AS SELECT e.x, closure.y FROM edges e JOIN closure ON e.y = closure.x;
  CREATE MATERIALIZED VIEW closure AS (SELECT * FROM edges) UNION (SELECT * FROM step);
`;

const isErr = (code: string, re: RegExp) => (e: unknown) =>
  isServiceError(e) && e.errorCode === code && re.test(e.message);

const batch = (entries: ReadonlyArray<readonly [Row, number]>): Batch => ({
  rows: entries.map((e) => e[0] as Row),
  weights: entries.map((e) => e[1]),
});

/** Sorted `x,y` strings of a batch of positive rows (fails on a weight other than 1: views are sets). */
function pairs(b: Batch): string[] {
  return norm(b).map(([r, w]) => {
    assert.equal(w, 1, `row ${r} has weight ${w}`);
    return r;
  });
}

let pg: PGlite;
before(async () => {
  pg = await PGlite.create();
  await pg.exec('CREATE TABLE edges (x INT, y INT);');
});
after(async () => {
  await pg.close();
});

/** PGlite's transitive closure of `edges` (a set: UNION), as the engine renders rows. */
async function pgClosure(): Promise<string[]> {
  const r = await pg.query<{ x: number; y: number }>(
    'WITH RECURSIVE c(x, y) AS (SELECT x, y FROM edges UNION SELECT e.x, c.y FROM edges e JOIN c ON e.y = c.x) SELECT x, y FROM c',
  );
  return norm(batch(r.rows.map((o) => [[o.x, o.y], 1] as const))).map(([row]) => row);
}

describe('transitive closure', () => {
  test('the example of the reference: insert (0,1), insert (1,2), delete (0,1)', async () => {
    const c = (await compileProgram(CLOSURE)).instantiate();
    c.step({ edges: batch([[[0, 1], 1]]) });
    assert.deepEqual(
      pairs(c.contents('closure')),
      norm(batch([[[0, 1], 1]])).map(([r]) => r),
    );
    const out = c.step({ edges: batch([[[1, 2], 1]]) }).get('closure') as Batch;
    assert.deepEqual(
      norm(out),
      norm(
        batch([
          [[1, 2], 1],
          [[0, 2], 1],
        ]),
      ),
    );
    const gone = c.step({ edges: batch([[[0, 1], -1]]) }).get('closure') as Batch;
    assert.deepEqual(
      norm(gone),
      norm(
        batch([
          [[0, 1], -1],
          [[0, 2], -1],
        ]),
      ),
    );
    assert.deepEqual(
      pairs(c.contents('closure')),
      norm(batch([[[1, 2], 1]])).map(([r]) => r),
    );
  });

  test('deleting the edge that fed a cycle removes the rows the cycle derived from each other', async () => {
    // a ⇄ b, and b → c: (a,c) and (b,c) derive each other through the cycle once b → c is gone
    const c = (await compileProgram(CLOSURE)).instantiate();
    c.step({
      edges: batch([
        [[1, 2], 1],
        [[2, 1], 1],
        [[2, 3], 1],
      ]),
    });
    assert.equal(c.contents('closure').rows.length, 6);
    const out = c.step({ edges: batch([[[2, 3], -1]]) }).get('closure') as Batch;
    assert.deepEqual(
      norm(out),
      norm(
        batch([
          [[2, 3], -1],
          [[1, 3], -1],
        ]),
      ),
    );
    assert.deepEqual(
      pairs(c.contents('closure')),
      norm(
        batch([
          [[1, 2], 1],
          [[2, 1], 1],
          [[1, 1], 1],
          [[2, 2], 1],
        ]),
      ).map(([r]) => r),
    );
  });

  test('a step that makes the recursion several iterations shallower, then deeper again', async () => {
    // a chain 0 → 1 → ... → 9 needs 9 iterations; cutting it in the middle leaves 4, joining it back 9 again
    const program = await compileProgram(`${CLOSURE}CREATE MATERIALIZED VIEW hops AS SELECT x, y FROM step;`);
    const c = program.instantiate();
    const chain = Array.from({ length: 9 }, (_x, i) => [[i, i + 1], 1] as const);
    const live = new Map(chain.map(([e]) => [String(e), e as Row]));
    const sums = new Map<string, Map<string, number>>();
    const check = (out: Map<string, Batch>, label: string) => {
      for (const name of ['closure', 'hops']) {
        const acc = sums.get(name) ?? new Map<string, number>();
        sums.set(name, acc);
        for (const [r, w] of norm(out.get(name) ?? emptyBatch())) {
          const n = (acc.get(r) ?? 0) + w;
          if (n === 0) acc.delete(r);
          else acc.set(r, n);
        }
        const fresh = program
          .instantiate()
          .step({ edges: batch([...live.values()].map((e) => [e, 1] as const)) });
        const want = norm(fresh.get(name) ?? emptyBatch());
        assert.deepEqual(norm(c.contents(name)), want, `${label}: ${name} contents`);
        assert.deepEqual([...acc.entries()].sort(), [...want].sort(), `${label}: ${name} changes sum to it`);
      }
    };
    check(c.step({ edges: batch(chain) }), 'chain');
    live.delete('4,5');
    check(c.step({ edges: batch([[[4, 5], -1]]) }), 'cut');
    live.set('4,5', [4, 5]);
    check(c.step({ edges: batch([[[4, 5], 1]]) }), 'joined');
    live.delete('1,2');
    live.delete('7,8');
    check(
      c.step({
        edges: batch([
          [[1, 2], -1],
          [[7, 8], -1],
        ]),
      }),
      'cut twice',
    );
  });

  test('random inserts and deletes: equal to a from-scratch recompute after every step', async () => {
    const seed = runSeed('recursive-closure', 'SEED');
    console.log(`recursive closure: SEED=${seed}`);
    const rnd = mulberry32(seed);
    // `hops` reads the LOCAL view of the recursion (not DISTINCT: a multiset) from outside it
    const program = await compileProgram(
      `${CLOSURE}CREATE VIEW reach_count AS SELECT x, COUNT(*) AS n FROM closure GROUP BY x;
       CREATE MATERIALIZED VIEW hops AS SELECT x, y FROM step;`,
    );
    const c = program.instantiate();
    const live: Array<[number, number]> = [];
    const view = new Map<string, number>(); // the closure as the sum of the emitted changes
    await pg.exec('DELETE FROM edges;');
    for (let s = 0; s < 40; s++) {
      const changes: Array<[Row, number]> = [];
      for (let k = randInt(rnd, 1, 4); k > 0; k--) {
        if (live.length > 0 && rnd() < 0.4) {
          const [e] = live.splice(randInt(rnd, 0, live.length - 1), 1) as [[number, number]];
          changes.push([e, -1]);
        } else {
          const e: [number, number] = [randInt(rnd, 0, 7), randInt(rnd, 0, 7)];
          live.push(e); // edges is a multiset: the same edge may be there twice
          changes.push([e, 1]);
        }
      }
      const out = c.step({ edges: batch(changes) });
      for (const [r, w] of norm(out.get('closure') as Batch)) {
        const n = (view.get(r) ?? 0) + w;
        if (n === 0) view.delete(r);
        else view.set(r, n);
      }
      for (const [[x, y], w] of changes)
        await pg.query(
          w > 0
            ? 'INSERT INTO edges VALUES ($1, $2)'
            : 'DELETE FROM edges WHERE ctid = (SELECT ctid FROM edges WHERE x = $1 AND y = $2 LIMIT 1)',
          [x, y],
        );
      const expected = await pgClosure();
      assert.deepEqual(pairs(c.contents('closure')), expected, `SEED=${seed} step ${s + 1}: contents`);
      assert.deepEqual(
        [...view.entries()].sort(),
        expected.map((r) => [r, 1]).sort(),
        `SEED=${seed} step ${s + 1}: the emitted changes sum to the closure`,
      );
      // the same program, fresh, fed the whole table in one step
      const fresh = program.instantiate();
      const all = fresh.step({ edges: batch(live.map((e) => [e, 1] as const)) });
      assert.deepEqual(pairs(all.get('closure') as Batch), expected, `SEED=${seed} step ${s + 1}: recompute`);
      assert.deepEqual(
        norm(c.contents('hops')),
        norm(all.get('hops') as Batch),
        `SEED=${seed} step ${s + 1}: the LOCAL view read from outside`,
      );
    }
  });
});

/** Nodes reachable from `n` by a path of odd (or even, ≥ 2) length, computed directly. */
function parity(edges: ReadonlyArray<readonly [number, number]>): { odd: Set<string>; even: Set<string> } {
  const odd = new Set<string>();
  const even = new Set<string>();
  for (const [a, b] of edges) odd.add(`${a},${b}`);
  for (let changed = true; changed; ) {
    changed = false;
    for (const [a, b] of edges) {
      for (const o of [...odd]) {
        const [n, d] = o.split(',').map(Number) as [number, number];
        if (n === b && !even.has(`${a},${d}`)) {
          even.add(`${a},${d}`);
          changed = true;
        }
      }
      for (const o of [...even]) {
        const [n, d] = o.split(',').map(Number) as [number, number];
        if (n === b && !odd.has(`${a},${d}`)) {
          odd.add(`${a},${d}`);
          changed = true;
        }
      }
    }
  }
  return { odd, even };
}

test('mutual recursion: paths of odd and of even length', async () => {
  const seed = runSeed('recursive-mutual', 'SEED');
  console.log(`recursive mutual: SEED=${seed}`);
  const rnd = mulberry32(seed);
  const c = (
    await compileProgram(`
      CREATE TABLE e (a INT, b INT);
      DECLARE RECURSIVE VIEW odd_path (n INT, d INT);
      DECLARE RECURSIVE VIEW even_path (n INT, d INT);
      CREATE MATERIALIZED VIEW odd_path AS SELECT a AS n, b AS d FROM e
        UNION SELECT e.a, p.d FROM e JOIN even_path p ON e.b = p.n;
      CREATE MATERIALIZED VIEW even_path AS SELECT e.a AS n, p.d FROM e JOIN odd_path p ON e.b = p.n;
    `)
  ).instantiate();
  const live: Array<[number, number]> = [];
  for (let s = 0; s < 25; s++) {
    const changes: Array<[Row, number]> = [];
    if (live.length > 0 && rnd() < 0.35) {
      const [e] = live.splice(randInt(rnd, 0, live.length - 1), 1) as [[number, number]];
      changes.push([e, -1]);
    } else {
      const e: [number, number] = [randInt(rnd, 0, 5), randInt(rnd, 0, 5)];
      live.push(e);
      changes.push([e, 1]);
    }
    c.step({ e: batch(changes) });
    const { odd, even } = parity(live);
    const asRows = (s: Set<string>) =>
      norm(batch([...s].map((x) => [x.split(',').map(Number), 1] as const))).map(([r]) => r);
    assert.deepEqual(pairs(c.contents('odd_path')), asRows(odd), `SEED=${seed} step ${s + 1}: odd`);
    assert.deepEqual(pairs(c.contents('even_path')), asRows(even), `SEED=${seed} step ${s + 1}: even`);
  }
});

test('a non-monotone recursion (MIN inside) and a constant base case follow insertions and deletions', async () => {
  const c = (
    await compileProgram(`
      CREATE TABLE e (a INT, b INT);
      DECLARE RECURSIVE VIEW low (a INT, m INT);
      CREATE MATERIALIZED VIEW low AS SELECT a, MIN(b) AS m
        FROM (SELECT a, b FROM e UNION SELECT e.a, l.m FROM e JOIN low l ON e.b = l.a) GROUP BY a;
      DECLARE RECURSIVE VIEW n (x INT NOT NULL);
      CREATE MATERIALIZED VIEW n AS SELECT 0 AS x UNION SELECT x + 1 FROM n WHERE x < (SELECT COUNT(*) FROM e);
    `)
  ).instantiate();
  const rowsOf = (name: string) => norm(c.contents(name)).map(([r]) => r);
  c.step({});
  assert.deepEqual(rowsOf('n'), ['[0]']);
  c.step({
    e: batch([
      [[3, 2], 1],
      [[2, 1], 1],
      [[1, 5], 1],
    ]),
  });
  // low(a) = the smallest node reachable from a
  assert.deepEqual(rowsOf('low'), ['[1, 5]', '[2, 1]', '[3, 1]']);
  assert.deepEqual(rowsOf('n'), ['[0]', '[1]', '[2]', '[3]']);
  c.step({ e: batch([[[2, 1], -1]]) });
  assert.deepEqual(rowsOf('low'), ['[1, 5]', '[3, 2]']);
  assert.deepEqual(rowsOf('n'), ['[0]', '[1]', '[2]']);
});

test('a program without declarations is planned as before: program order, no fixpoint', async () => {
  const p = await compileProgram(`
    CREATE TABLE t (x INT);
    CREATE VIEW a AS SELECT x FROM t;
    CREATE VIEW b AS SELECT x FROM a UNION SELECT x + 1 FROM a;
  `);
  const c = p.instantiate();
  assert.doesNotMatch(c.explain(), /fixpoint/);
  assert.deepEqual(
    c.relations.map((r) => r.name),
    ['t', 'a', 'b'],
  );
  // reading a view defined later is still an error without a declaration
  await assert.rejects(
    compileProgram(
      'CREATE TABLE t (x INT); CREATE VIEW a AS SELECT x FROM b; CREATE VIEW b AS SELECT x FROM t;',
    ),
    isErr('SqlNameError', /relation "b" does not exist/),
  );
});

describe('declarations', () => {
  test('CREATE RECURSIVE VIEW (the older spelling), comments and a view read before its definition', async () => {
    const p = await compileProgram(`
      CREATE TABLE t (v INT);
      -- a forward declaration, older spelling
      CREATE RECURSIVE VIEW v (v INT);
      CREATE LOCAL VIEW x AS SELECT v / 2 AS v FROM t;
      CREATE VIEW o AS SELECT v + 1 AS w FROM v;
      CREATE LOCAL VIEW v AS SELECT v FROM v UNION SELECT * FROM x;
    `);
    const c = p.instantiate();
    const out = c.step({ t: batch([[[4], 1]]) });
    assert.deepEqual(norm(out.get('o') as Batch), [['[3]', 1]]);
    assert.deepEqual(
      p.views.map((v) => [v.name, v.kind]),
      [
        ['x', 'local'],
        ['v', 'local'],
        ['o', 'view'],
      ],
    );
  });

  test('a common table expression named like a recursive view is not a reference to it', async () => {
    const p = await compileProgram(`
      CREATE TABLE edges (x INT, y INT);
      DECLARE RECURSIVE VIEW closure (x INT, y INT);
      CREATE VIEW w AS WITH closure AS (SELECT x, y FROM edges) SELECT * FROM closure;
      CREATE LOCAL VIEW step AS SELECT e.x, closure.y FROM w e JOIN closure ON e.y = closure.x;
      CREATE MATERIALIZED VIEW closure AS (SELECT * FROM w) UNION (SELECT * FROM step);
    `);
    const c = p.instantiate();
    c.step({
      edges: batch([
        [[1, 2], 1],
        [[2, 3], 1],
      ]),
    });
    assert.deepEqual(pairs(c.contents('closure')), ['[1, 2]', '[1, 3]', '[2, 3]']);
  });

  test('a declared view in no cycle is a plain view of the declared type', async () => {
    const p = await compileProgram(
      'CREATE TABLE t (a INT); DECLARE RECURSIVE VIEW w (a INT); CREATE VIEW u AS SELECT a FROM w; CREATE VIEW w AS SELECT a FROM t;',
    );
    const out = p.instantiate().step({ t: batch([[[7], 2]]) });
    assert.deepEqual(norm(out.get('u') as Batch), [['[7]', 2]]);
  });
});

describe('programs Feldera rejects', () => {
  test('the query does not produce the declared columns', async () => {
    await assert.rejects(
      compileProgram('DECLARE RECURSIVE VIEW v (x INTEGER, y VARCHAR); CREATE VIEW v AS SELECT y, x FROM v;'),
      isErr('SqlTypeError', /does not match the declared type v\(x INTEGER, y VARCHAR\)/),
    );
    await assert.rejects(
      compileProgram(
        "DECLARE RECURSIVE VIEW v (v INT); CREATE VIEW v AS SELECT CAST(v.v AS VARCHAR) FROM v UNION SELECT '1';",
      ),
      isErr('SqlTypeError', /does not match the declared type/),
    );
    await assert.rejects(
      compileProgram(
        'DECLARE RECURSIVE VIEW v (v INT); CREATE VIEW v (v0) AS SELECT DISTINCT v FROM v UNION SELECT 1;',
      ),
      isErr('SqlTypeError', /does not match the declared type/),
    );
  });

  test('a view in a recursion that is neither LOCAL nor declared', async () => {
    await assert.rejects(
      compileProgram(`
        CREATE TABLE e (x INT, y INT);
        DECLARE RECURSIVE VIEW closure (x INT, y INT);
        CREATE VIEW step AS SELECT e.x, closure.y FROM e JOIN closure ON e.y = closure.x;
        CREATE MATERIALIZED VIEW closure AS (SELECT * FROM e) UNION (SELECT * FROM step);
      `),
      isErr('SqlNameError', /View 'step' must be declared either as LOCAL or as RECURSIVE/),
    );
  });

  test('window functions in recursive code', async () => {
    await assert.rejects(
      compileProgram(`
        CREATE TABLE e (x INT, y INT);
        DECLARE RECURSIVE VIEW closure (x INT, y INT);
        CREATE MATERIALIZED VIEW closure AS (SELECT * FROM e) UNION
          (SELECT lag(x) OVER (PARTITION BY x ORDER BY y), x FROM closure);
      `),
      isErr('SqlUnsupported', /Unsupported operation 'LAG' in recursive code \(line 5/),
    );
    await assert.rejects(
      compileProgram(`
        DECLARE RECURSIVE VIEW v (v BIGINT NOT NULL);
        CREATE TABLE t (v BIGINT);
        CREATE LOCAL VIEW w AS SELECT * FROM v UNION SELECT * FROM t;
        CREATE VIEW v AS SELECT COUNT(*) OVER (ORDER BY v) v FROM w;
      `),
      isErr('SqlUnsupported', /Unsupported operation 'OVER' in recursive code/),
    );
  });

  test('a declared view that is used but never defined, or declared twice', async () => {
    await assert.rejects(
      compileProgram(
        'CREATE TABLE t (a INT); DECLARE RECURSIVE VIEW w (a INT); CREATE VIEW u AS SELECT a FROM w;',
      ),
      isErr('SqlNameError', /declared .* and used but never defined/),
    );
    await assert.rejects(
      compileProgram(
        'DECLARE RECURSIVE VIEW w (a INT); DECLARE RECURSIVE VIEW w (a INT); CREATE VIEW w AS SELECT 1 AS a;',
      ),
      isErr('SqlNameError', /declared more than once/),
    );
  });
});

test('a recursion that never stops fails the step with RecursionLimitExceeded, not a hang', async () => {
  const c: SqlCircuit = (
    await compileProgram(`
      CREATE TABLE t (x INT NOT NULL);
      DECLARE RECURSIVE VIEW up (x INT NOT NULL);
      CREATE VIEW up AS SELECT x FROM t UNION SELECT x + 1 FROM up;
    `)
  ).instantiate();
  c.step({ t: emptyBatch() });
  assert.throws(
    () => c.step({ t: batch([[[0], 1]]) }),
    isErr('RecursionLimitExceeded', /did not reach a fixed point within 1000 iterations/),
  );
});

describe('bootstrapping a changed program', () => {
  const OLD = `CREATE TABLE edges (x INT, y INT) WITH ('materialized' = 'true');
    DECLARE RECURSIVE VIEW closure (x INT, y INT);
    CREATE LOCAL VIEW step AS SELECT e.x, closure.y FROM edges e JOIN closure ON e.y = closure.x;
    CREATE MATERIALIZED VIEW closure AS (SELECT * FROM edges) UNION (SELECT * FROM step);`;
  const STEPS = [
    batch([
      [[1, 2], 1],
      [[2, 3], 1],
    ]),
    batch([
      [[3, 1], 1],
      [[1, 2], -1],
    ]),
  ];

  for (const [label, neuSql, rebuilt] of [
    [
      'an unchanged recursion keeps its state',
      `${OLD} CREATE MATERIALIZED VIEW n AS SELECT COUNT(*) AS c FROM closure;`,
      ['n'],
    ],
    [
      'a changed recursion is rebuilt',
      OLD.replace('SELECT e.x, closure.y', 'SELECT e.x, closure.y + 0 AS y'),
      ['closure', 'step'],
    ],
  ] as const) {
    test(label, async () => {
      const {
        bootstrap,
        describe: describeProgram,
        planBootstrap,
      } = await import('../../../src/sql/bootstrap.ts');
      const old = await compileProgram(OLD);
      const neu = await compileProgram(neuSql);
      const c = old.instantiate();
      c.trackChanges(true);
      c.step({ edges: STEPS[0] as Batch });
      const base = c.snapshot();
      c.step({ edges: STEPS[1] as Batch });
      const delta = c.takeDelta();
      const plan = planBootstrap(describeProgram(old), describeProgram(neu));
      assert.deepEqual([...plan.rebuilt].sort(), [...rebuilt].sort());
      const r = bootstrap(neu, { base, deltas: [delta] }, plan);
      const b = neu.instantiate();
      b.restore(r.state.base, r.state.deltas);
      const fresh = neu.instantiate();
      for (const s of STEPS) fresh.step({ edges: s });
      for (const v of neu.views.filter((x) => x.materialized))
        assert.deepEqual(norm(b.contents(v.name)), norm(fresh.contents(v.name)), v.name);
      const next = { edges: batch([[[3, 4], 1]]) };
      const o1 = b.step(next);
      const o2 = fresh.step(next);
      for (const v of neu.outputs)
        assert.deepEqual(norm(o1.get(v.name) as Batch), norm(o2.get(v.name) as Batch));
    });
  }
});
