/**
 * Helpers shared by the storage tests: a DECIMAL codec (the storage layer gets codecs injected; the real
 * registration lives with the SQL layer), exact value rendering (type, -0, NaN, scale), temp dirs, a capturing
 * logger.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import type { StorageLogger } from '../../../src/storage/checkpoint-store.ts';
import type { ObjectValueCodec, PrimitiveValue } from '../../../src/storage/segment.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import type { Row, Value } from '../../../src/zset/value.ts';

export const decimalCodec: ObjectValueCodec<Decimal> = {
  tag: 'decimal',
  is: (v) => v instanceof Decimal,
  encode: (d) => [d.unscaled, d.scale],
  decode: (parts: readonly PrimitiveValue[]) => {
    const [u, s] = parts;
    if (parts.length !== 2 || typeof u !== 'bigint' || typeof s !== 'number' || !Number.isInteger(s))
      throw new Error('bad decimal parts');
    return new Decimal(u, s);
  },
};

export const CODECS = [decimalCodec];

/** A value rendered so that every distinction storage must keep shows: JS type, -0, NaN, decimal scale. */
export function exact(v: Value): string {
  switch (typeof v) {
    case 'number':
      return Object.is(v, -0) ? 'num:-0' : `num:${v}`;
    case 'bigint':
      return `big:${v}`;
    case 'string':
      return `str:${JSON.stringify(v)}:${[...v].map((c) => c.codePointAt(0)?.toString(16)).join('.')}`;
    case 'boolean':
      return `bool:${v}`;
    case 'object':
      if (v === null) return 'null';
      if (v instanceof Decimal) return `dec:${v.unscaled}e-${v.scale}`;
      return `obj:${v.hashKey()}`;
    default:
      return `?${typeof v}`;
  }
}

export function exactRows(b: Batch): Array<[string[], number]> {
  return b.rows.map((r: Row, i) => [r.map(exact), b.weights[i] as number]);
}

/** The two batches hold the same rows, in the same order, with identical values and weights. */
export function assertSameBatch(actual: Batch, expected: Batch, message?: string): void {
  assert.deepEqual(exactRows(actual), exactRows(expected), message);
  // lone surrogates: compare code units too
  for (let i = 0; i < expected.rows.length; i++)
    for (let j = 0; j < (expected.rows[i] as Row).length; j++) {
      const e = (expected.rows[i] as Row)[j];
      if (typeof e === 'string') assert.equal((actual.rows[i] as Row)[j], e, message);
    }
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-storage-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export class CapturingLogger implements StorageLogger {
  readonly lines: Array<{ message: string; fields: Record<string, unknown> }> = [];
  warn(message: string, fields: Record<string, unknown>): void {
    this.lines.push({ message, fields });
  }
}

/** Every value kind and edge case the segment format must keep exactly. */
export function allKindsBatch(): Batch {
  const rows: Row[] = [
    [null, true, false],
    [
      0,
      -0,
      1,
      -1,
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 52,
      -(2 ** 52),
      2 ** 53,
      -(2 ** 53),
      Number.MAX_SAFE_INTEGER,
    ],
    [
      0.1,
      -2.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.MIN_VALUE,
      1e308,
      -1e-300,
    ],
    [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 63n, -(2n ** 63n) - 1n, 2n ** 200n + 7n, -(3n ** 100n)],
    ['', 'a', 'héllo wörld', '日本語', '🦀 emoji', 'x'.repeat(127), 'y'.repeat(128), `é${'z'.repeat(300)}`],
    ['\ud800', 'a\udc00b', '\0nul', 'line\nbreak'],
    [
      new Decimal(0n, 0),
      new Decimal(150n, 2),
      new Decimal(15n, 1),
      new Decimal(-5n, 2),
      new Decimal(10n ** 40n + 1n, 30),
      new Decimal(-(10n ** 38n), 0),
      ...Array.from(
        { length: 31 },
        (_, s) => new Decimal(BigInt(s % 2 === 0 ? 12345 : -678) * 10n ** BigInt(s), s),
      ),
    ],
    [],
    [1, 'mixed', null, 2n, new Decimal(1n, 3), false, -0],
  ];
  const weights = [1, -1, 3, -7, 2 ** 40, -(2 ** 50), 2 ** 52, -(2 ** 52), 1];
  return { rows, weights };
}

/** Counts turns of the event loop (one `setImmediate` each) from now until `stop()`. */
export function turnCounter(): { turns: () => number; stop: () => void } {
  let turns = 0;
  let ticking = true;
  const tick = (): void => {
    turns++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    turns: () => turns,
    stop: () => {
      ticking = false;
    },
  };
}
