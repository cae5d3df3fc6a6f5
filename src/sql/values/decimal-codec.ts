/**
 * How a {@link Decimal} is stored in checkpoints: as its unscaled bigint and its scale, so the value and its
 * display scale round-trip exactly. Structurally an `ObjectValueCodec` of `src/storage` (the SQL layer does not
 * import storage).
 */
import type { ObjectValue } from '../../zset/value.ts';
import { Decimal } from './decimal.ts';

export const DECIMAL_CODEC = {
  tag: 'decimal',
  is: (v: ObjectValue): boolean => v instanceof Decimal,
  encode: (d: Decimal): readonly (bigint | number)[] => [d.unscaled, d.scale],
  decode: (parts: readonly unknown[]): Decimal => new Decimal(parts[0] as bigint, parts[1] as number),
};
