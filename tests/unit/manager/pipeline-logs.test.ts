/**
 * The per-pipeline log files on a real file system: size-based rotation keeps N files none above the limit,
 * the tail spans rotated files, follow gives the tail then every new line (no gap, no duplicate), modes,
 * wrapping of non-JSON output, redaction, a torn last line, removal.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LOG_FILE, PipelineLogs } from '../../../src/manager/pipeline-logs.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'holdfast-plogs-'));
const line = (i: number) => JSON.stringify({ level: 'info', msg: `line ${String(i).padStart(5, '0')}` });

test('rotation at the size limit keeps N files, none above the limit, and the tail spans them', () => {
  const data = tmp();
  const logs = new PipelineLogs(data, { maxFileBytes: 1000, files: 3 });
  const bytes = Buffer.byteLength(`${line(0)}\n`); // every line has the same size
  for (let i = 0; i < 200; i++) logs.capture('id1', 'p', 'stderr', line(i));
  const dir = logs.dir('id1');
  assert.deepEqual(readdirSync(dir).sort(), [LOG_FILE, `${LOG_FILE}.1`, `${LOG_FILE}.2`]);
  const perFile = Math.floor(1000 / bytes);
  for (const f of [`${LOG_FILE}.1`, `${LOG_FILE}.2`]) {
    const size = statSync(join(dir, f)).size;
    assert.equal(size, perFile * bytes, `${f} was rotated when the next line would pass the limit`);
  }
  assert.ok(statSync(join(dir, LOG_FILE)).size <= 1000);
  // the newest lines, in order, across the three files; older ones are gone
  const kept =
    readFileSync(join(dir, `${LOG_FILE}.2`), 'utf8') +
    readFileSync(join(dir, `${LOG_FILE}.1`), 'utf8') +
    readFileSync(join(dir, LOG_FILE), 'utf8');
  const keptLines = kept.split('\n').filter((l) => l !== '');
  assert.equal(keptLines.at(-1), line(199));
  assert.deepEqual(logs.tail('id1', 10_000), keptLines);
  assert.deepEqual(logs.tail('id1', perFile + 2), keptLines.slice(-(perFile + 2)));
  assert.deepEqual(logs.tail('id1', 1), [line(199)]);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  for (const f of readdirSync(dir)) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
  logs.close();

  // a new manager on the same directory continues the current file and the same rotation
  const again = new PipelineLogs(data, { maxFileBytes: 1000, files: 3 });
  assert.deepEqual(again.tail('id1', 10_000), keptLines);
  again.capture('id1', 'p', 'stderr', line(200));
  assert.deepEqual(again.tail('id1', 2), [line(199), line(200)]);
  again.close();
});

test('a tail larger than one read chunk, lines longer than the chunk', () => {
  const logs = new PipelineLogs(tmp());
  const long = (i: number) => JSON.stringify({ msg: `${i}`, pad: 'x'.repeat(100_000) });
  for (let i = 0; i < 5; i++) logs.capture('id', 'p', 'stderr', long(i));
  assert.deepEqual(logs.tail('id', 3), [long(2), long(3), long(4)]);
  for (let i = 0; i < 3000; i++) logs.capture('id', 'p', 'stderr', line(i));
  const t = logs.tail('id', 2500);
  assert.equal(t.length, 2500);
  assert.equal(t[0], line(500));
  assert.equal(t.at(-1), line(2999));
  logs.close();
});

test('follow: the tail, then every new line once; unsubscribe stops it', () => {
  const logs = new PipelineLogs(tmp());
  logs.capture('id', 'p', 'stderr', line(1));
  logs.capture('id', 'p', 'stderr', line(2));
  const seen: string[] = [];
  const stop = logs.follow('id', (l) => seen.push(l), 1);
  logs.capture('id', 'p', 'stderr', line(3));
  stop();
  logs.capture('id', 'p', 'stderr', line(4));
  assert.deepEqual(seen, [line(2), line(3)]);
  // a pipeline with no log yet: nothing, then its first line
  const fresh: string[] = [];
  logs.follow('new', (l) => fresh.push(l));
  logs.logger('new', 'n').info({ x: 1 }, 'hello');
  assert.equal(fresh.length, 1);
  const l = JSON.parse(fresh[0] as string) as Record<string, unknown>;
  assert.equal(l.msg, 'hello');
  assert.equal(l.pipeline, 'n');
  assert.equal(l.component, 'manager');
  assert.equal(l.level, 'info');
  logs.close();
});

test('non-JSON output is wrapped; URL credentials are redacted before storing; a torn last line is ended', () => {
  const data = tmp();
  const echoed: string[] = [];
  const logs = new PipelineLogs(data, { managerSink: { write: (s) => echoed.push(s) } });
  logs.capture('id', 'p', 'stderr', 'TypeError: boom at http://bob:hunter2@store:9000/x');
  logs.capture('id', 'p', 'stdout', 'plain');
  logs.capture('id', 'p', 'stderr', '{"level":"warn","msg":"sync to http://bob:hunter2@store:9000"}');
  logs
    .logger('id', 'p')
    .warn({ endpoint: 'http://bob:hunter2@store:9000' }, 'pull from http://bob:hunter2@h');
  const file = readFileSync(join(logs.dir('id'), LOG_FILE), 'utf8');
  assert.ok(!file.includes('hunter2'), file);
  const lines = file
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines[0]?.level, 'error');
  assert.equal(lines[0]?.stream, 'stderr');
  assert.equal(lines[0]?.msg, 'TypeError: boom at http://bob:<redacted>@store:9000/x');
  assert.equal(lines[1]?.level, 'info');
  assert.equal(lines[1]?.stream, 'stdout');
  assert.equal(lines[2]?.msg, 'sync to http://bob:<redacted>@store:9000');
  assert.equal(lines[3]?.endpoint, 'http://bob:<redacted>@store:9000');
  // the manager's own lines about the pipeline also go to the manager's log
  assert.equal(echoed.length, 1);
  assert.ok(!echoed[0]?.includes('hunter2'));
  logs.close();

  appendFileSync(join(logs.dir('id'), LOG_FILE), '{"level":"info","msg":"cut sh');
  const next = new PipelineLogs(data);
  next.capture('id', 'p', 'stderr', line(9));
  assert.deepEqual(next.tail('id', 2), ['{"level":"info","msg":"cut sh', line(9)]);
  next.close();
});

test('remove deletes the log directory; a later pipeline with another id starts empty', () => {
  const data = tmp();
  const logs = new PipelineLogs(data);
  logs.capture('a', 'p', 'stderr', line(1));
  logs.remove('a');
  assert.deepEqual(readdirSync(join(data, 'pipelines', 'a')), []);
  assert.deepEqual(logs.tail('a'), []);
  logs.capture('b', 'p', 'stderr', line(2));
  assert.deepEqual(logs.tail('b'), [line(2)]);
  logs.close();
});
