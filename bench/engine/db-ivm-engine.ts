/**
 * The peer: @tanstack/db-ivm (differential dataflow without versions). Built as fast as its public API allows:
 *
 * - Inputs are already keyed streams: orders as `[customer_id, row]`, customers as `[id, row]`, with rows as
 *   arrays whose first element is the primary key, the shape its index optimizes for (the row's first element
 *   becomes the index "prefix", so rows under one join key are told apart without structural hashing).
 * - Retractions resend the exact tuple that was inserted (kept per order id), so the join index matches them by
 *   reference instead of hashing. This bookkeeping is part of the run (db-ivm needs the old row to retract it).
 * - Aggregation: `reduce` with a count over `[group, 1]` contributions. Equal contributions merge into one index
 *   entry (same primitive value), so each group stays O(1) per batch. The `groupBy` variant uses db-ivm's own
 *   `groupBy` + `count()` helpers instead.
 * - The output operator consumes each step's changes into a Map, as the Holdfast adapter does.
 */
import {
  D2,
  groupBy,
  groupByOperators,
  type IStreamBuilder,
  join,
  type MultiSet,
  type MultiSetArray,
  map,
  output,
  type RootStreamBuilder,
  reduce,
} from '@tanstack/db-ivm';
import { type EngineOptions, type EngineRun, integrate } from './engine.ts';
import {
  type ChangeStream,
  type Customers,
  DELETE,
  INSERT,
  sortContents,
  type ViewContents,
} from './workload.ts';

type OrderRow = [id: number, customerId: number, amount: number];
type CustomerRow = [id: number, name: string, region: string];
type OrderKv = [number, OrderRow];
type CustomerKv = [number, CustomerRow];
type Joined = [number, [OrderRow | null, CustomerRow | null]];
type GroupKey = string | number;

const { count } = groupByOperators;

function countValues(values: Array<[number, number]>): Array<[number, number]> {
  let n = 0;
  for (const [v, m] of values) n += v * m;
  return n > 0 ? [[n, 1]] : [];
}

export async function createDbIvmEngine(options: EngineOptions): Promise<EngineRun> {
  const byCustomer = options.workload === 'customer';
  const view = new Map<GroupKey, number>();
  const graph = new D2();
  const orders: RootStreamBuilder<OrderKv> = graph.newInput<OrderKv>();
  const customers: RootStreamBuilder<CustomerKv> = graph.newInput<CustomerKv>();
  const joined = orders.pipe(join(customers, 'inner')) as IStreamBuilder<Joined>;

  const consume = (message: MultiSet<[GroupKey, number]>): void => {
    const changes = message.getInner();
    for (const [[key, n], w] of changes) if (w < 0) integrate(view, key, n, w);
    for (const [[key, n], w] of changes) if (w > 0) integrate(view, key, n, w);
  };

  if (options.variant === 'groupBy') {
    const grouped = byCustomer
      ? joined.pipe(
          groupBy((r: Joined) => ({ id: r[0] }), { n: count() }),
          map(([, g]): [GroupKey, number] => [g.id, g.n]),
        )
      : joined.pipe(
          groupBy((r: Joined) => ({ region: (r[1][1] as CustomerRow)[2] }), { n: count() }),
          map(([, g]): [GroupKey, number] => [g.region, g.n]),
        );
    grouped.pipe(output(consume));
  } else {
    const contributions = joined.pipe(
      map(
        byCustomer
          ? (r: Joined): [GroupKey, number] => [r[0], 1]
          : (r: Joined): [GroupKey, number] => [(r[1][1] as CustomerRow)[2], 1],
      ),
    );
    contributions.pipe(reduce(countValues), output(consume));
  }
  graph.finalize();

  // The tuple last sent for each live order, to retract it by reference.
  const sent: Array<OrderKv | undefined> = new Array(options.changes + 1);

  return {
    loadCustomers(c: Customers): void {
      const data: MultiSetArray<CustomerKv> = [];
      for (let i = 0; i < c.ids.length; i++) {
        const id = c.ids[i] as number;
        data.push([[id, [id, c.names[i] as string, c.regions[i] as string]], 1]);
      }
      customers.sendData(data);
      graph.run();
    },
    applyBatch(s: ChangeStream, from: number, to: number): void {
      const data: MultiSetArray<OrderKv> = [];
      const { kind, orderId, customerId, amount } = s;
      for (let i = from; i < to; i++) {
        const k = kind[i];
        const id = orderId[i] as number;
        if (k !== INSERT) data.push([sent[id] as OrderKv, -1]);
        if (k === DELETE) {
          sent[id] = undefined;
          continue;
        }
        const cid = customerId[i] as number;
        const kv: OrderKv = [cid, [id, cid, amount[i] as number]];
        sent[id] = kv;
        data.push([kv, 1]);
      }
      orders.sendData(data);
      graph.run();
    },
    contents(): ViewContents {
      return sortContents(view);
    },
  };
}
