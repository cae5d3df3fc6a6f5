/**
 * JSON with exact 64-bit integers. `JSON.parse` turns an integer above 2^53 into the nearest double and
 * `JSON.stringify` refuses a `bigint`; Feldera's u64 fields (a checkpoint's `fingerprint`) use the full range, so
 * a value that passes through Holdfast (pipeline → manager → registry → client) must keep every digit.
 *
 * - {@link stringifyJson} writes a `bigint` as a JSON integer (exact digits, not a string).
 * - {@link parseJson} keeps an integer beyond `Number.MAX_SAFE_INTEGER` exact: as a `bigint` (`'bigint'`, for
 *   callers that read it: the SDK) or as a raw JSON value that `JSON.stringify` writes back digit for digit
 *   (`'raw'`, for callers that only pass it on: the manager's registry). Every other value parses as usual.
 *
 * Node's `JSON.rawJSON` and the reviver's `context.source` (V8 ≥ 11.4) do the work; the text is scanned for a
 * long digit run first so the common case keeps the fast plain parse.
 */

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;
const J = JSON as JSON & {
  rawJSON(text: string): unknown;
  parse(text: string, reviver: Reviver): unknown;
};

/** A digit run long enough to exceed 2^53 (16 digits) may be there: only then is the slower reviver used. */
const LONG_DIGITS = /\d{16}/;
const INTEGER = /^-?\d+$/;

/** `value` as JSON; a `bigint` is written as a JSON integer. */
export function stringifyJson(value: unknown, space?: number): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? J.rawJSON(v.toString()) : v), space);
}

/** A JSON integer of any size as a value {@link stringifyJson} (and `JSON.stringify`) writes exactly. */
export function jsonInteger(value: bigint): unknown {
  return J.rawJSON(value.toString());
}

/** Parses `text`; integers beyond 2^53 stay exact (see the header). @throws SyntaxError */
export function parseJson(text: string, big: 'bigint' | 'raw' = 'bigint'): unknown {
  if (!LONG_DIGITS.test(text)) return JSON.parse(text);
  return J.parse(text, (_k: string, v: unknown, context?: { source?: string }) => {
    if (typeof v !== 'number' || Number.isSafeInteger(v)) return v;
    const source = context?.source;
    if (source === undefined || !INTEGER.test(source)) return v;
    return big === 'bigint' ? BigInt(source) : J.rawJSON(source);
  });
}
