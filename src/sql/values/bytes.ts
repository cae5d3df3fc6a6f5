/**
 * BINARY(n) / VARBINARY(n) and UUID values (Feldera's types). Byte strings are held as lowercase hex strings
 * (two digits per byte), so equality is `===`, hashing is the string's, and ordering the strings orders the
 * bytes (unsigned, a prefix first). BINARY(n) holds at most n bytes and is not padded (as Feldera does).
 * UUIDs are their canonical lowercase text `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`: again string order is byte order.
 *
 * JSON: bytes are an array of numbers 0..255 both ways (strings are read as Postgres `bytea` text: `\x0b16`);
 * a UUID is its text. Postgres text output: `\x0b16` for bytes, the canonical text for a UUID.
 */
import { ServiceError } from '../../errors/service-error.ts';
import type { ErrorCode } from '../../types/error-codes.ts';

const HEX = /^[0-9a-fA-F]*$/;

/** Hex of a JSON array of byte values; throws on anything else. */
export function bytesFromJsonArray(a: readonly unknown[], code: ErrorCode = 'InvalidRecord'): string {
  let out = '';
  for (const b of a) {
    if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > 255)
      throw new ServiceError(code, `a byte array holds integers 0 to 255, got ${JSON.stringify(b)}`);
    out += b < 16 ? `0${b.toString(16)}` : b.toString(16);
  }
  return out;
}

/** Byte values of a hex value (for JSON output). */
export function bytesToArray(hex: string): number[] {
  const out: number[] = new Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Postgres `bytea` hex input: `\x` then an even number of hex digits. */
export function parseBytesText(text: string, code: ErrorCode = 'InvalidRecord'): string {
  const body = text.startsWith('\\x') ? text.slice(2) : null;
  if (body === null || body.length % 2 !== 0 || !HEX.test(body))
    throw new ServiceError(
      code,
      `invalid input syntax for type binary: "${text}" (expected \\x and hex digits)`,
      {
        value: text,
      },
    );
  return body.toLowerCase();
}

/** Hex of the `x'...'` literal body; throws SqlSyntaxError unless it is an even number of hex digits. */
export function bytesFromHexLiteral(body: string): string {
  if (body.length % 2 !== 0 || !HEX.test(body))
    throw new ServiceError(
      'SqlSyntaxError',
      `binary literal x'${body}' must have an even number of hex digits`,
    );
  return body.toLowerCase();
}

/** Checks a byte string against BINARY(n)/VARBINARY(n): longer fails on input, is cut on an explicit CAST. */
export function coerceBytes(
  hex: string,
  n: number | null | undefined,
  explicit: boolean,
  code: ErrorCode,
): string {
  if (n == null || hex.length <= 2 * n) return hex;
  if (explicit) return hex.slice(0, 2 * n);
  throw new ServiceError(code, `value of ${hex.length / 2} bytes is too long for BINARY(${n})`, {
    length: n,
  });
}

const UUID_RE = /^\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/i;

/** A UUID from text (with or without dashes, optionally in braces) → canonical lowercase form. */
export function parseUuidText(text: string, code: ErrorCode = 'InvalidRecord'): string {
  const m = UUID_RE.exec(text.trim());
  if (m === null)
    throw new ServiceError(code, `invalid input syntax for type uuid: "${text}"`, { value: text });
  return `${m[1]}-${m[2]}-${m[3]}-${m[4]}-${m[5]}`.toLowerCase();
}
