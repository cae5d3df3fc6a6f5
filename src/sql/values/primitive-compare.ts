/** Orders of primitive values that every comparator builds on (strings by code point, floats with NaN last). */

/** Compares a[0, aEnd) with b[0, bEnd) in code point order. */
export function compareCodePoints(a: string, aEnd: number, b: string, bEnd: number): number {
  const n = Math.min(aEnd, bEnd);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // surrogates (D800..DFFF) encode code points above FFFF: move them above E000..FFFF
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x < y ? -1 : 1;
    }
  }
  return aEnd < bEnd ? -1 : aEnd > bEnd ? 1 : 0;
}

/** Code point order of two strings. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  return compareCodePoints(a, a.length, b, b.length);
}

/** Postgres float8 order: NaN = NaN, NaN > everything else. */
export function compareFloats(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === b) return 0;
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  return an ? (bn ? 0 : 1) : -1;
}
