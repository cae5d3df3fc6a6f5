/**
 * Feldera's rudimentary GEOMETRY support: `ST_POINT(x, y)` makes a point from two numbers and
 * `ST_DISTANCE(p, q)` is the Euclidean (planar) distance between two points, a DOUBLE; either is NULL when an
 * argument is NULL. Feldera cannot output a GEOMETRY value; here a point is a ROW(x DOUBLE, y DOUBLE) whose type
 * is named GEOMETRY (`typeName`), so it travels through views like any row and ST_DISTANCE accepts only points.
 *
 * State: none.
 */
import { type Bound, castBound, coerce, literal, sqlError, strict } from '../bound.ts';
import { type SqlType, sqlType, typeToSql } from '../sql-type.ts';
import { isNumeric } from '../types-rules.ts';
import { SqlRow } from '../values/collections.ts';
import type { FunctionCall, FunctionImpl } from './types.ts';

/** The type of a point made by ST_POINT. */
export function geometryType(nullable: boolean): SqlType {
  return sqlType('ROW', nullable, {
    typeName: 'GEOMETRY',
    fields: [
      { name: 'x', type: sqlType('DOUBLE', false) },
      { name: 'y', type: sqlType('DOUBLE', false) },
    ],
  });
}

const isPoint = (t: SqlType): boolean => t.kind === 'ROW' && t.typeName === 'GEOMETRY';

function coordinate(call: FunctionCall, i: number): Bound {
  const a = call.args[i] as Bound;
  if (a.type.kind === 'NULL') return literal(null, sqlType('DOUBLE', true));
  const t = sqlType('DOUBLE', a.type.nullable);
  if (a.unknownLiteral) return coerce(a, t, call.ctx, call.loc, 'ST_POINT');
  if (!isNumeric(a.type))
    throw sqlError(
      'SqlTypeError',
      `ST_POINT takes two numbers, got ${typeToSql(a.type)}`,
      call.ctx,
      call.loc,
    );
  return a.type.kind === 'DOUBLE' ? a : castBound(a, t);
}

export const GEOMETRY_FUNCTIONS: Record<string, FunctionImpl> = {
  st_point: (call) => {
    call.argc(2);
    const x = coordinate(call, 0);
    const y = coordinate(call, 1);
    return strict(geometryType(x.type.nullable || y.type.nullable), [x, y], (a, b) => new SqlRow([a, b]));
  },
  st_distance: (call) => {
    call.argc(2);
    const [p, q] = call.args as [Bound, Bound];
    for (const a of [p, q])
      if (!isPoint(a.type) && a.type.kind !== 'NULL')
        throw sqlError(
          'SqlTypeError',
          `ST_DISTANCE takes two points made by ST_POINT, got ${typeToSql(a.type)}`,
          call.ctx,
          call.loc,
        );
    if (p.type.kind === 'NULL' || q.type.kind === 'NULL') return literal(null, sqlType('DOUBLE', true));
    return strict(sqlType('DOUBLE', p.type.nullable || q.type.nullable), [p, q], (a, b) => {
      const [ax, ay] = (a as SqlRow).fields as [number, number];
      const [bx, by] = (b as SqlRow).fields as [number, number];
      return Math.hypot(ax - bx, ay - by);
    });
  },
};
