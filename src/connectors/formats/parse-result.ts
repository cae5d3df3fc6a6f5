/**
 * What an input parser returns: the changes it understood and the records it could not parse. Parsers never
 * throw for bad records (the good ones in the same input are still ingested, as Feldera does); they throw only
 * for bad parser configuration.
 */
import { ServiceError } from '../../errors/service-error.ts';
import type { Row } from '../../zset/value.ts';

export interface ParsedChange {
  readonly row: Row;
  /** +n inserts n copies (upserts with a primary key); -n deletes. */
  readonly weight: number;
}

/** One unparseable record, in Feldera's `ParseErrors` detail shape. */
export interface ParseErrorEntry {
  readonly description: string;
  /** 1-based position of the event in the input, when known. */
  readonly event_number: number | null;
  readonly field: string | null;
  readonly invalid_text: string | null;
}

export interface ParseResult {
  readonly changes: ParsedChange[];
  /** The first {@link MAX_REPORTED_ERRORS} errors. */
  readonly errors: ParseErrorEntry[];
  /** All errors, including those not kept. */
  numErrors: number;
  /** How many events (JSON) or records (CSV) the input held, when the parser counts them. */
  events?: number;
}

export const MAX_REPORTED_ERRORS = 1000;

export function emptyResult(): ParseResult {
  return { changes: [], errors: [], numErrors: 0 };
}

export function addError(r: ParseResult, e: ParseErrorEntry): void {
  r.numErrors++;
  if (r.errors.length < MAX_REPORTED_ERRORS) r.errors.push(e);
}

/** Adds `part`'s errors to `total` (its changes are not copied). */
export function mergeErrors(total: ParseResult, part: ParseResult): void {
  for (const e of part.errors) if (total.errors.length < MAX_REPORTED_ERRORS) total.errors.push(e);
  total.numErrors += part.numErrors;
}

/** The `ParseErrors` error for a result with errors (Feldera's message and details). */
export function parseErrorsError(r: ParseResult): ServiceError {
  const head =
    r.numErrors > r.errors.length
      ? `Errors parsing input data (reporting ${r.errors.length} out of ${r.numErrors} total errors):`
      : `Errors parsing input data (${r.numErrors} error${r.numErrors === 1 ? '' : 's'}):`;
  const lines = r.errors.map(
    (e) =>
      `    ${e.event_number !== null ? `event #${e.event_number}: ` : ''}${e.description}${e.invalid_text !== null ? `; invalid input: ${truncate(e.invalid_text)}` : ''}`,
  );
  return new ServiceError('ParseErrors', [head, ...lines].join('\n'), {
    num_errors: r.numErrors,
    errors: r.errors,
  });
}

function truncate(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
