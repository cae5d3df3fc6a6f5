/**
 * Reads input files for `holdfast run`: JSON lines in Feldera's `insert_delete` format
 * (`{"insert": {...}}` / `{"delete": {...}}`) or plain objects (inserts). Each record becomes a weighted row of
 * its table. Errors name the file and line.
 */
import { readUserFile } from '../errors/read-user-file.ts';
import { isServiceError, ServiceError } from '../errors/service-error.ts';
import { rowFromJson } from '../sql/records.ts';
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

function toRecord(json: unknown, table: TableSchema): InputRecord {
  if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
    const o = json as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === 'insert')
      return { table: table.name, row: rowFromJson(table, o.insert), weight: 1 };
    if (keys.length === 1 && keys[0] === 'delete') {
      return { table: table.name, row: rowFromJson(table, o.delete, { keyOnly: true }), weight: -1 };
    }
  }
  return { table: table.name, row: rowFromJson(table, json), weight: 1 };
}
