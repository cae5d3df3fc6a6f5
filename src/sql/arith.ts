/**
 * Dispatch of SQL arithmetic by result type: picks the checked implementation from `values/` once, at compile
 * time, so the per-row closure does no type switching.
 */

import type { Value } from '../zset/value.ts';
import type { TypeKind } from './sql-type.ts';
import type { Decimal } from './values/decimal.ts';
import * as I from './values/integers.ts';

type Bin = (a: Value, b: Value) => Value;
type Un = (a: Value) => Value;

export function binary(op: string, kind: TypeKind): Bin {
  switch (kind) {
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'UTINYINT':
    case 'USMALLINT':
    case 'UINTEGER': {
      const k = kind;
      const f = { '+': I.intAdd, '-': I.intSub, '*': I.intMul, '/': I.intDiv, '%': I.intMod }[op];
      if (!f) break;
      return (a, b) => f(k, a as number, b as number);
    }
    case 'BIGINT': {
      const f = { '+': I.bigAdd, '-': I.bigSub, '*': I.bigMul, '/': I.bigDiv, '%': I.bigMod }[op];
      if (!f) break;
      return (a, b) => f(a as bigint, b as bigint);
    }
    case 'UBIGINT': {
      const u = I.ubig;
      const f = { '+': u.add, '-': u.sub, '*': u.mul, '/': u.div, '%': u.mod }[op];
      if (!f) break;
      return (a, b) => f(a as bigint, b as bigint);
    }
    case 'DECIMAL':
      switch (op) {
        case '+':
          return (a, b) => (a as Decimal).add(b as Decimal);
        case '-':
          return (a, b) => (a as Decimal).sub(b as Decimal);
        case '*':
          return (a, b) => (a as Decimal).mul(b as Decimal);
        case '/':
          return (a, b) => (a as Decimal).div(b as Decimal);
        case '%':
          return (a, b) => (a as Decimal).mod(b as Decimal);
      }
      break;
    case 'REAL':
    case 'DOUBLE': {
      const k = kind;
      const f = { '+': I.floatAdd, '-': I.floatSub, '*': I.floatMul, '/': I.floatDiv }[op];
      if (!f) break;
      return (a, b) => f(k, a as number, b as number);
    }
    default:
      break;
  }
  throw new Error(`no arithmetic ${op} for ${kind}`);
}

export function negate(kind: TypeKind): Un {
  switch (kind) {
    case 'UBIGINT':
      return (a) => I.checkUBigInt(-(a as bigint));
    case 'BIGINT':
      return (a) => I.bigNeg(a as bigint);
    case 'DECIMAL':
      return (a) => (a as Decimal).neg();
    case 'REAL':
    case 'DOUBLE':
      return (a) => I.floatNeg(a as number);
    default: {
      const k = kind as I.NumberIntKind;
      return (a) => I.intNeg(k, a as number);
    }
  }
}

export function abs(kind: TypeKind): Un {
  switch (kind) {
    case 'UBIGINT':
      return (a) => a;
    case 'BIGINT':
      return (a) => I.bigAbs(a as bigint);
    case 'DECIMAL':
      return (a) => (a as Decimal).abs();
    case 'REAL':
    case 'DOUBLE':
      return (a) => I.floatAbs(a as number);
    default: {
      const k = kind as I.NumberIntKind;
      return (a) => I.intAbs(k, a as number);
    }
  }
}

export function floor(kind: TypeKind): Un {
  return kind === 'DECIMAL' ? (a) => (a as Decimal).floor() : (a) => Math.floor(a as number);
}

export function ceil(kind: TypeKind): Un {
  return kind === 'DECIMAL' ? (a) => (a as Decimal).ceil() : (a) => Math.ceil(a as number);
}

/** round(x) for DECIMAL (half away from zero) and floats (half to even, like C's rint used by Postgres). */
export function round(kind: TypeKind): Un {
  if (kind === 'DECIMAL') return (a) => (a as Decimal).round(0);
  return (a) => {
    const x = a as number;
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  };
}

/**
 * ROUND(x, d) of a REAL/DOUBLE (Feldera keeps the float type): the decimal rounding of x's exact value to d
 * digits (half away from zero), read back as a float; a negative d rounds to tens, hundreds, ...
 */
export function roundFloat(x: number, d: number, kind: TypeKind): number {
  if (!Number.isFinite(x)) return x;
  let r: number;
  if (d >= 0) r = Number(x.toFixed(Math.min(d, 100)));
  else {
    const p = 10 ** -d;
    r = Math.sign(x) * Math.round(Math.abs(x) / p) * p;
  }
  return kind === 'REAL' ? Math.fround(r) : r;
}
