/**
 * UUID version 7 (RFC 9562): 48-bit Unix milliseconds, then a 12-bit counter (`rand_a`, RFC 9562 §6.2 method 1),
 * then 62 random bits. Generated ids sort (as lowercase strings) in creation order within this process: within a
 * millisecond the counter increments; when it overflows, or when the clock goes backwards, the timestamp is
 * advanced past the last one used.
 */
import { randomBytes } from 'node:crypto';

let lastMs = -1;
let counter = 0;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUuid(s: unknown): s is string {
  return typeof s === 'string' && UUID_RE.test(s);
}

/** A new time-ordered UUID v7 (`now` in ms is injectable for tests). */
export function uuidV7(now: number = Date.now()): string {
  let ms = Math.floor(now);
  if (ms > lastMs) {
    lastMs = ms;
    counter = randomBytes(2).readUInt16BE(0) & 0x7ff; // leave half the counter space for increments
  } else {
    ms = lastMs;
    counter++;
    if (counter > 0xfff) {
      lastMs = ms = lastMs + 1;
      counter = 0;
    }
  }
  const b = randomBytes(16);
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | (counter >> 8);
  b[7] = counter & 0xff;
  b[8] = 0x80 | ((b[8] as number) & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The creation time (Unix ms) encoded in a UUID v7. */
export function uuidV7Time(uuid: string): number {
  return Number.parseInt(uuid.slice(0, 8) + uuid.slice(9, 13), 16);
}
