/**
 * Measured resource figures for `/stats` `global_metrics`: memory pressure from the V8 heap, and the size of the
 * pipeline's storage directory over time.
 *
 * - `memory_pressure`: the heap in use as a share of V8's heap limit (`--max-old-space-size` or its default):
 *   below 50 % `low`, below 75 % `moderate`, below 90 % `high`, else `critical` (Feldera's four levels). The
 *   epoch counts the changes of level since the process started.
 * - `storage_bytes`: the bytes of every file under the storage directory (checkpoints, journal, spool), walked
 *   at most once every {@link STORAGE_SCAN_MS} (a `/stats` poll never walks a large directory each time);
 *   `storage_mb_secs` integrates it over the process's lifetime (MiB × seconds, as Feldera bills it). Without
 *   storage both are 0: the pipeline stores nothing.
 *
 * State: the last level and epoch; the last scan's size and time; the running integral. Errors reading the
 * directory (a file removed while walking it) leave the previous size in place.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import type { MemoryPressure } from '../types/pipeline-api.ts';

export const STORAGE_SCAN_MS = 5_000;

export class ResourceMeters {
  readonly #storageDir: string | null;
  #level: MemoryPressure | null = null;
  #epoch = 0;
  #bytes = 0;
  #scannedAt = 0;
  #mbSecs = 0;

  constructor(storageDir: string | null) {
    this.#storageDir = storageDir;
  }

  /** The heap's pressure level now, and how many times it changed level. */
  memoryPressure(): { memory_pressure: MemoryPressure; memory_pressure_epoch: number } {
    const h = getHeapStatistics();
    const used = h.used_heap_size / h.heap_size_limit;
    const level: MemoryPressure =
      used < 0.5 ? 'low' : used < 0.75 ? 'moderate' : used < 0.9 ? 'high' : 'critical';
    if (this.#level !== null && level !== this.#level) this.#epoch++;
    this.#level = level;
    return { memory_pressure: level, memory_pressure_epoch: this.#epoch };
  }

  /** The storage directory's size (rescanned when older than {@link STORAGE_SCAN_MS}) and its integral. */
  storage(now = Date.now()): { storage_bytes: number; storage_mb_secs: number } {
    if (this.#storageDir === null) return { storage_bytes: 0, storage_mb_secs: 0 };
    if (this.#scannedAt === 0 || now - this.#scannedAt >= STORAGE_SCAN_MS) {
      if (this.#scannedAt !== 0) this.#mbSecs += (this.#bytes / 1048576) * ((now - this.#scannedAt) / 1000);
      this.#bytes = sizeOf(this.#storageDir) ?? this.#bytes;
      this.#scannedAt = now;
    }
    return { storage_bytes: this.#bytes, storage_mb_secs: Math.round(this.#mbSecs) };
  }
}

/** Total bytes of the files under `dir` (null when it cannot be read at all). */
function sizeOf(dir: string): number | null {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  for (const n of names) {
    const p = join(dir, n);
    try {
      const st = statSync(p);
      total += st.isDirectory() ? (sizeOf(p) ?? 0) : st.size;
    } catch {
      // removed while walking: not counted
    }
  }
  return total;
}
