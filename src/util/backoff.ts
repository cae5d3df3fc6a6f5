/**
 * Small timing helpers: an abortable `sleep` and the polling backoff Feldera's SDK uses for completion tokens
 * (0.1 s × 1.2^n, capped at 5 s). Pure leaf module: no imports from the rest of the project.
 */

/** Resolves after `ms` milliseconds; rejects with the signal's reason if `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface ExponentialBackoff {
  /** First delay in milliseconds. */
  readonly initialMs: number;
  /** Growth factor per attempt. */
  readonly factor: number;
  /** Upper bound of a single delay in milliseconds. */
  readonly maxMs: number;
}

/** Feldera's completion-status polling backoff: 100 ms × 1.2^n, at most 5 s. */
export const COMPLETION_BACKOFF: ExponentialBackoff = { initialMs: 100, factor: 1.2, maxMs: 5000 };

/** The delay before poll number `attempt` (0-based). */
export function backoffDelay(attempt: number, backoff: ExponentialBackoff = COMPLETION_BACKOFF): number {
  return Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** Math.max(0, attempt));
}
