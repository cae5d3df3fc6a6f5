/**
 * Oracle property test (focus: aggregates): Holdfast's views equal Postgres (PGlite) after every step, for random
 * programs and change batches, each run both as whole batches and one row per step. See
 * tests/helpers/oracle/harness.ts; DOUBLE results are compared with a relative tolerance of 1e-9 (compare.ts).
 */
import { oracleTests } from '../helpers/oracle/oracle-test.ts';

oracleTests('aggregates', 200000, 60, 40);
