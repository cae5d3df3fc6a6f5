/**
 * SQL string functions with PostgreSQL semantics: LIKE, SUBSTRING, TRIM, POSITION, CHAR_LENGTH, UPPER/LOWER,
 * concatenation and CHAR(n)/VARCHAR(n) length coercion.
 *
 * Invariants: positions and lengths count Unicode code points (Postgres counts characters of its UTF-8
 * database), never UTF-16 code units; strings without surrogates take fast paths that never split them.
 * UPPER/LOWER apply each code point's one-to-one case mapping (what Postgres's libc `towupper`/`towlower` do):
 * JS's full mappings that change the length are not applied (`ﬀ` stays `ﬀ`; `ß` uppercases to `ẞ` and `İ`
 * lowercases to `i`, as in PGlite).
 */
import { ServiceError } from '../../errors/service-error.ts';
import type { ErrorCode } from '../../types/error-codes.ts';

const SURROGATE = /[\uD800-\uDFFF]/;

function runtime(message: string, details: Record<string, unknown> = {}): ServiceError {
  return new ServiceError('SqlRuntimeError', message, details);
}

/** Number of code points. */
export function charLength(s: string): number {
  const n = s.length;
  let count = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        count--;
        i++;
      }
    }
  }
  return count;
}

/** UTF-16 offset of the code point with index `cp` (clamped to the string length). */
function offsetOfCodePoint(s: string, cp: number): number {
  const n = s.length;
  let i = 0;
  while (cp > 0 && i < n) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
    cp--;
  }
  return i;
}

/** First `n` code points of s. */
function takeCodePoints(s: string, n: number): string {
  if (!SURROGATE.test(s)) return s.slice(0, n);
  return s.slice(0, offsetOfCodePoint(s, n));
}

/**
 * Postgres substring(s FROM start [FOR len]): 1-based; characters before position 1 count against `len`;
 * negative `len` is an error.
 */
export function substring(s: string, start: number, len?: number): string {
  let end = Infinity; // 1-based exclusive
  if (len !== undefined) {
    if (len < 0) throw runtime('negative substring length not allowed');
    end = start + len;
    if (end <= 1) return '';
  }
  const from = start > 1 ? start - 1 : 0;
  const to = end - 1;
  if (!SURROGATE.test(s)) return s.slice(from, to);
  const a = offsetOfCodePoint(s, from);
  if (to === Infinity) return s.slice(a);
  return s.slice(a, a + offsetOfCodePoint(s.slice(a), to - from));
}

export type TrimMode = 'both' | 'leading' | 'trailing';

/** Postgres trim/btrim/ltrim/rtrim: removes any of the code points in `chars` from the chosen ends. */
export function trim(s: string, mode: TrimMode = 'both', chars = ' '): string {
  let start = 0;
  let end = s.length;
  if (chars.length === 1) {
    const c = chars.charCodeAt(0);
    if (mode !== 'trailing') while (start < end && s.charCodeAt(start) === c) start++;
    if (mode !== 'leading') while (end > start && s.charCodeAt(end - 1) === c) end--;
    return start === 0 && end === s.length ? s : s.slice(start, end);
  }
  if (chars.length === 0) return s;
  const set = new Set<number>();
  for (const ch of chars) set.add(ch.codePointAt(0) as number);
  if (mode !== 'trailing') {
    while (start < end) {
      const cp = s.codePointAt(start) as number;
      if (!set.has(cp)) break;
      start += cp > 0xffff ? 2 : 1;
    }
  }
  if (mode !== 'leading') {
    while (end > start) {
      const lo = s.charCodeAt(end - 1);
      let w = 1;
      let cp = lo;
      if ((lo & 0xfc00) === 0xdc00 && end - 2 >= start && (s.charCodeAt(end - 2) & 0xfc00) === 0xd800) {
        cp = s.codePointAt(end - 2) as number;
        w = 2;
      }
      if (!set.has(cp)) break;
      end -= w;
    }
  }
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** Postgres position(needle IN haystack): 1-based code point index, 0 when absent, 1 for an empty needle. */
export function position(needle: string, haystack: string): number {
  const idx = haystack.indexOf(needle);
  if (idx < 0) return 0;
  if (idx === 0) return 1;
  return charLength(haystack.slice(0, idx)) + 1;
}

export function concat(a: string, b: string): string {
  return a + b;
}

const NON_ASCII = /[\u0080-\uffff]/;

function mapCodePoints(s: string, upperCase: boolean): string {
  let out = '';
  for (const ch of s) {
    let m: string;
    if (upperCase) m = ch === 'ß' ? 'ẞ' : ch.toUpperCase();
    else m = ch === 'İ' ? 'i' : ch.toLowerCase();
    out += m.length === ch.length ? m : ch;
  }
  return out;
}

export function upper(s: string): string {
  return NON_ASCII.test(s) ? mapCodePoints(s, true) : s.toUpperCase();
}

export function lower(s: string): string {
  return NON_ASCII.test(s) ? mapCodePoints(s, false) : s.toLowerCase();
}

/** CHAR(n) → text: Postgres drops trailing spaces. */
export function rtrimSpaces(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 32) end--;
  return end === s.length ? s : s.slice(0, end);
}

/**
 * Fits a string to CHAR(length)/VARCHAR(length) (length null = unbounded, nothing to do). Too long: an explicit
 * CAST truncates; an assignment truncates only when the excess is all spaces, else throws 'value too long for
 * type character varying(n)' (or 'character(n)'). CHAR pads with spaces to the length.
 */
export function coerceToLength(
  s: string,
  kind: 'CHAR' | 'VARCHAR',
  length: number | null | undefined,
  explicitCast: boolean,
  code: ErrorCode = 'SqlRuntimeError',
): string {
  if (length == null) return s;
  let len = s.length;
  if (len > length) {
    len = charLength(s);
    if (len > length) {
      const head = takeCodePoints(s, length);
      if (!explicitCast) {
        for (let i = head.length; i < s.length; i++) {
          if (s.charCodeAt(i) !== 32) {
            const type = kind === 'CHAR' ? `character(${length})` : `character varying(${length})`;
            throw new ServiceError(code, `value too long for type ${type}`, { value: s });
          }
        }
      }
      s = head;
      len = length;
    }
  }
  if (kind === 'CHAR' && len < length) {
    len = charLength(s);
    if (len < length) s += ' '.repeat(length - len);
  }
  return s;
}

// ---------------------------------------------------------------- LIKE

type Piece = string | 0 | 1; // literal text | '%' (0) | '_' (1)

function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

function toRegExpSource(pieces: readonly Piece[]): string {
  let src = '';
  for (const p of pieces) src += p === 0 ? '[^]*' : p === 1 ? '.' : escapeRegExp(p);
  return src;
}

function buildLike(pattern: string, escapeChar: string): (s: string) => boolean {
  const esc = escapeChar === '' ? -1 : (escapeChar.codePointAt(0) as number);
  const pieces: Piece[] = [];
  let lit = '';
  let hasUnderscore = false;
  let danglingEscape = false;
  const cps = Array.from(pattern);
  for (let i = 0; i < cps.length; i++) {
    const ch = cps[i] as string;
    if (ch.codePointAt(0) === esc) {
      if (i + 1 >= cps.length) {
        danglingEscape = true;
        break;
      }
      lit += cps[++i] as string;
    } else if (ch === '%' || ch === '_') {
      if (lit !== '') pieces.push(lit);
      lit = '';
      if (ch === '_') {
        pieces.push(1);
        hasUnderscore = true;
      } else if (pieces[pieces.length - 1] !== 0) pieces.push(0);
    } else lit += ch;
  }
  if (lit !== '') pieces.push(lit);

  if (danglingEscape) {
    // Postgres fails only once matching reaches the dangling escape with text left over; otherwise no match.
    const prefix = new RegExp(`^${toRegExpSource(pieces)}.`, 'su');
    return (s) => {
      if (prefix.test(s)) throw runtime('LIKE pattern must not end with escape character');
      return false;
    };
  }
  if (!hasUnderscore) {
    const n = pieces.length;
    if (n === 0) return (s) => s === '';
    if (n === 1) {
      const p = pieces[0] as Piece;
      if (p === 0) return () => true;
      return (s) => s === p;
    }
    if (n === 2) {
      const [a, b] = pieces;
      if (a === 0 && typeof b === 'string') return (s) => s.endsWith(b);
      if (b === 0 && typeof a === 'string') return (s) => s.startsWith(a);
    }
    if (n === 3 && pieces[0] === 0 && pieces[2] === 0) {
      const mid = pieces[1] as string;
      return (s) => s.includes(mid);
    }
  }
  const re = new RegExp(`^${toRegExpSource(pieces)}$`, 'su');
  return (s) => re.test(s);
}

const LIKE_CACHE_LIMIT = 512;
const likeCache = new Map<string, (s: string) => boolean>();

/**
 * Compiles `s LIKE pattern ESCAPE escapeChar` (Postgres semantics: `%` any sequence, `_` one character, whole-string,
 * case-sensitive; escape '' disables escaping; an escape of more than one character is an error). Compiled
 * predicates are cached (bounded, oldest evicted first).
 */
export function compileLike(pattern: string, escapeChar = '\\'): (s: string) => boolean {
  const key = `${escapeChar}\u0000${pattern}`;
  let fn = likeCache.get(key);
  if (fn !== undefined) return fn;
  if (charLength(escapeChar) > 1) {
    throw runtime('invalid escape string', { hint: 'Escape string must be empty or one character.' });
  }
  fn = buildLike(pattern, escapeChar);
  if (likeCache.size >= LIKE_CACHE_LIMIT) likeCache.delete(likeCache.keys().next().value as string);
  likeCache.set(key, fn);
  return fn;
}

/** One-shot LIKE through the cache. */
export function like(s: string, pattern: string, escapeChar = '\\'): boolean {
  return compileLike(pattern, escapeChar)(s);
}
