/**
 * The exactly-once input journal: an append-only file of framed, checksummed JSON records.
 *
 * Frame: `u32 length (LE) | u32 CRC-32 of the payload (LE) | payload (UTF-8 JSON)`. A record is durable once
 * `append()` resolves (the file is fsync'ed), so a producer can be acknowledged after that. A crash can leave a
 * torn last frame; `readJournal()` stops at the first frame that is short or whose checksum does not match,
 * reports how many bytes are valid, and `Journal.open()` truncates the torn tail before appending again — so a
 * torn write is never mistaken for a record, and records after it cannot exist.
 *
 * The journal is truncated (replaced by an empty file) after each checkpoint: it only holds what happened
 * since the newest checkpoint.
 */
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { crc32 } from 'node:zlib';

const HEADER = 8;
/** Refuse absurd frame lengths (a corrupt length field must not make us allocate gigabytes). */
const MAX_RECORD_BYTES = 1 << 30;

export interface JournalRead<T> {
  readonly records: T[];
  /** Bytes of the file that hold whole, valid frames. */
  readonly validBytes: number;
  /** Bytes after the last valid frame (a torn or corrupt tail), 0 when the file is clean. */
  readonly tornBytes: number;
}

export function encodeFrame(record: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(record), 'utf8');
  const frame = Buffer.allocUnsafe(HEADER + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  payload.copy(frame, HEADER);
  return frame;
}

/** Reads every valid record of a journal file (a missing file is an empty journal). */
export function readJournal<T>(path: string): JournalRead<T> {
  if (!existsSync(path)) return { records: [], validBytes: 0, tornBytes: 0 };
  const buf = readFileSync(path);
  const records: T[] = [];
  let off = 0;
  while (off + HEADER <= buf.length) {
    const len = buf.readUInt32LE(off);
    const sum = buf.readUInt32LE(off + 4);
    if (len > MAX_RECORD_BYTES || off + HEADER + len > buf.length) break;
    const payload = buf.subarray(off + HEADER, off + HEADER + len);
    if (crc32(payload) !== sum) break;
    let rec: T;
    try {
      rec = JSON.parse(payload.toString('utf8')) as T;
    } catch {
      break;
    }
    records.push(rec);
    off += HEADER + len;
  }
  return { records, validBytes: off, tornBytes: buf.length - off };
}

export class Journal {
  readonly path: string;
  #fd: number;
  #bytes: number;

  private constructor(path: string, fd: number, bytes: number) {
    this.path = path;
    this.#fd = fd;
    this.#bytes = bytes;
  }

  /** Opens (creating if needed) and cuts off a torn tail so appends follow the last valid record. */
  static open<T>(path: string): { journal: Journal; read: JournalRead<T> } {
    const read = readJournal<T>(path);
    const fd = openSync(path, existsSync(path) ? 'r+' : 'w+');
    if (read.tornBytes > 0) {
      ftruncateSync(fd, read.validBytes);
      fsyncSync(fd);
    }
    return { journal: new Journal(path, fd, read.validBytes), read };
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Appends records and makes them durable before returning (`fdatasync`: the data and the file size, which is
   * all an append needs; skips flushing timestamps).
   */
  append(...records: unknown[]): void {
    if (records.length === 0) return;
    const buf = Buffer.concat(records.map(encodeFrame));
    let written = 0;
    while (written < buf.length)
      written += writeSync(this.#fd, buf, written, buf.length - written, this.#bytes + written);
    fdatasyncSync(this.#fd);
    this.#bytes += buf.length;
  }

  /** Empties the journal (after a checkpoint): a fresh empty file replaces it atomically. */
  reset(): void {
    closeSync(this.#fd);
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.path);
    this.#fd = openSync(this.path, 'r+');
    this.#bytes = 0;
  }

  close(): void {
    closeSync(this.#fd);
  }
}
