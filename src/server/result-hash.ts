/**
 * The `format=hash` answer of an ad-hoc query (`GET /query?sql=…&format=hash`): one SHA-256 digest, 64 upper-case
 * hex digits, of a result set. Like Feldera's, it does not depend on the order in which the rows come (a query
 * without `ORDER BY` may return them in any order), but it does depend on how many times each row occurs and on
 * the result's columns (names and types), so two results hash alike exactly when they are the same multiset of
 * rows under the same schema. It is meant for comparing results (before and after a restart, a failover, a
 * replay, or on two pipelines) without moving them; the digest is Holdfast's own and not byte-equal to
 * Feldera's, which hashes Arrow record batches.
 *
 * Each row is hashed on its own (SHA-256 of its JSON encoding, the one `format=json` gives, as an array in column
 * order); the first and second 64-bit words of those digests are summed modulo 2^64 over all rows, which is what
 * makes the result independent of row order. The final digest covers the columns, the row count and both sums.
 */
import { createHash } from 'node:crypto';
import type { ColumnSchema } from '../sql/schema.ts';
import { typeToSql } from '../sql/sql-type.ts';
import { valueToJson } from '../sql/values/format.ts';
import type { Value } from '../zset/value.ts';

const MASK64 = (1n << 64n) - 1n;

export function resultHash(columns: readonly ColumnSchema[], rows: readonly (readonly unknown[])[]): string {
  let a = 0n;
  let b = 0n;
  for (const row of rows) {
    const cells = columns.map((c, i) => valueToJson(row[i] as Value, c.type));
    const d = createHash('sha256').update(JSON.stringify(cells)).digest();
    a = (a + d.readBigUInt64LE(0)) & MASK64;
    b = (b + d.readBigUInt64LE(8)) & MASK64;
  }
  const schema = columns.map((c) => [c.name, typeToSql(c.type), c.type.nullable]);
  const tail = Buffer.alloc(24);
  tail.writeBigUInt64LE(BigInt(rows.length), 0);
  tail.writeBigUInt64LE(a, 8);
  tail.writeBigUInt64LE(b, 16);
  return createHash('sha256').update(JSON.stringify(schema)).update(tail).digest('hex').toUpperCase();
}
