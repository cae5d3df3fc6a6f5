/**
 * The exactly-once input journal: an append-only file of framed, checksummed JSON records.
 *
 * # Frames
 * v2 (written): `magic FE 68 66 A5 | u32 length (LE) | u32 CRC-32 of the payload (LE) | u32 CRC-32 of the
 * previous 12 bytes (LE) | payload (UTF-8 JSON)`. The header checksum covers the marker, the length and the
 * payload checksum, so a damaged length is detected before it is used and cannot swallow the rest of the file.
 * The marker holds a byte (0xFE) that UTF-8 JSON never contains, so after a damaged frame the reader finds the
 * next intact frame by searching for the marker (and checking the header and payload checksums there).
 * v1 (read only, written by older Holdfast): `u32 length (LE) | u32 CRC-32 of the payload (LE) | payload`.
 * The format is detected per frame: the marker read as a v1 length is larger than any record may be, so it
 * never starts a v1 frame. A file written by an older Holdfast keeps its v1 frames; frames appended after
 * them are v2 (v1 after v2 is damage).
 *
 * # Torn tail or damage
 * A record is durable once `append()` returns (the file is fdatasync'ed), so a producer can be acknowledged
 * then. A crash can leave only the LAST frame incomplete. `readJournal()` classifies the first frame that does
 * not check out:
 * - torn (safe to cut; it was never acknowledged): nothing intact follows it, and it is cut short by the end
 *   of the file (fewer bytes than a header, or an intact header whose length runs past the end), or (v2) its
 *   header is garbage and nothing shows it was complete;
 * - damage (the start must fail, nothing is cut): an intact frame follows it anywhere later in the file, or it
 *   is complete (its length ends inside the file, or exactly at the end) but its payload fails its checksum or
 *   is not JSON, or (v1) its length is impossible. A completed, acknowledged record whose bytes changed is
 *   damage, not a torn write, even when it is the last one.
 * For v1 frames the next intact frame is found by trying every later offset that could start a frame holding a
 * JSON object (length fits, payload starts with `{` and ends with `}`, checksum matches), plus the v2 marker.
 * `Journal.open()` cuts a torn tail (and fsyncs) before appending; on damage it throws `ReplayFailure` and
 * touches nothing.
 *
 * # Failed appends
 * An append that fails (write error such as ENOSPC or EIO, a write that makes no progress, a failed fdatasync)
 * truncates the file back to its last good length (fsync) and throws `StorageFull` (ENOSPC, EDQUOT) or
 * `JournalWriteFailed`: no partial frame stays behind, and a later append (after space is freed) continues.
 * If even the truncation fails, every later append retries it first and fails until it succeeds.
 *
 * Files are never emptied or rewritten here: the fault-tolerance journal (controller/ft-journal.ts) starts a new
 * file at each checkpoint and deletes old files once they are no longer needed.
 */
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  writeSync,
} from 'node:fs';
import { crc32 } from 'node:zlib';
import { ServiceError } from '../errors/service-error.ts';

/**
 * The frame format this build writes (see the header: v2; v1 is still read). A change to the bytes written
 * is a new version, pinned by a golden file in tests/golden/journal/ (the old ones stay readable).
 */
export const JOURNAL_FORMAT_VERSION = 2;

/** The marker that starts every v2 frame (0xFE never occurs in UTF-8, so never inside a payload). */
export const FRAME_MAGIC = Buffer.from([0xfe, 0x68, 0x66, 0xa5]);
const HEADER_V2 = 16;
const HEADER_V1 = 8;
/** Refuse absurd frame lengths (a corrupt length field must not make us allocate gigabytes). */
export const MAX_RECORD_BYTES = 1 << 30;

/** A frame that does not check out and is followed by data: the journal cannot be trusted. */
export interface JournalDamage {
  /** Byte offset of the first damaged frame. */
  readonly offset: number;
  /** What was found there (bad marker, bad header checksum, bad payload checksum, impossible length, ...). */
  readonly found: string;
  /** Frame format at that offset (v1 when the file had no v2 frame before it and no marker there). */
  readonly format: 1 | 2;
  /** Intact records after the damage (they are not returned: replay must not skip the damaged one). */
  readonly laterRecords: number;
  /** Bytes from the damaged frame to the end of the file. */
  readonly bytesAfter: number;
}

export interface JournalRead<T> {
  /** The intact records before the first frame that does not check out (all of them when clean). */
  readonly records: T[];
  /** Bytes of the file that hold whole, valid frames before any torn tail or damage. */
  readonly validBytes: number;
  /** Bytes of a torn tail after the last valid frame (safe to cut), 0 when the file is clean or damaged. */
  readonly tornBytes: number;
  /** What the torn tail looked like (null: no torn tail). */
  readonly torn: string | null;
  /** Damage (null: none). When set, the journal must not be replayed or appended to. */
  readonly damage: JournalDamage | null;
  /** Bytes in the file. */
  readonly fileBytes: number;
}

/** Test seam: the system calls an append makes (to inject ENOSPC, EIO or short writes). */
export interface JournalIo {
  write(fd: number, buf: Buffer, offset: number, length: number, position: number): number;
  fdatasync(fd: number): void;
  /** Truncates to `length` and fsyncs (the rollback of a failed append). */
  truncate(fd: number, length: number): void;
}

const realIo: JournalIo = {
  write: (fd, buf, offset, length, position) => writeSync(fd, buf, offset, length, position),
  fdatasync: (fd) => fdatasyncSync(fd),
  truncate: (fd, length) => {
    ftruncateSync(fd, length);
    fsyncSync(fd);
  },
};

export function encodeFrame(record: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(record), 'utf8');
  const frame = Buffer.allocUnsafe(HEADER_V2 + payload.length);
  FRAME_MAGIC.copy(frame, 0);
  frame.writeUInt32LE(payload.length, 4);
  frame.writeUInt32LE(crc32(payload), 8);
  frame.writeUInt32LE(crc32(frame.subarray(0, 12)), 12);
  payload.copy(frame, HEADER_V2);
  return frame;
}

/** A v1 frame (`u32 len | u32 crc32(payload) | payload`), for tests and golden files of the old format. */
export function encodeFrameV1(record: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(record), 'utf8');
  const frame = Buffer.allocUnsafe(HEADER_V1 + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  payload.copy(frame, HEADER_V1);
  return frame;
}

type Frame =
  | { readonly ok: true; readonly record: unknown; readonly end: number; readonly format: 1 | 2 }
  | {
      readonly ok: false;
      readonly format: 1 | 2;
      readonly found: string;
      /** Looks like an unfinished write at the end of the file (only meaningful when nothing intact follows). */
      readonly tornShape: boolean;
    };

function parsePayload(payload: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(payload.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

const isMagicAt = (buf: Buffer, o: number): boolean =>
  o + 4 <= buf.length &&
  buf[o] === FRAME_MAGIC[0] &&
  buf[o + 1] === FRAME_MAGIC[1] &&
  buf[o + 2] === FRAME_MAGIC[2] &&
  buf[o + 3] === FRAME_MAGIC[3];

/** Reads the frame at `o`; v1 only when `allowV1` (no v2 frame came before) and there is no marker at `o`. */
function frameAt(buf: Buffer, o: number, allowV1: boolean): Frame {
  const left = buf.length - o;
  if (
    !allowV1 ||
    isMagicAt(buf, o) ||
    nearMagicAt(buf, o) ||
    (left < 4 && FRAME_MAGIC.subarray(0, left).equals(buf.subarray(o)))
  ) {
    if (left < HEADER_V2)
      return { ok: false, format: 2, found: `a partial frame header (${left} bytes)`, tornShape: true };
    if (!isMagicAt(buf, o)) {
      return { ok: false, format: 2, found: 'no frame marker', tornShape: !looksComplete(buf, o) };
    }
    if (crc32(buf.subarray(o, o + 12)) !== buf.readUInt32LE(o + 12))
      return {
        ok: false,
        format: 2,
        found: 'a bad header checksum (the length field cannot be trusted)',
        tornShape: !looksComplete(buf, o),
      };
    const len = buf.readUInt32LE(o + 4);
    if (len > MAX_RECORD_BYTES)
      return { ok: false, format: 2, found: `an impossible length (${len} bytes)`, tornShape: false };
    if (o + HEADER_V2 + len > buf.length)
      return {
        ok: false,
        format: 2,
        found: `a frame cut short by the end of the file (${len} payload bytes announced, ${left - HEADER_V2} present)`,
        tornShape: true,
      };
    const payload = buf.subarray(o + HEADER_V2, o + HEADER_V2 + len);
    if (crc32(payload) !== buf.readUInt32LE(o + 8))
      return { ok: false, format: 2, found: 'a bad payload checksum', tornShape: false };
    const p = parsePayload(payload);
    if (!p.ok) return { ok: false, format: 2, found: 'a payload that is not valid JSON', tornShape: false };
    return { ok: true, record: p.value, end: o + HEADER_V2 + len, format: 2 };
  }
  if (left < HEADER_V1)
    return { ok: false, format: 1, found: `a partial frame header (${left} bytes)`, tornShape: true };
  const len = buf.readUInt32LE(o);
  if (len > MAX_RECORD_BYTES)
    return { ok: false, format: 1, found: `an impossible length (${len} bytes)`, tornShape: false };
  if (o + HEADER_V1 + len > buf.length)
    return {
      ok: false,
      format: 1,
      found: `a frame cut short by the end of the file (${len} payload bytes announced, ${left - HEADER_V1} present)`,
      tornShape: true,
    };
  const payload = buf.subarray(o + HEADER_V1, o + HEADER_V1 + len);
  if (crc32(payload) !== buf.readUInt32LE(o + 4))
    return { ok: false, format: 1, found: 'a bad checksum', tornShape: false };
  const p = parsePayload(payload);
  if (!p.ok) return { ok: false, format: 1, found: 'a payload that is not valid JSON', tornShape: false };
  return { ok: true, record: p.value, end: o + HEADER_V1 + len, format: 1 };
}

/**
 * A v2 frame at `o` whose header does not check out: is there evidence that it was written completely (so it
 * was acknowledged and is damaged, not torn)? Its length field ends exactly at the end of the file, or the
 * bytes after the header up to the end of the file match its payload checksum.
 */
function looksComplete(buf: Buffer, o: number): boolean {
  if (buf.length - o < HEADER_V2) return false;
  if (isMagicAt(buf, o) && o + HEADER_V2 + buf.readUInt32LE(o + 4) === buf.length) return true;
  return buf.length - o > HEADER_V2 && crc32(buf.subarray(o + HEADER_V2)) === buf.readUInt32LE(o + 8);
}

/**
 * A v2 marker with one or two of its first three bytes damaged. Its last byte (0xA5) makes any v1 length
 * impossible, so no intact v1 frame is ever mistaken for it.
 */
function nearMagicAt(buf: Buffer, o: number): boolean {
  if (o + 4 > buf.length || buf[o + 3] !== FRAME_MAGIC[3]) return false;
  let same = 0;
  for (let i = 0; i < 3; i++) if (buf[o + i] === FRAME_MAGIC[i]) same++;
  return same >= 1;
}

/** Offset of the next intact frame at or after `from` (-1: none). v1 candidates only when `allowV1`. */
function nextIntact(buf: Buffer, from: number, allowV1: boolean): number {
  let v2 = buf.indexOf(FRAME_MAGIC, from);
  while (v2 >= 0 && !frameAt(buf, v2, false).ok) v2 = buf.indexOf(FRAME_MAGIC, v2 + 1);
  if (!allowV1) return v2;
  const limit = v2 >= 0 ? v2 : buf.length;
  for (let p = from; p + HEADER_V1 + 2 <= limit; p++) {
    if (buf[p + HEADER_V1] !== 0x7b) continue; // '{'
    const len = buf.readUInt32LE(p);
    if (len < 2 || p + HEADER_V1 + len > buf.length || buf[p + HEADER_V1 + len - 1] !== 0x7d) continue; // '}'
    if (isMagicAt(buf, p)) continue;
    if (frameAt(buf, p, true).ok) return p;
  }
  return v2;
}

/** Reads every valid record of a journal file (a missing file is an empty journal) and classifies any problem. */
export function readJournal<T>(path: string): JournalRead<T> {
  if (!existsSync(path))
    return { records: [], validBytes: 0, tornBytes: 0, torn: null, damage: null, fileBytes: 0 };
  const buf = readFileSync(path);
  const records: T[] = [];
  let off = 0;
  let sawV2 = false;
  while (off < buf.length) {
    const f = frameAt(buf, off, !sawV2);
    if (f.ok) {
      records.push(f.record as T);
      off = f.end;
      if (f.format === 2) sawV2 = true;
      continue;
    }
    const next = nextIntact(buf, off + 1, !sawV2);
    if (next < 0 && f.tornShape)
      return {
        records,
        validBytes: off,
        tornBytes: buf.length - off,
        torn: f.found,
        damage: null,
        fileBytes: buf.length,
      };
    const damage: JournalDamage = {
      offset: off,
      found: f.found,
      format: f.format,
      laterRecords: next < 0 ? 0 : countIntact(buf, next, sawV2),
      bytesAfter: buf.length - off,
    };
    return { records, validBytes: off, tornBytes: 0, torn: null, damage, fileBytes: buf.length };
  }
  return { records, validBytes: off, tornBytes: 0, torn: null, damage: null, fileBytes: buf.length };
}

/** Intact frames from `o` on, resynchronising after every frame that does not check out. */
function countIntact(buf: Buffer, o: number, sawV2: boolean): number {
  let n = 0;
  let v2 = sawV2;
  let off = o;
  while (off >= 0 && off < buf.length) {
    const f = frameAt(buf, off, !v2);
    if (f.ok) {
      n++;
      if (f.format === 2) v2 = true;
      off = f.end;
    } else off = nextIntact(buf, off + 1, !v2);
  }
  return n;
}

/** The `ReplayFailure` message and details for a damaged journal file (`name` as the operator should see it). */
export function damageReport(
  name: string,
  d: JournalDamage,
  validBytes: number,
): { message: string; details: Record<string, unknown> } {
  const later =
    d.laterRecords > 0
      ? `${d.laterRecords} intact record(s) follow it, so this is damage, not a torn write`
      : 'the frame is complete, so it was acknowledged: this is damage, not a torn write';
  return {
    message:
      `journal file ${name} is damaged at byte ${d.offset}: found ${d.found} (frame format v${d.format}); ${later}. ` +
      'Nothing was truncated or deleted. Restore the file from a backup and start again; or, to accept losing ' +
      `the damaged record and everything after it, truncate the file to ${validBytes} bytes; or stop the ` +
      'pipeline and clear its storage to start over. Until then the pipeline cannot start.',
    details: {
      file: name,
      offset: d.offset,
      found: d.found,
      format: d.format,
      later_intact_records: d.laterRecords,
      valid_bytes: validBytes,
      bytes_after: d.bytesAfter,
    },
  };
}

function appendError(path: string, e: unknown, rolledBack: boolean): ServiceError {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const reason = e instanceof Error ? e.message : String(e);
  const rest = rolledBack
    ? 'the partial record was removed'
    : 'the partial record could not be removed yet (the next append retries)';
  if (code === 'ENOSPC' || code === 'EDQUOT')
    return new ServiceError(
      'StorageFull',
      `the disk holding the journal ${path} is full (${code}); ${rest}, and the input was not accepted: free space and send it again`,
      { path, os_code: code },
    );
  return new ServiceError(
    'JournalWriteFailed',
    `writing the journal ${path} failed (${reason}); ${rest}, and the input was not accepted: check the storage volume and send it again`,
    { path, os_code: code ?? 'Error' },
  );
}

export class Journal {
  readonly path: string;
  #fd: number;
  #bytes: number;
  readonly #io: JournalIo;
  /** A failed append could not be rolled back: the file may be longer than {@link bytes}. */
  #dirty = false;

  private constructor(path: string, fd: number, bytes: number, io: JournalIo) {
    this.path = path;
    this.#fd = fd;
    this.#bytes = bytes;
    this.#io = io;
  }

  /**
   * Opens (creating if needed) and cuts off a torn tail so appends follow the last valid record.
   * @throws ServiceError ReplayFailure when the file is damaged (nothing is changed then)
   */
  static open<T>(path: string, options: { io?: JournalIo } = {}): { journal: Journal; read: JournalRead<T> } {
    const read = readJournal<T>(path);
    if (read.damage !== null) {
      const r = damageReport(path, read.damage, read.validBytes);
      throw new ServiceError('ReplayFailure', r.message, r.details);
    }
    const fd = openSync(path, existsSync(path) ? 'r+' : 'w+');
    if (read.tornBytes > 0) {
      ftruncateSync(fd, read.validBytes);
      fsyncSync(fd);
    }
    return { journal: new Journal(path, fd, read.validBytes, options.io ?? realIo), read };
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Appends records and makes them durable before returning (`fdatasync`: the data and the file size, which is
   * all an append needs; skips flushing timestamps). On failure nothing of them stays in the file.
   * @throws ServiceError StorageFull (ENOSPC, EDQUOT) | JournalWriteFailed (any other failure)
   */
  append(...records: unknown[]): void {
    if (records.length === 0) return;
    const buf = Buffer.concat(records.map(encodeFrame));
    if (this.#dirty && !this.#rollback())
      throw appendError(this.path, new Error('earlier failed append'), false);
    try {
      let written = 0;
      while (written < buf.length) {
        const n = this.#io.write(this.#fd, buf, written, buf.length - written, this.#bytes + written);
        if (!(n > 0))
          throw new Error(`short write: ${written} of ${buf.length} bytes written, then no progress`);
        written += n;
      }
      this.#io.fdatasync(this.#fd);
    } catch (e) {
      this.#dirty = true;
      throw appendError(this.path, e, this.#rollback());
    }
    this.#bytes += buf.length;
  }

  /** Truncates back to the last good length (durably); false when that fails too. */
  #rollback(): boolean {
    try {
      this.#io.truncate(this.#fd, this.#bytes);
      this.#dirty = false;
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    closeSync(this.#fd);
  }
}
