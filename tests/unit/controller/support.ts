/**
 * Shared by the checkpoint-capture tests: a real {@link Checkpointer} over a real on-disk store, driving a live
 * SQL circuit, with the errors it logs collected.
 */
import { Checkpointer } from '../../../src/controller/checkpointer.ts';
import { StoreCheckpointWriter } from '../../../src/controller/store-writer.ts';
import type { SqlCircuit } from '../../../src/sql/program.ts';
import { CODECS } from '../storage/support.ts';

export async function liveCheckpointer(
  dir: string,
  live: SqlCircuit,
  processedRecords: () => number,
  fingerprint: string,
): Promise<{ cp: Checkpointer; errors: string[] }> {
  const { writer } = await StoreCheckpointWriter.open(dir, CODECS, () => {});
  const errors: string[] = [];
  const cp = new Checkpointer(
    writer,
    {
      trackChanges: (on) => live.trackChanges(on),
      snapshot: () => live.snapshot(),
      takeDelta: () => live.takeDelta(),
      changesOverflowed: () => live.circuit.changesOverflowed(),
      meta: () => ({
        steps: live.circuit.steps,
        processed_records: processedRecords(),
        transaction_id: 0,
        inputs: {},
        fingerprint,
      }),
    },
    (level, msg) => {
      if (level === 'error') errors.push(msg);
    },
  );
  return { cp, errors };
}
