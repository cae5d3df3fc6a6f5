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

interface Field {
  readonly text: string;
  readonly quoted: boolean;
}

/** Splits CSV text into records of fields, with the 1-based line where each record starts. */
export function splitCsv(
  text: string,
  delimiter: string,
  firstLine = 1,
): Array<{ fields: Field[]; line: number; raw: string }> {
  const out: Array<{ fields: Field[]; line: number; raw: string }> = [];
  const n = text.length;
  let i = 0;
  let line = firstLine;
  while (i < n) {
    const startLine = line;
    const start = i;
    const fields: Field[] = [];
    let cur = '';
    let quoted = false;
    for (;;) {
      if (i >= n) {
        fields.push({ text: cur, quoted });
        break;
      }
      const c = text[i] as string;
      if (c === '"' && cur === '' && !quoted) {
        quoted = true;
        i++;
        while (i < n) {
          const q = text[i] as string;
          if (q === '"') {
            if (text[i + 1] === '"') {
              cur += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (q === '\n') line++;
          cur += q;
          i++;
        }
        continue;
      }
      if (c === delimiter) {
        fields.push({ text: cur, quoted });
        cur = '';
        quoted = false;
        i++;
        continue;
      }
      if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
        fields.push({ text: cur, quoted });
        i += c === '\r' ? 2 : 1;
        line++;
        break;
      }
      cur += c;
      i++;
    }
    const raw = text.slice(start, i).replace(/\r?\n$/, '');
    if (!(fields.length === 1 && (fields[0] as Field).text === '' && !(fields[0] as Field).quoted))
      out.push({ fields, line: startLine, raw });
  }
  return out;
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
  const records = splitCsv(text, cfg.delimiter, start.firstLine);
  r.events = records.length;
  const cols = table.columns;
  for (const [i, rec] of records.entries()) {
    const k = i + start.firstRecord;
    if (k === 0 && cfg.headers) continue;
    try {
      const row: Value[] = cols.map((c, j) => {
        const f = rec.fields[j];
        const isString = c.type.kind === 'VARCHAR' || c.type.kind === 'CHAR';
        let v: Value;
        if (f === undefined || (!f.quoted && (f.text === 'NULL' || f.text === 'null'))) v = null;
        else if (f.text === '' && !f.quoted && !isString) v = null;
        else v = parseTextValue(f.text, c.type, c.name);
        if (v === null && !c.type.nullable) {
          throw new ServiceError(
            'InvalidRecord',
            `column '${c.name}' is NOT NULL but the field is empty or NULL`,
            { column: c.name },
          );
        }
        return v;
      });
      r.changes.push({ row, weight: 1 });
    } catch (e) {
      if (!isServiceError(e)) throw e;
      addError(r, {
        description: `line ${rec.line}: ${e.message}`,
        event_number: k + 1,
        field: typeof e.details.column === 'string' ? e.details.column : null,
        invalid_text: rec.raw,
      });
    }
  }
  return r;
}
