/**
 * Every checkpoint codec of the SQL layer's object values, in one list for the storage layer's injected codec
 * table: DECIMAL and the nested values (ARRAY, MAP, ROW, VARIANT). Tags never change once data is written.
 */
import { NESTED_CODECS } from './collections.ts';
import { DECIMAL_CODEC } from './decimal-codec.ts';

export const SQL_VALUE_CODECS = [DECIMAL_CODEC, ...NESTED_CODECS] as const;
