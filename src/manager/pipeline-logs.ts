/**
 * Each pipeline's log, kept by the manager in rotated files so that it survives a manager restart (even a
 * `kill -9`), and read back (the last lines, then every new one) by `GET /v0/pipelines/{name}/logs`.
 *
 * What goes in: every line the pipeline's process prints on stderr (its JSON log lines, and anything
 * unstructured, such as a crash's stack trace) and on stdout before it reports its port, captured by the
 * supervisor — so a process that crashes before its logger flushes still leaves what it printed — plus the manager's own lines about the pipeline
 * ({@link PipelineLogs.logger}: spawned, exited, status changes, …), written in the same format. A captured
 * line that is not a JSON object (a crash's stack trace) is wrapped into one (`"stream":"stderr"`, level
 * `error`; `"stream":"stdout"`, level `info`), so the file holds JSON lines only. URL credentials are redacted
 * from every line before it is stored or shown.
 *
 * Files: `<data-dir>/pipelines/<id>/logs/pipeline.log` (the current one) and `pipeline.log.1` … `.{files-1}`
 * (older, `.1` the newest), mode 0600 in a 0700 directory (lines may name buckets and hosts). A line that would
 * take the current file over `maxFileBytes` first rotates: `.{files-1}` is deleted, each older file moves up
 * one, the current one becomes `.1` (a single line longer than the limit gets a file of its own). Lines are appended with synchronous writes (no fsync: the OS keeps them
 * when the manager dies; a host crash may lose the last ones); a write that fails (full disk) is reported once
 * on the manager's log and the line still reaches the readers following the log.
 *
 * Why not pino-roll: it is a pino destination that opens its file asynchronously, rotates after the fact and
 * only prunes the files it created itself; here the writer is the manager appending lines captured from
 * another process, and a reader must see exactly the lines written so far, then every new one, with no gap
 * and no duplicate — which synchronous appends in this process give for free.
 *
 * State: per pipeline id, the open current file (fd, size) and the set of followers; the per-pipeline
 * loggers. Invariants: lines are stored in the order they arrive, each in one file (a rotation happens between
 * lines); readers get the stored tail and then every later line exactly once; a line torn by a crash of the
 * manager is ended before the next one is appended (it is shown as it is).
 */
import {
  closeSync,
  fchmodSync,
  fstatSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { redactUrlCredentials } from '../types/redact-url.ts';
import { ensurePrivateDirSync, SECRET_FILE_MODE } from '../util/durable-file.ts';
import { createLogger, type LineSink, type Logger, type LogLevel, silentLogger } from '../util/log.ts';

export const LOG_FILE = 'pipeline.log';
export const DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024;
export const DEFAULT_LOG_FILES = 5;
/** Lines `GET /logs` replays before it follows. */
export const DEFAULT_TAIL_LINES = 5000;

export interface PipelineLogsOptions {
  /** The manager's log: reports a log file that cannot be written. */
  readonly managerLog?: Logger;
  /** Where the manager's lines about a pipeline also go (the manager's own log destination, e.g. stderr). */
  readonly managerSink?: LineSink;
  /** The level of the manager's per-pipeline lines. */
  readonly level?: LogLevel;
  /** Rotate before a file would exceed this many bytes (default 10 MiB). */
  readonly maxFileBytes?: number;
  /** Files kept per pipeline, the current one included (default 5). */
  readonly files?: number;
}

interface OpenLog {
  fd: number | null;
  size: number;
  failed: boolean;
  readonly followers: Set<(line: string) => void>;
}

export class PipelineLogs {
  readonly #dataDir: string;
  readonly #managerLog: Logger;
  readonly #managerSink: LineSink | null;
  readonly #level: LogLevel;
  readonly #maxBytes: number;
  readonly #files: number;
  readonly #logs = new Map<string, OpenLog>();
  readonly #loggers = new Map<string, { name: string; logger: Logger }>();

  constructor(dataDir: string, opts: PipelineLogsOptions = {}) {
    this.#dataDir = dataDir;
    this.#managerLog = opts.managerLog ?? silentLogger();
    this.#managerSink = opts.managerSink ?? null;
    this.#level = opts.level ?? 'info';
    this.#maxBytes = Math.max(1, opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES);
    this.#files = Math.max(1, opts.files ?? DEFAULT_LOG_FILES);
  }

  /** The directory of pipeline `id`'s log files. */
  dir(id: string): string {
    return join(this.#dataDir, 'pipelines', id, 'logs');
  }

  /**
   * A logger for the manager's lines about pipeline `id` (named `name`): each line goes to the manager's own
   * log and to the pipeline's log, in the one format, with `pipeline` and `component: "manager"`.
   */
  logger(id: string, name: string): Logger {
    const known = this.#loggers.get(id);
    if (known?.name === name) return known.logger;
    const logger = createLogger({
      level: this.#level,
      bindings: { component: 'manager', pipeline: name },
      sink: {
        write: (line) => {
          this.#managerSink?.write(line);
          this.#append(id, line.endsWith('\n') ? line.slice(0, -1) : line);
        },
      },
    });
    this.#loggers.set(id, { name, logger });
    return logger;
  }

  /**
   * A line the pipeline's process printed (`stream` says where): stored as it is when it is a JSON object,
   * else wrapped into one.
   */
  capture(id: string, name: string, stream: 'stdout' | 'stderr', raw: string): void {
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith('{') && line.endsWith('}')) {
      this.#append(id, line);
      return;
    }
    this.#append(
      id,
      JSON.stringify({
        level: stream === 'stderr' ? 'error' : 'info',
        time: new Date().toISOString(),
        pipeline: name,
        stream,
        msg: raw,
      }),
    );
  }

  /**
   * Calls `onLine` with the last `tail` lines stored for pipeline `id` (oldest first), then with every new
   * line until the returned function is called.
   */
  follow(id: string, onLine: (line: string) => void, tail = DEFAULT_TAIL_LINES): () => void {
    for (const line of this.tail(id, tail)) onLine(line);
    const log = this.#open(id, false);
    log.followers.add(onLine);
    return () => log.followers.delete(onLine);
  }

  /** The last `n` lines stored for pipeline `id`, oldest first (from the rotated files too). */
  tail(id: string, n = DEFAULT_TAIL_LINES): string[] {
    const dir = this.dir(id);
    const out: string[][] = [];
    let want = n;
    for (let i = 0; i < this.#files && want > 0; i++) {
      const lines = tailOfFile(join(dir, i === 0 ? LOG_FILE : `${LOG_FILE}.${i}`), want);
      if (lines === null) break;
      out.unshift(lines);
      want -= lines.length;
    }
    return out.flat();
  }

  /** Deletes pipeline `id`'s log files (the pipeline is deleted); its followers get nothing more. */
  remove(id: string): void {
    const log = this.#logs.get(id);
    if (log?.fd !== null && log?.fd !== undefined) closeSync(log.fd);
    this.#logs.delete(id);
    this.#loggers.delete(id);
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  /** Closes every open file (the manager stops). */
  close(): void {
    for (const log of this.#logs.values()) {
      if (log.fd !== null) closeSync(log.fd);
      log.fd = null;
    }
  }

  #open(id: string, forWriting: boolean): OpenLog {
    let log = this.#logs.get(id);
    if (!log) {
      log = { fd: null, size: 0, failed: false, followers: new Set() };
      this.#logs.set(id, log);
    }
    if (forWriting && log.fd === null) {
      const dir = this.dir(id);
      ensurePrivateDirSync(join(this.#dataDir, 'pipelines'));
      ensurePrivateDirSync(join(this.#dataDir, 'pipelines', id));
      ensurePrivateDirSync(dir);
      const fd = openSync(join(dir, LOG_FILE), 'a+', SECRET_FILE_MODE);
      try {
        fchmodSync(fd, SECRET_FILE_MODE);
        log.size = fstatSync(fd).size;
        // a line torn by a crash of the previous manager is ended, so the next one starts on its own line
        if (log.size > 0) {
          const last = Buffer.alloc(1);
          readSync(fd, last, 0, 1, log.size - 1);
          if (last[0] !== 0x0a) log.size += writeSync(fd, '\n');
        }
      } catch (e) {
        closeSync(fd);
        throw e;
      }
      log.fd = fd;
    }
    return log;
  }

  #append(id: string, rawLine: string): void {
    const line = redactUrlCredentials(rawLine);
    let log: OpenLog | undefined;
    try {
      log = this.#open(id, true);
      const bytes = Buffer.from(`${line}\n`);
      if (log.size > 0 && log.size + bytes.length > this.#maxBytes) this.#rotate(id, log);
      if (log.fd === null) log = this.#open(id, true);
      let off = 0;
      while (off < bytes.length) off += writeSync(log.fd as number, bytes, off);
      log.size += bytes.length;
      if (log.failed) this.#managerLog.info({ pipeline_id: id }, 'writing the pipeline log file works again');
      log.failed = false;
    } catch (e) {
      log = this.#logs.get(id) ?? this.#open(id, false);
      if (!log.failed)
        this.#managerLog.error(
          { pipeline_id: id, error: (e as Error).message },
          `could not write the log file of pipeline ${id} (lines are shown live but not kept until it works again)`,
        );
      log.failed = true;
    }
    for (const f of log.followers) f(line);
  }

  #rotate(id: string, log: OpenLog): void {
    if (log.fd !== null) closeSync(log.fd);
    log.fd = null;
    log.size = 0;
    const dir = this.dir(id);
    const name = (i: number) => join(dir, i === 0 ? LOG_FILE : `${LOG_FILE}.${i}`);
    try {
      unlinkSync(name(this.#files - 1));
    } catch {
      // not there yet
    }
    for (let i = this.#files - 2; i >= 0; i--) {
      try {
        renameSync(name(i), name(i + 1));
      } catch {
        // not there yet
      }
    }
  }
}

/** The last `n` lines of a file (null when it does not exist), oldest first; reads backwards in chunks. */
function tailOfFile(path: string, n: number): string[] | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    const chunks: Buffer[] = [];
    let pos = size;
    let newlines = 0;
    const CHUNK = 64 * 1024;
    while (pos > 0 && newlines <= n) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      let got = 0;
      while (got < len) {
        const r = readSync(fd, buf, got, len - got, pos + got);
        if (r === 0) break;
        got += r;
      }
      for (let i = 0; i < got; i++) if (buf[i] === 0x0a) newlines++;
      chunks.unshift(buf.subarray(0, got));
    }
    const lines = Buffer.concat(chunks).toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    // the first piece may be the end of a line whose start was not read
    if (pos > 0) lines.shift();
    return lines.slice(Math.max(0, lines.length - n)).filter((l) => l !== '');
  } finally {
    closeSync(fd);
  }
}
