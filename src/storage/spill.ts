/**
 * Turns on state beyond memory for this process: trace batches of at least `min_storage_bytes` are written to
 * batch files (segment format v5, `zset/batch-file.ts`) under the storage directory's `spill/` and read back by
 * blocks through a block cache of `cache_mib`. The object-table codec of those files is the segment codec
 * (`segment.ts`), with the pipeline's object-value codecs.
 *
 * State: the process-wide spill setting of `zset/batch-file.ts` (one pipeline per process). Enabling empties the
 * spill directory (files of an earlier process: a checkpoint holds its own links to the files it lists).
 * A sealed batch's file is written in the background (`zset/spill-writer.ts`); merges into files stay on the step.
 */
import { type FileLayout, type SpillConfig, setSpillConfig } from '../zset/batch-file.ts';
import { decodeObjectTable, encodeObjectTable, type ObjectValueCodec } from './segment.ts';

export interface SpillOptions {
  /** `min_storage_bytes`. */
  readonly minStorageBytes: number;
  /** `cache_mib` (null: 256). */
  readonly cacheMib: number | null;
  /** `compression`: "none" stores blocks raw; "default" and "snappy" compress each block (zstd, fast level). */
  readonly compression: 'default' | 'none' | 'snappy';
}

/** Spills trace batches to `dir` from now on (see the module header); returns the setting. */
export function enableSpill(dir: string, o: SpillOptions, codecs: readonly ObjectValueCodec[]): SpillConfig {
  const c: SpillConfig = {
    dir,
    minStorageBytes: o.minStorageBytes,
    cacheBytes: (o.cacheMib ?? 256) * 2 ** 20,
    compress: o.compression !== 'none',
    // sealed batches' files are written by a worker thread, off the step (`zset/spill-writer.ts`)
    background: true,
    encodeObjects: (layout: FileLayout, objects) => encodeObjectTable(layout, objects, codecs),
    decodeObjects: (bytes) => decodeObjectTable(bytes, codecs),
  };
  setSpillConfig(c);
  return c;
}

/** Turns spilling off (tests). */
export function disableSpill(): void {
  setSpillConfig(null);
}
