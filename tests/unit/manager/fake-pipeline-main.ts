/**
 * A stand-in for `holdfast` as the manager runs it (its `mainScript`), so manager tests run no engine:
 *
 * - `program compile`: reads the SQL on stdin and reports `Success`;
 * - `pipeline run --config FILE`: serves a fake pipeline on 127.0.0.1 (port 0) and prints the `listening`
 *   line. Its runtime status follows the config's `initial` (`standby` ⇒ `Standby` with
 *   `runtime_status_details.standby`); `POST /activate?initial=` leaves Standby as the pipeline process does
 *   (202 string, 400 `InvalidActivateStatus`), `/start` and `/pause` in Standby are 400 `InvalidTransition`.
 *   Every request is appended as a JSON line (`{method, url}`) to `requests.jsonl` next to the config file.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { standbyStatus } from '../client/sync-fixtures.ts';

const args = process.argv.slice(2);

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

if (args[0] === 'program' && args[1] === 'compile') {
  for await (const _ of process.stdin) {
    // the SQL is not looked at
  }
  process.stdout.write(
    `${JSON.stringify({
      program_status: 'Success',
      program_error: { sql_compilation: null, rust_compilation: null, system_error: null },
      program_info: null,
    })}\n`,
  );
} else if (args[0] === 'pipeline' && args[1] === 'run') {
  const configPath = args[args.indexOf('--config') + 1] as string;
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as { initial?: string };
  const log = join(dirname(configPath), 'requests.jsonl');
  let status = config.initial === 'standby' ? 'Standby' : config.initial === 'paused' ? 'Paused' : 'Running';
  const standby = standbyStatus();
  const server = createServer((req, res) => {
    appendFileSync(log, `${JSON.stringify({ method: req.method, url: req.url })}\n`);
    const url = new URL(req.url ?? '/', 'http://fake');
    if (req.method === 'GET' && url.pathname === '/status') {
      return reply(res, 200, {
        runtime_status: status,
        runtime_status_details: status === 'Standby' ? { standby } : null,
        runtime_desired_status: status,
        storage_status_details: null,
        state: status,
        incarnation_uuid: null,
      });
    }
    if (req.method === 'POST' && url.pathname === '/activate') {
      const initial = url.searchParams.get('initial') ?? 'running';
      if (initial !== 'running' && initial !== 'paused')
        return reply(res, 400, {
          message: `Invalid activation status ${JSON.stringify(initial)} (only running and paused are valid)`,
          error_code: 'InvalidActivateStatus',
          details: {},
        });
      const from = status;
      status = initial === 'paused' ? 'Paused' : 'Running';
      return reply(res, 202, `Pipeline transitioning from ${from} to ${status}`);
    }
    if (req.method === 'POST' && (url.pathname === '/start' || url.pathname === '/pause')) {
      if (status === 'Standby')
        return reply(res, 400, {
          message: `Cannot execute ${url.pathname.slice(1)} transition starting from Standby`,
          error_code: 'InvalidTransition',
          details: {},
        });
      status = url.pathname === '/pause' ? 'Paused' : 'Running';
      return reply(res, 202, 'ok');
    }
    reply(res, 404, {
      message: `no route ${req.method} ${url.pathname}`,
      error_code: 'NotFound',
      details: {},
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const port = (server.address() as AddressInfo).port;
    process.stdout.write(`${JSON.stringify({ event: 'listening', port })}\n`);
  });
  // like the real pipeline: the manager's end of stdin closing means the manager is gone
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
