/** A token of the SQL pre-passes (`dialect.ts`, `type-expr.ts`, `interval-syntax.ts`, `udf-parse.ts`): its kind, text and offsets in the program. */
export interface DialectToken {
  readonly kind: 'word' | 'string' | 'punct' | 'qident';
  readonly text: string;
  readonly start: number;
  readonly end: number;
}
