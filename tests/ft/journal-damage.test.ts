/**
 * A damaged journal never silently drops acknowledged data (real processes, HTTP ingress, `kill -9`):
 * an exactly_once pipeline acknowledges 2 x 1,000 pushed rows, is killed, and one byte of a journal frame is
 * changed. Damage in the first or a middle frame, or in the complete last frame, makes the restart fail with
 * ReplayFailure naming the file and the byte offset (exit 1 run alone; `deployment_error` through the manager),
 * and the journal files stay byte-identical. A genuinely torn last frame (the file cut inside it) is cut off and
 * the pipeline comes back Running with every acknowledged row.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { kill9, MAIN, pipelineConfig, query, startPipeline, until } from './support.ts';

const SQL = `CREATE TABLE t (id BIGINT NOT NULL, v VARCHAR);
CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n, SUM(id) AS sid FROM t;`;
const ALL = '{"n":2000,"sid":1999000}';

async function push(base: string, from: number, to: number): Promise<void> {
  const body: string[] = [];
  for (let id = from; id < to; id++) body.push(JSON.stringify({ insert: { id, v: `row ${id}` } }));
  const r = await fetch(`${base}/ingress/t?format=json`, { method: 'POST', body: body.join('\n') });
  assert.equal(r.status, 200, await r.text());
}

/** The v2 frame marker (pinned here; src/storage/journal.ts). */
const MAGIC = Buffer.from([0xfe, 0x68, 0x66, 0xa5]);

/**
 * Frame start offsets of a journal file (v2 frames: marker, length, checksums, payload; the v1 layout of older
 * builds is understood too, so this test can be run against them to see it fail).
 */
function frames(buf: Buffer): number[] {
  const out: number[] = [];
  for (let o = 0; o < buf.length; ) {
    out.push(o);
    o += buf.subarray(o, o + 4).equals(MAGIC) ? 16 + buf.readUInt32LE(o + 4) : 8 + buf.readUInt32LE(o);
  }
  return out;
}

/** An exactly_once pipeline that acknowledged 2 x 1,000 rows, killed with -9; returns its journal file. */
async function acknowledgedThenKilled(): Promise<{ cfg: string; jfile: string; jdir: string }> {
  const { cfg, dir } = pipelineConfig('holdfast-jdamage-', {
    program_code: SQL,
    storage: {},
    fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
  });
  const p = await startPipeline(cfg);
  await push(p.base, 0, 1000);
  await push(p.base, 1000, 2000);
  await until(
    () => query(p.base, 'SELECT n, sid FROM s'),
    (v) => v === ALL,
    'both pushes processed',
  );
  await kill9(p);
  const jdir = join(dir, 'storage/journal');
  const files = readdirSync(jdir).sort();
  assert.deepEqual(files, ['0000000000000001.log'], 'no checkpoint: one journal file');
  return { cfg, jdir, jfile: join(jdir, files[0] as string) };
}

/** Runs the pipeline alone until it exits (an initialization error ends it with exit 1). */
function runToExit(cfg: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, 'pipeline', 'run', '--config', cfg], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((res) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      res({ code, stderr });
    }),
  );
}

const snapshot = (jdir: string) =>
  Object.fromEntries(readdirSync(jdir).map((f) => [f, readFileSync(join(jdir, f)).toString('base64')]));

async function expectReplayFailure(
  cfg: string,
  jdir: string,
  jfile: string,
  offset: number,
): Promise<string> {
  const before = snapshot(jdir);
  const r = await runToExit(cfg);
  assert.equal(r.code, 1, r.stderr);
  const line = r.stderr.split('\n').find((l) => l.startsWith('error [ReplayFailure]')) ?? '';
  assert.ok(line !== '', r.stderr);
  assert.ok(line.includes(jfile), line);
  assert.match(line, new RegExp(`damaged at byte ${offset}:`));
  assert.match(line, /Nothing was truncated or deleted/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.deepEqual(snapshot(jdir), before, 'the journal files are byte-identical');
  // a second attempt fails the same way (nothing was cut by the first)
  assert.equal((await runToExit(cfg)).code, 1);
  assert.deepEqual(snapshot(jdir), before);
  return line;
}

test('damage in the FIRST journal frame: the restart fails with ReplayFailure (file, offset, later records); nothing changes', {
  timeout: 90_000,
}, async () => {
  const { cfg, jdir, jfile } = await acknowledgedThenKilled();
  const buf = readFileSync(jfile);
  const starts = frames(buf);
  assert.ok(starts.length >= 4, `frames: ${starts.length}`);
  const at = 16 + 5; // inside the first frame's payload
  buf[at] = (buf[at] as number) ^ 0x01;
  writeFileSync(jfile, buf);
  const line = await expectReplayFailure(cfg, jdir, jfile, 0);
  assert.match(line, new RegExp(`${starts.length - 1} intact record\\(s\\) follow`));
});

test('damage in a middle journal frame, and in the complete last frame: ReplayFailure; nothing changes', {
  timeout: 90_000,
}, async () => {
  const { cfg, jdir, jfile } = await acknowledgedThenKilled();
  const pristine = readFileSync(jfile);
  const starts = frames(pristine);
  const mid = starts[Math.floor(starts.length / 2)] as number;
  let buf = Buffer.from(pristine);
  buf[mid + 6] = (buf[mid + 6] as number) ^ 0x40; // the length field
  writeFileSync(jfile, buf);
  await expectReplayFailure(cfg, jdir, jfile, mid);

  // the last frame is complete (and was fsynced before anything depended on it): a changed byte is damage
  const last = starts.at(-1) as number;
  buf = Buffer.from(pristine);
  buf[buf.length - 2] = (buf[buf.length - 2] as number) ^ 0x01;
  writeFileSync(jfile, buf);
  const line = await expectReplayFailure(cfg, jdir, jfile, last);
  assert.match(line, /the frame is complete/);
});

test('a torn last frame (the file cut inside it) is cut off: Running again with every acknowledged row', {
  timeout: 90_000,
}, async () => {
  const { cfg, jfile } = await acknowledgedThenKilled();
  const buf = readFileSync(jfile);
  const starts = frames(buf);
  const last = starts.at(-1) as number;
  // the last record is the step that processed the second push (its data is in an earlier frame), so cutting
  // it loses no acknowledged row: the data is replayed and processed again
  const payload = JSON.parse(buf.subarray(last + 16).toString('utf8')) as { k: string };
  assert.equal(payload.k, 's', 'the last record is a step record');
  truncateSync(jfile, last + 20);
  const p = await startPipeline(cfg);
  await until(
    () => query(p.base, 'SELECT n, sid FROM s'),
    (v) => v === ALL,
    'every acknowledged row after the torn tail was cut',
  );
  assert.ok(
    p.log.some((l) => l.includes('cut off a torn tail of 20 bytes')),
    p.log.join('\n'),
  );
  assert.equal(readFileSync(jfile).subarray(0, last).equals(buf.subarray(0, last)), true);
  await kill9(p);
});

// Through the manager: a killed pipeline is restarted by the supervisor; the damaged journal makes the start
// fail and the failure is the pipeline's deployment_error (the journal is left alone).
const procs: ChildProcess[] = [];
after(() => {
  for (const c of procs) c.kill('SIGKILL');
});

test('through the manager: a damaged journal is deployment_error ReplayFailure; the journal is left alone', {
  timeout: 120_000,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-jdamage-mgr-'));
  const server = spawn(process.execPath, [MAIN, 'server', '--data-dir', dataDir, '--port', '0'], {
    // stderr (the manager's log, a line per request) is not read: not piped, so it cannot fill up and block
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  procs.push(server);
  const url = await new Promise<string>((res, rej) => {
    createInterface({ input: server.stdout as NodeJS.ReadableStream }).once('line', (l) =>
      res((JSON.parse(l) as { url: string }).url),
    );
    server.once('exit', (c) => rej(new Error(`server exited ${c}`)));
  });
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(url + path, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
  const created = await api('POST', '/v0/pipelines', {
    name: 'jd',
    program_code: SQL,
    runtime_config: { fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null } },
  });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  await api('POST', '/v0/pipelines/jd/start');
  await until(
    () => api('GET', '/v0/pipelines/jd?selector=status'),
    (r) => r.json.deployment_status === 'Running',
    'Running',
  );
  for (const [from, to] of [
    [0, 1000],
    [1000, 2000],
  ] as const) {
    const body: string[] = [];
    for (let id = from; id < to; id++) body.push(JSON.stringify({ insert: { id, v: `row ${id}` } }));
    const r = await fetch(`${url}/v0/pipelines/jd/ingress/t?format=json`, {
      method: 'POST',
      body: body.join('\n'),
    });
    assert.equal(r.status, 200, await r.text());
  }
  const registry = () =>
    JSON.parse(readFileSync(join(dataDir, 'registry.json'), 'utf8')) as {
      pipelines: Array<{ id: string; pid: number | null }>;
    };
  const rec = (
    await until(
      async () => registry(),
      (x) => (x.pipelines[0]?.pid ?? 0) > 0,
      'a pid',
    )
  ).pipelines[0];
  const jdir = join(dataDir, 'pipelines', rec?.id as string, 'storage', 'journal');
  await until(
    async () => readdirSync(jdir).length,
    (n) => n > 0,
    'the journal file',
  );
  // wait for both pushes to be processed (step records follow the data)
  await until(
    async () => {
      const r = await fetch(
        `${url}/v0/pipelines/jd/query?sql=${encodeURIComponent('SELECT n FROM s')}&format=json`,
      );
      return (await r.text()).trim();
    },
    (v) => v === '{"n":2000}',
    'processed',
  );
  // damage the first frame while the process is being killed: the supervisor's restart sees it
  const jfile = join(jdir, readdirSync(jdir).sort()[0] as string);
  try {
    process.kill(rec?.pid as number, 'SIGSTOP');
  } catch {}
  const buf = readFileSync(jfile);
  buf[16 + 3] = (buf[16 + 3] as number) ^ 0x01;
  writeFileSync(jfile, buf);
  process.kill(rec?.pid as number, 'SIGKILL');
  const failed = await until(
    () => api('GET', '/v0/pipelines/jd?selector=status'),
    (r) => {
      const e = r.json.deployment_error as { error_code?: string } | null;
      return e?.error_code === 'ReplayFailure';
    },
    'deployment_error ReplayFailure',
    60_000,
  );
  const err = failed.json.deployment_error as { message: string; details: Record<string, unknown> };
  assert.match(err.message, /damaged at byte 0/);
  assert.equal(err.details.offset, 0);
  assert.equal(err.details.file, jfile);
  assert.ok(readFileSync(jfile).equals(buf), 'the journal file is byte-identical');
  server.kill('SIGTERM');
});
