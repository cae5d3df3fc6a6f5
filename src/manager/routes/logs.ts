/**
 * Manager route: `GET /v0/pipelines/{name}/logs` — the pipeline's log lines (the manager's about it and the
 * process's own), its last 5,000 kept on disk (pipeline-logs.ts) then every new one, as `text/plain` until the
 * client closes the stream.
 */
import type { Route } from '../../http/routes.ts';
import { ERROR_RESPONSES, PipelineParamsSchema } from '../../types/api-schemas.ts';
import type { ManagerContext } from '../context.ts';

export function logsRoutes(m: ManagerContext): Route[] {
  return [
    {
      method: 'GET',
      url: '/v0/pipelines/:pipeline_name/logs',
      schema: {
        summary: "The pipeline's log, replayed then followed",
        tags: ['Pipelines'],
        params: PipelineParamsSchema,
        response: { 200: { description: 'Log lines (text/plain), streamed' }, ...ERROR_RESPONSES },
      },
      handler: (req, reply) => {
        const name = (req.params as { pipeline_name: string }).pipeline_name;
        const { id } = m.get(name);
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.flushHeaders();
        // the stored tail (files in the pipeline's directory: also after a manager restart), then new lines
        const stop = m.supervisor.logs.follow(id, (line) => res.write(`${line}\n`));
        req.raw.on('close', stop);
        res.on('close', stop);
      },
    },
  ];
}
