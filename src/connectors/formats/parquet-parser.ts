/**
 * Parquet input (Feldera's `parquet` format): a Parquet file is decoded into inserts of a table's rows. It is
 * not a line format: a file is opened whole (its footer holds the schema and where every row group lives),
 * then read by row ranges, so a reader can stop and resume at any row index — the position the connectors
 * record for exactly-once input (see file-input.ts and object-input.ts).
 *
 * Several complete Parquet files back to back (what a Parquet output connector — Feldera's or Holdfast's —
 * writes over several steps) are read as one: their footers are found from the end (see {@link segmentsOf})
 * and their rows numbered on across them.
 *
 * Schema: the file's top-level columns must be the table's columns (names matched exactly, then
 * case-insensitively for columns not quoted in SQL), and each column's Parquet type must fit the SQL type
 * (Feldera's Arrow mapping, plus the widenings listed in {@link fits}); otherwise the whole file is refused
 * with `ParquetSchemaMismatch` naming the column (a reader may relax this with {@link OpenOptions}: the Delta
 * input skips extra file columns and reads nullable columns a file lacks as NULL). A file that is not Parquet, or uses an encoding or codec
 * that cannot be decoded, is `ParquetInvalidFile`. Per-row problems (NULL in a NOT NULL column, a value out
 * of the SQL type's range, a string longer than VARCHAR(n)) are parse errors of that row only; the other rows
 * are kept, as with JSON and CSV.
 *
 * Values are decoded exactly: DECIMAL from its unscaled integer (hyparquet's own conversion goes through a
 * double, so the reader is given the footer with DECIMAL annotations removed and scales them itself),
 * TIMESTAMP/TIME from their integer ticks (sub-microsecond digits are truncated: Holdfast keeps µs).
 *
 * State: none between calls; an {@link OpenParquet} holds the parsed footer.
 */
import {
  type AsyncBuffer,
  type FileMetaData,
  type ParquetParsers,
  parquetMetadataAsync,
  parquetReadObjects,
  parquetSchema,
  type SchemaElement,
  type SchemaTree,
} from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { isServiceError, ServiceError } from '../../errors/service-error.ts';
import type { ColumnSchema, TableSchema } from '../../sql/schema.ts';
import { INTEGER_KINDS, type SqlType, typeToSql } from '../../sql/sql-type.ts';
import { SqlArray, SqlMap, SqlRow } from '../../sql/values/collections.ts';
import { parseJsonValue } from '../../sql/values/format.ts';
import type { Value } from '../../zset/value.ts';
import { addError, emptyResult, type ParseResult } from './parse-result.ts';

export type { AsyncBuffer } from 'hyparquet';

/** A file opened for reading: its row count and a reader of row ranges. */
export interface OpenParquet {
  readonly numRows: number;
  /** The row groups' row ranges `[start, end)`, in order (a read within one group decodes only that group). */
  readonly groups: ReadonlyArray<{ readonly start: number; readonly end: number }>;
  /**
   * Reads rows `[rowStart, rowEnd)` as inserts (`rowIndex[k]`: the file row of `changes[k]`). Row errors are
   * parse errors whose `event_number` is the row's 1-based index in the file. Read within one row group: a
   * group is decoded whole whatever part of it is asked for. @throws ServiceError ParquetInvalidFile when a
   * page cannot be decoded.
   */
  read(rowStart: number, rowEnd: number): Promise<ParseResult & { rowIndex: number[] }>;
}

type Convert = (raw: unknown) => Value;

interface Plan {
  /** File column name per table column (null: not in the file, read as NULL; see {@link OpenOptions}). */
  readonly names: Array<string | null>;
  readonly convert: Convert[];
}

const decoder = new TextDecoder('utf-8');

/** hyparquet's value parsers, returning raw ticks so the conversion here is exact. */
const RAW_PARSERS: Partial<ParquetParsers> = {
  timestampFromMilliseconds: (v) => ({ ticks: BigInt(v), per: 1000n, mul: 1000n }),
  timestampFromMicroseconds: (v) => ({ ticks: BigInt(v), per: 1n, mul: 1n }),
  timestampFromNanoseconds: (v) => ({ ticks: BigInt(v), per: 1000n, mul: 0n }),
  dateFromDays: (v) => v,
  jsonFromBytes: (b) => (b === undefined ? undefined : decoder.decode(b)),
};

/** Timestamp ticks as RAW_PARSERS return them: µs = ticks·1000/per when mul=1000 (ms), ticks/per otherwise. */
interface Ticks {
  readonly ticks: bigint;
  readonly per: bigint;
  readonly mul: bigint;
}

function ticksToMicros(t: Ticks): number {
  if (t.mul === 1000n) return Number(t.ticks * 1000n);
  return Number(floorDiv(t.ticks, t.per));
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

export function invalidFile(where: string, e: unknown): ServiceError {
  const msg = e instanceof Error ? e.message : String(e);
  return new ServiceError(
    'ParquetInvalidFile',
    `${where} is not a readable Parquet file: ${msg}; send a complete Parquet file (its footer ends with "PAR1") written with an uncompressed, snappy, gzip, zstd, brotli or lz4 codec`,
    { where },
  );
}

function mismatch(table: TableSchema, column: string, message: string): ServiceError {
  return new ServiceError(
    'ParquetSchemaMismatch',
    `the Parquet file does not match table '${table.name}': ${message}; write the file with the table's columns and types (see the Parquet format in the README)`,
    { table: table.name, column },
  );
}

/** A short description of a Parquet schema node, for messages. */
function describeNode(n: SchemaTree): string {
  const e = n.element;
  if (n.children.length > 0) {
    if (isList(n)) return 'LIST';
    if (isMap(n)) return 'MAP';
    return 'STRUCT';
  }
  const lt = e.logical_type;
  const ann =
    lt !== undefined
      ? lt.type === 'TIMESTAMP' || lt.type === 'TIME'
        ? `${lt.type}(${lt.unit})`
        : lt.type === 'INTEGER'
          ? `${lt.isSigned ? 'INT' : 'UINT'}${lt.bitWidth}`
          : lt.type
      : e.converted_type;
  return ann !== undefined ? `${e.type} (${ann})` : String(e.type);
}

function isList(n: SchemaTree): boolean {
  const e = n.element;
  if (e.converted_type !== 'LIST' && e.logical_type?.type !== 'LIST') return false;
  const rep = n.children[0];
  return n.children.length === 1 && rep !== undefined && rep.element.repetition_type === 'REPEATED';
}

function isMap(n: SchemaTree): boolean {
  const e = n.element;
  if (e.converted_type !== 'MAP' && e.converted_type !== 'MAP_KEY_VALUE' && e.logical_type?.type !== 'MAP')
    return false;
  const kv = n.children[0];
  return (
    n.children.length === 1 &&
    kv !== undefined &&
    kv.element.repetition_type === 'REPEATED' &&
    kv.children.length === 2
  );
}

function listElement(n: SchemaTree): SchemaTree {
  const rep = n.children[0] as SchemaTree;
  // 3-level lists (list → repeated group → element); a repeated group of several fields or a repeated leaf
  // is the element itself (the legacy 2-level form)
  return rep.children.length === 1 ? (rep.children[0] as SchemaTree) : rep;
}

const isIntLeaf = (e: SchemaElement): boolean => {
  if (e.type !== 'INT32' && e.type !== 'INT64') return false;
  const lt = e.logical_type?.type;
  if (lt !== undefined && lt !== 'INTEGER') return false;
  const ct = e.converted_type;
  return ct === undefined || /^U?INT_(8|16|32|64)$/.test(ct);
};
const isDecimal = (e: SchemaElement): boolean =>
  e.converted_type === 'DECIMAL' || e.logical_type?.type === 'DECIMAL';
const isStringLeaf = (e: SchemaElement): boolean =>
  e.type === 'BYTE_ARRAY' &&
  (e.converted_type === 'UTF8' ||
    e.converted_type === 'ENUM' ||
    e.converted_type === 'JSON' ||
    e.logical_type?.type === 'STRING' ||
    e.logical_type?.type === 'ENUM' ||
    e.logical_type?.type === 'JSON' ||
    (e.converted_type === undefined && e.logical_type === undefined));
const isBinaryLeaf = (e: SchemaElement): boolean =>
  (e.type === 'BYTE_ARRAY' || e.type === 'FIXED_LEN_BYTE_ARRAY') &&
  e.converted_type === undefined &&
  e.logical_type === undefined;

/** Bytes as hyparquet returns them (a Uint8Array, or a string when the column is annotated as text). */
function text(raw: unknown): string {
  return typeof raw === 'string' ? raw : decoder.decode(raw as Uint8Array);
}

/** The exact decimal text of an unscaled integer (a number, a bigint, or big-endian two's complement bytes). */
function decimalText(raw: unknown, scale: number): string {
  let u: bigint;
  if (raw instanceof Uint8Array) {
    u = 0n;
    for (const b of raw) u = (u << 8n) | BigInt(b);
    if (raw.length > 0 && ((raw[0] as number) & 0x80) !== 0) u -= 1n << BigInt(raw.length * 8);
  } else u = BigInt(raw as number | bigint);
  if (scale <= 0) return (u * 10n ** BigInt(-scale)).toString();
  const neg = u < 0n;
  const digits = (neg ? -u : u).toString().padStart(scale + 1, '0');
  return `${neg ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

/**
 * The converter of one file column into values of SQL type `t`, or a mismatch message. What fits:
 * BOOLEAN ← BOOLEAN; integers ← INT32/INT64 of any width (values out of range are row errors); REAL/DOUBLE ←
 * FLOAT/DOUBLE/integers; DECIMAL ← DECIMAL/integers/FLOAT/DOUBLE; CHAR/VARCHAR ← strings (UTF8/STRING/ENUM/
 * JSON or unannotated BYTE_ARRAY); BINARY/VARBINARY ← unannotated BYTE_ARRAY/FIXED_LEN_BYTE_ARRAY; DATE ←
 * DATE (INT32 days); TIME ← TIME(ms/µs/ns) or a plain integer of nanoseconds (Feldera's UInt64); TIMESTAMP ←
 * TIMESTAMP(ms/µs/ns), INT96; UUID ← UUID or a string; VARIANT ← a string holding JSON; ARRAY ← LIST; MAP ←
 * MAP (string or integer keys); ROW ← a group with the same field names.
 */
function fits(n: SchemaTree, t: SqlType, path: string): Convert | string {
  const e = n.element;
  const leaf = n.children.length === 0;
  const want = `expected ${typeToSql(t)}, the file has ${describeNode(n)}`;
  const viaJson =
    (x: (raw: unknown) => unknown): Convert =>
    (raw) =>
      parseJsonValue(x(raw), t, path);
  switch (t.kind) {
    case 'BOOLEAN':
      return leaf && e.type === 'BOOLEAN' ? (raw) => parseJsonValue(raw, t, path) : want;
    case 'REAL':
    case 'DOUBLE':
      if (leaf && (e.type === 'FLOAT' || e.type === 'DOUBLE' || isIntLeaf(e)))
        return viaJson((r) => Number(r));
      return want;
    case 'DECIMAL':
      if (leaf && isDecimal(e)) {
        const scale = e.scale ?? (e.logical_type?.type === 'DECIMAL' ? e.logical_type.scale : 0);
        return viaJson((r) => decimalText(r, scale));
      }
      if (leaf && isIntLeaf(e)) return viaJson((r) => String(r));
      if (leaf && (e.type === 'FLOAT' || e.type === 'DOUBLE')) return viaJson((r) => r);
      return want;
    case 'CHAR':
    case 'VARCHAR':
      return leaf && isStringLeaf(e) ? viaJson(text) : want;
    case 'BINARY':
    case 'VARBINARY':
      return leaf && isBinaryLeaf(e) ? viaJson((r) => Array.from(r as Uint8Array)) : want;
    case 'UUID':
      if (leaf && e.type === 'FIXED_LEN_BYTE_ARRAY' && e.logical_type?.type === 'UUID')
        return viaJson((r) => r);
      return leaf && isStringLeaf(e) ? viaJson(text) : want;
    case 'DATE':
      if (leaf && e.type === 'INT32' && (e.converted_type === 'DATE' || e.logical_type?.type === 'DATE'))
        return (raw) => Number(raw);
      return want;
    case 'TIME': {
      if (!leaf) return want;
      const lt = e.logical_type;
      let perMicro: bigint | null = null; // ticks per µs; 0n: ticks are ms
      if (lt?.type === 'TIME') perMicro = lt.unit === 'MILLIS' ? 0n : lt.unit === 'MICROS' ? 1n : 1000n;
      else if (e.converted_type === 'TIME_MILLIS') perMicro = 0n;
      else if (e.converted_type === 'TIME_MICROS') perMicro = 1n;
      else if (isIntLeaf(e)) perMicro = 1000n; // Feldera: UInt64 nanoseconds
      if (perMicro === null) return want;
      const per = perMicro;
      return (raw) => {
        const ticks = BigInt(raw as number | bigint);
        const us = per === 0n ? ticks * 1000n : floorDiv(ticks, per);
        if (us < 0n || us >= 86_400_000_000n)
          throw new ServiceError('InvalidRecord', `column "${path}": ${ticks} is not a time of day`, {
            column: path,
          });
        return Number(us);
      };
    }
    case 'TIMESTAMP':
      if (
        leaf &&
        (e.logical_type?.type === 'TIMESTAMP' ||
          e.converted_type === 'TIMESTAMP_MILLIS' ||
          e.converted_type === 'TIMESTAMP_MICROS' ||
          e.type === 'INT96')
      )
        return (raw) => ticksToMicros(raw as Ticks);
      return want;
    case 'VARIANT':
      if (!leaf || !isStringLeaf(e)) return `${want} (a VARIANT is read from a string holding its JSON)`;
      return (raw) => {
        const s = text(raw);
        let tree: unknown;
        try {
          tree = JSON.parse(s);
        } catch {
          throw new ServiceError('InvalidRecord', `column "${path}": a VARIANT needs JSON text, got ${s}`, {
            column: path,
          });
        }
        return parseJsonValue(tree, t, path);
      };
    case 'ARRAY': {
      if (leaf || !isList(n)) return want;
      const el = fits(listElement(n), t.element as SqlType, `${path}[]`);
      if (typeof el === 'string') return el;
      return (raw) =>
        new SqlArray((raw as unknown[]).map((x) => (x === null || x === undefined ? null : el(x))));
    }
    case 'MAP': {
      if (leaf || !isMap(n)) return want;
      const kv = n.children[0] as SchemaTree;
      const kt = t.key as SqlType;
      const kn = kv.children[0] as SchemaTree;
      if (
        kn.children.length > 0 ||
        !(INTEGER_KINDS.has(kt.kind) || kt.kind === 'VARCHAR' || kt.kind === 'CHAR')
      )
        return `${want} (map keys must be strings or integers)`;
      const kc = fits(kn, kt, `${path}.key`);
      if (typeof kc === 'string') return kc;
      const vc = fits(kv.children[1] as SchemaTree, t.value as SqlType, `${path}.value`);
      if (typeof vc === 'string') return vc;
      // hyparquet gives a map as an object: its keys are the key values' text
      return (raw) =>
        SqlMap.of(
          Object.entries(raw as Record<string, unknown>).map(
            ([k, v]) =>
              [parseJsonValue(k, kt, `${path}.key`), v === null || v === undefined ? null : vc(v)] as const,
          ),
        );
    }
    case 'ROW': {
      if (leaf || isList(n) || isMap(n)) return want;
      const fields = t.fields ?? [];
      const convs: Array<{ name: string; conv: Convert }> = [];
      for (const f of fields) {
        const child =
          n.children.find((c) => c.element.name === f.name) ??
          n.children.find((c) => c.element.name.toLowerCase() === f.name.toLowerCase());
        if (child === undefined) return `field '${f.name}' of ${path} is missing from the file`;
        const conv = fits(child, f.type, `${path}.${f.name}`);
        if (typeof conv === 'string') return conv;
        convs.push({ name: child.element.name, conv });
      }
      for (const c of n.children)
        if (!convs.some((x) => x.name === c.element.name))
          return `the file's ${path} has field '${c.element.name}', which the type does not`;
      return (raw) => {
        const o = raw as Record<string, unknown>;
        return new SqlRow(
          convs.map(({ name, conv }) => {
            const v = o[name];
            return v === null || v === undefined ? null : conv(v);
          }),
        );
      };
    }
    default:
      if (INTEGER_KINDS.has(t.kind)) {
        if (!leaf || !isIntLeaf(e)) return want;
        const big = t.kind === 'BIGINT' || t.kind === 'UBIGINT';
        return viaJson((r) => (big ? BigInt(r as number | bigint) : Number(r)));
      }
      return `type ${typeToSql(t)} cannot be read from Parquet`;
  }
}

/**
 * How a reader may deviate from "the file's columns are the table's" (the Delta input, whose data files may
 * have columns the table does not declare, and lack columns added to the table later).
 */
export interface OpenOptions {
  /** File columns the table does not have are skipped instead of refused. */
  readonly ignoreExtraColumns?: boolean;
  /** A nullable table column the file lacks reads as NULL instead of being refused. */
  readonly missingAsNull?: boolean;
}

/** Matches the file's top-level columns to the table's. @throws ServiceError ParquetSchemaMismatch. */
function planColumns(table: TableSchema, root: SchemaTree, opts: OpenOptions = {}): Plan {
  const names: Array<string | null> = [];
  const convert: Convert[] = [];
  const used = new Set<string>();
  for (const col of table.columns as readonly ColumnSchema[]) {
    const node =
      root.children.find((c) => c.element.name === col.name) ??
      (col.caseSensitive
        ? undefined
        : root.children.find((c) => c.element.name.toLowerCase() === col.name.toLowerCase()));
    if (node === undefined && opts.missingAsNull === true && col.type.nullable) {
      names.push(null);
      convert.push(() => null);
      continue;
    }
    if (node === undefined)
      throw mismatch(
        table,
        col.name,
        `column '${col.name}' is missing (the file has ${root.children.map((c) => c.element.name).join(', ') || 'no columns'})`,
      );
    const conv = fits(node, col.type, col.name);
    if (typeof conv === 'string') throw mismatch(table, col.name, `column '${col.name}': ${conv}`);
    names.push(node.element.name);
    convert.push(conv);
    used.add(node.element.name);
  }
  for (const c of root.children)
    if (!used.has(c.element.name) && opts.ignoreExtraColumns !== true)
      throw mismatch(
        table,
        c.element.name,
        `the file has column '${c.element.name}', which table '${table.name}' does not have`,
      );
  return { names, convert };
}

/** The footer with DECIMAL annotations removed, so hyparquet hands over the unscaled integers. */
function rawDecimals(md: FileMetaData): FileMetaData {
  if (!md.schema.some(isDecimal)) return md;
  return {
    ...md,
    schema: md.schema.map((e) => {
      if (!isDecimal(e)) return e;
      const { converted_type: _c, logical_type: _l, ...rest } = e;
      return rest;
    }),
  };
}

/** The bytes `[start, end)` of `file`, as a file of their own. */
function subSource(file: AsyncBuffer, start: number, end: number): AsyncBuffer {
  if (start === 0 && end === file.byteLength) return file;
  return { byteLength: end - start, slice: (s, e) => file.slice(start + s, start + (e ?? end - start)) };
}

/**
 * Where the bytes a footer describes end (column chunks, page indexes, bloom filters), relative to the file's
 * start: in a file written in one go, the footer follows them directly.
 */
function describedEnd(md: FileMetaData): number {
  let end = 4;
  const upTo = (off: bigint | undefined, len: bigint | number | undefined) => {
    if (off !== undefined && len !== undefined) end = Math.max(end, Number(off) + Number(len));
  };
  for (const g of md.row_groups)
    for (const c of g.columns) {
      const m = c.meta_data;
      if (m !== undefined) {
        const dict = m.dictionary_page_offset;
        const first =
          dict !== undefined && dict > 0n && dict < m.data_page_offset ? dict : m.data_page_offset;
        upTo(first, m.total_compressed_size);
        upTo(m.bloom_filter_offset, m.bloom_filter_length);
      }
      upTo(c.offset_index_offset, c.offset_index_length);
      upTo(c.column_index_offset, c.column_index_length);
    }
  return end;
}

const MAGIC = 0x31524150; // "PAR1", little-endian

interface Segment {
  readonly source: AsyncBuffer;
  readonly metadata: FileMetaData;
  readonly plan: Plan;
  /** Index of the segment's first row among all rows of the file. */
  readonly base: number;
  readonly numRows: number;
}

/**
 * The complete Parquet files `file` holds back to back (Feldera's and Holdfast's Parquet output appends one per
 * step), last first found from the end: a footer whose described bytes stop short of it, with "PAR1PAR1" (one
 * file's end, the next one's start) right where they would begin, closes a file that starts there. Any other
 * file is one file.
 */
async function segmentsOf(
  file: AsyncBuffer,
): Promise<Array<{ source: AsyncBuffer; metadata: FileMetaData }>> {
  const out: Array<{ source: AsyncBuffer; metadata: FileMetaData }> = [];
  for (let end = file.byteLength; ; ) {
    const metadata = await parquetMetadataAsync(subSource(file, 0, end));
    const gap = end - 8 - metadata.metadata_length - describedEnd(metadata);
    let start = 0;
    if (gap >= 12) {
      const b = new DataView(await file.slice(gap - 4, gap + 4));
      if (b.byteLength === 8 && b.getUint32(0, true) === MAGIC && b.getUint32(4, true) === MAGIC) start = gap;
    }
    out.unshift({ source: subSource(file, start, end), metadata });
    if (start === 0) return out;
    end = start;
  }
}

/**
 * Opens a Parquet file — or several complete Parquet files back to back, as a Parquet output connector writes
 * them over several steps — and checks its schema against `table`. `where` names the file in messages.
 * @throws ServiceError ParquetInvalidFile / ParquetSchemaMismatch.
 */
export async function openParquet(
  file: AsyncBuffer,
  table: TableSchema,
  where: string,
  options: OpenOptions = {},
): Promise<OpenParquet> {
  let found: Array<{ source: AsyncBuffer; metadata: FileMetaData; root: SchemaTree }>;
  try {
    found = (await segmentsOf(file)).map((f) => ({ ...f, root: parquetSchema(f.metadata) }));
  } catch (e) {
    if (isServiceError(e)) throw e; // a read failure of the source (transport), not of the format
    throw invalidFile(where, e);
  }
  const segments: Segment[] = [];
  const groups: Array<{ start: number; end: number }> = [];
  let numRows = 0;
  for (const f of found) {
    const base = numRows;
    let start = base;
    for (const g of f.metadata.row_groups) {
      const n = Number(g.num_rows);
      if (n > 0) groups.push({ start, end: start + n });
      start += n;
    }
    const n = Number(f.metadata.num_rows);
    segments.push({
      source: f.source,
      metadata: rawDecimals(f.metadata),
      plan: planColumns(table, f.root, options),
      base,
      numRows: n,
    });
    numRows += n;
  }
  const cols = table.columns;
  const readSegment = async (
    seg: Segment,
    from: number,
    to: number,
    result: ParseResult & { rowIndex: number[] },
  ): Promise<void> => {
    const { plan } = seg;
    let rows: Array<Record<string, unknown>>;
    try {
      rows = await parquetReadObjects({
        file: seg.source,
        metadata: seg.metadata,
        columns: plan.names.filter((n): n is string => n !== null),
        rowStart: from,
        rowEnd: to,
        utf8: false,
        parsers: RAW_PARSERS,
        compressors,
      });
    } catch (e) {
      if (isServiceError(e)) throw e;
      throw invalidFile(where, e);
    }
    rows.forEach((obj, i) => {
      const at = seg.base + from + i; // the row's index in the whole file
      const row: Value[] = new Array(cols.length);
      for (let j = 0; j < cols.length; j++) {
        const col = cols[j] as ColumnSchema;
        const name = plan.names[j];
        const raw = name === null || name === undefined ? null : obj[name];
        try {
          const v = raw === null || raw === undefined ? null : (plan.convert[j] as Convert)(raw);
          if (v === null && !col.type.nullable)
            throw new ServiceError(
              'InvalidRecord',
              `column '${col.name}' of table '${table.name}' is NOT NULL but the row holds null`,
            );
          row[j] = v;
        } catch (e) {
          addError(result, {
            description: isServiceError(e) ? e.message : `column '${col.name}': ${(e as Error).message}`,
            event_number: at + 1,
            field: col.name,
            invalid_text: null,
          });
          return;
        }
      }
      result.changes.push({ row, weight: 1 });
      result.rowIndex.push(at);
    });
    result.events = (result.events ?? 0) + rows.length;
  };
  return {
    numRows,
    groups,
    async read(rowStart, rowEnd) {
      const result = { ...emptyResult(), rowIndex: [] as number[] };
      for (const seg of segments) {
        const from = Math.max(rowStart, seg.base);
        const to = Math.min(rowEnd, seg.base + seg.numRows);
        if (from < to) await readSegment(seg, from - seg.base, to - seg.base, result);
      }
      return result;
    },
  };
}

/** An in-memory file as hyparquet reads it. */
export function bufferSource(bytes: Uint8Array): AsyncBuffer {
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return { byteLength: ab.byteLength, slice: (start, end) => ab.slice(start, end) };
}
