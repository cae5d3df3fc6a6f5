/**
 * Credentials written into a URL (`http://user:pass@host:9000`, `https://token@host`) are accepted wherever a
 * URL is configured (the sync `endpoint`, connector URLs) but never displayed: every place that shows a URL
 * from config (API responses, `/stats`, `/status`, log lines, error messages, CLI output) passes it through
 * {@link redactUrlCredentials}. The user name stays visible when a password follows it (`user:<redacted>@`);
 * a lone userinfo (often a token) is hidden whole (`<redacted>@`).
 *
 * Stateless. Invariant: the output never contains the password (or lone userinfo) of a URL in the input.
 */

/** What replaces a hidden secret. */
export const REDACTED_SECRET = '<redacted>';

// scheme "://" then the authority: everything up to the first "/", "?", "#", whitespace, quote or backslash
const URL_AUTHORITY = /([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#\s"'`<>\\]*)/g;

/** Replaces the userinfo secret of every URL in `text`. */
export function redactUrlCredentials(text: string): string {
  if (!text.includes('@')) return text;
  return text.replace(URL_AUTHORITY, (whole, scheme: string, authority: string) => {
    const at = authority.lastIndexOf('@');
    if (at < 0) return whole;
    const userinfo = authority.slice(0, at);
    if (userinfo === REDACTED_SECRET || userinfo.endsWith(`:${REDACTED_SECRET}`)) return whole;
    const colon = userinfo.indexOf(':');
    const shown = colon < 0 ? REDACTED_SECRET : `${userinfo.slice(0, colon)}:${REDACTED_SECRET}`;
    return `${scheme}${shown}${authority.slice(at)}`;
  });
}

/** {@link redactUrlCredentials} applied to every string (keys included) of a JSON-like value. */
export function redactUrlCredentialsDeep<T>(value: T): T {
  return walk(value) as T;
}

function walk(v: unknown): unknown {
  if (typeof v === 'string') return redactUrlCredentials(v);
  if (Array.isArray(v)) return v.map(walk);
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[redactUrlCredentials(k)] = walk(x);
    return out;
  }
  return v;
}
