/**
 * Holdfast: the SQL program compiled once, one circuit step per batch. The orders table has a primary key, so an
 * update is an upsert of the new row and a delete is the row with weight -1 (the engine keeps the old row itself).
 * Views are not materialized by the program, so the adapter integrates the view's output changes itself.
 */

import { compileProgram } from '../../src/sql/program.ts';
import type { Batch } from '../../src/zset/batch.ts';
import type { Row } from '../../src/zset/value.ts';
import { type EngineOptions, type EngineRun, integrate } from './engine.ts';
import { type ChangeStream, type Customers, DELETE, sortContents, type ViewContents } from './workload.ts';

const TABLES = `
  CREATE TABLE customers (id INT NOT NULL PRIMARY KEY, name VARCHAR, region VARCHAR);
  CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, customer_id INT, amount INT);`;

const VIEWS = {
  region: `CREATE VIEW v AS SELECT c.region, COUNT(*) AS n FROM orders o JOIN customers c ON o.customer_id = c.id GROUP BY c.region;`,
  customer: `CREATE VIEW v AS SELECT c.id, COUNT(*) AS n FROM orders o JOIN customers c ON o.customer_id = c.id GROUP BY c.id;`,
};

export async function createHoldfastEngine(options: EngineOptions): Promise<EngineRun> {
  const viewSql = options.workload === 'customer' ? VIEWS.customer : VIEWS.region;
  const program = await compileProgram(`${TABLES}\n  ${viewSql}`);
  const circuit = program.instantiate();
  const view = new Map<string | number, number>();

  const consume = (out: Map<string, Batch>): void => {
    const b = out.get('v');
    if (b === undefined) return;
    const { rows, weights } = b;
    const n = rows.length;
    for (let i = 0; i < n; i++) {
      const w = weights[i] as number;
      if (w >= 0) continue;
      const r = rows[i] as Row;
      integrate(view, r[0] as string | number, Number(r[1]), w);
    }
    for (let i = 0; i < n; i++) {
      const w = weights[i] as number;
      if (w <= 0) continue;
      const r = rows[i] as Row;
      integrate(view, r[0] as string | number, Number(r[1]), w);
    }
  };

  return {
    loadCustomers(c: Customers): void {
      const rows: Row[] = [];
      const weights: number[] = [];
      for (let i = 0; i < c.ids.length; i++) {
        rows.push([c.ids[i] as number, c.names[i] as string, c.regions[i] as string]);
        weights.push(1);
      }
      consume(circuit.step(new Map([['customers', { rows, weights }]])));
    },
    applyBatch(s: ChangeStream, from: number, to: number): void {
      const rows: Row[] = [];
      const weights: number[] = [];
      const { kind, orderId, customerId, amount } = s;
      for (let i = from; i < to; i++) {
        rows.push([orderId[i] as number, customerId[i] as number, amount[i] as number]);
        weights.push(kind[i] === DELETE ? -1 : 1);
      }
      consume(circuit.step(new Map([['orders', { rows, weights }]])));
    },
    contents(): ViewContents {
      return sortContents(view);
    },
  };
}
