/**
 * Functions that build arrays from scalars (Feldera's integer and string reference pages):
 * - `SEQUENCE(start, end)`: the integers from start to end inclusive (empty when end < start); the arguments are
 *   integers or character strings read as INTEGER (`SEQUENCE('14', 16)` is `[14, 15, 16]`), anything else is
 *   `SqlTypeError`; BIGINT arguments give a BIGINT array, others an INTEGER array; NULL in, NULL out; more than
 *   `MAX_SEQUENCE` elements is a run-time error;
 * - `SPLIT(s [, delimiter])`: s cut at every occurrence of the delimiter (default `,`), into a VARCHAR array; an
 *   empty s gives `[]`, an empty delimiter `[s]`; other scalars are converted to their text first
 *   (`SPLIT(-1111.52, '.')` is `['-1111', '52']`).
 *
 * State: none.
 */
import { ServiceError } from '../../errors/service-error.ts';
import type { Value } from '../../zset/value.ts';
import { type Bound, castBound, literal, sqlError, strict } from '../bound.ts';
import { sqlType, typeToSql } from '../sql-type.ts';
import { isInteger, isString } from '../types-rules.ts';
import { SqlArray } from '../values/collections.ts';
import type { FunctionCall, FunctionImpl } from './types.ts';

/** The longest array SEQUENCE builds (a longer one is a run-time error, not an out-of-memory crash). */
export const MAX_SEQUENCE = 10_000_000;

function cannotApply(call: FunctionCall): ServiceError {
  const types = call.args.map((a) => typeToSql(a.type)).join(', ');
  return sqlError(
    'SqlTypeError',
    `Cannot apply '${call.name.toUpperCase()}' to arguments of type (${types}): it takes integers (or strings of digits)`,
    call.ctx,
    call.loc,
  );
}

export const ARRAY_BUILDER_FUNCTIONS: Readonly<Record<string, FunctionImpl>> = {
  sequence: (call) => {
    call.argc(2);
    const wide = call.args.some((a) => a.type.kind === 'BIGINT');
    const kind = wide ? 'BIGINT' : 'INTEGER';
    const args = call.args.map((a): Bound => {
      if (a.type.kind === 'NULL') return literal(null, sqlType(kind, true));
      if (!(isInteger(a.type) || isString(a.type) || a.unknownLiteral)) throw cannotApply(call);
      const plain = a.unknownLiteral ? { ...a, unknownLiteral: false } : a;
      return a.type.kind === kind ? a : castBound(plain, sqlType(kind, a.type.nullable));
    });
    return strict(
      sqlType(
        'ARRAY',
        args.some((a) => a.type.nullable),
        { element: sqlType(kind, false) },
      ),
      args,
      (s, e) => {
        const lo = BigInt(s as number | bigint);
        const hi = BigInt(e as number | bigint);
        if (hi < lo) return new SqlArray([]);
        if (hi - lo + 1n > BigInt(MAX_SEQUENCE))
          throw new ServiceError(
            'SqlRuntimeError',
            `SEQUENCE(${lo}, ${hi}) would have more than ${MAX_SEQUENCE} elements`,
          );
        const out: Value[] = [];
        for (let i = lo; i <= hi; i++) out.push(wide ? i : Number(i));
        return new SqlArray(out);
      },
    );
  },
  split: (call) => {
    call.argc(1, 2);
    const kind = call.args[0]?.type.kind;
    if (kind === 'ROW' || kind === 'ARRAY' || kind === 'MAP' || kind === 'VARIANT')
      throw sqlError(
        'SqlTypeError',
        `Cannot apply 'SPLIT' to arguments of type (${call.args.map((a) => typeToSql(a.type)).join(', ')}): it splits a character string`,
        call.ctx,
        call.loc,
      );
    const s = call.str(0);
    const d =
      call.args.length === 2 ? call.str(1) : literal(',', sqlType('VARCHAR', false, { length: null }));
    return strict(
      sqlType('ARRAY', s.type.nullable || d.type.nullable, {
        element: sqlType('VARCHAR', true, { length: null }),
      }),
      [s, d],
      (v, sep) => {
        const text = v as string;
        if (text === '') return new SqlArray([]);
        if (sep === '') return new SqlArray([text]);
        return new SqlArray(text.split(sep as string));
      },
    );
  },
};
