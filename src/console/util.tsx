/**
 * Console plumbing shared by the pages: the SDK client of the session (context), the hash router, a polling
 * hook, error text and number/time formatting. Talks to the server only through `@holdfast/client`.
 *
 * State: none of its own beyond what each hook instance holds (the poll's last answer and error).
 */
import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import { type HoldfastClient, isApiError, isClientError } from '../client/index.ts';

export interface Session {
  readonly client: HoldfastClient;
  /** A request was answered 401: show the login form again. */
  readonly unauthorized: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (s === null) throw new Error('no session');
  return s;
}

/** The hash route split into decoded segments: `#/p/orders/query` → `['p', 'orders', 'query']`. */
export function useRoute(): string[] {
  const read = () =>
    location.hash
      .replace(/^#\/?/, '')
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export const pipelineHref = (name: string, tab?: string): string =>
  `#/p/${encodeURIComponent(name)}${tab ? `/${tab}` : ''}`;

export interface Poll<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  /** Polls again now. */
  readonly refresh: () => void;
}

/**
 * Calls `fn` now and then every `ms` after each answer (never two at once), until the component goes away or
 * `deps` change; a 401 sends the user back to the login form.
 */
export function usePoll<T>(fn: (signal: AbortSignal) => Promise<T>, ms: number, deps: unknown[]): Poll<T> {
  const session = useSession();
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    let stopped = false;
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const d = await fnRef.current(ac.signal);
        if (stopped) return;
        setData(d);
        setError(null);
      } catch (e) {
        if (stopped) return;
        if (isApiError(e) && e.status === 401) session.unauthorized();
        setError(e);
      }
      if (!stopped) timer = setTimeout(run, ms);
    };
    void run();
    return () => {
      stopped = true;
      ac.abort();
      clearTimeout(timer);
    };
  }, [...deps, tick, ms]);
  return { data, error, refresh: () => setTick((t) => t + 1) };
}

/** The text shown for an error: the API's code and message, or the client's. */
export function errorText(e: unknown): string {
  if (isApiError(e)) return `${e.errorCode}: ${e.message}`;
  if (isClientError(e)) return `${e.errorCode}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

export function fmtNumber(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** `95 s`, `4 min 10 s`, `2 h 5 min`. */
export function fmtAge(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString('en-GB');
}

/** Runs an action, reporting its error (or clearing the previous one) through `setError`. */
export async function attempt(
  setError: (e: string | null) => void,
  action: () => Promise<unknown>,
): Promise<boolean> {
  try {
    setError(null);
    await action();
    return true;
  } catch (e) {
    setError(errorText(e));
    return false;
  }
}

/** A status badge: its text is the status itself (colour is only a second cue). */
export function Badge({ status }: { status: string | null | undefined }) {
  const s = status ?? '—';
  return <span class={`badge badge-${s.toLowerCase()}`}>{s}</span>;
}
