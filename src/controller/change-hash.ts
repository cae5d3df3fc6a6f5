/**
 * A fast, deterministic 32-bit hash of a run of input changes (rows and weights), for exactly-once replay: a
 * replayed step must take the very records the journal says the original step took. Not cryptographic: it
 * detects an input that changed under the pipeline (a file edited in place, a different datagen seed), which
 * is all replay verification needs.
 */
import type { ParsedChange } from '../connectors/formats/parse-result.ts';
import type { Value } from '../zset/value.ts';

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function mix(h: number, x: number): number {
  // FNV-1a style step on a 32-bit word, then a murmur-like avalanche on the accumulator
  let k = Math.imul(x | 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function mixString(h: number, s: string): number {
  h = mix(h, s.length);
  for (let i = 0; i < s.length; i++) h = mix(h, s.charCodeAt(i));
  return h;
}

function mixValue(h: number, v: Value): number {
  switch (typeof v) {
    case 'number':
      f64[0] = v;
      return mix(mix(mix(h, 1), u32[0] as number), u32[1] as number);
    case 'string':
      return mixString(mix(h, 2), v);
    case 'bigint':
      return mixString(mix(h, 3), v.toString());
    case 'boolean':
      return mix(h, v ? 5 : 4);
    default:
      return v === null ? mix(h, 6) : mixString(mix(h, 7), v.hashKey());
  }
}

export const HASH_SEED = 0x811c9dc5 | 0;

/**
 * Feeds `changes[from..to)` (row values in order, then the weight) into the running hash `h` (start from
 * {@link HASH_SEED}; the result `>>> 0` is the final value). Feeding a run in pieces gives the same hash as
 * feeding it at once, so the hash does not depend on how the records were chunked.
 */
export function hashChanges(
  h: number,
  changes: readonly ParsedChange[],
  from = 0,
  to = changes.length,
): number {
  for (let i = from; i < to; i++) {
    const c = changes[i] as ParsedChange;
    const row = c.row;
    h = mix(h, row.length);
    for (let j = 0; j < row.length; j++) h = mixValue(h, row[j] as Value);
    h = mix(h, c.weight);
  }
  return h;
}
