/**
 * The repository's root directory, in a module of its own: helpers that benchmarks import too (the fault proxy,
 * the seeds) need it without loading `node:test` (which `index.ts` registers hooks with, printing a test summary
 * at the end of any process that loads it).
 */
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
