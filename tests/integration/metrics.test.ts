/**
 * Metrics as a Prometheus server sees them: a real manager with three running pipelines (one with checkpoints
 * synced to a local-directory bucket, one restarted after `kill -9`), `/v0/metrics` and a pipeline's `/metrics`
 * parsed by a real Prometheus text parser (Debian's python3-prometheus-client, installed by `.ci/run`). Checks:
 * each family's HELP/TYPE once, no duplicate series, every pipeline's series present and labelled, the manager's
 * own families, the histograms fed, `?format=json`, and the exact `text/plain` content type.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { api as kitApi, startManager, until } from '../kit/index.ts';

/** The exposition parsed by prometheus_client's parser: its families, each with its samples. */
interface Parsed {
  families: Array<{
    name: string;
    type: string;
    samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
  }>;
}

const PARSER = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type,
                "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]})
print(json.dumps({"families": out}, allow_nan=True))
`;

/** Parses with the real parser (throws on text it rejects). */
function promParse(text: string): Parsed {
  const out = execFileSync('/usr/bin/python3', ['-c', PARSER], { input: text, encoding: 'utf8' });
  return JSON.parse(out.replace(/\bNaN\b/g, 'null').replace(/-?Infinity\b/g, 'null')) as Parsed;
}

/** Asserts each family once (raw HELP/TYPE lines and parsed families) and no two samples with the same series. */
function assertValid(text: string, parsed: Parsed): void {
  for (const kind of ['HELP', 'TYPE']) {
    const names = [...text.matchAll(new RegExp(`^# ${kind} (\\S+)`, 'gm'))].map((m) => m[1] as string);
    const dup = names.filter((n, i) => names.indexOf(n) !== i);
    assert.deepEqual(dup, [], `# ${kind} lines repeated for ${dup.join(', ')}`);
  }
  // by name and type: the parser names a counter family without its `_total`, so the counter
  // holdfast_checkpoint_sync_push_transferred_bytes_total and the gauge ..._push_transferred_bytes share a name
  const families = parsed.families.map((f) => `${f.name} ${f.type}`);
  assert.deepEqual(
    families.filter((n, i) => families.indexOf(n) !== i),
    [],
    'each family is parsed once',
  );
  const series = parsed.families.flatMap((f) =>
    f.samples.map((s) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`),
  );
  assert.deepEqual(
    series.filter((n, i) => series.indexOf(n) !== i),
    [],
    'no duplicate series',
  );
}

function samples(p: Parsed, name: string, labels: Record<string, string> = {}) {
  return p.families
    .flatMap((f) => f.samples)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

function value(p: Parsed, name: string, labels: Record<string, string> = {}): number {
  const found = samples(p, name, labels);
  assert.equal(found.length, 1, `one sample ${name}${JSON.stringify(labels)}, got ${JSON.stringify(found)}`);
  return (found[0] as { value: number }).value;
}

const SQL =
  'CREATE TABLE t (id INT NOT NULL PRIMARY KEY, x INT); CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n FROM t;';

/** Why the real parser cannot run here (null: it can). `.ci/run` installs it, so CI always runs this test. */
function parserMissing(): string | null {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import prometheus_client'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'the Prometheus text parser is missing: apt-get install python3-prometheus-client (as .ci/run does)';
  }
}

test('/v0/metrics with three pipelines and a pipeline /metrics are valid Prometheus text', {
  timeout: 120_000,
  skip: parserMissing() ?? false,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-metrics-'));
  const bucket = mkdtempSync(join(tmpdir(), 'holdfast-metrics-bucket-'));
  const base = await startManagerUrl(dataDir);
  const api = kitApi(base);

  const names = ['m1', 'm2', 'm3'];
  for (const name of names) {
    const runtime_config =
      name === 'm1'
        ? {
            fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
            storage: {
              backend: { name: 'file', config: { sync: { bucket: 'b', endpoint: `file://${bucket}` } } },
            },
          }
        : {};
    const c = await api('POST', '/v0/pipelines', { name, program_code: SQL, runtime_config });
    assert.equal(c.status, 201, c.text);
    assert.equal((await api('POST', `/v0/pipelines/${name}/start`)).status, 202);
  }
  for (const name of names)
    await until(
      () => api('GET', `/v0/pipelines/${name}?selector=status`),
      (r) => r.json.deployment_status === 'Running',
      `${name} Running`,
    );
  for (const name of names) {
    const ing = await api(
      'POST',
      `/v0/pipelines/${name}/ingress/t?format=json`,
      '{"insert": {"id": 1, "x": 1}}',
    );
    assert.equal(ing.status, 200, ing.text);
    await until(
      () => api('GET', `/v0/pipelines/${name}/completion_status?token=${ing.json.token}`),
      (r) => r.json.status === 'complete',
      `${name} completion`,
    );
  }
  // m1: a checkpoint, pushed to the bucket (feeds the checkpoint and push histograms)
  const cp = await api('POST', '/v0/pipelines/m1/checkpoint');
  assert.equal(cp.status, 200, cp.text);
  await until(
    () => api('GET', '/v0/pipelines/m1/checkpoint_status'),
    (r) => r.json.success === cp.json.checkpoint_sequence_number,
    'checkpoint',
  );
  const push = await api('POST', '/v0/pipelines/m1/checkpoint/sync');
  assert.equal(push.status, 202, push.text);
  await until(
    () => api('GET', '/v0/pipelines/m1/checkpoint/sync_status'),
    (r) => r.json.success === push.json.checkpoint_uuid,
    'push',
  );
  // m3: kill -9, restarted by the manager (counted)
  const reg = JSON.parse(readFileSync(join(dataDir, 'registry.json'), 'utf8')) as {
    pipelines: Array<{ name: string; pid: number }>;
  };
  process.kill(reg.pipelines.find((p) => p.name === 'm3')?.pid as number, 'SIGKILL');
  await until(
    () => api('GET', '/v0/pipelines/m3/stats'),
    (r) => r.status === 200 && (r.json.global_metrics as { state?: string })?.state === 'Running',
    'm3 restarted',
  );
  await until(
    () => api('GET', '/v0/pipelines/m3?selector=status'),
    (r) => r.json.deployment_status === 'Running',
    'm3 Running again',
  );

  // --- the manager's merged exposition
  const all = await api('GET', '/v0/metrics');
  assert.equal(all.status, 200);
  const parsed = promParse(all.text);
  assertValid(all.text, parsed);
  assert.equal(all.type, 'text/plain', "exactly text/plain (Feldera's SDK reads anything else as JSON)");
  for (const name of names) {
    const pl = { pipeline_name: name };
    assert.equal(value(parsed, 'holdfast_records_input_total', pl), name === 'm3' ? 0 : 1, `${name} input`);
    assert.ok(value(parsed, 'process_resident_memory_bytes', pl) > 0, `${name} process metrics`);
    assert.equal(samples(parsed, 'nodejs_heap_size_used_bytes', pl).length, 1, `${name} runtime metrics`);
    assert.equal(
      samples(parsed, 'holdfast_step_latency_seconds_count', pl).length,
      1,
      `${name} step histogram`,
    );
  }
  assert.ok(value(parsed, 'holdfast_step_latency_seconds_count', { pipeline_name: 'm1' }) >= 1);
  assert.equal(value(parsed, 'holdfast_checkpoint_total', { pipeline_name: 'm1' }), 1);
  assert.equal(value(parsed, 'holdfast_checkpoint_runtime_seconds_count', { pipeline_name: 'm1' }), 1);
  assert.equal(value(parsed, 'holdfast_checkpoint_delay_seconds_count', { pipeline_name: 'm1' }), 1);
  assert.equal(
    value(parsed, 'holdfast_checkpoint_sync_transfer_seconds_count', {
      pipeline_name: 'm1',
      direction: 'push',
    }),
    1,
  );
  assert.equal(value(parsed, 'holdfast_checkpoint_sync_push_success_total', { pipeline_name: 'm1' }), 1);
  // the manager's own
  assert.equal(value(parsed, 'holdfast_manager_pipelines', { status: 'Running' }), 3);
  assert.equal(value(parsed, 'holdfast_manager_pipeline_restarts_total', { pipeline_name: 'm3' }), 1);
  assert.equal(
    samples(parsed, 'holdfast_manager_pipeline_restarts_total', { pipeline_name: 'm1' }).length,
    0,
  );
  const ingress = samples(parsed, 'holdfast_manager_http_requests_total', {
    route: '/v0/pipelines/{pipeline_name}/ingress/{table_name}',
    method: 'POST',
    status: '200',
  });
  assert.equal(ingress[0]?.value, 3, 'HTTP requests by route and status');
  assert.ok(
    samples(parsed, 'holdfast_manager_http_request_duration_seconds_count', { route: '/v0/pipelines' })
      .length > 0,
  );
  const managerCpu = samples(parsed, 'process_cpu_user_seconds_total').filter(
    (s) => !('pipeline_name' in s.labels),
  );
  assert.equal(managerCpu.length, 1, "the manager's own process metrics, without pipeline_name");

  // --- JSON
  const allJson = await api('GET', '/v0/metrics?format=json');
  assert.equal(allJson.type, 'application/json');
  // Feldera's JSON metrics: [{key, type, description?, values: [{labels, value}]}]
  type Json = {
    key: string;
    type: string;
    values: Array<{ labels: Record<string, string>; value: unknown }>;
  };
  const families = JSON.parse(allJson.text) as Json[];
  const input = families.filter((f) => f.key === 'holdfast_records_input_total');
  assert.equal(input.length, 1);
  assert.equal(input[0]?.values.length, 3);
  assert.equal(typeof input[0]?.values[0]?.labels.pipeline_name, 'string');
  assert.equal(typeof input[0]?.values[0]?.value, 'number');
  assert.equal((await api('GET', '/v0/metrics?format=xml')).json.error_code, 'InvalidParam');

  // --- one pipeline's own /metrics, through the manager's proxy
  const own = await api('GET', '/v0/pipelines/m1/metrics');
  assert.equal(own.type, 'text/plain');
  const ownParsed = promParse(own.text);
  assertValid(own.text, ownParsed);
  const all1 = ownParsed.families.flatMap((f) => f.samples);
  assert.ok(all1.length > 50);
  assert.deepEqual(
    all1.filter((s) => s.labels.pipeline_name !== 'm1'),
    [],
    'every sample carries pipeline_name',
  );
  assert.equal(value(ownParsed, 'holdfast_records_processed_total'), 1);
  assert.ok(value(ownParsed, 'process_start_time_seconds') > 0);
  const ownJson = await api('GET', '/v0/pipelines/m1/metrics?format=json');
  assert.equal(ownJson.type, 'application/json');
  const ownFamilies = JSON.parse(ownJson.text) as Json[];
  assert.ok(ownFamilies.some((f) => f.key === 'holdfast_checkpoint_total'));
  // a histogram: its non-empty buckets, each with its own count between gt and le, then sum and count
  const steps = ownFamilies.find((f) => f.type === 'histogram' && f.values.length > 0);
  const h = steps?.values[0]?.value as {
    buckets: Array<{ gt?: number; le?: number; count: number }>;
    sum: number;
    count: number;
  };
  assert.ok(h && Array.isArray(h.buckets) && typeof h.sum === 'number', JSON.stringify(steps));
  assert.equal(
    h.buckets.reduce((n, b) => n + b.count, 0),
    h.count,
    'bucket counts are per bucket and add up to the count',
  );
  assert.ok(h.buckets.every((b) => b.count > 0));
});

/** The manager's URL (the process is stopped by the kit at the end of the file). */
async function startManagerUrl(dataDir: string): Promise<string> {
  return (await startManager(dataDir)).base;
}
