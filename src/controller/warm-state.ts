/**
 * A warm standby's state: a circuit built from the pipeline's program and loaded with the newest checkpoint the
 * standby pulled, kept current by applying only what each newer checkpoint changed. Activation then starts the
 * controller on this circuit instead of decoding and rebuilding the whole state.
 *
 * A checkpoint manifest lists, per operator and state, the segments whose sum is that state (base first, then
 * the deltas incremental checkpoints appended). When a newer checkpoint's list extends the list already loaded,
 * only the new segments are read and added (`Circuit.applyDelta`, cost proportional to the change). When it
 * does not (the primary compacted: a new base), that operator alone is rebuilt from the new list
 * (`Circuit.restoreOperators`). Memory: one copy of the state plus the segments being applied.
 *
 * A checkpoint of another program (fingerprint differs) is not loaded: activation then takes the cold path,
 * which decides about bootstrapping the changed program. A failed load (corrupt segment) drops the warm state;
 * the next load starts over from a fresh circuit.
 */
import type { CircuitSnapshot } from '../circuit/circuit.ts';
import type { StateBatches } from '../circuit/operator.ts';
import type { Program, SqlCircuit } from '../sql/program.ts';
import type { CheckpointManifest, CheckpointStore, SegmentRef } from '../storage/checkpoint-store.ts';
import { type Batch, emptyBatch } from '../zset/batch.ts';
import { prewarmBlockCache } from '../zset/batch-file.ts';
import { entryCountOf } from '../zset/trace.ts';

export interface WarmLoad {
  readonly uuid: string;
  /** `full`: every operator built from its lists; `delta`: only new segments applied (and `rebuilt` operators). */
  readonly mode: 'full' | 'delta' | 'unchanged';
  readonly segmentsRead: number;
  readonly rowsRead: number;
  /** Operators whose list no longer extended the loaded one (compacted), rebuilt from scratch. */
  readonly rebuiltOperators: number;
  readonly seconds: number;
}

type Lists = Record<string, readonly string[]>;

const isPrefix = (a: readonly string[], b: readonly string[]) =>
  a.length <= b.length && a.every((h, i) => h === b[i]);

export class WarmState {
  readonly #program: Program;
  readonly #fingerprint: string;
  #circuit: SqlCircuit;
  /** Per operator key and state name: the segment hashes loaded so far. */
  #applied = new Map<string, Lists>();
  #manifest: CheckpointManifest | null = null;
  /** Loads started (a prewarm requested before the latest one is skipped). */
  #loads = 0;

  constructor(program: Program, fingerprint: string) {
    this.#program = program;
    this.#fingerprint = fingerprint;
    this.#circuit = program.instantiate();
  }

  /**
   * Readies the loaded state for the next delta while the standby waits, so that the activation's final delta
   * applies as fast as later ones would: after an event-loop turn, the operators prepare their lookups
   * (`Circuit.prepare`: lookup structures the first lookups would build, the lookup path run once; a bounded
   * number of lookups, whatever the state's size), then the state's batch files (spilled state) are read into
   * the block cache, up to its size, in slices between event-loop turns. Skipped when another load started in
   * the meantime (that load's own prewarm follows it). Resolves with the bytes read into the cache.
   */
  async prewarm(): Promise<number> {
    const loads = this.#loads;
    await new Promise((r) => setImmediate(r));
    if (loads !== this.#loads || this.#manifest === null) return 0;
    this.#circuit.circuit.prepare();
    return prewarmBlockCache();
  }

  /** The circuit holding the loaded checkpoint's state (never stepped). */
  get circuit(): SqlCircuit {
    return this.#circuit;
  }

  /** The checkpoint whose state the circuit holds (null: none yet). */
  get manifest(): CheckpointManifest | null {
    return this.#manifest;
  }

  /** Whether checkpoint `m` was written by this program (else it cannot be loaded warm). */
  accepts(m: CheckpointManifest): boolean {
    return m.fingerprint === this.#fingerprint;
  }

  /**
   * Loads checkpoint `uuid` from `store` (its files must be local), applying only what changed since the loaded
   * one. @throws StorageError when a segment is missing or corrupt (the warm state is then dropped)
   */
  async load(store: CheckpointStore, uuid: string): Promise<WarmLoad> {
    const t0 = performance.now();
    this.#loads++;
    const m = await store.readManifest(uuid);
    if (!this.accepts(m))
      throw new Error(`checkpoint ${uuid} was written by another program (fingerprint ${m.fingerprint})`);
    if (this.#manifest?.uuid === uuid)
      return { uuid, mode: 'unchanged', segmentsRead: 0, rowsRead: 0, rebuiltOperators: 0, seconds: 0 };
    const first = this.#manifest === null;
    try {
      const r = await this.#load(store, m);
      return { ...r, uuid, mode: first ? 'full' : 'delta', seconds: (performance.now() - t0) / 1000 };
    } catch (e) {
      this.reset();
      throw e;
    }
  }

  /** Drops the loaded state. */
  reset(): void {
    this.#loads++;
    this.#circuit = this.#program.instantiate();
    this.#applied = new Map();
    this.#manifest = null;
  }

  async #load(
    store: CheckpointStore,
    m: CheckpointManifest,
  ): Promise<{ segmentsRead: number; rowsRead: number; rebuiltOperators: number }> {
    const circuit = this.#circuit.circuit;
    let segmentsRead = 0;
    let rowsRead = 0;
    const read = async (ref: SegmentRef): Promise<Batch> => {
      const b = await store.readSegment(ref, m.uuid);
      segmentsRead++;
      rowsRead += entryCountOf(b);
      return b;
    };
    const rebuild = new Set<string>();
    /** deltas[i]: segments at position (loaded length + i) of each extended list. */
    const deltas: Array<Record<string, StateBatches>> = [];
    const next = new Map<string, Lists>();
    for (const key of circuit.stateKeys()) {
      const states = m.operators[key] ?? {};
      const lists: Record<string, string[]> = {};
      for (const [name, refs] of Object.entries(states)) lists[name] = refs.map((r) => r.hash);
      next.set(key, lists);
      const prev = this.#applied.get(key);
      const names = new Set([...Object.keys(lists), ...Object.keys(prev ?? {})]);
      if (prev === undefined || [...names].some((n) => !isPrefix(prev[n] ?? [], lists[n] ?? []))) {
        rebuild.add(key);
        continue;
      }
      for (const [name, refs] of Object.entries(states)) {
        const from = (prev[name] ?? []).length;
        for (let i = from; i < refs.length; i++) {
          const d = (deltas[i - from] ??= {});
          (d[key] ??= {})[name] = await read(refs[i] as SegmentRef);
        }
      }
    }
    if (rebuild.size > 0) {
      const base: Record<string, StateBatches> = {};
      const rest: Array<Record<string, StateBatches>> = [];
      for (const key of rebuild) {
        base[key] = {};
        for (const [name, refs] of Object.entries(m.operators[key] ?? {})) {
          (base[key] as StateBatches)[name] = emptyBatch();
          for (let i = 0; i < refs.length; i++) {
            const b = await read(refs[i] as SegmentRef);
            if (i === 0) (base[key] as StateBatches)[name] = b;
            else ((rest[i - 1] ??= {})[key] ??= {})[name] = b;
          }
        }
      }
      const snap = (operators: Record<string, StateBatches>): CircuitSnapshot => ({
        steps: m.steps,
        operators,
      });
      circuit.restoreOperators(
        snap(base),
        Array.from(rest, (o) => snap(o ?? {})),
        rebuild,
      );
    }
    for (const d of deltas) circuit.applyDelta({ steps: m.steps, operators: d ?? {} });
    if (deltas.length === 0) circuit.applyDelta({ steps: m.steps, operators: {} });
    this.#applied = next;
    this.#manifest = m;
    return { segmentsRead, rowsRead, rebuiltOperators: rebuild.size };
  }
}
