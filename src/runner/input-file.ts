/**
 * Reads input files for `holdfast run`: JSON lines in Feldera's `insert_delete` format
 * (`{"insert": {...}}` / `{"delete": {...}}`) or plain objects (inserts). Each record becomes a weighted row of
 * its table (the JSON connector's event conversion, connectors/formats/json-parser.ts). Errors name the file and
 * line.
 */
import { jsonEventChanges } from '../connectors/formats/json-parser.ts';
import type { ParsedChange } from '../connectors/formats/parse-result.ts';
import { readUserFile } from '../errors/read-user-file.ts';
import { isServiceError, ServiceError } from '../errors/service-error.ts';
import type { TableSchema } from '../sql/schema.ts';
import type { Row } from '../zset/value.ts';

export interface InputRecord {
  readonly table: string;
  readonly row: Row;
  readonly weight: 1 | -1;
}

export function readInputFile(path: string, table: TableSchema): InputRecord[] {
  const text = readUserFile(path, 'input file');
  const out: InputRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    const where = `${path}:${i + 1}`;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      throw new ServiceError('InvalidRecord', `${where}: not valid JSON: ${(e as Error).message}`, {
        path,
        line: i + 1,
      });
    }
    try {
      out.push(toRecord(json, table));
    } catch (e) {
      if (isServiceError(e))
        throw new ServiceError(e.errorCode, `${where}: ${e.message}`, { ...e.details, path, line: i + 1 });
      throw e;
    }
  }
  return out;
}

/** A line is `{"insert": row}` or `{"delete": row}` (the JSON connector's insert_delete), else a row (raw). */
function toRecord(json: unknown, table: TableSchema): InputRecord {
  const keys = json !== null && typeof json === 'object' && !Array.isArray(json) ? Object.keys(json) : [];
  const wrapped = keys.length === 1 && (keys[0] === 'insert' || keys[0] === 'delete');
  const [change] = jsonEventChanges(table, wrapped ? 'insert_delete' : 'raw', json);
  const { row, weight } = change as ParsedChange;
  return { table: table.name, row, weight: weight === -1 ? -1 : 1 };
}
