/**
 * The journal file format: round trips, torn tails (cut), damage at the head, in the middle and at the tail
 * (never cut: reported with offset, what was found and the intact records after it), corrupted length fields,
 * v1 files (read, appended to in v2), and failed appends (no partial frame left, coded error, later appends work).
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  ftruncateSync,
  mkdtempSync,
  readFileSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import {
  encodeFrame,
  encodeFrameV1,
  Journal,
  type JournalIo,
  readJournal,
} from '../../../src/storage/journal.ts';
import { Prng } from '../../helpers/oracle/prng.ts';

const fresh = () => join(mkdtempSync(join(tmpdir(), 'holdfast-journal-')), 'journal.log');
const steps = (path: string) => readJournal<{ step: number }>(path).records.map((r) => r.step);

/** A journal file of `n` v2 records `{step: i, text}` (i = 1..n) and the offsets where each frame starts. */
function journalOf(n: number, text = 'row data'): { path: string; starts: number[]; bytes: Buffer } {
  const path = fresh();
  const frames = Array.from({ length: n }, (_, i) => encodeFrame({ step: i + 1, text }));
  const starts: number[] = [];
  let off = 0;
  for (const f of frames) {
    starts.push(off);
    off += f.length;
  }
  const bytes = Buffer.concat(frames);
  writeFileSync(path, bytes);
  return { path, starts, bytes };
}

function flipped(bytes: Buffer, at: number): Buffer {
  const b = Buffer.from(bytes);
  b[at] = (b[at] as number) ^ 0xff;
  return b;
}

function replayFailure(f: () => unknown): { message: string; details: Record<string, unknown> } {
  try {
    f();
  } catch (e) {
    assert.ok(isServiceError(e, 'ReplayFailure'), String(e));
    return { message: e.message, details: e.details };
  }
  return assert.fail('expected ReplayFailure');
}

test('records round-trip in order and survive reopening', () => {
  const path = fresh();
  const { journal, read } = Journal.open(path);
  assert.equal(read.records.length, 0);
  journal.append({ step: 1, text: 'a,b\n' }, { step: 2, text: 'ünïcødé 🚀' });
  journal.append({ step: 3 });
  journal.close();
  const again = Journal.open<{ step: number }>(path);
  assert.deepEqual(
    again.read.records.map((r) => r.step),
    [1, 2, 3],
  );
  assert.equal(again.read.tornBytes, 0);
  assert.equal(again.read.damage, null);
  again.journal.close();
});

test('a torn tail (any truncation point of the last frame) is cut off and never read as a record', () => {
  const path = fresh();
  const { journal } = Journal.open(path);
  journal.append({ step: 1 }, { step: 2 });
  journal.close();
  const full = readFileSync(path);
  const second = encodeFrame({ step: 2 }).length;
  for (let cut = full.length - second + 1; cut < full.length; cut++) {
    writeFileSync(path, full.subarray(0, cut));
    const r = readJournal<{ step: number }>(path);
    assert.deepEqual(
      r.records.map((x) => x.step),
      [1],
      `cut at ${cut}`,
    );
    assert.equal(r.damage, null, `cut at ${cut}`);
    assert.equal(r.tornBytes, cut - (full.length - second));
    assert.ok(r.torn !== null);
  }
  // reopening truncates the torn bytes; appends follow the last valid record
  const { journal: j2, read } = Journal.open<{ step: number }>(path);
  assert.equal(read.records.length, 1);
  assert.equal(statSync(path).size, full.length - second);
  j2.append({ step: 3 });
  j2.close();
  assert.deepEqual(steps(path), [1, 3]);
});

test('a zero-filled tail (file size persisted before its data) is torn', () => {
  const { path, bytes } = journalOf(2);
  for (const zeros of [3, 16, 17, 100]) {
    writeFileSync(path, Buffer.concat([bytes, Buffer.alloc(zeros)]));
    const r = readJournal(path);
    assert.equal(r.damage, null, `${zeros} zeros`);
    assert.equal(r.tornBytes, zeros);
    assert.equal(r.records.length, 2);
  }
});

test('damage at the head: any changed byte of the first frame fails loudly, names the offset and the 2 intact records after it, and changes nothing', () => {
  const { path, starts, bytes } = journalOf(3);
  for (let at = 0; at < (starts[1] as number); at++) {
    const damaged = flipped(bytes, at);
    writeFileSync(path, damaged);
    const r = readJournal(path);
    assert.equal(r.tornBytes, 0, `byte ${at}`);
    assert.equal(r.damage?.offset, 0, `byte ${at}`);
    assert.equal(r.damage?.laterRecords, 2, `byte ${at}`);
    const f = replayFailure(() => Journal.open(path));
    assert.equal(f.details.offset, 0);
    assert.equal(f.details.later_intact_records, 2);
    assert.equal(f.details.file, path);
    assert.match(f.message, /damaged at byte 0/);
    assert.match(f.message, /2 intact record\(s\) follow/);
    assert.match(f.message, /Nothing was truncated or deleted/);
    assert.ok(readFileSync(path).equals(damaged), `byte ${at}: the file was changed`);
  }
});

test('damage in the middle: reported at the frame, with the intact record after it', () => {
  const { path, starts, bytes } = journalOf(3);
  for (let at = starts[1] as number; at < (starts[2] as number); at++) {
    writeFileSync(path, flipped(bytes, at));
    const r = readJournal<{ step: number }>(path);
    assert.equal(r.damage?.offset, starts[1], `byte ${at}`);
    assert.equal(r.damage?.laterRecords, 1, `byte ${at}`);
    assert.deepEqual(
      r.records.map((x) => x.step),
      [1],
    );
  }
});

test('damage at the tail: a complete last frame whose bytes changed is damage (acknowledged), not torn', () => {
  const { path, starts, bytes } = journalOf(3);
  for (let at = starts[2] as number; at < bytes.length; at++) {
    writeFileSync(path, flipped(bytes, at));
    const r = readJournal(path);
    assert.equal(r.tornBytes, 0, `byte ${at}`);
    assert.equal(r.damage?.offset, starts[2], `byte ${at}`);
    assert.equal(r.damage?.laterRecords, 0, `byte ${at}`);
    const f = replayFailure(() => Journal.open(path));
    assert.match(f.message, /the frame is complete/);
  }
});

test('a corrupted length field in the middle does not swallow the rest of the file', () => {
  const { path, starts, bytes } = journalOf(4);
  for (const len of [0, 1, 5, 0xffff, 0xffffff, 0x7fffffff, 0xffffffff]) {
    const b = Buffer.from(bytes);
    b.writeUInt32LE(len, (starts[1] as number) + 4);
    writeFileSync(path, b);
    const r = readJournal(path);
    assert.equal(r.damage?.offset, starts[1], `len ${len}`);
    assert.equal(r.damage?.laterRecords, 2, `len ${len}`);
    assert.match(r.damage?.found ?? '', /header checksum/);
  }
});

test('randomised: any single changed byte is damage, any cut is torn at the right record (seed printed)', () => {
  const seed = Number(process.env.JOURNAL_SEED ?? Date.now() % 1_000_000);
  console.log(`journal property seed ${seed} (JOURNAL_SEED=${seed} to replay)`);
  const rng = new Prng(seed);
  for (let round = 0; round < 200; round++) {
    const n = rng.int(1, 6);
    const recs = Array.from({ length: n }, (_, i) => ({ step: i + 1, pad: 'x'.repeat(rng.int(0, 300)) }));
    const frames = recs.map(encodeFrame);
    const bytes = Buffer.concat(frames);
    const path = fresh();
    const at = rng.int(0, bytes.length - 1);
    writeFileSync(path, flipped(bytes, at));
    const r = readJournal(path);
    assert.ok(r.damage !== null, `seed ${seed} round ${round}: flip at ${at} not reported as damage`);
    assert.equal(r.tornBytes, 0);
    const cut = rng.int(0, bytes.length - 1);
    writeFileSync(path, bytes.subarray(0, cut));
    const c = readJournal(path);
    let whole = 0;
    let end = 0;
    for (const f of frames) {
      if (end + f.length > cut) break;
      end += f.length;
      whole++;
    }
    assert.equal(c.damage, null, `seed ${seed} round ${round}: cut at ${cut}`);
    assert.equal(c.records.length, whole);
    assert.equal(c.tornBytes, cut - end);
  }
});

test('v1 files (written by an older Holdfast) are read, and appended to in v2', () => {
  const path = fresh();
  writeFileSync(path, Buffer.concat([1, 2, 3].map((step) => encodeFrameV1({ step }))));
  assert.deepEqual(steps(path), [1, 2, 3]);
  const { journal, read } = Journal.open<{ step: number }>(path);
  assert.equal(read.records.length, 3);
  journal.append({ step: 4 });
  journal.close();
  assert.deepEqual(steps(path), [1, 2, 3, 4]);
  const b = readFileSync(path);
  const v1Bytes = [1, 2, 3].reduce((s, step) => s + encodeFrameV1({ step }).length, 0);
  assert.ok(b.subarray(v1Bytes).equals(encodeFrame({ step: 4 })), 'the appended frame is v2');
});

test('v1: a torn tail is cut; damage at the head, in the middle and at the tail fails loudly', () => {
  const frames = [1, 2, 3].map((step) => encodeFrameV1({ step, text: 'some row' }));
  const bytes = Buffer.concat(frames);
  const f0 = (frames[0] as Buffer).length;
  const f1 = (frames[1] as Buffer).length;
  const path = fresh();
  // torn: cut inside the last frame
  for (const cut of [bytes.length - 1, bytes.length - 10, f0 + f1 + 3]) {
    writeFileSync(path, bytes.subarray(0, cut));
    const r = readJournal(path);
    assert.equal(r.damage, null, `cut ${cut}`);
    assert.equal(r.records.length, 2);
    assert.equal(r.tornBytes, cut - f0 - f1);
  }
  // damage anywhere in the first two frames: the later v1 frames are found again
  for (let at = 0; at < f0 + f1; at++) {
    writeFileSync(path, flipped(bytes, at));
    const r = readJournal(path);
    const first = at < f0;
    assert.equal(r.damage?.offset, first ? 0 : f0, `byte ${at}`);
    assert.equal(r.damage?.laterRecords, first ? 2 : 1, `byte ${at}`);
    assert.equal(r.damage?.format, 1);
  }
  // the last frame's checksum or payload changed: complete, so damage (its length, when it no longer fits,
  // makes it look torn: v1 frames carry no header checksum)
  for (let at = f0 + f1 + 4; at < bytes.length; at++) {
    writeFileSync(path, flipped(bytes, at));
    assert.equal(readJournal(path).damage?.offset, f0 + f1, `byte ${at}`);
  }
  // an impossible length is damage
  const b = Buffer.from(bytes);
  b.writeUInt32LE(0xfffffff0, f0 + f1);
  writeFileSync(path, b);
  assert.match(readJournal(path).damage?.found ?? '', /impossible length/);
});

/** A JournalIo over the real calls with failures injected by the test. */
function faultyIo(): JournalIo & {
  failWrite: string | null;
  partial: boolean;
  failSync: boolean;
  failTruncate: number;
  zero: boolean;
} {
  const real: JournalIo = {
    write: (fd, buf, off, len, pos) => writeSync(fd, buf, off, len, pos),
    fdatasync: () => {},
    truncate: (fd, length) => ftruncateSync(fd, length),
  };
  const io = {
    failWrite: null as string | null,
    partial: false,
    failSync: false,
    failTruncate: 0,
    zero: false,
    write(fd: number, buf: Buffer, off: number, len: number, pos: number): number {
      if (io.zero) return 0;
      if (io.failWrite !== null) {
        if (io.partial && len > 5) {
          // part of the frame reaches the file, then the disk is full
          io.partial = false;
          return real.write(fd, buf, off, Math.floor(len / 2), pos);
        }
        throw Object.assign(new Error(`${io.failWrite}: injected`), { code: io.failWrite });
      }
      return real.write(fd, buf, off, len, pos);
    },
    fdatasync(fd: number): void {
      if (io.failSync) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      real.fdatasync(fd);
    },
    truncate(fd: number, length: number): void {
      if (io.failTruncate > 0) {
        io.failTruncate--;
        throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
      }
      real.truncate(fd, length);
    },
  };
  return io;
}

test('a failed append leaves no partial frame, throws a coded error, and a later append works', () => {
  const path = fresh();
  const io = faultyIo();
  const { journal } = Journal.open(path, { io });
  journal.append({ step: 1 });
  const good = statSync(path).size;
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      return isServiceError(e) ? `${e.errorCode}: ${e.message}` : String(e);
    }
    return 'no error';
  };
  // disk full after part of the frame was written
  io.failWrite = 'ENOSPC';
  io.partial = true;
  assert.match(
    code(() => journal.append({ step: 2, text: 'x'.repeat(100) })),
    /^StorageFull: .*is full \(ENOSPC\); the partial record was removed/,
  );
  assert.equal(statSync(path).size, good);
  assert.equal(readJournal(path).tornBytes, 0);
  io.failWrite = 'EDQUOT';
  assert.match(
    code(() => journal.append({ step: 2 })),
    /^StorageFull/,
  );
  // another write error
  io.failWrite = 'EIO';
  io.partial = true;
  assert.match(
    code(() => journal.append({ step: 2, text: 'y'.repeat(100) })),
    /^JournalWriteFailed: .*EIO/,
  );
  assert.equal(statSync(path).size, good);
  io.failWrite = null;
  // a write that makes no progress
  io.zero = true;
  assert.match(
    code(() => journal.append({ step: 2 })),
    /^JournalWriteFailed: .*short write/,
  );
  io.zero = false;
  // the data was written but could not be made durable: removed too
  io.failSync = true;
  assert.match(
    code(() => journal.append({ step: 2 })),
    /^JournalWriteFailed: .*fdatasync/,
  );
  io.failSync = false;
  assert.equal(statSync(path).size, good);
  // space freed: appends continue right after the last good record
  journal.append({ step: 2 });
  assert.deepEqual(steps(path), [1, 2]);
  // the rollback itself fails once: the next append retries it first, then succeeds
  const before = statSync(path).size;
  io.failWrite = 'ENOSPC';
  io.partial = true;
  io.failTruncate = 1;
  assert.match(
    code(() => journal.append({ step: 3, text: 'z'.repeat(100) })),
    /could not be removed yet/,
  );
  assert.ok(statSync(path).size > before, 'the partial frame is still there');
  io.failWrite = null;
  journal.append({ step: 3 });
  journal.close();
  assert.deepEqual(steps(path), [1, 2, 3]);
  assert.equal(readJournal(path).tornBytes, 0);
  appendFileSync(path, Buffer.from([1, 2, 3]));
  assert.equal(readJournal(path).tornBytes, 3);
});
