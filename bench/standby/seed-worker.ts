/**
 * Builds the fake primary's checkpoints in a child process with a large heap (5M rows of state do not fit the
 * bench process's default heap), so the bench process itself stays small and its polling is never held up by
 * a large heap's garbage collection. Usage: `seed-worker.ts <dir> <rows> <deltas>`; prints one
 * `STANDBY_SEED <json>` line (the {@link Seed} without its store).
 */
import { SEED_PREFIX, seed } from './primary.ts';

const [dir, rows, deltas] = process.argv.slice(2);
if (dir === undefined || rows === undefined || deltas === undefined)
  throw new Error('usage: seed-worker.ts <dir> <rows> <deltas>');
const s = await seed(dir, Number(rows), Number(deltas));
const { store: _store, ...out } = s;
process.stdout.write(`${SEED_PREFIX}${JSON.stringify(out)}\n`);
