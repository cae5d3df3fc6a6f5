/**
 * CSV input (Feldera's CSV format): one record per line, fields by position in column order (a header line is
 * never used for mapping; `headers: true` only skips it), RFC 4180 quoting with doubled quotes, extra trailing
 * fields dropped, missing fields empty. NULL is an empty field (for non-string columns) or an unquoted
 * `NULL`/`null`; for CHAR/VARCHAR an empty field is the empty string. Every record is an insert. Bad lines are
 * reported and skipped; the others are kept.
 */
import { isServiceError, ServiceError } from '../../errors/service-error.ts';
import type { TableSchema } from '../../sql/schema.ts';
import { parseTextValue } from '../../sql/values/format.ts';
import type { Value } from '../../zset/value.ts';
import { bool } from './json-parser.ts';
import { addError, emptyResult, type ParseResult } from './parse-result.ts';

export interface CsvParserConfig {
  readonly delimiter: string;
  readonly headers: boolean;
}

export function csvParserConfig(raw: Readonly<Record<string, unknown>>): CsvParserConfig {
  const d = raw.delimiter ?? ',';
  if (typeof d !== 'string' || d.length !== 1 || d === '"' || d === '\n') {
    throw new ServiceError(
      'ConfigError.ParserConfigParseError',
      `option 'delimiter' must be one character other than a quote or newline, got ${JSON.stringify(d)}`,
      {
        option: 'delimiter',
      },
    );
  }
  return { delimiter: d, headers: bool(raw.headers, 'headers') };
}

/**
 * Reads CSV text record by record (fields by slicing the text, not by building strings a character at a time).
 * A quote opens a quoted section only as a field's first character; inside it `""` is a quote and line breaks
 * belong to the field; after it, characters up to the delimiter are literal (quotes too). A record ends at `\n`
 * or `\r\n` (a lone `\r` is a character) or at the end of the text. A blank line (one empty unquoted field) is
 * no record. `texts`/`quoted` are reused from record to record.
 */
class CsvCursor {
  readonly texts: string[] = [];
  readonly quoted: boolean[] = [];
  /** Fields of the current record. */
  count = 0;
  /** 1-based line where the current record starts. */
  line = 0;
  #pos = 0;
  #nextLine: number;
  #start = 0;
  readonly #text: string;
  readonly #delim: number;

  constructor(text: string, delimiter: string, firstLine: number) {
    this.#text = text;
    this.#delim = delimiter.charCodeAt(0);
    this.#nextLine = firstLine;
  }

  /** Reads the next record; false at the end of the text. */
  next(): boolean {
    for (;;) {
      if (this.#pos >= this.#text.length) return false;
      this.#read();
      if (!(this.count === 1 && this.texts[0] === '' && !this.quoted[0])) return true;
    }
  }

  /** The current record's text, without its line break (for error reports). */
  raw(): string {
    return this.#text.slice(this.#start, this.#pos).replace(/\r?\n$/, '');
  }

  #read(): void {
    const t = this.#text;
    const n = t.length;
    const d = this.#delim;
    let i = this.#pos;
    this.#start = i;
    this.line = this.#nextLine;
    let count = 0;
    for (;;) {
      let value: string;
      let quoted = false;
      if (i < n && t.charCodeAt(i) === 34) {
        quoted = true;
        i++;
        value = '';
        for (;;) {
          const q = t.indexOf('"', i);
          const end = q < 0 ? n : q;
          for (let k = t.indexOf('\n', i); k >= 0 && k < end; k = t.indexOf('\n', k + 1)) this.#nextLine++;
          if (q < 0) {
            value += t.slice(i, n);
            i = n;
            break;
          }
          if (t.charCodeAt(q + 1) === 34) {
            value += t.slice(i, q + 1);
            i = q + 2;
            continue;
          }
          value += t.slice(i, q);
          i = q + 1;
          break;
        }
        const j = fieldEnd(t, i, d);
        if (j > i) value += t.slice(i, j);
        i = j;
      } else {
        const j = fieldEnd(t, i, d);
        value = t.slice(i, j);
        i = j;
      }
      this.texts[count] = value;
      this.quoted[count] = quoted;
      count++;
      if (i >= n) break;
      const c = t.charCodeAt(i);
      if (c === d) {
        i++;
        continue;
      }
      // a line break: \n or \r\n
      i += c === 13 ? 2 : 1;
      this.#nextLine++;
      break;
    }
    this.count = count;
    this.#pos = i;
  }
}

/** Where the unquoted part of a field that starts at `i` ends: the delimiter, a line break or the end. */
function fieldEnd(t: string, i: number, d: number): number {
  const n = t.length;
  for (; i < n; i++) {
    const c = t.charCodeAt(i);
    if (c === d || c === 10 || (c === 13 && t.charCodeAt(i + 1) === 10)) return i;
  }
  return n;
}

/**
 * Parses a CSV input chunk for `table`. A chunk that continues an input (cut at a record boundary) passes
 * where it starts: `firstRecord` records and `firstLine - 1` lines came before it. `r.events` is set to the
 * number of records it held.
 */
export function parseCsv(
  table: TableSchema,
  cfg: CsvParserConfig,
  text: string,
  start: { readonly firstRecord: number; readonly firstLine: number } = { firstRecord: 0, firstLine: 1 },
): ParseResult {
  const r = emptyResult();
  const cols = table.columns;
  const width = cols.length;
  const isString = cols.map((c) => c.type.kind === 'VARCHAR' || c.type.kind === 'CHAR');
  const cur = new CsvCursor(text, cfg.delimiter, start.firstLine);
  let k = start.firstRecord - 1;
  while (cur.next()) {
    k++;
    if (k === 0 && cfg.headers) continue;
    try {
      const row: Value[] = new Array(width);
      for (let j = 0; j < width; j++) {
        const c = cols[j] as (typeof cols)[number];
        let v: Value;
        if (j >= cur.count) v = null;
        else {
          const f = cur.texts[j] as string;
          const quoted = cur.quoted[j] as boolean;
          if (!quoted && (f === 'NULL' || f === 'null' || (f === '' && !isString[j]))) v = null;
          else v = parseTextValue(f, c.type, c.name);
        }
        if (v === null && !c.type.nullable) {
          throw new ServiceError(
            'InvalidRecord',
            `column '${c.name}' is NOT NULL but the field is empty or NULL`,
            { column: c.name },
          );
        }
        row[j] = v;
      }
      r.changes.push({ row, weight: 1 });
    } catch (e) {
      if (!isServiceError(e)) throw e;
      addError(r, {
        description: `line ${cur.line}: ${e.message}`,
        event_number: k + 1,
        field: typeof e.details.column === 'string' ? e.details.column : null,
        invalid_text: cur.raw(),
      });
    }
  }
  r.events = k + 1 - start.firstRecord;
  return r;
}
