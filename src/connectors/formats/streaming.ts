/**
 * Streaming input parsing: text arrives in pieces (an HTTP body as it is read), and each piece is parsed as
 * soon as it completes whole units — top-level JSON values, CSV records — so memory holds one piece and at
 * most one incomplete unit, never the whole input.
 *
 * The splitters find the same unit boundaries as `splitJsonValues` / the CSV parser do on the whole text (they
 * scan with the same rules and carry their state across pieces), so parsing the pieces one by one gives the
 * same changes, the same errors and the same event numbers as parsing the whole text at once. With
 * `array=true` a unit is one whole JSON array (it is accepted or rejected whole), so a single array is held
 * in memory in full.
 */
import type { TableSchema } from '../../sql/schema.ts';
import { type CsvParserConfig, parseCsv } from './csv-parser.ts';
import { type JsonParserConfig, parseJson } from './json-parser.ts';
import type { ParseResult } from './parse-result.ts';

/** Cuts a stream of text into pieces that end on a unit boundary. */
export interface UnitSplitter {
  /** Takes more text; returns the text up to the last complete unit so far ('' when none completed). */
  write(text: string): string;
  /** The rest (an incomplete last unit is parsed as it is, as in a whole-text parse). */
  end(): string;
}

/** A parser fed piece by piece; each call returns what the completed units held. */
export interface StreamingParser {
  write(text: string): ParseResult;
  end(): ParseResult;
}

/**
 * Splits JSON text between top-level values with the rules of `splitJsonValues`: `{…}`/`[…]` end at the
 * bracket that closes the first one (strings and escapes skipped), a top-level string at its closing quote,
 * anything else at the end of its line.
 */
export function jsonSplitter(): UnitSplitter {
  let buf = '';
  let i = 0; // next character of buf to scan
  let mode: 'top' | 'nested' | 'string' | 'line' = 'top';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let valueStart = 0;
  const scan = (): number => {
    const n = buf.length;
    while (i < n) {
      const c = buf.charCodeAt(i);
      if (mode === 'top') {
        if (c === 32 || c === 10 || c === 13 || c === 9) {
          i++;
          continue;
        }
        valueStart = i;
        if (c === 123 || c === 91) {
          mode = 'nested';
          depth = 0;
          inString = false;
          escaped = false;
        } else if (c === 34) {
          mode = 'string';
          escaped = false;
          i++;
        } else mode = 'line';
        continue;
      }
      if (escaped) {
        escaped = false;
        i++;
        continue;
      }
      if (mode === 'nested') {
        if (inString) {
          if (c === 92) escaped = true;
          else if (c === 34) inString = false;
        } else if (c === 34) inString = true;
        else if (c === 123 || c === 91) depth++;
        else if (c === 125 || c === 93) {
          depth--;
          if (depth === 0) mode = 'top';
        }
        i++;
      } else if (mode === 'string') {
        if (c === 92) escaped = true;
        else if (c === 34) mode = 'top';
        i++;
      } else {
        if (c === 10) mode = 'top';
        else i++;
      }
    }
    return mode === 'top' ? n : valueStart;
  };
  return {
    write(text) {
      buf += text;
      const cut = scan();
      const out = buf.slice(0, cut);
      buf = buf.slice(cut);
      i -= cut;
      valueStart -= cut;
      return out;
    },
    end() {
      const out = buf;
      buf = '';
      i = 0;
      mode = 'top';
      return out;
    },
  };
}

/**
 * Splits CSV text after the line break that ends a record, with the quoting rules of the CSV parser (`csv-parser.ts`) (a quote
 * opens a quoted section only at the start of a field; `""` inside it is a quote; line breaks inside it
 * belong to the field).
 */
export function csvSplitter(delimiter: string): UnitSplitter {
  const d = delimiter.charCodeAt(0);
  let buf = '';
  let i = 0;
  let inQuotes = false;
  let fieldStart = true;
  let lastCut = 0;
  const scan = (): number => {
    const n = buf.length;
    if (!inQuotes && i < n && buf.indexOf('"', i) < 0) {
      // no quote ahead (most CSV): the cut is after the last line break, found without a character loop
      const nl = buf.lastIndexOf('\n');
      if (nl >= i) lastCut = nl + 1;
      const last = buf.charCodeAt(n - 1);
      fieldStart = last === d || last === 10;
      i = n;
      return lastCut;
    }
    while (i < n) {
      const c = buf.charCodeAt(i);
      if (inQuotes) {
        if (c === 34) {
          if (i + 1 >= n) break; // `"` or `""`: decided by the next character
          if (buf.charCodeAt(i + 1) === 34) {
            i += 2;
            continue;
          }
          inQuotes = false;
        }
        i++;
        continue;
      }
      if (c === 34 && fieldStart) {
        inQuotes = true;
        fieldStart = false;
      } else if (c === d) fieldStart = true;
      else if (c === 10) {
        fieldStart = true;
        lastCut = i + 1;
      } else fieldStart = false;
      i++;
    }
    return lastCut;
  };
  return {
    write(text) {
      buf += text;
      const cut = scan();
      const out = buf.slice(0, cut);
      buf = buf.slice(cut);
      i -= cut;
      lastCut = 0;
      return out;
    },
    end() {
      const out = buf;
      buf = '';
      i = 0;
      lastCut = 0;
      return out;
    },
  };
}

/** A streaming JSON parser: event numbers continue across pieces. */
export function streamingJson(table: TableSchema, cfg: JsonParserConfig): StreamingParser {
  const split = jsonSplitter();
  let nextEvent = 1;
  const parse = (text: string): ParseResult => {
    const r = parseJson(table, cfg, text, nextEvent);
    nextEvent += r.events ?? 0;
    return r;
  };
  return { write: (text) => parse(split.write(text)), end: () => parse(split.end()) };
}

/** A streaming CSV parser: record numbers, line numbers and `headers` continue across pieces. */
export function streamingCsv(table: TableSchema, cfg: CsvParserConfig): StreamingParser {
  const split = csvSplitter(cfg.delimiter);
  let firstRecord = 0;
  let firstLine = 1;
  const parse = (text: string): ParseResult => {
    const r = parseCsv(table, cfg, text, { firstRecord, firstLine });
    firstRecord += r.events ?? 0;
    for (let k = text.indexOf('\n'); k >= 0; k = text.indexOf('\n', k + 1)) firstLine++;
    return r;
  };
  return { write: (text) => parse(split.write(text)), end: () => parse(split.end()) };
}
