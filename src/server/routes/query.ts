/**
 * Pipeline route: `GET /query?sql=&format=text|json|hash` — an ad-hoc query over the materialized state,
 * answered as a text table, JSON lines, or the hash of the result (`result-hash.ts`).
 */
import { ServiceError } from '../../errors/service-error.ts';
import { queryParams, type Route, sendText } from '../../http/routes.ts';
import { rowToJson } from '../../sql/records.ts';
import type { ColumnSchema } from '../../sql/schema.ts';
import { formatValue } from '../../sql/values/format.ts';
import { ERROR_RESPONSES, QuerySqlQuerySchema, unsupportedQueryFormat } from '../../types/api-schemas.ts';
import type { Value } from '../../zset/value.ts';
import { resultHash } from '../result-hash.ts';
import { controllerOf, type ServerContext } from '../server-context.ts';
import { asciiTable } from '../text-table.ts';

export function queryRoutes(ctx: ServerContext): Route[] {
  return [
    {
      method: 'GET',
      url: '/query',
      schema: {
        querystring: QuerySqlQuerySchema,
        response: {
          200: { description: 'A text table, JSON lines, or the hash of the result' },
          ...ERROR_RESPONSES,
        },
      },
      handler: async (req, reply) => {
        const controller = controllerOf(ctx);
        const p = queryParams(req);
        const sql = p.get('sql');
        if (!sql) throw new ServiceError('InvalidParam', 'missing query parameter sql', { param: 'sql' });
        const format = p.get('format') ?? 'text';
        if (format !== 'text' && format !== 'json' && format !== 'hash') {
          throw new ServiceError('InvalidParam', unsupportedQueryFormat(format), { param: 'format' });
        }
        const result = await controller.query(sql);
        if (format === 'hash') {
          // exactly `text/plain`: Feldera's clients read a non-streamed body as text only under that type
          sendText(reply, 200, resultHash(result.columns, result.rows), 'text/plain');
          return;
        }
        const cell = (v: Value, c: ColumnSchema) => (v === null ? 'NULL' : formatValue(v, c.type));
        if (format === 'text') {
          sendText(
            reply,
            200,
            asciiTable(
              result.columns.map((c) => c.name),
              result.rows.map((r) => r.map((v, j) => cell(v as Value, result.columns[j] as ColumnSchema))),
            ),
          );
        } else {
          const lines = result.rows.map((r) => JSON.stringify(rowToJson(result.columns, r))).join('\n');
          sendText(reply, 200, lines.length > 0 ? `${lines}\n` : '', 'application/json');
        }
      },
    },
  ];
}
