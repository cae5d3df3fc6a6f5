/** Test helpers for connectors: an in-memory host, temp directories, and polling. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ParsedChange } from '../../../../src/connectors/formats/parse-result.ts';
import type {
  ConnectorHost,
  ConnectorLog,
  HostInputEndpoint,
} from '../../../../src/connectors/transports/types.ts';
import type { Batch } from '../../../../src/zset/batch.ts';
import type { Row } from '../../../../src/zset/value.ts';
import { untilTrue } from '../../../kit/index.ts';

export class FakeHost implements ConnectorHost {
  readonly endpoints = new Map<string, HostInputEndpoint>();
  readonly pushes: Array<{ endpoint: string; changes: ParsedChange[]; bytes: number }> = [];
  readonly listeners = new Map<string, Array<(change: Batch, step: number) => void>>();
  /** When set, push waits for this promise (to simulate backpressure). */
  gate: Promise<void> | null = null;

  inputEndpoint(name: string, table: string): HostInputEndpoint {
    let ep = this.endpoints.get(name);
    if (!ep) {
      ep = { name, table, metrics: { num_parse_errors: 0, num_transport_errors: 0, end_of_input: false } };
      this.endpoints.set(name, ep);
    }
    return ep;
  }

  async push(endpoint: HostInputEndpoint, changes: ParsedChange[], bytes: number): Promise<void> {
    if (this.gate) await this.gate;
    this.pushes.push({ endpoint: endpoint.name, changes, bytes });
  }

  listen(view: string, listener: (change: Batch, step: number) => void): () => void {
    const l = this.listeners.get(view) ?? [];
    l.push(listener);
    this.listeners.set(view, l);
    return () => {
      const i = l.indexOf(listener);
      if (i >= 0) l.splice(i, 1);
    };
  }

  emit(view: string, entries: Array<[Row, number]>, step = 1): void {
    const b: Batch = { rows: entries.map((e) => e[0]), weights: entries.map((e) => e[1]) };
    for (const l of this.listeners.get(view) ?? []) l(b, step);
  }

  rows(endpoint?: string): Row[] {
    return this.pushes
      .filter((p) => endpoint === undefined || p.endpoint === endpoint)
      .flatMap((p) => p.changes.map((c) => c.row));
  }
}

export interface LogEntry {
  level: string;
  message: string;
}

export function recordingLog(): { log: ConnectorLog; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return { log: (level, message) => entries.push({ level, message }), entries };
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-connectors-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `pred` until true (every 5 ms); fails after `timeoutMs`. */
export function until(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  return untilTrue(pred, what, timeoutMs, 5);
}
