/**
 * Time zones for `CONVERT_TIMEZONE(source, target, ts)`: a TIMESTAMP (no time zone, µs) read as wall-clock time
 * in one IANA zone and rewritten as the wall-clock time of the same instant in another.
 *
 * Zone rules come from the ICU data bundled with Node (`Intl.DateTimeFormat`), so the result depends only on the
 * arguments and the Node version the project pins: the same on every replica and on replay. Accepted names are
 * the names of the IANA time-zone database (what Feldera's Rust runtime reads too): `Area/Location` names ICU
 * knows (`America/New_York`, `Etc/GMT+5`, the database's old links such as `US/Pacific`) and its few names
 * without a slash (`UTC`, `GMT`, `EST5EDT`, `CET`, ...), matched case-insensitively. Abbreviations that are not
 * database names (`PST`, `CEST`, which ICU would also take) and numeric offsets (`+05:30`: Postgres reads `+05` as
 * five hours WEST of Greenwich, ICU as east) are refused, so a name means the same zone everywhere.
 *
 * Wall-clock times that do not exist or exist twice in the source zone (a daylight-saving gap or overlap) are
 * resolved as Postgres's `ts AT TIME ZONE zone` does: a time in a gap is read with the offset in force just
 * before the transition (so 02:30 on a spring-forward night in New York is 07:30 UTC, shown as 03:30 EDT), and a
 * time in an overlap is the later instant (standard time).
 */
import { ServiceError } from '../../errors/service-error.ts';

const MS_PER_DAY = 86_400_000;
/** Date's range: ±8.64e15 ms. A timestamp outside it (beyond year ±275760) cannot be converted. */
const MS_LIMIT = 8.64e15;

/** The IANA database's zone names without a slash (its `Area/Location` names are recognised by the slash). */
const SLASHLESS = new Set(
  'utc uct gmt gmt0 gmt+0 gmt-0 greenwich universal zulu est mst hst cet met eet wet est5edt cst6cdt mst7mdt pst8pdt'.split(
    ' ',
  ),
);

const formatters = new Map<string, Intl.DateTimeFormat | null>();

/** The formatter of a zone name, or null if ICU does not know it (cached either way). */
function formatter(zone: string): Intl.DateTimeFormat | null {
  const key = zone.toLowerCase();
  let f = formatters.get(key);
  if (f !== undefined) return f;
  f = null;
  if (/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)+$/.test(zone) || SLASHLESS.has(key)) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        era: 'short',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      f = null;
    }
  }
  formatters.set(key, f);
  return f;
}

/** True if `zone` names a time zone CONVERT_TIMEZONE accepts. */
export function isKnownTimeZone(zone: string): boolean {
  return formatter(zone) !== null;
}

const scratch = new Date(0);

const MS_PER_HOUR = 3_600_000;
/**
 * Per zone: hour (ms / 1 h, floored) → the offset throughout that hour, NaN when it changes inside it, or
 * +Infinity for an hour visited once.
 */
const hourOffsets = new Map<Intl.DateTimeFormat, Map<number, number>>();
const HOURS_KEPT = 4096;

/**
 * The zone's UTC offset (ms, east positive) at instant `ms`. Offsets are remembered per hour: when the offset at
 * an hour's first and last second agree, it holds for the whole hour (a zone never changes its offset and changes
 * it back within an hour), so rows of a stream, which cluster in time, mostly skip ICU.
 */
function offsetAt(f: Intl.DateTimeFormat, ms: number): number {
  let hours = hourOffsets.get(f);
  if (hours === undefined) {
    hours = new Map();
    hourOffsets.set(f, hours);
  }
  const h = Math.floor(ms / MS_PER_HOUR);
  const o = hours.get(h);
  if (o === undefined) {
    // the first visit of an hour only marks it (a lone timestamp costs one ICU call, as without the memo)
    if (hours.size >= HOURS_KEPT) hours.clear();
    hours.set(h, Number.POSITIVE_INFINITY);
    return icuOffsetAt(f, ms);
  }
  if (o === Number.POSITIVE_INFINITY) {
    // the second settles the hour's offset
    const first = icuOffsetAt(f, h * MS_PER_HOUR);
    const same = first === icuOffsetAt(f, (h + 1) * MS_PER_HOUR - 1000);
    hours.set(h, same ? first : Number.NaN);
    return same ? first : icuOffsetAt(f, ms);
  }
  return Number.isNaN(o) ? icuOffsetAt(f, ms) : o;
}

/** The zone's UTC offset (ms, east positive) at instant `ms` (ms since the epoch, UTC), from ICU. */
function icuOffsetAt(f: Intl.DateTimeFormat, ms: number): number {
  let y = 0;
  let mo = 0;
  let d = 0;
  let h = 0;
  let mi = 0;
  let s = 0;
  let bc = false;
  for (const p of f.formatToParts(ms)) {
    switch (p.type) {
      case 'year':
        y = Number(p.value);
        break;
      case 'month':
        mo = Number(p.value);
        break;
      case 'day':
        d = Number(p.value);
        break;
      case 'hour':
        h = Number(p.value);
        break;
      case 'minute':
        mi = Number(p.value);
        break;
      case 'second':
        s = Number(p.value);
        break;
      case 'era':
        bc = p.value.startsWith('B');
        break;
    }
  }
  scratch.setTime(0);
  scratch.setUTCFullYear(bc ? 1 - y : y, mo - 1, d);
  scratch.setUTCHours(h, mi, s, 0);
  const whole = ms - (((ms % 1000) + 1000) % 1000);
  return scratch.getTime() - whole;
}

function zoneOf(zone: string): Intl.DateTimeFormat {
  const f = formatter(zone);
  if (f === null) throw new ServiceError('SqlRuntimeError', `time zone "${zone}" not recognized`);
  return f;
}

/** The instant (ms since the epoch, UTC) of wall-clock time `wall` (ms, read as if UTC) in the zone. */
function instantOf(f: Intl.DateTimeFormat, wall: number): number {
  const before = offsetAt(f, wall - MS_PER_DAY);
  const after = offsetAt(f, wall + MS_PER_DAY);
  const t1 = wall - before;
  const t2 = wall - after;
  const ok1 = offsetAt(f, t1) === before;
  const ok2 = t2 !== t1 && offsetAt(f, t2) === after;
  if (ok1 && ok2) return Math.max(t1, t2); // an overlap: the later instant
  if (ok2) return t2;
  if (ok1) return t1;
  // neither offset reproduces the wall time: a gap; read it with the offset in force before the transition
  return t1;
}

/**
 * CONVERT_TIMEZONE: the wall-clock time (µs, no zone) in zone `to` of the instant whose wall-clock time in zone
 * `from` is `ts`. Throws SqlRuntimeError for an unknown zone or a timestamp outside Date's range.
 */
export function convertTimeZone(from: string, to: string, ts: number): number {
  const src = zoneOf(from);
  const dst = zoneOf(to);
  const ms = Math.floor(ts / 1000);
  const sub = ts - ms * 1000;
  if (Math.abs(ms) > MS_LIMIT - 2 * MS_PER_DAY)
    throw new ServiceError('SqlRuntimeError', 'timestamp out of range for CONVERT_TIMEZONE');
  const instant = instantOf(src, ms);
  return (instant + offsetAt(dst, instant)) * 1000 + sub;
}
