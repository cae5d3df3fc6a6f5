/**
 * `holdfast program diff` (used by the manager's `POST /v0/pipelines/{name}/diff`): reads
 * `{"old": SQL, "new": SQL, "old_udf_ts"?: TS, "new_udf_ts"?: TS}` on stdin and prints `{"diff": PipelineDiff}`, or `{"error": ErrorResponse}` when a
 * program does not compile. The diff is the one a start with a changed program shows for approval
 * (sql/program-diff.ts): relations and connectors added, removed or modified, every list sorted.
 */
import { isServiceError, ServiceError } from '../errors/service-error.ts';
import { describe } from '../sql/bootstrap.ts';
import { compileProgram } from '../sql/program.ts';
import { diffPrograms } from '../sql/program-diff.ts';
import type { ErrorResponse } from '../types/error-codes.ts';
import type { PipelineDiff } from '../types/pipeline-api.ts';

export type ProgramDiffReport = { diff: PipelineDiff } | { error: ErrorResponse };

export async function programDiffReport(input: unknown): Promise<ProgramDiffReport> {
  const i = (typeof input === 'object' && input !== null ? input : {}) as {
    old?: unknown;
    new?: unknown;
    old_udf_ts?: unknown;
    new_udf_ts?: unknown;
  };
  const udf = (v: unknown) => ({ udfTs: typeof v === 'string' ? v : '' });
  if (typeof i.old !== 'string' || typeof i.new !== 'string')
    return {
      error: new ServiceError(
        'InvalidRequestBody',
        'expected {"old": SQL, "new": SQL} on stdin',
        {},
      ).toResponse(),
    };
  try {
    const before = describe(await compileProgram(i.old, udf(i.old_udf_ts)));
    const after = describe(await compileProgram(i.new, udf(i.new_udf_ts)));
    return { diff: diffPrograms(before, after) };
  } catch (e) {
    if (isServiceError(e)) return { error: e.toResponse() };
    return {
      error: new ServiceError(
        'UnknownError',
        `the program diff failed: ${(e as Error).message}`,
        {},
      ).toResponse(),
    };
  }
}
