/**
 * The LATENESS garbage-collection tests (`lateness-gc.test.ts`) again, with every trace created at a head of 2
 * entries, so that the join's sides seal, merge and are restored from several batches while rows are discarded
 * (the default head holds these small states whole).
 */
import { setTraceHeadMin } from '../../../src/zset/trace.ts';

setTraceHeadMin(2);
await import('./lateness-gc.test.ts');
