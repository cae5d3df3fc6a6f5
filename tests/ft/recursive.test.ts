/**
 * Recursive views (DECLARE RECURSIVE VIEW) in a real pipeline process under exactly_once: edges are inserted
 * and deleted over HTTP, a checkpoint is taken, more changes follow (journaled only), the process is killed
 * with -9 and restarted; the restored recursion (its checkpointed inputs, recomputed, plus the replayed
 * journal) must hold the transitive closure of the surviving edges, and keep following later inserts and
 * deletes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkpoint, getJson, kill9, pipelineConfig, startPipeline, until, viewRows } from './support.ts';

const SQL = `CREATE TABLE edges (x INT NOT NULL, y INT NOT NULL) WITH ('materialized' = 'true');
DECLARE RECURSIVE VIEW closure (x INT NOT NULL, y INT NOT NULL);
CREATE LOCAL VIEW step AS SELECT e.x, closure.y FROM edges e JOIN closure ON e.y = closure.x;
CREATE MATERIALIZED VIEW closure AS (SELECT * FROM edges) UNION (SELECT * FROM step);`;

type Edge = readonly [number, number];

/** The closure of `edges`, as the pipeline's JSON rows (sorted). */
function closureOf(edges: readonly Edge[]): string[] {
  const out = new Set<string>();
  for (const [a] of edges) {
    const seen = new Set<number>();
    const todo = edges.filter(([x]) => x === a).map(([, y]) => y);
    while (todo.length > 0) {
      const n = todo.pop() as number;
      if (seen.has(n)) continue;
      seen.add(n);
      for (const [x, y] of edges) if (x === n) todo.push(y);
    }
    for (const n of seen) out.add(JSON.stringify({ x: a, y: n }));
  }
  return [...out].sort();
}

/** Sends inserts and deletes (insert_delete JSON) and waits until they are processed. */
async function change(base: string, insert: readonly Edge[], remove: readonly Edge[]): Promise<void> {
  const lines = [
    ...remove.map(([x, y]) => JSON.stringify({ delete: { x, y } })),
    ...insert.map(([x, y]) => JSON.stringify({ insert: { x, y } })),
  ];
  const r = await fetch(`${base}/ingress/edges?format=json&update_format=insert_delete`, {
    method: 'POST',
    body: lines.join('\n'),
  });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  const { token } = JSON.parse(text) as { token: string };
  await until(
    () => getJson<{ status: string }>(base, `/completion_status?token=${token}`),
    (s) => s.status === 'complete',
    'changes processed',
  );
}

test('a recursive view survives kill -9: checkpoint + journal replay give the closure of the surviving edges', {
  timeout: 120_000,
}, async () => {
  const { cfg } = pipelineConfig('holdfast-recursive-', {
    program_code: SQL,
    storage: {},
    fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
  });
  let edges: Edge[] = [];
  const apply = (ins: readonly Edge[], del: readonly Edge[]) => {
    for (const d of del)
      edges.splice(
        edges.findIndex((e) => e[0] === d[0] && e[1] === d[1]),
        1,
      );
    edges = [...edges, ...ins];
  };
  const p = await startPipeline(cfg);
  // a cycle 1 ⇄ 2 fed by 2 → 3, and a chain 4 → 5 → 6 → 7
  const first: Edge[] = [
    [1, 2],
    [2, 1],
    [2, 3],
    [4, 5],
    [5, 6],
    [6, 7],
  ];
  await change(p.base, first, []);
  apply(first, []);
  assert.deepEqual(await viewRows(p.base, 'closure'), closureOf(edges));
  await checkpoint(p.base);
  // after the checkpoint (journal only): cut the edge that fed the cycle, join the chain to the cycle
  await change(p.base, [[7, 1]], [[2, 3]]);
  apply([[7, 1]], [[2, 3]]);
  assert.deepEqual(await viewRows(p.base, 'closure'), closureOf(edges));
  await kill9(p);

  const again = await startPipeline(cfg);
  await until(
    () => viewRows(again.base, 'closure'),
    (rows) => JSON.stringify(rows) === JSON.stringify(closureOf(edges)),
    'the closure after recovery',
  );
  // the restored recursion keeps following changes, deletions included
  await change(again.base, [[3, 4]], [[5, 6]]);
  apply([[3, 4]], [[5, 6]]);
  assert.deepEqual(await viewRows(again.base, 'closure'), closureOf(edges));
  await kill9(again);
});
