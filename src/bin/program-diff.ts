/**
 * `holdfast program diff` (used by the manager's `POST /v0/pipelines/{name}/diff`): reads
 * `{"old": SQL, "new": SQL}` on stdin and prints `{"diff": PipelineDiff}`, or `{"error": ErrorResponse}` when a
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
  const i = (typeof input === 'object' && input !== null ? input : {}) as { old?: unknown; new?: unknown };
  if (typeof i.old !== 'string' || typeof i.new !== 'string')
    return {
      error: new ServiceError(
        'InvalidRequestBody',
        'expected {"old": SQL, "new": SQL} on stdin',
        {},
      ).toResponse(),
    };
  try {
    const before = describe(await compileProgram(i.old));
    const after = describe(await compileProgram(i.new));
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
