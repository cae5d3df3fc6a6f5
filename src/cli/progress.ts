/**
 * Progress display for `holdfast pipeline sync NAME --wait`: a redrawn bar on a terminal
 * (`[##########----------] 45% 12.3/27.4 MiB 8.1 MiB/s 3/7 files`), or, when stderr is a file or a pipe, a
 * plain line at most every 2 s so logs stay readable. The percentage and the bar round down, so 100% (a full
 * bar) means every byte was uploaded.
 */
import type { SyncProgress } from '../types/pipeline-api.ts';

const MIB = 1024 * 1024;

/** Bytes as MiB with one decimal (`12.3`). */
export function mib(bytes: number): string {
  return (Math.max(0, bytes) / MIB).toFixed(1);
}

/**
 * How far the push is, 0..1: by bytes, or by files when the files to upload are all empty. Never 1 before
 * the last byte (or file) is done: nothing to upload yet (0 of 0) is 0, and 99.9% shows as 99%.
 */
export function syncFraction(p: SyncProgress): number {
  const f =
    p.bytes_total > 0 ? p.bytes_done / p.bytes_total : p.files_total > 0 ? p.files_done / p.files_total : 0;
  return Math.min(1, Math.max(0, Number.isFinite(f) ? f : 0));
}

/** `45% 12.3/27.4 MiB 8.1 MiB/s 3/7 files`. */
export function syncProgressText(p: SyncProgress): string {
  const pct = Math.floor(syncFraction(p) * 100);
  return `${pct}% ${mib(p.bytes_done)}/${mib(p.bytes_total)} MiB ${mib(p.bytes_per_second)} MiB/s ${p.files_done}/${p.files_total} files`;
}

/** `[#########-----------] 45% 12.3/27.4 MiB 8.1 MiB/s 3/7 files`. */
export function syncProgressBar(p: SyncProgress, width = 20): string {
  const filled = Math.min(width, Math.floor(syncFraction(p) * width));
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${syncProgressText(p)}`;
}

export interface SyncProgressReporterOptions {
  /** Pipeline name, for the plain progress lines. */
  readonly name: string;
  /** Draw a bar (stderr is a terminal) rather than plain lines. */
  readonly tty: boolean;
  /** Raw stderr writer (no newline added): the bar. */
  readonly write: (s: string) => void;
  /** stderr line writer: the plain progress lines. */
  readonly line: (s: string) => void;
  readonly now?: () => number;
  /** Least time between two plain lines (default 2000 ms). */
  readonly plainIntervalMs?: number;
}

export class SyncProgressReporter {
  readonly #o: SyncProgressReporterOptions;
  #drawn = false;
  #lastPlainAt = Number.NEGATIVE_INFINITY;
  /** The newest progress seen for the checkpoint being synced. */
  last: SyncProgress | null = null;

  constructor(options: SyncProgressReporterOptions) {
    this.#o = options;
  }

  /** One observation: the push of `uuid`, or null while it has not started (or already finished). */
  update(uuid: string, progress: SyncProgress | null): void {
    if (progress !== null) this.last = progress;
    if (this.#o.tty) {
      if (progress !== null) this.#draw(syncProgressBar(progress));
      else if (!this.#drawn) this.#draw(`syncing checkpoint ${uuid}: waiting for the push to start`);
      return;
    }
    if (progress === null) return;
    const now = (this.#o.now ?? Date.now)();
    if (now - this.#lastPlainAt < (this.#o.plainIntervalMs ?? 2000)) return;
    this.#lastPlainAt = now;
    this.#o.line(`${this.#o.name}: syncing checkpoint ${uuid}: ${syncProgressText(progress)}`);
  }

  /** Erases the bar (before the final message or an error). */
  clear(): void {
    if (!this.#drawn) return;
    this.#o.write('\r\x1b[K');
    this.#drawn = false;
  }

  #draw(text: string): void {
    this.#o.write(`\r${text}\x1b[K`);
    this.#drawn = true;
  }
}
