/**
 * The log format (util/log.ts): level names, ISO time, msg, bindings; secrets redacted (Authorization headers,
 * secret-named keys at any depth, URL credentials in any string); levels filter; the request line; level
 * parsing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createLogger,
  type LoggerSettings,
  logFn,
  logRequest,
  resolveLogLevel,
} from '../../../src/util/log.ts';

function capture(settings: LoggerSettings = {}) {
  const lines: string[] = [];
  const logger = createLogger({ ...settings, sink: { write: (s) => lines.push(s) } });
  const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, parsed };
}

test('one JSON object per line: level name, ISO time, msg, bindings, fields', () => {
  const { logger, lines, parsed } = capture({ bindings: { pipeline: 'orders' } });
  logger.info({ uuid: 'u1', bytes: 3 }, 'checkpoint pulled successfully');
  assert.equal(lines.length, 1);
  assert.ok(lines[0]?.endsWith('\n'));
  const l = parsed()[0] as Record<string, unknown>;
  assert.deepEqual(Object.keys(l), ['level', 'time', 'pipeline', 'uuid', 'bytes', 'msg']);
  assert.equal(l.level, 'info');
  assert.match(String(l.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(l.msg, 'checkpoint pulled successfully');
  assert.equal(l.pipeline, 'orders');
});

test('secrets: Authorization headers, secret-named keys at any depth, URL credentials anywhere', () => {
  const { logger, lines } = capture();
  logger.warn(
    {
      headers: { authorization: 'Bearer tok-AAA' },
      authorization: 'Bearer tok-BBB',
      config: {
        storage: {
          backend: { config: { sync: { secret_key: 'sk-CCC', access_key: 'AKIA', api_key: 'k-DDD' } } },
        },
      },
      endpoint: 'http://user:pw-EEE@minio:9000',
      list: [{ password: 'pw-FFF' }],
    },
    'connecting to https://tok-GGG@host/x and http://u:pw-HHH@h',
  );
  const text = lines.join('');
  for (const s of ['tok-AAA', 'tok-BBB', 'sk-CCC', 'k-DDD', 'pw-EEE', 'pw-FFF', 'tok-GGG', 'pw-HHH'])
    assert.ok(!text.includes(s), `${s} leaked: ${text}`);
  assert.ok(text.includes('AKIA'), 'an access key id is not a secret');
  assert.ok(text.includes('http://user:<redacted>@minio:9000'));
});

test('levels filter; silent logs nothing; the engine adapter maps levels', () => {
  const warn = capture({ level: 'warn' });
  warn.logger.info('no');
  warn.logger.debug('no');
  warn.logger.warn('yes');
  logFn(warn.logger)('error', 'also', { a: 1 });
  logFn(warn.logger)('info', 'no');
  assert.deepEqual(
    warn.parsed().map((l) => [l.level, l.msg]),
    [
      ['warn', 'yes'],
      ['error', 'also'],
    ],
  );
  const silent = capture({ level: 'silent' });
  silent.logger.fatal('nothing');
  assert.equal(silent.lines.length, 0);
  const trace = capture({ level: 'trace' });
  trace.logger.trace('t');
  assert.equal(trace.parsed()[0]?.level, 'trace');
});

test('request lines: route, path without query, status, rounded duration; level by status', () => {
  const { logger, parsed } = capture();
  logRequest(logger, {
    method: 'GET',
    url: '/v0/pipelines/p/egress/v?token=SECRET',
    route: '/v0/pipelines/{pipeline_name}/egress/{view_name}',
    status: 200,
    ms: 12.345,
  });
  logRequest(logger, { method: 'POST', url: '/v0/pipelines', status: 400, ms: 1 });
  logRequest(logger, { method: 'GET', url: '/nope#x', status: 404, ms: 1 });
  logRequest(logger, { method: 'GET', url: '/v0/metrics', status: 503, ms: 1 });
  const [a, b, c, d] = parsed();
  assert.deepEqual(
    { ...a, time: undefined },
    {
      level: 'info',
      time: undefined,
      method: 'GET',
      route: '/v0/pipelines/{pipeline_name}/egress/{view_name}',
      path: '/v0/pipelines/p/egress/v',
      status: 200,
      duration_ms: 12.3,
      msg: 'GET /v0/pipelines/p/egress/v 200',
    },
  );
  assert.equal(b?.level, 'warn');
  assert.equal(c?.level, 'info');
  assert.equal(c?.path, '/nope');
  assert.equal(d?.level, 'error');
  assert.ok(!JSON.stringify(parsed()).includes('SECRET'));
});

test('resolveLogLevel: the flag, else HOLDFAST_LOG_LEVEL, else info; anything else names its source', () => {
  assert.equal(resolveLogLevel(undefined, undefined), 'info');
  assert.equal(resolveLogLevel(undefined, ''), 'info');
  assert.equal(resolveLogLevel(undefined, 'debug'), 'debug');
  assert.equal(resolveLogLevel('warn', 'debug'), 'warn');
  assert.throws(
    () => resolveLogLevel('verbose', 'debug'),
    (e: Error & { errorCode?: string }) => {
      assert.equal(e.errorCode, 'InvalidArguments');
      assert.match(
        e.message,
        /^--log-level must be one of trace, debug, info, warn, error, fatal, silent, got 'verbose'$/,
      );
      return true;
    },
  );
  assert.throws(() => resolveLogLevel(undefined, 'INFO'), /HOLDFAST_LOG_LEVEL must be one of .* got 'INFO'/);
});
