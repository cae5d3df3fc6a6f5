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
import { type JsonParserConfig, NOT_PARSED, parseJson, parseJsonValues } from './json-parser.ts';
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

/** Lines that fail to parse whole before a stream's values are found by the character scan only. */
const LINE_MISSES = 16;

/** Scanner states of {@link JsonValueScanner}. */
const TOP = 0;
const NESTED = 1;
const STRING = 2;
const LINE = 3;

/**
 * Finds top-level JSON values in text that arrives in pieces, with the rules of `splitJsonValues`: `{…}`/`[…]`
 * end at the bracket that closes the first one (strings and escapes skipped), a top-level string at its
 * closing quote, anything else at the end of its line. One pass over each character; the state lives in
 * locals while a piece is scanned (a closure's or an object's fields in the inner loop cost several times
 * more per character).
 *
 * Lines (NDJSON, the common input): when asked for parsed values, a value that starts a line with `{` (or
 * `[`) and whose line ends with the matching `}` (`]`) is first given whole to `JSON.parse`; if that
 * succeeds the line is exactly one value (in valid JSON the first bracket closes at the line's end, where the
 * scan would end it too), taken without a character scan. Otherwise the value is scanned as above (after
 * {@link LINE_MISSES} such lines, the rest of the stream is only scanned: pretty-printed JSON spans lines).
 * Either way the values, and so the results, are the same.
 */
export class JsonValueScanner {
  #lineMisses = 0;
  #buf = '';
  #i = 0; // next character of #buf to scan
  #mode = TOP;
  #depth = 0;
  #inString = false;
  #escaped = false;
  #valueStart = 0;

  /**
   * Takes more text; returns the offset in the text held so far (the previous rest + `text`) up to which it
   * holds complete values, pushing each complete value's text to `values` (when given). With `parsed`, the
   * values' `JSON.parse` results are pushed there too ({@link NOT_PARSED} for a value left to the caller).
   * `take(cut)` then returns and drops that prefix.
   */
  write(text: string, values: string[] | null, parsed: unknown[] | null = null): number {
    const buf = this.#buf + text;
    this.#buf = buf;
    const n = buf.length;
    let i = this.#i;
    let mode = this.#mode;
    let depth = this.#depth;
    let inString = this.#inString;
    let valueStart = this.#valueStart;
    // a backslash ended the previous piece: the character after it is skipped (kept pending over an empty piece)
    let escaped = this.#escaped;
    if (escaped && i < n) {
      escaped = false;
      i++;
    }
    outer: while (i < n) {
      if (mode === TOP) {
        let c = buf.charCodeAt(i);
        while (c === 32 || c === 10 || c === 13 || c === 9) {
          if (++i >= n) break outer;
          c = buf.charCodeAt(i);
        }
        valueStart = i;
        if (parsed !== null && (c === 123 || c === 91) && this.#lineMisses < LINE_MISSES) {
          const nl = buf.indexOf('\n', i);
          if (nl >= 0) {
            let e = nl;
            let last = buf.charCodeAt(e - 1);
            while (last === 32 || last === 13 || last === 9) last = buf.charCodeAt(--e - 1);
            if (last === c + 2 && e > i + 1) {
              const t = buf.slice(i, e);
              let v: unknown = NOT_PARSED;
              try {
                v = JSON.parse(t);
              } catch {
                this.#lineMisses++;
              }
              if (v !== NOT_PARSED) {
                (values as string[]).push(t);
                parsed.push(v);
                i = nl;
                continue;
              }
            }
          }
        }
        if (c === 123 || c === 91) {
          mode = NESTED;
          depth = 0;
          inString = false;
        } else if (c === 34) {
          mode = STRING;
          i++;
        } else mode = LINE;
        continue;
      }
      if (mode === NESTED) {
        while (i < n) {
          const d = buf.charCodeAt(i++);
          if (inString) {
            if (d === 92) {
              if (i < n) i++;
              else escaped = true;
            } else if (d === 34) inString = false;
          } else if (d === 34) inString = true;
          else if (d === 123 || d === 91) depth++;
          else if (d === 125 || d === 93) {
            if (--depth === 0) {
              mode = TOP;
              if (values !== null) values.push(buf.slice(valueStart, i));
              if (parsed !== null) parsed.push(NOT_PARSED);
              break;
            }
          }
        }
      } else if (mode === STRING) {
        while (i < n) {
          const d = buf.charCodeAt(i++);
          if (d === 92) {
            if (i < n) i++;
            else escaped = true;
          } else if (d === 34) {
            mode = TOP;
            if (values !== null) values.push(buf.slice(valueStart, i));
            if (parsed !== null) parsed.push(NOT_PARSED);
            break;
          }
        }
      } else {
        const nl = buf.indexOf('\n', i);
        if (nl < 0) i = n;
        else {
          i = nl;
          mode = TOP;
          if (values !== null) values.push(buf.slice(valueStart, i));
          if (parsed !== null) parsed.push(NOT_PARSED);
        }
      }
    }
    this.#i = i;
    this.#mode = mode;
    this.#depth = depth;
    this.#inString = inString;
    this.#escaped = escaped;
    this.#valueStart = valueStart;
    return mode === TOP ? n : valueStart;
  }

  /** Returns the text held up to `cut` (from {@link write}) and keeps the rest. */
  take(cut: number): string {
    const out = this.#buf.slice(0, cut);
    this.#buf = this.#buf.slice(cut);
    this.#i -= cut;
    this.#valueStart -= cut;
    return out;
  }

  /** Returns the rest (an incomplete last value, to be parsed as it is) and starts over. */
  end(): string {
    const out = this.#buf;
    this.#buf = '';
    this.#i = 0;
    this.#mode = TOP;
    this.#escaped = false;
    return out;
  }
}

/** Cuts JSON text between top-level values (see {@link JsonValueScanner}). */
export function jsonSplitter(): UnitSplitter {
  const scanner = new JsonValueScanner();
  return {
    write: (text) => scanner.take(scanner.write(text, null)),
    end: () => scanner.end(),
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

/**
 * A streaming JSON parser: event numbers continue across pieces. Each piece is scanned once: the scanner hands
 * over the complete values' texts, which are parsed without being split again.
 */
export function streamingJson(table: TableSchema, cfg: JsonParserConfig): StreamingParser {
  const scanner = new JsonValueScanner();
  let nextEvent = 1;
  const done = (r: ParseResult): ParseResult => {
    nextEvent += r.events ?? 0;
    return r;
  };
  return {
    write(text) {
      const values: string[] = [];
      const parsed: unknown[] = [];
      scanner.take(scanner.write(text, values, parsed));
      return done(parseJsonValues(table, cfg, values, nextEvent, parsed));
    },
    end: () => done(parseJson(table, cfg, scanner.end(), nextEvent)),
  };
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
