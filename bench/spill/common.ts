/** The spill worker's result line prefix (shared by worker.ts and suite.ts). */
export const RESULT_PREFIX = 'SPILL_RESULT ';
