/**
 * Input formats: choose a parser from a format name and its options (query parameters or a connector's
 * `format.config`).
 */
import { ServiceError } from '../../errors/service-error.ts';
import type { TableSchema } from '../../sql/schema.ts';
import { csvParserConfig, parseCsv } from './csv-parser.ts';
import { jsonParserConfig, parseJson } from './json-parser.ts';
import type { ParseResult } from './parse-result.ts';
import { type StreamingParser, streamingCsv, streamingJson } from './streaming.ts';

export * from './csv-parser.ts';
export * from './json-parser.ts';
export * from './parquet-parser.ts';
export * from './parse-result.ts';
export * from './streaming.ts';

export type InputParser = (table: TableSchema, text: string) => ParseResult;

/** Builds a parser for `format` (`json` or `csv`). @throws ServiceError ConfigError.* for bad options. */
export function inputParser(format: string, options: Readonly<Record<string, unknown>> = {}): InputParser {
  switch (format) {
    case 'json': {
      const cfg = jsonParserConfig(options);
      return (table, text) => parseJson(table, cfg, text);
    }
    case 'csv': {
      const cfg = csvParserConfig(options);
      return (table, text) => parseCsv(table, cfg, text);
    }
    default:
      throw unknownFormat(format);
  }
}

function unknownFormat(format: string): ServiceError {
  return new ServiceError(
    'ConfigError.UnknownInputFormat',
    `unknown input format '${format}'; Holdfast reads json, csv and parquet`,
    { format },
  );
}

/**
 * Builds a streaming parser factory for `format` (see streaming.ts): the same results as {@link inputParser}
 * on the whole text, fed piece by piece. @throws ServiceError ConfigError.* for bad options.
 */
export function streamingInputParser(
  format: string,
  options: Readonly<Record<string, unknown>> = {},
): (table: TableSchema) => StreamingParser {
  switch (format) {
    case 'json': {
      const cfg = jsonParserConfig(options);
      return (table) => streamingJson(table, cfg);
    }
    case 'csv': {
      const cfg = csvParserConfig(options);
      return (table) => streamingCsv(table, cfg);
    }
    default:
      throw unknownFormat(format);
  }
}
