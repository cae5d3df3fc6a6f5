/**
 * The fault-tolerance journal: what happened since the newest checkpoint, so a restart loses nothing
 * (at_least_once) or reproduces every step exactly (exactly_once).
 *
 * # Records
 * - chunk `{k:"c", ep, tb, d, f?, carry?}`: data pushed to a non-replayable input (HTTP ingress), appended and
 *   fsync'ed before the push is acknowledged. `d` is the rows and weights as a segment payload (base64), so every
 *   SQL value round-trips exactly: format v1, or with `f: 4` format v4 (nested values inline in their binary
 *   form, not as the codecs' JSON text), which is what a chunk holding a nested value is written in. A record
 *   without `f` (every record of earlier builds) is v1.
 * - step `{k:"s", t, s:[[endpoint, records, hash], …], n?}` (exactly_once only): transaction `t` took these
 *   slices, in this order, from its inputs' queues; `n` is the NOW() clock (µs) the step set, when it moved it
 *   (now-clock.ts), so replay reproduces the clock; a step that only moved the clock has no slices. Written after the step is computed and before any of
 *   its output is handed to a listener. Replayable inputs (files, datagen) journal no data: on restart they
 *   re-read from the checkpoint's positions and the step records cut their records into the same steps.
 *
 * # Files
 * `<dir>/<start>.log`, `start` = the first transaction the file may hold (zero-padded). A checkpoint's cut at
 * transaction T rotates to a new file `T+1`: the unprocessed remainder of every buffered non-replayable chunk
 * is appended to it again, marked `carry`, so the new file alone holds everything the checkpoint lacks. Once
 * the checkpoint is durable, the files only the checkpoint before it needed are deleted (truncation): the
 * journal keeps one generation more than strictly needed, so that if the newest checkpoint turns out damaged
 * on restart, the previous one (local GC keeps two) can still be replayed forward.
 *
 * Restart from a checkpoint at T reads the file `T+1` and every later one, in order. Carried chunks count only
 * in the first file read: in a later file they copy data the earlier file already holds (that later file was
 * started by a checkpoint that did not commit). Every file is read and checked before anything is changed. Only an
 * unfinished last frame of the last file is a torn tail (never acknowledged): it is cut off, with a log line. Any
 * other frame that does not check out (see storage/journal.ts: followed by intact records, or complete but
 * changed), an unfinished frame in a file that later files continue, a missing first file with later files
 * present, or a gap in the steps means the journal cannot be trusted: `ReplayFailure` naming the file and the
 * byte offset, and nothing is truncated or deleted (the failing start creates, rotates and deletes no file).
 * Appends that fail remove their partial frame and throw `StorageFull` / `JournalWriteFailed`.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ParsedChange } from '../connectors/formats/parse-result.ts';
import { ServiceError } from '../errors/service-error.ts';
import { damageReport, Journal, type JournalIo, readJournal } from '../storage/journal.ts';
import { decodeSegmentPayload, encodeRowsPayload, type ObjectValueCodec } from '../storage/segment.ts';
import type { FaultToleranceModel } from '../types/pipeline-api.ts';

export type JournaledModel = Exclude<FaultToleranceModel, 'none'>;

export interface ChunkRecord {
  readonly k: 'c';
  readonly ep: string;
  readonly tb: string;
  readonly d: string;
  /** Segment payload format of `d`: 4 (nested values inline); absent: 1. */
  readonly f?: 4;
  readonly carry?: 1;
}

/** One slice of a step: endpoint name, number of records, hash of those records. */
export type StepSlice = [endpoint: string, records: number, hash: number];

export interface StepRecord {
  readonly k: 's';
  readonly t: number;
  readonly s: StepSlice[];
  /** The NOW() clock value (µs) this step set, when it changed it. */
  readonly n?: number;
}

type JournalRecord = ChunkRecord | StepRecord;

/** What a restart must redo: pushed data to queue again, and (exactly_once) the steps to reproduce. */
export interface ReplayPlan {
  readonly chunks: ReadonlyArray<{ endpoint: string; table: string; changes: ParsedChange[] }>;
  readonly steps: readonly StepRecord[];
}

const FILE_RE = /^(\d{16})\.log$/;
const fileName = (start: number) => `${String(start).padStart(16, '0')}.log`;

function replayFailure(message: string, details: Record<string, unknown> = {}): ServiceError {
  return new ServiceError('ReplayFailure', message, details);
}

export class FtJournal {
  readonly dir: string;
  readonly model: JournaledModel;
  readonly #codecs: readonly ObjectValueCodec[];
  #active: Journal;
  #activeStart: number;
  /** Transaction of the newest durable checkpoint (0: none). */
  #lastCommitted: number;
  /** Journal bytes appended in this process (metrics). */
  bytesWritten = 0;
  /** System calls for appends (a test seam; the real ones by default). */
  #io: { io?: JournalIo } = {};

  private constructor(
    dir: string,
    model: JournaledModel,
    codecs: readonly ObjectValueCodec[],
    active: Journal,
    start: number,
    base: number,
  ) {
    this.#lastCommitted = base;
    this.dir = dir;
    this.model = model;
    this.#codecs = codecs;
    this.#active = active;
    this.#activeStart = start;
  }

  /**
   * Opens the journal in `dir` for a pipeline restored at transaction `base` (0 = no checkpoint) and reads what
   * must be replayed. `discard`: drop everything journaled (the program changed: replay is impossible).
   * @throws ServiceError ReplayFailure when the journal is inconsistent with the checkpoint.
   */
  static open(
    dir: string,
    model: JournaledModel,
    base: number,
    codecs: readonly ObjectValueCodec[],
    options: {
      discard?: boolean;
      log?: (message: string) => void;
      io?: JournalIo;
      /** Newer checkpoints skipped as damaged (named in the error when the journal cannot bridge the gap). */
      skipped?: ReadonlyArray<{ uuid: string; reason: string }>;
    } = {},
  ): { journal: FtJournal; replay: ReplayPlan } {
    mkdirSync(dir, { recursive: true });
    const io = options.io !== undefined ? { io: options.io } : {};
    const files = listFiles(dir);
    if (options.discard) {
      for (const f of files) rmSync(join(dir, fileName(f)), { force: true });
      files.length = 0;
    }
    // files starting at or before the checkpoint's cut are covered by it (they are kept until the next
    // checkpoint commits, in case this one is found damaged on a later restart)
    const later = files.filter((s) => s > base);
    if (later.length > 0 && later[0] !== base + 1) {
      throw replayFailure(
        `${skippedNote(options.skipped)}the journal does not continue the checkpoint restored: its first file (${join(dir, fileName(later[0] as number))}) starts at transaction ${later[0]}, the checkpoint ends at ${base}, so the data in between is missing. Nothing was truncated or deleted; restore the damaged checkpoint or journal files from a backup, or stop the pipeline and clear its storage to start over`,
        {
          checkpoint_transaction: base,
          journal_start: later[0],
          file: join(dir, fileName(later[0] as number)),
          ...(options.skipped?.length ? { skipped_checkpoints: options.skipped } : {}),
        },
      );
    }
    // read and check every file before changing any: a failing start leaves the journal as it found it
    const reads = later.map((start, i) => {
      const name = fileName(start);
      const read = readJournal<JournalRecord>(join(dir, name));
      if (read.damage !== null) {
        const r = damageReport(`${join(dir, name)}`, read.damage, read.validBytes);
        throw replayFailure(r.message, r.details);
      }
      if (read.tornBytes > 0 && i < later.length - 1) {
        throw replayFailure(
          `journal file ${join(dir, name)} ends in an incomplete record at byte ${read.validBytes} (found ${read.torn}), but later journal files continue it, so that record was acknowledged: the journal is damaged. Nothing was truncated or deleted. Restore the file from a backup, or stop the pipeline and clear its storage to start over.`,
          {
            file: join(dir, name),
            offset: read.validBytes,
            found: read.torn,
            later_files: later.slice(i + 1).map(fileName),
          },
        );
      }
      return read;
    });
    const chunks: Array<{ endpoint: string; table: string; changes: ParsedChange[] }> = [];
    const steps: StepRecord[] = [];
    let expected = base + 1;
    reads.forEach((read, i) => {
      for (const r of read.records) {
        if (r.k === 'c') {
          if (r.carry === 1 && i > 0) continue;
          chunks.push({ endpoint: r.ep, table: r.tb, changes: decodeChanges(r.d, r.f, codecs) });
        } else if (r.k === 's') {
          if (r.t !== expected) {
            throw replayFailure(
              `the journal skips from transaction ${expected - 1} to ${r.t} (file ${join(dir, fileName(later[i] as number))}); nothing was truncated or deleted; restore the journal from a backup, or stop the pipeline and clear its storage to start over`,
              { expected, found: r.t, file: join(dir, fileName(later[i] as number)) },
            );
          }
          expected++;
          steps.push(r);
        }
      }
    });
    // only now: cut a torn tail off the last file (never acknowledged) and append after it
    let active: Journal | null = null;
    const lastStart = later.at(-1);
    if (lastStart !== undefined) {
      const opened = Journal.open<JournalRecord>(join(dir, fileName(lastStart)), io);
      active = opened.journal;
      if (opened.read.tornBytes > 0)
        options.log?.(
          `journal ${fileName(lastStart)}: cut off a torn tail of ${opened.read.tornBytes} bytes at byte ${opened.read.validBytes} (found ${opened.read.torn}; never acknowledged)`,
        );
    }
    const journal =
      active !== null
        ? new FtJournal(dir, model, codecs, active, later[later.length - 1] as number, base)
        : new FtJournal(
            dir,
            model,
            codecs,
            Journal.open(join(dir, fileName(base + 1)), io).journal,
            base + 1,
            base,
          );
    journal.#io = io;
    return { journal, replay: { chunks, steps: model === 'exactly_once' ? steps : [] } };
  }

  /** Journals pushed data (durable when this returns). */
  appendChunk(endpoint: string, table: string, changes: readonly ParsedChange[], carry = false): void {
    const rec: ChunkRecord = {
      k: 'c',
      ep: endpoint,
      tb: table,
      ...encodeChanges(changes, this.#codecs),
      ...(carry ? { carry: 1 as const } : {}),
    };
    const before = this.#active.bytes;
    this.#active.append(rec);
    this.bytesWritten += this.#active.bytes - before;
  }

  /** Journals a step's input slices and the clock it set, if it moved it (durable when this returns). */
  appendStep(t: number, slices: StepSlice[], clock?: number): void {
    const before = this.#active.bytes;
    this.#active.append({
      k: 's',
      t,
      s: slices,
      ...(clock !== undefined ? { n: clock } : {}),
    } satisfies StepRecord);
    this.bytesWritten += this.#active.bytes - before;
  }

  /**
   * Starts the file for transactions after `t` (a checkpoint's cut). `carry` is called to journal the pushed
   * data still unprocessed (with `appendChunk(…, true)`), which the checkpoint does not hold.
   */
  rotate(t: number, carry: () => void): void {
    if (this.#activeStart !== t + 1) {
      this.#active.close();
      const path = join(this.dir, fileName(t + 1));
      if (existsSync(path)) rmSync(path); // left by a crash between creating it and committing: stale
      this.#active = Journal.open(path, this.#io).journal;
      this.#activeStart = t + 1;
      syncDir(this.dir); // the new file's name is durable before anything relies on it
      carry();
    }
  }

  /**
   * A checkpoint with cut `t` is durable: delete the files that only the checkpoint before it needed (those
   * starting at or before that checkpoint's cut).
   */
  committed(t: number): void {
    const previous = this.#lastCommitted;
    if (t <= previous) return;
    this.#lastCommitted = t;
    for (const s of listFiles(this.dir))
      if (s <= previous && s !== this.#activeStart) rmSync(join(this.dir, fileName(s)), { force: true });
  }

  /** The first transaction the file being appended to may hold. */
  get activeStart(): number {
    return this.#activeStart;
  }

  close(): void {
    this.#active.close();
  }
}

function skippedNote(skipped: ReadonlyArray<{ uuid: string; reason: string }> | undefined): string {
  if (skipped === undefined || skipped.length === 0) return '';
  return `newer checkpoint(s) were skipped as damaged (${skipped.map((s) => `${s.uuid}: ${s.reason}`).join('; ')}), and `;
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some file systems cannot fsync a directory; the data itself is synced per record
  }
}

function listFiles(dir: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync(dir)) {
    const m = FILE_RE.exec(name);
    if (m) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

function encodeChanges(
  changes: readonly ParsedChange[],
  codecs: readonly ObjectValueCodec[],
): { d: string; f?: 4 } {
  const rows = changes.map((c) => c.row);
  const weights = changes.map((c) => c.weight);
  const { payload, version } = encodeRowsPayload({ rows, weights }, codecs);
  const d = payload.toString('base64');
  return version === 4 ? { d, f: 4 } : { d };
}

function decodeChanges(d: string, f: unknown, codecs: readonly ObjectValueCodec[]): ParsedChange[] {
  if (f !== undefined && f !== 4) throw replayFailure(`journal chunk of unknown payload format ${String(f)}`);
  const b = decodeSegmentPayload(Buffer.from(d, 'base64'), codecs, f === 4 ? 4 : 1);
  return b.rows.map((row, i) => ({ row, weight: b.weights[i] as number }));
}
