/**
 * Schema of a compiled program: tables and views with their columns, keys and WITH properties.
 */
import type { Value } from '../zset/value.ts';
import type { SqlType } from './sql-type.ts';

export interface ColumnSchema {
  /** Lower-cased unless quoted in SQL. */
  readonly name: string;
  readonly type: SqlType;
  readonly caseSensitive: boolean;
  /** The column's LATENESS expression as written, when it has one. */
  readonly lateness?: string;
  /** The column's DEFAULT (`column-defaults.ts`): the value of a record that does not mention the column. */
  readonly default?: ColumnDefault;
}

/** A column's DEFAULT: the expression's identity (its tree, for change detection) and its value. */
export interface ColumnDefault {
  readonly sql: string;
  readonly value: () => Value;
}

/** A `WITH ('key' = 'value')` property with its source position (1-based lines and columns). */
export interface PropertyValue {
  readonly value: string;
  readonly keyPosition: SourceRange;
  readonly valuePosition: SourceRange;
}

export interface SourceRange {
  readonly startLine: number;
  readonly startColumn: number;
  readonly endLine: number;
  readonly endColumn: number;
}

export interface TableSchema {
  readonly kind: 'table';
  readonly name: string;
  readonly caseSensitive: boolean;
  readonly columns: readonly ColumnSchema[];
  /** Column names of the primary key, or null. */
  readonly primaryKey: readonly string[] | null;
  readonly materialized: boolean;
  readonly appendOnly: boolean;
  readonly properties: Readonly<Record<string, PropertyValue>>;
}

export type ViewKind = 'view' | 'materialized' | 'local';

export interface ViewSchema {
  readonly kind: ViewKind;
  readonly name: string;
  readonly caseSensitive: boolean;
  readonly columns: readonly ColumnSchema[];
  readonly materialized: boolean;
  readonly properties: Readonly<Record<string, PropertyValue>>;
  /** The view's SELECT as written. */
  readonly query: string;
}

export type RelationSchema = TableSchema | ViewSchema;
