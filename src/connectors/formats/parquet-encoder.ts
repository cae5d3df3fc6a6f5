/**
 * Parquet output (Feldera's `parquet` format for output connectors): a view's change becomes complete Parquet
 * files with the view's columns — no weight or operation column. As Feldera's encoder does, only inserts are
 * written (a row with weight +n is written n times); deletions (negative weights) are not written, so a
 * Parquet output suits append-only views. Each change (one step) is cut into files of at most
 * `buffer_size_records` rows (default 100,000, Feldera's), each a whole Parquet file (header, one row group,
 * footer); a file transport appends them one after the other.
 *
 * Types (Feldera's Arrow mapping): BOOLEAN; TINYINT/SMALLINT/INTEGER → INT32 annotated INT(8/16/32); BIGINT →
 * INT64; unsigned integers → UINT(8..64); REAL → FLOAT; DOUBLE; DECIMAL(p, s) → DECIMAL(p, s) on INT32 (p ≤ 9),
 * INT64 (p ≤ 18) or a 16-byte FIXED_LEN_BYTE_ARRAY (an unconstrained DECIMAL → its text, a STRING);
 * CHAR/VARCHAR/UUID → STRING; BINARY/VARBINARY → BYTE_ARRAY; DATE → DATE (INT32 days); TIME → TIME(NANOS) on
 * INT64; TIMESTAMP → TIMESTAMP(MICROS) on INT64 (what Feldera's encoder writes); ARRAY → LIST; ROW → a group;
 * MAP → MAP; VARIANT → a STRING holding its JSON. Intervals cannot be written. Pages are not compressed
 * (Arrow's default writer properties, which Feldera's encoder uses); column statistics are written.
 *
 * The bytes depend only on the rows and their order, so exactly_once replay (file-output.ts) reproduces them.
 */
import { ByteWriter, ParquetWriter, type SchemaElement } from 'hyparquet-writer';
import { ServiceError } from '../../errors/service-error.ts';
import type { ColumnSchema } from '../../sql/schema.ts';
import { type SqlType, typeToSql } from '../../sql/sql-type.ts';
import type { SqlArray, SqlMap, SqlRow } from '../../sql/values/collections.ts';
import type { Decimal } from '../../sql/values/decimal.ts';
import { formatValue } from '../../sql/values/format.ts';
import type { Batch } from '../../zset/batch.ts';
import type { Row, Value } from '../../zset/value.ts';

export const DEFAULT_PARQUET_BUFFER_RECORDS = 100_000;

type ToWriter = (v: Value) => unknown;

interface ColumnPlan {
  readonly schema: SchemaElement[];
  readonly convert: ToWriter;
}

function unsupported(t: SqlType, name: string): ServiceError {
  return new ServiceError(
    'ConfigError.OutputFormatNotSupported',
    `column '${name}' has type ${typeToSql(t)}, which the parquet format cannot write; cast it in the view (e.g. to BIGINT or VARCHAR)`,
    { column: name },
  );
}

const hexBytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));

/** Schema elements (depth first) and the value converter of one column/field. */
function plan(name: string, t: SqlType, repetition: 'REQUIRED' | 'OPTIONAL'): ColumnPlan {
  const leaf = (e: Omit<SchemaElement, 'name' | 'repetition_type'>, convert: ToWriter): ColumnPlan => ({
    schema: [{ name, repetition_type: repetition, ...e }],
    convert,
  });
  const id = (v: Value) => v;
  const int = (bitWidth: number, isSigned: boolean) =>
    leaf(
      {
        type: bitWidth === 64 ? 'INT64' : 'INT32',
        converted_type: `${isSigned ? 'INT' : 'UINT'}_${bitWidth}` as SchemaElement['converted_type'],
        logical_type: { type: 'INTEGER', bitWidth, isSigned },
      },
      id,
    );
  switch (t.kind) {
    case 'BOOLEAN':
      return leaf({ type: 'BOOLEAN' }, id);
    case 'TINYINT':
      return int(8, true);
    case 'SMALLINT':
      return int(16, true);
    case 'INTEGER':
      return int(32, true);
    case 'BIGINT':
      return leaf({ type: 'INT64' }, id);
    case 'UTINYINT':
      return int(8, false);
    case 'USMALLINT':
      return int(16, false);
    case 'UINTEGER':
      return int(32, false);
    case 'UBIGINT':
      return leaf(
        {
          type: 'INT64',
          converted_type: 'UINT_64',
          logical_type: { type: 'INTEGER', bitWidth: 64, isSigned: false },
        },
        (v) => BigInt.asIntN(64, v as bigint),
      );
    case 'REAL':
      return leaf({ type: 'FLOAT' }, id);
    case 'DOUBLE':
      return leaf({ type: 'DOUBLE' }, id);
    case 'DECIMAL': {
      if (t.precision == null) return leaf({ type: 'BYTE_ARRAY', converted_type: 'UTF8' }, (v) => String(v));
      const precision = t.precision;
      const scale = t.scale ?? 0;
      const physical = precision <= 9 ? 'INT32' : precision <= 18 ? 'INT64' : 'FIXED_LEN_BYTE_ARRAY';
      return leaf(
        {
          type: physical,
          ...(physical === 'FIXED_LEN_BYTE_ARRAY' ? { type_length: 16 } : {}),
          converted_type: 'DECIMAL',
          precision,
          scale,
          logical_type: { type: 'DECIMAL', precision, scale },
        },
        (v) => {
          const d = v as Decimal;
          // the unscaled integer at the column's scale (writer: a bigint is written as is)
          return d.scale <= scale
            ? d.unscaled * 10n ** BigInt(scale - d.scale)
            : d.round(scale).unscaled * 10n ** BigInt(scale - d.round(scale).scale);
        },
      );
    }
    case 'CHAR':
    case 'VARCHAR':
    case 'UUID':
      return leaf({ type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } }, id);
    case 'BINARY':
    case 'VARBINARY':
      return leaf({ type: 'BYTE_ARRAY' }, (v) => hexBytes(v as string));
    case 'DATE':
      return leaf({ type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } }, id);
    case 'TIME':
      return leaf(
        { type: 'INT64', logical_type: { type: 'TIME', isAdjustedToUTC: false, unit: 'NANOS' } },
        (v) => BigInt(v as number) * 1000n,
      );
    case 'TIMESTAMP':
      return leaf(
        {
          type: 'INT64',
          converted_type: 'TIMESTAMP_MICROS',
          logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: t.withTimeZone === true, unit: 'MICROS' },
        },
        (v) => BigInt(v as number),
      );
    case 'VARIANT':
      return leaf({ type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } }, (v) =>
        formatValue(v, t),
      );
    case 'ARRAY': {
      const el = plan(
        'element',
        t.element as SqlType,
        (t.element as SqlType).nullable ? 'OPTIONAL' : 'REQUIRED',
      );
      return {
        schema: [
          {
            name,
            repetition_type: repetition,
            num_children: 1,
            converted_type: 'LIST',
            logical_type: { type: 'LIST' },
          },
          { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
          ...el.schema,
        ],
        convert: (v) => (v as SqlArray).items.map((x) => (x === null ? null : el.convert(x))),
      };
    }
    case 'MAP': {
      const k = plan('key', t.key as SqlType, 'REQUIRED');
      const val = plan('value', t.value as SqlType, (t.value as SqlType).nullable ? 'OPTIONAL' : 'REQUIRED');
      return {
        schema: [
          {
            name,
            repetition_type: repetition,
            num_children: 1,
            converted_type: 'MAP',
            logical_type: { type: 'MAP' },
          },
          { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
          ...k.schema,
          ...val.schema,
        ],
        convert: (v) => {
          const m = v as SqlMap;
          const out = new Map<unknown, unknown>();
          for (let i = 0; i < m.size; i++) {
            const x = m.values[i] as Value;
            out.set(k.convert(m.keys[i] as Value), x === null ? null : val.convert(x));
          }
          return out;
        },
      };
    }
    case 'ROW': {
      const fields = (t.fields ?? []).map((f) => ({
        name: f.name,
        p: plan(f.name, f.type, f.type.nullable ? 'OPTIONAL' : 'REQUIRED'),
      }));
      return {
        schema: [
          { name, repetition_type: repetition, num_children: fields.length },
          ...fields.flatMap((f) => f.p.schema),
        ],
        convert: (v) => {
          const r = v as SqlRow;
          const out: Record<string, unknown> = {};
          fields.forEach((f, i) => {
            const x = r.fields[i] as Value;
            out[f.name] = x === null ? null : f.p.convert(x);
          });
          return out;
        },
      };
    }
    default:
      throw unsupported(t, name);
  }
}

export interface ParquetEncoder {
  /** The change's inserted rows as complete Parquet files of at most `bufferRecords` rows each. */
  encode(change: Batch): { bytes: Uint8Array; records: number };
}

/**
 * Builds the encoder for a view's columns. @throws ServiceError ConfigError.OutputFormatNotSupported for a
 * column type Parquet output cannot hold (intervals).
 */
export function parquetEncoder(
  columns: readonly ColumnSchema[],
  bufferRecords = DEFAULT_PARQUET_BUFFER_RECORDS,
): ParquetEncoder {
  const plans = columns.map((c) => plan(c.name, c.type, c.type.nullable ? 'OPTIONAL' : 'REQUIRED'));
  const schema: SchemaElement[] = [
    { name: 'root', num_children: columns.length },
    ...plans.flatMap((p) => p.schema),
  ];
  const file = (rows: Row[]): Uint8Array => {
    const writer = new ByteWriter();
    const pq = new ParquetWriter({ writer, schema, codec: 'UNCOMPRESSED', createdBy: 'holdfast' });
    const columnData = columns.map((c, j) => {
      const conv = (plans[j] as ColumnPlan).convert;
      return {
        name: c.name,
        data: rows.map((r) => {
          const v = r[j] as Value;
          return v === null ? null : conv(v);
        }),
      };
    });
    void pq.write({ columnData, rowGroupSize: rows.length });
    void pq.finish();
    return writer.getBytes();
  };
  return {
    encode(change) {
      const parts: Uint8Array[] = [];
      let batch: Row[] = [];
      let records = 0;
      for (let i = 0; i < change.rows.length; i++) {
        const w = change.weights[i] as number;
        for (let k = 0; k < w; k++) {
          batch.push(change.rows[i] as Row);
          if (batch.length >= bufferRecords) {
            parts.push(file(batch));
            records += batch.length;
            batch = [];
          }
        }
      }
      if (batch.length > 0) {
        parts.push(file(batch));
        records += batch.length;
      }
      return { bytes: parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts), records };
    },
  };
}
