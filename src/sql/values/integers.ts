/**
 * Checked arithmetic for SQL integer and floating-point types, with PostgreSQL's results and error messages.
 *
 * TINYINT/SMALLINT/INTEGER values are JS numbers: the `int*` functions take the kind (it selects the range and
 * the 'integer out of range' style message; TINYINT, absent from Postgres, is −128..127 with 'tinyint out of
 * range'). BIGINT values are bigints: the `big*` functions. REAL/DOUBLE values are numbers: the `float*`
 * functions take the kind and fround REAL results. Invariants: results are always in range for the kind (or an
 * SqlRuntimeError is thrown); Feldera's unsigned kinds (UTINYINT/USMALLINT/UINTEGER numbers, UBIGINT bigints)
 * are checked against 0 .. 2^bits − 1 the same way; integer results are never -0; division truncates toward zero; modulo has the sign
 * of the dividend; a zero divisor throws 'division by zero'.
 */
import { ServiceError } from '../../errors/service-error.ts';

export type NumberIntKind = 'TINYINT' | 'SMALLINT' | 'INTEGER' | 'UTINYINT' | 'USMALLINT' | 'UINTEGER';
export type FloatKind = 'REAL' | 'DOUBLE';

export const INT_RANGES: Readonly<Record<NumberIntKind, readonly [number, number]>> = {
  TINYINT: [-128, 127],
  SMALLINT: [-32768, 32767],
  INTEGER: [-2147483648, 2147483647],
  UTINYINT: [0, 255],
  USMALLINT: [0, 65535],
  UINTEGER: [0, 4294967295],
};

export const BIGINT_MIN = -(2n ** 63n);
export const BIGINT_MAX = 2n ** 63n - 1n;
export const UBIGINT_MAX = 2n ** 64n - 1n;

const OUT_OF_RANGE: Readonly<Record<NumberIntKind, string>> = {
  TINYINT: 'tinyint out of range',
  SMALLINT: 'smallint out of range',
  INTEGER: 'integer out of range',
  UTINYINT: 'tinyint unsigned out of range',
  USMALLINT: 'smallint unsigned out of range',
  UINTEGER: 'integer unsigned out of range',
};

function runtime(message: string): ServiceError {
  return new ServiceError('SqlRuntimeError', message);
}

export function divisionByZero(): ServiceError {
  return runtime('division by zero');
}

export function intOutOfRange(kind: NumberIntKind | 'BIGINT' | 'UBIGINT'): ServiceError {
  return runtime(
    kind === 'BIGINT'
      ? 'bigint out of range'
      : kind === 'UBIGINT'
        ? 'bigint unsigned out of range'
        : OUT_OF_RANGE[kind],
  );
}

/** Returns n if it fits the kind, else throws '<kind> out of range'. Also turns -0 into 0. */
export function checkInt(kind: NumberIntKind, n: number): number {
  switch (kind) {
    case 'INTEGER':
      if (n < -2147483648 || n > 2147483647) throw intOutOfRange(kind);
      break;
    case 'SMALLINT':
      if (n < -32768 || n > 32767) throw intOutOfRange(kind);
      break;
    case 'TINYINT':
      if (n < -128 || n > 127) throw intOutOfRange(kind);
      break;
    default: {
      const [lo, hi] = INT_RANGES[kind];
      if (n < lo || n > hi) throw intOutOfRange(kind);
    }
  }
  return n + 0;
}

export function intAdd(kind: NumberIntKind, a: number, b: number): number {
  return checkInt(kind, a + b);
}

export function intSub(kind: NumberIntKind, a: number, b: number): number {
  return checkInt(kind, a - b);
}

/** Exact overflow detection: the double product is monotone, so it crosses the range bounds iff the true one does. */
export function intMul(kind: NumberIntKind, a: number, b: number): number {
  return checkInt(kind, a * b);
}

export function intDiv(kind: NumberIntKind, a: number, b: number): number {
  if (b === 0) throw divisionByZero();
  return checkInt(kind, Math.trunc(a / b));
}

/** The kind is unused (the result never exceeds the operands) but kept for a uniform signature. */
export function intMod(_kind: NumberIntKind, a: number, b: number): number {
  if (b === 0) throw divisionByZero();
  return (a % b) + 0;
}

export function intNeg(kind: NumberIntKind, a: number): number {
  return checkInt(kind, -a);
}

export function intAbs(kind: NumberIntKind, a: number): number {
  return checkInt(kind, a < 0 ? -a : a);
}

/** Returns b if it fits BIGINT, else throws 'bigint out of range'. */
export function checkBigInt(b: bigint): bigint {
  if (b < BIGINT_MIN || b > BIGINT_MAX) throw intOutOfRange('BIGINT');
  return b;
}

/** Returns b if it fits BIGINT UNSIGNED (0 .. 2^64 − 1), else throws. */
export function checkUBigInt(b: bigint): bigint {
  if (b < 0n || b > UBIGINT_MAX) throw intOutOfRange('UBIGINT');
  return b;
}

/** Checked arithmetic for BIGINT UNSIGNED (Feldera): results outside 0 .. 2^64 − 1 are errors. */
export const ubig = {
  add: (a: bigint, b: bigint): bigint => checkUBigInt(a + b),
  sub: (a: bigint, b: bigint): bigint => checkUBigInt(a - b),
  mul: (a: bigint, b: bigint): bigint => checkUBigInt(a * b),
  div: (a: bigint, b: bigint): bigint => {
    if (b === 0n) throw divisionByZero();
    return a / b;
  },
  mod: (a: bigint, b: bigint): bigint => {
    if (b === 0n) throw divisionByZero();
    return a % b;
  },
};

export function bigAdd(a: bigint, b: bigint): bigint {
  return checkBigInt(a + b);
}

export function bigSub(a: bigint, b: bigint): bigint {
  return checkBigInt(a - b);
}

export function bigMul(a: bigint, b: bigint): bigint {
  return checkBigInt(a * b);
}

export function bigDiv(a: bigint, b: bigint): bigint {
  if (b === 0n) throw divisionByZero();
  return checkBigInt(a / b);
}

export function bigMod(a: bigint, b: bigint): bigint {
  if (b === 0n) throw divisionByZero();
  return a % b;
}

export function bigNeg(a: bigint): bigint {
  return checkBigInt(-a);
}

export function bigAbs(a: bigint): bigint {
  return checkBigInt(a < 0n ? -a : a);
}

function overflow(): ServiceError {
  return runtime('value out of range: overflow');
}

function underflow(): ServiceError {
  return runtime('value out of range: underflow');
}

/** Postgres float8pl/float4pl: an infinite result from finite inputs is an overflow. */
export function floatAdd(kind: FloatKind, a: number, b: number): number {
  const r = kind === 'REAL' ? Math.fround(a + b) : a + b;
  if ((r === Infinity || r === -Infinity) && Number.isFinite(a) && Number.isFinite(b)) throw overflow();
  return r;
}

export function floatSub(kind: FloatKind, a: number, b: number): number {
  const r = kind === 'REAL' ? Math.fround(a - b) : a - b;
  if ((r === Infinity || r === -Infinity) && Number.isFinite(a) && Number.isFinite(b)) throw overflow();
  return r;
}

/** Postgres float8mul: overflow as for add; a zero result from non-zero inputs is an underflow. */
export function floatMul(kind: FloatKind, a: number, b: number): number {
  const r = kind === 'REAL' ? Math.fround(a * b) : a * b;
  if ((r === Infinity || r === -Infinity) && Number.isFinite(a) && Number.isFinite(b)) throw overflow();
  if (r === 0 && a !== 0 && b !== 0) throw underflow();
  return r;
}

/** Postgres float8div: zero divisor (unless the dividend is NaN) is 'division by zero'. */
export function floatDiv(kind: FloatKind, a: number, b: number): number {
  if (b === 0 && !Number.isNaN(a)) throw divisionByZero();
  const r = kind === 'REAL' ? Math.fround(a / b) : a / b;
  if ((r === Infinity || r === -Infinity) && Number.isFinite(a)) throw overflow();
  if (r === 0 && a !== 0 && b !== Infinity && b !== -Infinity) throw underflow();
  return r;
}

export function floatNeg(a: number): number {
  return -a;
}

export function floatAbs(a: number): number {
  return Math.abs(a);
}

/**
 * Postgres float→integer casts: round half to even (rint), then range check; NaN is out of range too.
 * Returns a number for the number kinds and a bigint for BIGINT.
 */
export function floatToInt(kind: NumberIntKind, f: number): number {
  const r = roundHalfEven(f);
  if (Number.isNaN(r)) throw intOutOfRange(kind);
  return checkInt(kind, r);
}

export function floatToBigInt(f: number): bigint {
  const r = roundHalfEven(f);
  // 2^63 is exactly representable; anything >= it (or < -2^63) is out of range
  if (Number.isNaN(r) || r >= 2 ** 63 || r < -(2 ** 63)) throw intOutOfRange('BIGINT');
  return BigInt(r);
}

/** C rint() in the default rounding mode: nearest, ties to even. */
export function roundHalfEven(f: number): number {
  if (!Number.isFinite(f)) return f;
  const r = Math.round(f); // ties toward +Infinity
  if (r - f === 0.5 && r % 2 !== 0) return r - 1;
  return r + 0;
}
